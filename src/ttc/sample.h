// ttc/sample.h — drawing candidates through the engine: many prompts, n choices each, at once.
// Purpose: submit every request of a round together (a request with n choices prefills its prompt
//   once and its choices decode together), collect tokens, per-token logprobs and texts, and
//   enforce the budgets: a wall-clock deadline and a cap on generated tokens cancel what is still
//   running (finished choices are kept, cut ones are returned with finished = false).
// Non-goals: scheduling across strategies (the engine does it), retries of refused requests other
//   than a full queue.
// Invariants: results come back in request order and choice order; every submitted request is
//   finished or cancelled when sample_round returns.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "nuri/engine.h"
#include "ttc/vote.h"

namespace nuri::ttc {

struct SampleRequest {
  std::vector<int32_t> prompt;
  int32_t n = 1;
  sampling::SamplerParams sampling;  // choice i uses the engine's seed + i stream
  int32_t max_tokens = 256;
  std::vector<std::string> stop;
};

struct RoundLimits {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  int64_t max_tokens = -1;  // generated tokens over the whole round; < 0: no cap
};

struct RoundResult {
  std::vector<std::vector<Candidate>> candidates;  // [request][choice]
  int64_t tokens = 0;  // generated in this round
  bool cut = false;    // a limit cancelled something
};

Result<RoundResult> sample_round(engine::Engine& engine, const std::vector<SampleRequest>& requests,
                                 const RoundLimits& limits);

}  // namespace nuri::ttc
