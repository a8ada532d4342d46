// apps/nuri/eval_synth_ttc.h — `nuri eval-synth --strategy ...`: the held-out synthetic problems
// answered through ttc strategies on the engine (greedy baseline, self-consistency, best-of-n,
// beam; adaptive stopping; accuracy-vs-samples curves and their SVG plot).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "eval/synth/synth.h"
#include "runtime/loaded_model.h"
#include "sampling/sampler.h"

namespace nuri::cli {

struct EvalTtcOptions {
  std::string strategy = "greedy";
  int samples = 16;
  bool adaptive = false;
  bool compare = false;       // also run greedy, fixed and adaptive back to back on the same engine
  int curve = 0;              // > 0: accuracy vs samples 1, 2, 4, ... up to this many
  std::string plot;           // SVG of the curve
  std::string stop_rule = "beta";
  std::string verifier = "auto";  // auto: (a) step checker, (b) grounded execution; none
  double threshold = 0.95;
  int batch = 0;
  int slots = 64;
  int max_tokens = 256;
  int threads = 0;
  sampling::SamplerParams sampling;
  std::string json_out;
};

int eval_synth_ttc(runtime::LoadedModel& lm, uint64_t seed, const std::vector<eval::synth::SynthSample>& samples,
                   const std::vector<std::vector<int32_t>>& prompts, const EvalTtcOptions& opt);

}  // namespace nuri::cli
