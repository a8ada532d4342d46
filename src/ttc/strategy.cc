// ttc/strategy.cc — greedy, self-consistency, best-of-n and beam search over the engine.
#include "ttc/strategy.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "base/timer.h"
#include "ttc/sample.h"
#include "tokenizer/tokenizer.h"

namespace nuri::ttc {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kRoundSeedStep = 0xD1B54A32D192ED03ull;

std::string trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

void extract_into(Candidate& c, const Extractor* ex) {
  if (ex) {
    c.answer = ex->extract(c.text);
  } else {
    std::string t = trimmed(c.text);
    if (!t.empty()) c.answer = t;
  }
}

Clock::time_point deadline_of(const Budget& b, Clock::time_point start) {
  if (b.max_wall_s <= 0) return Clock::time_point::max();
  return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(b.max_wall_s));
}

// The candidate with the winning answer and the highest mean logprob (or the best overall when
// nobody answered).
int32_t pick_for_answer(const std::vector<Candidate>& cands, const Vote& v) {
  int32_t best = -1;
  for (int32_t i = 0; i < static_cast<int32_t>(cands.size()); ++i) {
    const auto& c = cands[i];
    if (v.winner() && (!c.answer || *c.answer != v.winner()->answer)) continue;
    if (best < 0 || c.mean_logprob() > cands[best].mean_logprob()) best = i;
  }
  return best;
}

// Draws samples in rounds until the budget, or (adaptive) the stopping rule, ends it.
Status sample_and_vote(engine::Engine& engine, const std::vector<int32_t>& prompt, const StrategyParams& p,
                       const Extractor* ex, const Verifier* verifier, Clock::time_point start, StrategyResult& r) {
  const bool greedy = p.kind == StrategyKind::kGreedy;
  const int32_t max_samples = greedy ? 1 : std::max(1, p.budget.max_samples);
  int32_t batch = p.batch > 0 ? p.batch : (p.adaptive ? 2 : max_samples);
  batch = std::clamp(batch, 1, engine.n_parallel());
  const auto deadline = deadline_of(p.budget, start);
  sampling::SamplerParams sp = p.sampling;
  if (greedy) sp.temperature = 0;
  r.stop_reason = "samples";
  for (int32_t round = 0; r.samples_used < max_samples; ++round) {
    if (Clock::now() >= deadline) {
      r.stop_reason = "time";
      break;
    }
    RoundLimits lim;
    lim.deadline = deadline;
    if (p.budget.max_tokens >= 0) {
      lim.max_tokens = p.budget.max_tokens - r.tokens;
      if (lim.max_tokens <= 0) {
        r.stop_reason = "tokens";
        break;
      }
    }
    SampleRequest sr;
    sr.prompt = prompt;
    sr.n = std::min(batch, max_samples - r.samples_used);
    sr.sampling = sp;
    sr.sampling.seed = p.sampling.seed + static_cast<uint64_t>(round) * kRoundSeedStep;
    sr.max_tokens = p.max_tokens;
    sr.stop = p.stop;
    NURI_ASSIGN_OR_RETURN(RoundResult rr, sample_round(engine, {sr}, lim));
    r.tokens += rr.tokens;
    for (auto& c : rr.candidates[0]) {
      if (c.cancelled) continue;
      extract_into(c, ex);
      if (verifier) c.score = verifier->score(c.text);
      r.candidates.push_back(std::move(c));
      ++r.samples_used;
    }
    r.plain_vote = majority_vote(r.candidates);
    r.vote = verifier && p.verified_vote ? verified_vote(r.candidates) : r.plain_vote;
    if (rr.cut) {
      r.stop_reason = Clock::now() >= deadline ? "time" : "tokens";
      break;
    }
    if (p.adaptive && p.kind == StrategyKind::kSelfConsistency) {
      const StopDecision d = stopping_decision(r.vote, r.samples_used, max_samples, p.stop_rule, p.threshold);
      if (d.stop) {
        r.stop_reason = d.reason;
        break;
      }
    }
    if (p.adaptive && p.kind == StrategyKind::kBestOfN && verifier) {
      bool perfect = false;
      for (const auto& c : r.candidates) perfect |= c.score && *c.score >= 1.0;
      if (perfect) {
        r.stop_reason = "verified";
        break;
      }
    }
  }
  return Status::ok();
}

