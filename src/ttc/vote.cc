// ttc/vote.cc — majority vote and stopping rules.
#include "ttc/vote.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace nuri::ttc {

Vote majority_vote(std::span<const Candidate> candidates) {
  struct Acc {
    int32_t votes = 0;
    double lp = 0;
  };
  std::map<std::string, Acc> by_answer;
  Vote v;
  for (const auto& c : candidates) {
    if (!c.answer) {
      ++v.abstained;
      continue;
    }
    Acc& a = by_answer[*c.answer];
    ++a.votes;
    a.lp += c.mean_logprob();
  }
  for (const auto& [ans, a] : by_answer) v.ranked.push_back({ans, a.votes, a.lp / a.votes});
  std::sort(v.ranked.begin(), v.ranked.end(), [](const AnswerVotes& x, const AnswerVotes& y) {
    if (x.votes != y.votes) return x.votes > y.votes;
    if (x.mean_logprob != y.mean_logprob) return x.mean_logprob > y.mean_logprob;
    return x.answer < y.answer;
  });
  return v;
}

Vote verified_vote(std::span<const Candidate> candidates) {
  double best = -1;
  bool any = false;
  for (const auto& c : candidates)
    if (c.score) best = std::max(best, *c.score), any = true;
  if (!any) return majority_vote(candidates);
  std::vector<Candidate> top;
  int32_t dropped = 0;
  for (const auto& c : candidates) {
    if (c.score && *c.score == best) {
      top.push_back(c);
    } else {
      ++dropped;
    }
  }
  Vote v = majority_vote(top);
  v.abstained += dropped;
  return v;
}

std::optional<StopRule> parse_stop_rule(const std::string& s) {
  if (s == "leader") return StopRule::kLeader;
  if (s == "beta") return StopRule::kBeta;
  if (s == "dirichlet") return StopRule::kDirichlet;
  return std::nullopt;
}

const char* stop_rule_name(StopRule r) {
  switch (r) {
    case StopRule::kLeader: return "leader";
    case StopRule::kBeta: return "beta";
    case StopRule::kDirichlet: return "dirichlet";
  }
  return "?";
}

bool leader_cannot_be_overtaken(std::span<const int32_t> counts, int32_t remaining) {
  if (counts.empty()) return false;
  const int32_t second = counts.size() > 1 ? counts[1] : 0;
  return counts[0] - second > std::max(remaining, 0);
}

double beta_confidence(int32_t v1, int32_t v2) {
  // I_x(a, b) = P(Bin(a + b - 1, x) >= a) for integers, so P(Beta(a, b) > 1/2) = P(Bin(n, 1/2) <= a - 1)
  // with n = a + b - 1 = v1 + v2 + 1. Summed in logs: exact enough for thousands of votes.
  const int32_t n = v1 + v2 + 1;
  double total = 0;
  for (int32_t k = 0; k <= v1; ++k)
    total += std::exp(std::lgamma(n + 1.0) - std::lgamma(k + 1.0) - std::lgamma(n - k + 1.0) - n * std::log(2.0));
  return std::min(total, 1.0);
}

namespace {

// log of the Gamma(shape a, 1) density at x > 0, and its CDF for integer a (Erlang).
double gamma_log_pdf(int32_t a, double x) { return (a - 1) * std::log(x) - x - std::lgamma(a); }
double erlang_cdf(int32_t a, double x) {
  // 1 - sum_{k<a} e^-x x^k / k!, each term in logs (no underflow of e^-x for large x)
  const double lx = std::log(x);
  double sum = 0;
  for (int32_t k = 0; k < a; ++k) sum += std::exp(k * lx - x - std::lgamma(k + 1.0));
  return std::clamp(1.0 - sum, 0.0, 1.0);
}

}  // namespace

double dirichlet_confidence(std::span<const int32_t> counts) {
  if (counts.empty()) return 0;
  std::vector<int32_t> alpha;
  for (int32_t c : counts) alpha.push_back(c + 1);
  if (alpha.size() == 1) alpha.push_back(1);  // the leader against an answer not seen yet
  // p_i = G_i / sum G with independent G_i ~ Gamma(alpha_i): P(G_0 > max_{i>0} G_i) =
  // integral of pdf_0(x) prod_{i>0} cdf_i(x) dx. Simpson's rule on [0, hi], hi far in the tail.
  const double hi = alpha[0] + 12.0 * std::sqrt(static_cast<double>(alpha[0])) + 40.0;
  const int kSteps = 4000;  // even
  const double h = hi / kSteps;
  double acc = 0;
  for (int s = 1; s < kSteps; ++s) {  // the endpoints contribute 0 (pdf_0(0) prod cdf(0) = 0, tail ~ 0)
    const double x = s * h;
    double f = std::exp(gamma_log_pdf(alpha[0], x));
    for (size_t i = 1; i < alpha.size() && f > 0; ++i) f *= erlang_cdf(alpha[i], x);
    acc += f * (s % 2 == 1 ? 4.0 : 2.0);
  }
  return std::clamp(acc * h / 3.0, 0.0, 1.0);
}

StopDecision stopping_decision(const Vote& vote, int32_t used, int32_t max_samples, StopRule rule, double threshold) {
  StopDecision d;
  if (vote.ranked.empty()) return d;
  std::vector<int32_t> counts;
  for (const auto& a : vote.ranked) counts.push_back(a.votes);
  if (leader_cannot_be_overtaken(counts, max_samples - used)) {
    d.stop = true;
    d.confidence = 1;
    d.reason = "unassailable";
    return d;
  }
  if (rule == StopRule::kBeta) {
    d.confidence = beta_confidence(counts[0], counts.size() > 1 ? counts[1] : 0);
    d.reason = "beta";
  } else if (rule == StopRule::kDirichlet) {
    d.confidence = dirichlet_confidence(counts);
    d.reason = "dirichlet";
  } else {
    return d;
  }
  d.stop = d.confidence >= threshold;
  if (!d.stop) d.reason = "";
  return d;
}

}  // namespace nuri::ttc
