// Strategies and budgets through the engine on nuri's own model (models/nuri-tiny.gguf). The
// greedy reference is PyTorch's output (tests/data/nuri-tiny-greedy.jsonl); budgets are checked
// against the numbers each result reports and against independent recounts of its candidates.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "nuri/engine.h"
#include "runtime/loaded_model.h"
#include "ttc/strategy.h"
#include "tokenizer/tokenizer.h"

namespace nuri::ttc {
namespace {

const std::string kModel = std::string(NURI_SOURCE_DIR) + "/models/nuri-tiny.gguf";

struct Fixture {
  runtime::LoadedModel lm;
  std::unique_ptr<engine::Engine> eng;
};

Fixture& fx() {
  static Fixture* f = [] {
    auto* f = new Fixture;
    auto lm = runtime::load_model(kModel);
    if (!lm.ok()) return f;
    f->lm = std::move(*lm);
    engine::EngineParams ep;
    ep.n_parallel = 16;
    ep.n_ctx = 384;
    ep.n_threads = 1;
    auto e = engine::Engine::create(f->lm.model, f->lm.tokenizer, ep);
    if (e.ok()) f->eng = std::move(*e);
    return f;
  }();
  return *f;
}

std::vector<int32_t> chat_prompt(const std::string& user) {
  return fx().lm.tokenizer.encode("<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n", true, true);
}

#define NEED_MODEL() \
  if (!fx().eng) GTEST_SKIP() << "cannot load " << kModel

TEST(Strategy, GreedyEqualsPyTorch) {
  NEED_MODEL();
  std::ifstream in(std::string(NURI_SOURCE_DIR) + "/tests/data/nuri-tiny-greedy.jsonl");
  std::string line;
  int n = 0;
  auto ex = make_extractor("answer");
  while (std::getline(in, line) && n < 3) {
    auto j = nlohmann::json::parse(line);
    if (!j["stopped_at_eos"].get<bool>()) continue;
    StrategyParams p;
    p.kind = StrategyKind::kGreedy;
    p.max_tokens = 64;
    auto r = run_strategy(*fx().eng, j["prompt_ids"].get<std::vector<int32_t>>(), p, ex->get(), nullptr);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r->samples_used, 1);
    EXPECT_EQ(r->candidates[0].tokens, j["generated_ids"].get<std::vector<int32_t>>());
    EXPECT_EQ(r->text(), j["generated_text"].get<std::string>());
    ++n;
  }
  EXPECT_GT(n, 0);
}

TEST(Strategy, SelfConsistencyCountsAndIsDeterministic) {
  NEED_MODEL();
  auto ex = make_extractor("answer");
  StrategyParams p;
  p.kind = StrategyKind::kSelfConsistency;
  p.budget.max_samples = 12;
  p.batch = 4;
  p.sampling.temperature = 1.0f;
  p.max_tokens = 64;
  const auto prompt = chat_prompt("Tom has 17 apples and eats 9. How many are left?");
  auto r = run_strategy(*fx().eng, prompt, p, ex->get(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->samples_used, 12);
  EXPECT_EQ(r->candidates.size(), 12u);
  EXPECT_EQ(r->stop_reason, "samples");
  int votes = 0;
  int64_t tokens = 0;
  for (const auto& v : r->vote.ranked) votes += v.votes;
  for (const auto& c : r->candidates) tokens += c.n_tokens;
  EXPECT_EQ(votes + r->vote.abstained, 12);
  EXPECT_EQ(tokens, r->tokens);
  ASSERT_NE(r->vote.winner(), nullptr);
  EXPECT_EQ(r->answer, r->vote.winner()->answer);
  // Samples differ (the batches use different seeds) ...
  bool differ = false;
  for (const auto& c : r->candidates) differ |= c.tokens != r->candidates[0].tokens;
  EXPECT_TRUE(differ);
  // ... and the whole run repeats exactly.
  auto again = run_strategy(*fx().eng, prompt, p, ex->get(), nullptr);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->candidates.size(), r->candidates.size());
  for (size_t i = 0; i < r->candidates.size(); ++i) EXPECT_EQ(again->candidates[i].tokens, r->candidates[i].tokens);
  EXPECT_EQ(again->answer, r->answer);
}

TEST(Strategy, TokenBudgetCutsSampling) {
  NEED_MODEL();
  auto ex = make_extractor("answer");
  StrategyParams p;
  p.kind = StrategyKind::kSelfConsistency;
  p.budget.max_samples = 16;
  p.budget.max_tokens = 120;
  p.batch = 4;
  p.sampling.temperature = 1.0f;
  p.max_tokens = 64;
  auto r = run_strategy(*fx().eng, chat_prompt("What is 48 + 27?"), p, ex->get(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->stop_reason, "tokens");
  EXPECT_LT(r->samples_used, 16);
  // The cut lands within a couple of engine steps of the cap (4 choices decode per step).
  EXPECT_GE(r->tokens, 120);
  EXPECT_LE(r->tokens, 120 + 4 * 3);
}

TEST(Strategy, WallBudgetStops) {
  NEED_MODEL();
  StrategyParams p;
  p.kind = StrategyKind::kSelfConsistency;
  p.budget.max_samples = 64;
  p.budget.max_wall_s = 0.05;
  p.batch = 1;
  p.max_tokens = 200;
  p.sampling.temperature = 1.0f;
  auto r = run_strategy(*fx().eng, chat_prompt("What is 3 x 4?"), p, nullptr, nullptr);
  if (!r.ok()) {
    EXPECT_NE(r.error().find("budget"), std::string::npos);  // nothing finished in 50 ms
    return;
  }
  EXPECT_EQ(r->stop_reason, "time");
  EXPECT_LT(r->samples_used, 64);
}

TEST(Strategy, AdaptiveStopsByItsRule) {
  NEED_MODEL();
  auto ex = make_extractor("answer");
  StrategyParams p;
  p.kind = StrategyKind::kSelfConsistency;
  p.budget.max_samples = 16;
  p.adaptive = true;
  p.batch = 2;
  p.stop_rule = StopRule::kBeta;
  p.sampling.temperature = 0.5f;
  p.max_tokens = 64;
  auto r = run_strategy(*fx().eng, chat_prompt("What is 2 + 3?"), p, ex->get(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_NE(r->vote.winner(), nullptr);
  const int32_t top = r->vote.ranked[0].votes, second = r->vote.ranked.size() > 1 ? r->vote.ranked[1].votes : 0;
  if (r->stop_reason == "beta") {
    EXPECT_GE(beta_confidence(top, second), 0.95);
    EXPECT_LT(r->samples_used, 16);
  } else {
    EXPECT_TRUE(r->stop_reason == "unassailable" || r->stop_reason == "samples") << r->stop_reason;
  }
  EXPECT_EQ(r->samples_used % 2, 0);  // whole batches
}

TEST(Strategy, BestOfNPicksTheTopScore) {
  NEED_MODEL();
  auto runner = std::make_shared<PythonRunner>();
  PythonExtractor ex(runner);
  ExecutionVerifier v(runner, {});
  StrategyParams p;
  p.kind = StrategyKind::kBestOfN;
  p.budget.max_samples = 6;
  p.sampling.temperature = 1.0f;
  p.max_tokens = 96;
  auto r = run_strategy(*fx().eng, chat_prompt("Add up the squares of the numbers from 1 to 12."), p, &ex, &v);
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_GE(r->chosen, 0);
  for (const auto& c : r->candidates) {
    ASSERT_TRUE(c.score.has_value());
    EXPECT_LE(*c.score, *r->candidates[r->chosen].score);
  }
}

TEST(Strategy, BeamKeepsWidthAndBudget) {
  NEED_MODEL();
  auto ex = make_extractor("answer");
  StrategyParams p;
  p.kind = StrategyKind::kBeam;
  p.beam_width = 2;
  p.expand = 3;
  p.budget.max_tokens = 400;
  p.sampling.temperature = 1.0f;
  p.max_tokens = 64;
  auto r = run_strategy(*fx().eng, chat_prompt("What is 12 + 30 - 7?"), p, ex->get(), nullptr);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_LE(r->candidates.size(), 2u);
  EXPECT_LE(r->tokens, 400 + 6 * 3);
  EXPECT_GT(r->samples_used, 0);
  // The chosen path has the best score; scores are geometric-mean token probabilities in (0, 1].
  for (const auto& c : r->candidates) {
    ASSERT_TRUE(c.score.has_value());
    EXPECT_GT(*c.score, 0.0);
    EXPECT_LE(*c.score, 1.0);
    EXPECT_LE(*c.score, *r->candidates[r->chosen].score);
  }
}

}  // namespace
}  // namespace nuri::ttc