// Best-of-n order: verifier score (unjudged last), then mean logprob, then index.
bool better(const Candidate& a, const Candidate& b) {
  const double sa = a.score.value_or(-1.0), sb = b.score.value_or(-1.0);
  if (sa != sb) return sa > sb;
  return a.mean_logprob() > b.mean_logprob();
}

struct Path {
  std::vector<int32_t> tokens;
  double sum_lp = 0;
  int32_t n = 0;
  bool done = false;
  bool finished = true;
  double score = 0;
};

Status beam_search(engine::Engine& engine, const std::vector<int32_t>& prompt, const StrategyParams& p,
                   const Extractor* ex, const Verifier* verifier, Clock::time_point start, StrategyResult& r) {
  const auto deadline = deadline_of(p.budget, start);
  const int32_t width = std::max(1, p.beam_width);
  const int32_t expand = std::clamp(p.expand, 1, engine.n_parallel());
  const int64_t token_budget =
      p.budget.max_tokens >= 0 ? p.budget.max_tokens : static_cast<int64_t>(std::max(1, p.budget.max_samples)) * p.max_tokens;
  const auto& tok = engine.tokenizer();
  auto score_path = [&](Path& path) {
    path.score = std::exp(path.n > 0 ? path.sum_lp / path.n : 0.0);  // geometric-mean token probability
    if (verifier && path.done) {
      if (auto s = verifier->score(tok.decode(path.tokens))) path.score = *s;
    }
  };
  std::vector<Path> beam(1);
  r.stop_reason = "done";
  while (true) {
    std::vector<size_t> open;
    for (size_t i = 0; i < beam.size(); ++i)
      if (!beam[i].done) open.push_back(i);
    if (open.empty()) break;
    if (Clock::now() >= deadline) {
      r.stop_reason = "time";
      break;
    }
    if (r.tokens >= token_budget) {
      r.stop_reason = "tokens";
      break;
    }
    std::vector<SampleRequest> reqs;
    std::vector<size_t> req_path;
    for (size_t i : open) {
      const int32_t left = p.max_tokens - beam[i].n;
      const int32_t room = engine.n_ctx() - static_cast<int32_t>(prompt.size() + beam[i].tokens.size());
      if (left <= 0 || room <= 1) {
        beam[i].done = true;
        beam[i].finished = false;
        continue;
      }
      SampleRequest sr;
      sr.prompt = prompt;
      sr.prompt.insert(sr.prompt.end(), beam[i].tokens.begin(), beam[i].tokens.end());
      sr.n = expand;
      sr.sampling = p.sampling;
      sr.sampling.seed = p.sampling.seed + static_cast<uint64_t>(r.samples_used + reqs.size() * expand) * kRoundSeedStep;
      sr.max_tokens = std::min({p.max_step_tokens, left, room - 1});
      sr.stop = p.stop;
      sr.stop.push_back(p.step_delimiter);
      reqs.push_back(std::move(sr));
      req_path.push_back(i);
    }
    if (reqs.empty()) continue;
    RoundLimits lim;
    lim.deadline = deadline;
    lim.max_tokens = token_budget - r.tokens;
    NURI_ASSIGN_OR_RETURN(RoundResult rr, sample_round(engine, reqs, lim));
    r.tokens += rr.tokens;
    std::vector<Path> pool;
    for (const auto& b : beam)
      if (b.done) pool.push_back(b);
    std::map<std::vector<int32_t>, bool> seen;
    for (size_t q = 0; q < reqs.size(); ++q) {
      const Path& parent = beam[req_path[q]];
      for (const auto& c : rr.candidates[q]) {
        if (c.cancelled) continue;
        ++r.samples_used;
        Path child = parent;
        child.tokens.insert(child.tokens.end(), c.tokens.begin(), c.tokens.end());
        child.sum_lp += c.sum_logprob;
        child.n += c.n_tokens;
        const bool hit_delim = tok.decode(c.tokens).find(p.step_delimiter) != std::string::npos;
        child.done = !hit_delim || c.n_tokens == 0 || child.n >= p.max_tokens;
        child.finished = c.finished && (!hit_delim || child.n < p.max_tokens);
        if (seen.emplace(child.tokens, true).second) pool.push_back(std::move(child));
      }
    }
    if (pool.empty()) break;
    for (auto& path : pool) score_path(path);
    std::stable_sort(pool.begin(), pool.end(), [](const Path& a, const Path& b) { return a.score > b.score; });
    if (static_cast<int32_t>(pool.size()) > width) pool.resize(width);
    beam = std::move(pool);
    if (rr.cut) {
      r.stop_reason = Clock::now() >= deadline ? "time" : "tokens";
      break;
    }
  }
  for (auto& path : beam) {
    Candidate c;
    c.tokens = path.tokens;
    c.text = tok.decode(path.tokens);
    c.sum_logprob = path.sum_lp;
    c.n_tokens = path.n;
    c.finished = path.done && path.finished;
    extract_into(c, ex);
    c.score = path.score;
    r.candidates.push_back(std::move(c));
  }
  r.vote = r.plain_vote = majority_vote(r.candidates);
  return Status::ok();
}

}  // namespace

