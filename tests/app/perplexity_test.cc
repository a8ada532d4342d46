// `nuri perplexity` on stories260K over its own 200-token greedy story (../shared/golden), -c 64:
// the chunk count, the scored-token count (n_ctx/2 - 1 per chunk) and the PPL equal an
// independent recomputation here on the scalar reference backend (f32 oracle: exact softmax,
// dequantised rows), chunk by chunk with BOS first; the running "[i]x," line and the final
// "Final estimate: PPL = p +/- e" line follow llama.cpp's format; too short a text exits 1.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <regex>

#include "base/mmap.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "test_util.h"

namespace {

TEST(Perplexity, MatchesAnIndependentReferenceComputation) {
  NURI_REQUIRE_SHARED();
  const std::string model = nuri::test::shared_dir() + "/models/stories260K-F32.gguf";
  const std::string text = nuri::test::shared_dir() + "/golden/stories260K.expected-greedy-200.txt";
  const int n_ctx = 64;
  auto r = nuri::test::run_cmd(nuri::test::nuri_binary() + " perplexity -m " + nuri::test::shell_quote(model) + " -f " +
                               nuri::test::shell_quote(text) + " -c 64 -t 1 --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(r.out, m, std::regex(R"(Final estimate: PPL = ([0-9.]+) \+/- ([0-9.]+))"))) << r.out;
  const double ppl = std::stod(m[1]);
  auto j = nlohmann::json::parse(r.out.substr(r.out.rfind("{\"model\"")));
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), ']'), j["chunks"].get<int>()) << r.out;  // [1]x,[2]y,...

  // Independent: the reference backend, llama.cpp's chunking written out again.
  auto lm = nuri::runtime::load_model(model);
  ASSERT_TRUE(lm.ok()) << lm.error();
  auto body = nuri::read_file(text);
  ASSERT_TRUE(body.ok());
  const auto toks = lm->tokenizer.encode(*body, true, false);
  nuri::model::ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.n_batch = n_ctx;
  cp.n_threads = 1;
  cp.reference = true;
  auto s = nuri::runtime::Session::create(lm->model, cp);
  ASSERT_TRUE(s.ok()) << s.error();
  const int n_vocab = lm->model->config().n_vocab;
  const int chunks = static_cast<int>(toks.size()) / n_ctx;
  double sum = 0;
  int count = 0;
  for (int c = 0; c < chunks; ++c) {
    std::vector<nuri::model::BatchToken> b;
    for (int p = 0; p < n_ctx; ++p) b.push_back({p == 0 ? lm->tokenizer.bos_id() : toks[c * n_ctx + p], p, 0, true});
    (*s)->seq_clear(0);
    ASSERT_TRUE((*s)->decode(b).is_ok());
    for (int p = n_ctx / 2; p < n_ctx - 1; ++p) {
      const float* l = (*s)->logits(p);
      double mx = l[0], z = 0;
      for (int i = 1; i < n_vocab; ++i) mx = std::max<double>(mx, l[i]);
      for (int i = 0; i < n_vocab; ++i) z += std::exp(l[i] - mx);
      sum += -(l[toks[c * n_ctx + p + 1]] - mx - std::log(z));
      ++count;
    }
  }
  EXPECT_EQ(j["chunks"].get<int>(), chunks);
  EXPECT_EQ(j["tokens_scored"].get<int>(), count);
  EXPECT_EQ(count, chunks * (n_ctx / 2 - 1));
  EXPECT_NEAR(ppl, std::exp(sum / count), 2e-3 * ppl);
  EXPECT_LT(ppl, 3.0);  // the model's own greedy story

  auto bad = nuri::test::run_cmd(nuri::test::nuri_binary() + " perplexity -m " + nuri::test::shell_quote(model) + " -f " +
                                 nuri::test::shell_quote(text) + " -c 512 2>&1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("needs at least 1024"), std::string::npos) << bad.out;
}

}  // namespace
