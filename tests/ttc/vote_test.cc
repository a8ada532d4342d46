// The majority vote: counts, abstentions, ties broken by mean token logprob, verified vote.
#include <gtest/gtest.h>

#include "ttc/vote.h"

namespace nuri::ttc {
namespace {

Candidate cand(std::optional<std::string> answer, double sum_lp, int n, std::optional<double> score = std::nullopt) {
  Candidate c;
  c.answer = std::move(answer);
  c.sum_logprob = sum_lp;
  c.n_tokens = n;
  c.score = score;
  return c;
}

TEST(Vote, MajorityWins) {
  std::vector<Candidate> c = {cand("7", -1, 10), cand("8", -0.1, 10), cand("7", -5, 10), cand(std::nullopt, 0, 3)};
  Vote v = majority_vote(c);
  ASSERT_EQ(v.ranked.size(), 2u);
  EXPECT_EQ(v.winner()->answer, "7");
  EXPECT_EQ(v.winner()->votes, 2);
  EXPECT_EQ(v.ranked[1].answer, "8");
  EXPECT_EQ(v.abstained, 1);
  // mean over "7"'s candidates of their mean token logprob: (-0.1 + -0.5) / 2
  EXPECT_DOUBLE_EQ(v.winner()->mean_logprob, -0.3);
}

TEST(Vote, TieBrokenByMeanLogprob) {
  // "a": mean logprobs -0.2 and -0.4 -> -0.3; "b": -0.1 and -0.6 -> -0.35. "a" wins the 2-2 tie
  // although "b" has the single most likely candidate.
  std::vector<Candidate> c = {cand("b", -1, 10), cand("a", -2, 10), cand("b", -6, 10), cand("a", -4, 10)};
  EXPECT_EQ(majority_vote(c).winner()->answer, "a");
  // Same counts, "b" now more likely on average: -0.1 and -0.2 -> -0.15.
  c[2] = cand("b", -2, 10);
  EXPECT_EQ(majority_vote(c).winner()->answer, "b");
  // Order of candidates does not matter.
  std::swap(c[0], c[3]);
  EXPECT_EQ(majority_vote(c).winner()->answer, "b");
}

TEST(Vote, LengthNormalised) {
  // A long candidate with a larger total logprob loss but a better per-token mean wins the tie.
  std::vector<Candidate> c = {cand("long", -10, 100), cand("short", -2, 4)};
  EXPECT_EQ(majority_vote(c).winner()->answer, "long");  // -0.1 per token vs -0.5
}

TEST(Vote, AllAbstain) {
  std::vector<Candidate> c = {cand(std::nullopt, 0, 1), cand(std::nullopt, 0, 1)};
  Vote v = majority_vote(c);
  EXPECT_EQ(v.winner(), nullptr);
  EXPECT_EQ(v.abstained, 2);
}

TEST(Vote, VerifiedVoteKeepsTheBestTier) {
  // Three wrong-step candidates agree on 31; the two that verify say 30.
  std::vector<Candidate> c = {cand("31", -1, 5, 0.0), cand("31", -1, 5, 0.0), cand("31", -1, 5, 0.0),
                              cand("30", -2, 5, 1.0), cand("30", -3, 5, 1.0), cand("29", -1, 5, 0.5)};
  EXPECT_EQ(majority_vote(c).winner()->answer, "31");
  Vote v = verified_vote(c);
  EXPECT_EQ(v.winner()->answer, "30");
  EXPECT_EQ(v.winner()->votes, 2);
  EXPECT_EQ(v.abstained, 4);
  // Without any score it is the plain vote.
  for (auto& x : c) x.score.reset();
  EXPECT_EQ(verified_vote(c).winner()->answer, "31");
}

}  // namespace
}  // namespace nuri::ttc