std::optional<StrategyKind> parse_strategy(const std::string& s) {
  if (s == "greedy") return StrategyKind::kGreedy;
  if (s == "self-consistency" || s == "self_consistency" || s == "sc") return StrategyKind::kSelfConsistency;
  if (s == "best-of-n" || s == "best_of_n" || s == "bon") return StrategyKind::kBestOfN;
  if (s == "beam") return StrategyKind::kBeam;
  return std::nullopt;
}

const char* strategy_name(StrategyKind k) {
  switch (k) {
    case StrategyKind::kGreedy: return "greedy";
    case StrategyKind::kSelfConsistency: return "self-consistency";
    case StrategyKind::kBestOfN: return "best-of-n";
    case StrategyKind::kBeam: return "beam";
  }
  return "?";
}

const std::string& StrategyResult::text() const {
  static const std::string kEmpty;
  return chosen >= 0 && chosen < static_cast<int32_t>(candidates.size()) ? candidates[chosen].text : kEmpty;
}

Result<StrategyResult> run_strategy(engine::Engine& engine, const std::vector<int32_t>& prompt,
                                    const StrategyParams& params, const Extractor* extractor,
                                    const Verifier* verifier) {
  if (prompt.empty()) return Error("the prompt is empty");
  if (params.max_tokens < 1) return Error("max tokens per candidate must be at least 1");
  const auto start = Clock::now();
  Timer timer;
  StrategyResult r;
  r.kind = params.kind;
  if (params.kind == StrategyKind::kBeam) {
    NURI_TRY(beam_search(engine, prompt, params, extractor, verifier, start, r));
    int32_t best = -1;
    for (int32_t i = 0; i < static_cast<int32_t>(r.candidates.size()); ++i)
      if (best < 0 || r.candidates[i].score.value_or(0) > r.candidates[best].score.value_or(0)) best = i;
    r.chosen = best;
  } else {
    NURI_TRY(sample_and_vote(engine, prompt, params, extractor, verifier, start, r));
    if (params.kind == StrategyKind::kBestOfN) {
      int32_t best = -1;
      for (int32_t i = 0; i < static_cast<int32_t>(r.candidates.size()); ++i)
        if (best < 0 || better(r.candidates[i], r.candidates[best])) best = i;
      r.chosen = best;
    } else {
      r.chosen = pick_for_answer(r.candidates, r.vote);
    }
  }
  if (r.candidates.empty()) return Error("no candidate finished within the budget");
  if (r.chosen >= 0 && r.candidates[r.chosen].answer) r.answer = *r.candidates[r.chosen].answer;
  r.wall_s = timer.seconds();
  return r;
}

}  // namespace nuri::ttc
