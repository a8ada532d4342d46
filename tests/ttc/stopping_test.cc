// Stopping rules: exact decisions on hand-made vote sequences. Expected values come from
// tests/ttc/stopping_reference.py (mpmath's regularized incomplete beta for the Beta rule, a
// 4e6-draw numpy Dirichlet Monte Carlo for the Dirichlet rule) and, for the leader rule, by hand.
#include <gtest/gtest.h>

#include <string>

#include "ttc/vote.h"

namespace nuri::ttc {
namespace {

// The sample after which `rule` first stops on `seq` (one letter = one sample's answer), or 0.
int first_stop(const std::string& seq, StopRule rule, int max_samples = 16, double threshold = 0.95) {
  std::vector<Candidate> c;
  for (size_t i = 0; i < seq.size(); ++i) {
    Candidate x;
    x.answer = std::string(1, seq[i]);
    x.n_tokens = 1;
    c.push_back(x);
    if (stopping_decision(majority_vote(c), static_cast<int32_t>(i + 1), max_samples, rule, threshold).stop)
      return static_cast<int>(i + 1);
  }
  return 0;
}

TEST(Stopping, BetaConfidenceMatchesMpmath) {
  EXPECT_NEAR(beta_confidence(0, 0), 0.5, 1e-12);
  EXPECT_NEAR(beta_confidence(1, 0), 0.75, 1e-12);
  EXPECT_NEAR(beta_confidence(3, 0), 0.9375, 1e-12);
  EXPECT_NEAR(beta_confidence(4, 0), 0.96875, 1e-12);
  EXPECT_NEAR(beta_confidence(3, 1), 0.8125, 1e-12);
  EXPECT_NEAR(beta_confidence(5, 2), 0.85546875, 1e-12);
  EXPECT_NEAR(beta_confidence(7, 1), 0.98046875, 1e-12);
  EXPECT_NEAR(beta_confidence(10, 6), 0.833847046, 1e-9);
}

TEST(Stopping, DirichletConfidenceMatchesMonteCarlo) {
  auto d = [](std::vector<int32_t> c) { return dirichlet_confidence(c); };
  EXPECT_NEAR(d({4}), 0.9686, 2e-3);  // exact: 31/32 (one seen answer against an unseen one)
  EXPECT_NEAR(d({3, 1}), 0.8122, 2e-3);  // exact: 13/16 (two answers: the Beta rule)
  EXPECT_NEAR(d({5, 2, 1}), 0.8181, 2e-3);
  EXPECT_NEAR(d({6, 3, 3}), 0.7212, 2e-3);
  EXPECT_NEAR(d({2, 2}), 0.4996, 2e-3);
}

TEST(Stopping, LeaderCannotBeOvertaken) {
  const int32_t c1[] = {8, 0};
  EXPECT_FALSE(leader_cannot_be_overtaken(c1, 8));  // 8 more could tie
  EXPECT_TRUE(leader_cannot_be_overtaken(c1, 7));
  const int32_t c2[] = {5, 3, 1};
  EXPECT_TRUE(leader_cannot_be_overtaken(c2, 1));
  EXPECT_FALSE(leader_cannot_be_overtaken(c2, 2));
}

TEST(Stopping, DecisionsOnSequences) {
  // leader: by hand (top - second > 16 - n)
  EXPECT_EQ(first_stop("AAAAAAAAAAAAAAAA", StopRule::kLeader), 9);
  EXPECT_EQ(first_stop("ABAAAAAAAAAAAAAA", StopRule::kLeader), 10);
  EXPECT_EQ(first_stop("ABCAABAACAAAAAAA", StopRule::kLeader), 12);
  EXPECT_EQ(first_stop("ABABABBABABBBBBB", StopRule::kLeader), 14);
  EXPECT_EQ(first_stop("ABABABABABABABAB", StopRule::kLeader), 0);
  // beta, threshold 0.95
  EXPECT_EQ(first_stop("AAAAAAAAAAAAAAAA", StopRule::kBeta), 4);
  EXPECT_EQ(first_stop("ABAAAAAAAAAAAAAA", StopRule::kBeta), 7);
  EXPECT_EQ(first_stop("ABCAABAACAAAAAAA", StopRule::kBeta), 12);  // 7-2-2 at 11 is 0.9453
  EXPECT_EQ(first_stop("ABABABBABABBBBBB", StopRule::kBeta), 14);
  EXPECT_EQ(first_stop("ABABABABABABABAB", StopRule::kBeta), 0);
  // dirichlet, threshold 0.95
  EXPECT_EQ(first_stop("AAAAAAAAAAAAAAAA", StopRule::kDirichlet), 4);
  EXPECT_EQ(first_stop("ABAAAAAAAAAAAAAA", StopRule::kDirichlet), 7);
  EXPECT_EQ(first_stop("ABCAABAACAAAAAAA", StopRule::kDirichlet), 12);
  EXPECT_EQ(first_stop("ABABABBABABBBBBB", StopRule::kDirichlet), 14);
  EXPECT_EQ(first_stop("ABABABABABABABAB", StopRule::kDirichlet), 0);
}

TEST(Stopping, NoVotesNeverStop) {
  Vote empty;
  EXPECT_FALSE(stopping_decision(empty, 5, 16, StopRule::kBeta, 0.5).stop);
}

TEST(Stopping, ParseNames) {
  EXPECT_EQ(parse_stop_rule("beta"), StopRule::kBeta);
  EXPECT_EQ(parse_stop_rule("dirichlet"), StopRule::kDirichlet);
  EXPECT_EQ(parse_stop_rule("leader"), StopRule::kLeader);
  EXPECT_EQ(parse_stop_rule("gamma"), std::nullopt);
}

}  // namespace
}  // namespace nuri::ttc
