// ttc/strategy.h — test-time compute strategies over one prompt: greedy, self-consistency,
// best-of-n, beam (step-level tree search).
// Purpose: spend more inference on one question and return one answer with its evidence:
//   - greedy: one deterministic sample;
//   - self-consistency: up to `samples` samples in batches of `batch` (each batch one engine
//     request with n_choices = batch, so the prompt is prefilled once and the choices decode
//     together), answers extracted, majority vote (ties by mean token logprob); with `adaptive`,
//     a stopping rule is checked after every batch;
//   - best-of-n: the same samples, the highest verifier score wins (execution/tests when given,
//     else the length-normalised logprob), ties by mean logprob;
//   - beam: paths grow one step at a time (a step ends at `step_delimiter`, default a newline);
//     every unfinished path of the beam gets `expand` continuations, paths are scored by the
//     verifier when it judges partial text, else by mean logprob, and the best `beam_width` are
//     kept, until every kept path has ended or the token budget is spent.
//   Budgets (max samples, max generated tokens, max wall time) bound every strategy; each result
//   reports samples used, tokens, votes per answer and time.
// Non-goals: touching the forward pass (only engine::Engine's public API), learned reward models.
// Invariants: the same engine state, prompt and params give the same answer (seeded sampling,
//   deterministic vote); a result always holds at least one candidate unless an error is returned.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "nuri/engine.h"
#include "ttc/extract.h"
#include "ttc/vote.h"

namespace nuri::ttc {

enum class StrategyKind { kGreedy, kSelfConsistency, kBestOfN, kBeam };
std::optional<StrategyKind> parse_strategy(const std::string& s);  // greedy, self-consistency (or
                                                                   // self_consistency, sc), best-of-n, beam
const char* strategy_name(StrategyKind k);

struct Budget {
  int32_t max_samples = 16;    // candidates drawn (beam: finished paths kept is beam_width)
  int64_t max_tokens = -1;     // generated tokens in total; < 0: no cap
  double max_wall_s = 0;       // 0: no limit
};

struct StrategyParams {
  StrategyKind kind = StrategyKind::kSelfConsistency;
  Budget budget;
  int32_t batch = 0;           // choices per engine request, capped by the engine's slots; 0: all
                               // samples at once, or 2 per batch when adaptive
  bool adaptive = false;
  StopRule stop_rule = StopRule::kBeta;
  double threshold = 0.95;     // confidence at which an adaptive rule stops
  bool verified_vote = true;   // self-consistency with a verifier: only the best-rated candidates vote
  sampling::SamplerParams sampling;  // temperature etc. (greedy forces temperature 0)
  int32_t max_tokens = 256;    // per candidate
  std::vector<std::string> stop;     // stop strings of every candidate
  // beam
  int32_t beam_width = 4;
  int32_t expand = 4;          // continuations drawn per kept path and step
  std::string step_delimiter = "\n";
  int32_t max_step_tokens = 64;
};

struct StrategyResult {
  StrategyKind kind = StrategyKind::kGreedy;
  std::string answer;          // the chosen answer ("" when no candidate gave one)
  int32_t chosen = -1;         // index into candidates of the returned text
  std::vector<Candidate> candidates;
  Vote vote;                   // the vote that decided (verified when a verifier filtered it)
  Vote plain_vote;             // every candidate's answer counted, no verifier
  int32_t samples_used = 0;
  int64_t tokens = 0;          // generated, all candidates (beam: all expansions)
  double wall_s = 0;
  std::string stop_reason;     // "samples", "unassailable", "beta", "dirichlet", "tokens", "time", "done"
  const std::string& text() const;
};

// `extractor` may be null (answers are then the trimmed texts); `verifier` may be null.
Result<StrategyResult> run_strategy(engine::Engine& engine, const std::vector<int32_t>& prompt,
                                    const StrategyParams& params, const Extractor* extractor,
                                    const Verifier* verifier);

}  // namespace nuri::ttc
