// The public API (include/nuri/nuri.h) as a program uses it: load, one Generator, several
// generations in a row. Each greedy generation must equal llama.cpp's llama-simple golden
// (../shared/golden), and a repeated prompt must come from the prefix cache.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "nuri/nuri.h"
#include "test_util.h"

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(PublicApi, SuccessiveGenerationsMatchTheGolden) {
  NURI_REQUIRE_SHARED();
  const std::string dir = nuri::test::shared_dir();
  // The golden is the prompt's pieces (with "<s>" for BOS), 32 greedy tokens and a newline.
  std::string golden = slurp(dir + "/golden/stories260K-F32.llama-simple-greedy32.txt");
  ASSERT_FALSE(golden.empty());
  ASSERT_EQ(golden.back(), '\n');
  golden.pop_back();
  auto model = nuri::load(dir + "/models/stories260K-F32.gguf");
  ASSERT_TRUE(model.ok()) << model.error();
  std::vector<int32_t> prompt = (*model)->tokenize("Once upon a time");
  std::string echoed;
  for (int32_t id : prompt) echoed += (*model)->token_piece(id);
  nuri::GeneratorOptions go;
  go.n_ctx = 128;
  auto gen = nuri::Generator::create(*model, go);
  ASSERT_TRUE(gen.ok()) << gen.error();
  nuri::GenerateOptions opt;
  opt.max_tokens = 32;
  opt.sampling.temperature = 0;
  opt.continuation = true;
  for (int round = 0; round < 3; ++round) {
    auto g = (*gen)->generate(prompt, opt);
    ASSERT_TRUE(g.ok()) << "round " << round << ": " << g.error();
    EXPECT_EQ(echoed + g->text, golden) << "round " << round;
    EXPECT_EQ(g->tokens.size(), 32u);
    EXPECT_EQ(g->finish_reason, "length");
    EXPECT_EQ(g->n_prompt_tokens, static_cast<int32_t>(prompt.size()));
    // Rounds after the first find the prompt (all but the last token, which gives the logits) cached.
    if (round > 0) {
      EXPECT_EQ(g->n_cached_tokens, static_cast<int32_t>(prompt.size()) - 1) << "round " << round;
    }
  }
  // A prompt that does not fit is refused with both numbers, never truncated.
  std::vector<int32_t> long_prompt(200, prompt.back());
  auto bad = (*gen)->generate(long_prompt, opt);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("200"), std::string::npos) << bad.error();
  EXPECT_NE(bad.error().find("128"), std::string::npos) << bad.error();
}

}  // namespace
