// Sampler chain tests: seeded determinism against an independent reference, exact candidate sets
// for top-k / top-p / min-p / typical on hand-made distributions, penalties, bias, and empirical
// frequencies over 100k draws.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "sampling/sampler.h"

namespace nuri::sampling {
namespace {

SamplerParams plain(float temperature = 1.f) {
  SamplerParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.f;
  p.min_p = 0.f;
  p.typical_p = 1.f;
  return p;
}

std::vector<float> log_probs(const std::vector<double>& p) {
  std::vector<float> l;
  for (double x : p) l.push_back(static_cast<float>(std::log(x)));
  return l;
}

std::set<int32_t> kept(const Sampler& s) {
  std::set<int32_t> ids;
  for (const auto& c : s.candidates()) ids.insert(c.id);
  return ids;
}

TEST(Rng, MatchesReferenceXoshiro256StarStar) {
  // Values from an independent Python implementation of splitmix64 + xoshiro256**.
  Rng r(0);
  EXPECT_EQ(r.next(), 0x99ec5f36cb75f2b4ull);
  EXPECT_EQ(r.next(), 0xbf6e1f784956452aull);
  EXPECT_EQ(r.next(), 0x1a5f849d4933e6e0ull);
  Rng u(12345);
  EXPECT_DOUBLE_EQ(u.uniform(), 0.7438081631565894);
  EXPECT_DOUBLE_EQ(u.uniform(), 0.13004553462783452);
}

TEST(Sampler, FixedSeedGivesFixedTokens) {
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f, 0.5f, -1.0f, 1.5f};
  // Expected sequences from the same independent Python reference (T=0.7, no filters: the draw
  // walks the candidates in id order).
  const std::vector<int32_t> want42 = {1, 2, 3, 5, 5, 5, 3, 5, 5, 2, 3, 2, 5, 2, 3, 5, 2, 5, 3, 3};
  const std::vector<int32_t> want7 = {3, 2, 5, 5, 5, 5, 1, 1, 2, 1, 2, 3, 5, 5, 2, 2, 2, 2, 2, 1};
  for (auto [seed, want] : {std::pair{42ull, want42}, std::pair{7ull, want7}}) {
    SamplerParams p = plain(0.7f);
    p.seed = seed;
    Sampler s(6, p);
    std::vector<int32_t> got;
    for (int i = 0; i < 20; ++i) got.push_back(s.sample(logits.data()));
    EXPECT_EQ(got, want) << "seed " << seed;
    // reset() replays the same sequence.
    s.reset();
    std::vector<int32_t> again;
    for (int i = 0; i < 20; ++i) again.push_back(s.sample(logits.data()));
    EXPECT_EQ(again, want);
  }
}

TEST(Sampler, FixedSeedWithTopKDrawsInProbabilityOrder) {
  const std::vector<float> logits = {0.0f, 1.0f, 2.0f, 0.5f, -1.0f, 1.5f};
  // Python reference: top-3 = ids {2, 5, 1} walked in logit order, T=0.7, seed 42.
  const std::vector<int32_t> want = {2, 2, 5, 1, 1, 5, 5, 5, 5, 5, 5, 2, 5, 2, 5, 1, 5, 5, 5, 5};
  SamplerParams p = plain(0.7f);
  p.top_k = 3;
  p.seed = 42;
  Sampler s(6, p);
  std::vector<int32_t> got;
  for (int i = 0; i < 20; ++i) got.push_back(s.sample(logits.data()));
  EXPECT_EQ(got, want);
  ASSERT_EQ(s.candidates().size(), 3u);
  EXPECT_EQ(s.candidates()[0].id, 2);
  EXPECT_EQ(s.candidates()[1].id, 5);
  EXPECT_EQ(s.candidates()[2].id, 1);
}

TEST(Sampler, GreedyWhenTemperatureZeroTiesToLowestId) {
  const std::vector<float> logits = {1.f, 3.f, 2.f, 3.f};
  SamplerParams p;
  p.temperature = 0.f;
  Sampler s(4, p);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(s.sample(logits.data()), 1);
  ASSERT_EQ(s.candidates().size(), 1u);
  // softmax at T=1: e^3 / (e^1 + 2 e^3 + e^2)
  double want = std::exp(3.0) / (std::exp(1.0) + 2 * std::exp(3.0) + std::exp(2.0));
  EXPECT_NEAR(s.candidates()[0].p, want, 1e-6);
}

TEST(Sampler, TopKKeepsExactlyKBest) {
  const std::vector<float> logits = {1.f, 5.f, 3.f, 5.f, 2.f, 4.f};
  SamplerParams p = plain();
  p.top_k = 3;
  Sampler s(6, p);
  s.sample(logits.data());
  EXPECT_EQ(kept(s), (std::set<int32_t>{1, 3, 5}));
  p.top_k = 2;  // tie at 5: both kept
  Sampler s2(6, p);
  s2.sample(logits.data());
  EXPECT_EQ(kept(s2), (std::set<int32_t>{1, 3}));
  p.top_k = 1;
  Sampler s3(6, p);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(s3.sample(logits.data()), 1);
}

TEST(Sampler, TopPKeepsSmallestPrefixReachingP) {
  const auto logits = log_probs({0.5, 0.3, 0.1, 0.06, 0.04});
  struct Case { float top_p; std::set<int32_t> want; };
  for (const auto& c : {Case{0.45f, {0}}, Case{0.75f, {0, 1}}, Case{0.85f, {0, 1, 2}},
                        Case{0.93f, {0, 1, 2, 3}}, Case{0.99f, {0, 1, 2, 3, 4}}}) {
    SamplerParams p = plain();
    p.top_p = c.top_p;
    Sampler s(5, p);
    s.sample(logits.data());
    EXPECT_EQ(kept(s), c.want) << "top_p " << c.top_p;
    double sum = 0;
    for (const auto& cand : s.candidates()) sum += cand.p;
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(Sampler, MinPKeepsTokensAboveFractionOfBest) {
  const auto logits = log_probs({0.06, 0.5, 0.1, 0.3, 0.04});
  struct Case { float min_p; std::set<int32_t> want; };
  for (const auto& c : {Case{0.05f, {0, 1, 2, 3, 4}}, Case{0.1f, {0, 1, 2, 3}}, Case{0.15f, {1, 2, 3}},
                        Case{0.5f, {1, 3}}, Case{0.9f, {1}}}) {
    SamplerParams p = plain();
    p.min_p = c.min_p;
    Sampler s(5, p);
    s.sample(logits.data());
    EXPECT_EQ(kept(s), c.want) << "min_p " << c.min_p;
  }
}

TEST(Sampler, TypicalKeepsTokensClosestToEntropy) {
  // p = {0.4, 0.3, 0.2, 0.1}: H = 1.2799 nats; |-ln p - H| = 0.364, 0.076, 0.330, 1.023.
  // Order by that score: 1, 2, 0, 3. typical_p = 0.45 keeps {1, 2} (mass 0.5).
  const auto logits = log_probs({0.4, 0.3, 0.2, 0.1});
  SamplerParams p = plain();
  p.typical_p = 0.45f;
  Sampler s(4, p);
  s.sample(logits.data());
  EXPECT_EQ(kept(s), (std::set<int32_t>{1, 2}));
  p.typical_p = 0.85f;  // 0.3 + 0.2 + 0.4 = 0.9
  Sampler s2(4, p);
  s2.sample(logits.data());
  EXPECT_EQ(kept(s2), (std::set<int32_t>{0, 1, 2}));
}

TEST(Sampler, FiltersCompose) {
  // top_k=4 drops id 4; min_p=0.25 of 0.5 (renormalised over the 4: same ratio) drops 0.1 and 0.06.
  const auto logits = log_probs({0.5, 0.3, 0.1, 0.06, 0.04});
  SamplerParams p = plain();
  p.top_k = 4;
  p.min_p = 0.25f;
  Sampler s(5, p);
  s.sample(logits.data());
  EXPECT_EQ(kept(s), (std::set<int32_t>{0, 1}));
  double p0 = 0;
  for (const auto& c : s.candidates()) if (c.id == 0) p0 = c.p;
  EXPECT_NEAR(p0, 0.5 / 0.8, 1e-6);
}

TEST(Sampler, RepetitionFrequencyPresencePenalties) {
  SamplerParams p;
  p.temperature = 0.f;
  p.repeat_penalty = 1.1f;
  Sampler s(2, p);
  std::vector<float> logits = {2.0f, 1.9f};
  EXPECT_EQ(s.sample(logits.data()), 0);
  s.accept(0);  // 2.0 / 1.1 = 1.818 < 1.9
  EXPECT_EQ(s.sample(logits.data()), 1);
  std::vector<float> neg = {-1.0f, -1.05f};
  EXPECT_EQ(s.sample(neg.data()), 1);  // -1.0 * 1.1 = -1.1 < -1.05

  SamplerParams f;
  f.temperature = 0.f;
  f.frequency_penalty = 0.5f;
  f.presence_penalty = 0.25f;
  f.repeat_last_n = 3;
  Sampler s2(3, f);
  std::vector<float> l2 = {3.0f, 2.0f, 1.0f};
  s2.accept(0);
  s2.accept(0);  // 3.0 - 2*0.5 - 0.25 = 1.75 < 2.0
  EXPECT_EQ(s2.sample(l2.data()), 1);
  s2.accept(2);
  s2.accept(2);
  s2.accept(2);  // window of 3 now holds only token 2: token 0 is back to 3.0
  EXPECT_EQ(s2.sample(l2.data()), 0);
}

TEST(Sampler, LogitBiasCanBanAndForce) {
  SamplerParams p = plain();
  p.seed = 3;
  p.logit_bias = {{0, -INFINITY}, {2, 100.f}};
  Sampler s(3, p);
  std::vector<float> logits = {10.f, 0.f, 0.f};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(s.sample(logits.data()), 2);
  SamplerParams b = plain();
  b.logit_bias = {{0, -INFINITY}};
  Sampler s2(3, b);
  for (int i = 0; i < 1000; ++i) EXPECT_NE(s2.sample(logits.data()), 0);
}

void check_frequencies(const std::vector<double>& probs, float temperature, const std::vector<double>& want) {
  const auto logits = log_probs(probs);
  SamplerParams p = plain(temperature);
  p.seed = 1234;
  Sampler s(static_cast<int32_t>(probs.size()), p);
  std::vector<int> counts(probs.size(), 0);
  const int n = 100000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits.data())];
  for (size_t k = 0; k < probs.size(); ++k)
    EXPECT_NEAR(counts[k] / double(n), want[k], 0.01) << "token " << k << " at T=" << temperature;
}

TEST(Sampler, FrequenciesMatchProbabilities) {
  check_frequencies({0.4, 0.3, 0.15, 0.1, 0.05}, 1.0f, {0.4, 0.3, 0.15, 0.1, 0.05});
  // T = 0.5 squares the probabilities: {0.16, 0.09, 0.0225, 0.01, 0.0025} / 0.285
  check_frequencies({0.4, 0.3, 0.15, 0.1, 0.05}, 0.5f,
                    {0.16 / 0.285, 0.09 / 0.285, 0.0225 / 0.285, 0.01 / 0.285, 0.0025 / 0.285});
}

TEST(Sampler, LargeVocabularyWithoutFilters) {
  // Uniform over 50k ids: every draw is valid and the mean id is near the middle.
  const int32_t n = 50000;
  std::vector<float> logits(n, 0.f);
  SamplerParams p = plain();
  p.seed = 9;
  Sampler s(n, p);
  double sum = 0;
  for (int i = 0; i < 2000; ++i) {
    int32_t t = s.sample(logits.data());
    ASSERT_GE(t, 0);
    ASSERT_LT(t, n);
    sum += t;
  }
  EXPECT_NEAR(sum / 2000, (n - 1) / 2.0, n * 0.03);
}

TEST(Sampler, AllowedMaskComesBeforeEveryFilter) {
  // 70 tokens (three mask words, the last partial): only 3, 40 and 65 are allowed.
  const int32_t n = 70;
  std::vector<uint32_t> mask(3, 0);
  for (int32_t id : {3, 40, 65}) mask[id >> 5] |= 1u << (id & 31);
  mask[2] |= 0xffffff00u;  // bits past n_vocab are ignored
  std::vector<float> logits(n, 5.f);
  logits[3] = 0.f;
  logits[40] = 1.f;
  logits[65] = std::log(2.f) + 1.f;  // p(65) = 2 p(40) among the allowed
  // Greedy: the best allowed token, not the best overall.
  Sampler g(n, plain(0.f));
  EXPECT_EQ(g.sample(logits.data(), mask.data()), 65);
  // top-k 1 keeps the best allowed token (the filter sees only the allowed ones).
  SamplerParams k = plain();
  k.top_k = 1;
  Sampler sk(n, k);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(sk.sample(logits.data(), mask.data()), 65);
  // Frequencies renormalised over the allowed set: e^0 : e^1 : 2e^1.
  Sampler s(n, plain());
  std::vector<int> counts(n, 0);
  const int draws = 60000;
  for (int i = 0; i < draws; ++i) ++counts[s.sample(logits.data(), mask.data())];
  const double z = 1 + std::exp(1.0) * 3;
  EXPECT_NEAR(counts[3] / double(draws), 1 / z, 0.01);
  EXPECT_NEAR(counts[40] / double(draws), std::exp(1.0) / z, 0.01);
  EXPECT_NEAR(counts[65] / double(draws), 2 * std::exp(1.0) / z, 0.01);
  EXPECT_EQ(counts[3] + counts[40] + counts[65], draws);
  // Nothing allowed: -1.
  std::vector<uint32_t> none(3, 0);
  EXPECT_EQ(s.sample(logits.data(), none.data()), -1);
  EXPECT_EQ(g.sample(logits.data(), none.data()), -1);
}

}  // namespace
}  // namespace nuri::sampling
