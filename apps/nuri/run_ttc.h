// apps/nuri/run_ttc.h — `nuri run --strategy ...`: one prompt answered through a src/ttc strategy.
#pragma once

#include <string>
#include <vector>

#include "nuri/engine.h"
#include "runtime/loaded_model.h"
#include "sampling/sampler.h"

namespace nuri::cli {

struct RunTtcOptions {
  std::string strategy;        // greedy | self-consistency | best-of-n | beam
  int samples = 8;
  bool adaptive = false;
  std::string stop_rule = "beta";
  double threshold = 0.95;
  std::string extract = "answer";  // answer | number | boxed | python | text
  std::string verify = "auto";     // auto | none | logprob | execution | steps
  std::vector<std::string> tests;  // "STDIN=>EXPECTED" for the execution verifier
  int beam_width = 4, expand = 4;
  long long max_total_tokens = -1;
  double max_wall_s = 0;
  bool chat = false;               // wrap the prompt in the model's chat template
  bool verbose = false;
  int n_predict = 128, threads = 0;
  sampling::SamplerParams sampling;
  engine::KvCacheType cache_type_k = engine::KvCacheType::kF16;  // --cache-type-k / -v
  engine::KvCacheType cache_type_v = engine::KvCacheType::kF16;
};

int run_with_strategy(const runtime::LoadedModel& lm, const std::string& prompt, const RunTtcOptions& opt);

}  // namespace nuri::cli
