// Real goldens from the peer implementation: `nuri run` greedy output equals llama.cpp's
// llama-simple text for every model in ../shared/models, and stories260K's 200-step continuation
// equals llama2.c's expected output.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "test_util.h"

namespace {

std::string slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class Greedy32 : public ::testing::TestWithParam<const char*> {};

TEST_P(Greedy32, MatchesLlamaSimple) {
  NURI_REQUIRE_SHARED();
  const std::string name = GetParam();
  const std::string model = nuri::test::shared_dir() + "/models/" + name + ".gguf";
  const std::string golden = slurp(nuri::test::shared_dir() + "/golden/" + name + ".llama-simple-greedy32.txt");
  ASSERT_FALSE(golden.empty());
  auto r = nuri::test::run_cmd(nuri::test::nuri_binary() + " run -m " + nuri::test::shell_quote(model) +
                               " -p 'Once upon a time' -n 32 --temp 0 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, golden);
}

INSTANTIATE_TEST_SUITE_P(AllModels, Greedy32,
                         ::testing::Values("stories260K-F32", "stories260K-F16", "stories260K-Q8_0",
                                           "llama-2-tiny-random", "tiny-mixtral-moe-8x-spm-Q8_0",
                                           "tiny-mixtral-moe-8x-spm-Q4_K_M", "tiny-qwen3moe-8x-qwen2vocab-Q4_K_M"),
                         [](const auto& info) {
                           std::string s = info.param;
                           for (auto& c : s) if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return s;
                         });

TEST(Stories260K, EmptyPrompt200Steps) {
  NURI_REQUIRE_SHARED();
  const std::string expected = slurp(nuri::test::shared_dir() + "/golden/stories260K.expected-greedy-200.txt");
  auto r = nuri::test::run_cmd(nuri::test::nuri_binary() + " run -m " +
                               nuri::test::shell_quote(nuri::test::shared_dir() + "/models/stories260K-F32.gguf") +
                               " -p '' -n 200 --temp 0 --no-echo 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0);
  // llama2.c's decoder drops the space SentencePiece puts before the first word after BOS.
  std::string out = r.out;
  if (!out.empty() && out[0] == ' ') out.erase(0, 1);
  EXPECT_EQ(out, expected);
}

}  // namespace
