// ttc/vote.h — candidates, the majority vote and the adaptive stopping rules.
// Purpose: count the answers of sampled candidates (ties broken by the mean token logprob of the
//   answer's candidates), and decide after each batch whether more samples can still change the
//   outcome: (1) the leader cannot be overtaken (its lead exceeds the samples left), (2) the Beta
//   rule of Aggarwal et al. 2023 ("Adaptive-Consistency"): with v1, v2 the top two counts,
//   P(p1 > p2) under p1/(p1+p2) ~ Beta(v1 + 1, v2 + 1) reaches the threshold, (3) the Dirichlet
//   rule: P(p_leader is the largest) under Dirichlet(counts + 1) over the observed answers.
// Non-goals: weighting votes by verifier scores (best-of-n does that), answers of a different
//   surface form being "the same" (extractors normalise).
// Invariants: the vote is deterministic for the same candidates in any order (ties: votes, then
//   mean logprob, then the answer string); candidates without an answer abstain.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace nuri::ttc {

struct Candidate {
  std::vector<int32_t> tokens;  // generated tokens (an end-of-generation token excluded)
  std::string text;
  double sum_logprob = 0;       // of the generated tokens, model distribution at temperature 1
  int32_t n_tokens = 0;
  bool finished = true;         // ended by end-of-generation or a stop string (not by a length cap)
  bool cancelled = false;       // cut by a budget before it ended (never voted)
  std::optional<std::string> answer;
  std::optional<double> score;  // verifier score, when one judged it
  double mean_logprob() const { return n_tokens > 0 ? sum_logprob / n_tokens : 0.0; }
};

struct AnswerVotes {
  std::string answer;
  int32_t votes = 0;
  double mean_logprob = 0;  // mean over this answer's candidates of their mean token logprob
};

struct Vote {
  std::vector<AnswerVotes> ranked;  // best first; empty when every candidate abstained
  int32_t abstained = 0;
  const AnswerVotes* winner() const { return ranked.empty() ? nullptr : &ranked.front(); }
};

Vote majority_vote(std::span<const Candidate> candidates);
// The vote among the candidates the verifier rates best: those whose score equals the highest
// score present (unscored candidates count as the lowest tier); the others abstain. Without
// scores it is majority_vote.
Vote verified_vote(std::span<const Candidate> candidates);

enum class StopRule { kLeader, kBeta, kDirichlet };
std::optional<StopRule> parse_stop_rule(const std::string& s);  // leader | beta | dirichlet
const char* stop_rule_name(StopRule r);

// True when the top count minus the second exceeds `remaining` (no tie is possible either).
bool leader_cannot_be_overtaken(std::span<const int32_t> counts_desc, int32_t remaining);
// P(p1 > p2), p1/(p1+p2) ~ Beta(v1 + 1, v2 + 1), exactly: P(Binomial(v1 + v2 + 1, 1/2) <= v1).
double beta_confidence(int32_t v1, int32_t v2);
// P(p_0 > p_i for all i > 0) under Dirichlet(counts + 1) (counts[0] is the leader), by numerical
// integration of the Gamma representation; a single answer counts against an unseen one.
double dirichlet_confidence(std::span<const int32_t> counts_desc);

struct StopDecision {
  bool stop = false;
  double confidence = 0;  // of the rule (1 when the leader cannot be overtaken)
  const char* reason = "";  // "unassailable", "beta", "dirichlet" or ""
};

// After `used` of at most `max_samples` samples: stop when the leader cannot be overtaken, or when
// `rule`'s confidence reaches `threshold` (kLeader: only the first). No votes yet: never stops.
StopDecision stopping_decision(const Vote& vote, int32_t used, int32_t max_samples, StopRule rule, double threshold);

}  // namespace nuri::ttc
