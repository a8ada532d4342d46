// model/gen_plan.h — internal to gen.cc / gen_hf.cc: the list of tensors a random model has.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "model/config.h"
#include "model/gen.h"
#include "tensor/dtype.h"

namespace nuri::model {

struct GenShape {
  const char* name;
  int32_t n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_expert, n_expert_used, n_ff_exp, n_ctx;
  float rope_theta;
  bool tied;
};

struct TensorPlan {
  std::string name;  // GGUF name
  std::vector<uint64_t> shape;  // nuri order
  DType dtype;
  float stddev, mean;
};

struct GenPlan {
  const GenShape* sh = nullptr;
  std::string arch;  // GGUF arch ("llama" for llama-moe)
  bool moe = false;
  DType base = DType::kF32;
  int32_t n_layer = 0;
  int32_t n_rot = 0;      // rotary dims per head
  RopeScaling rope;       // what the file states (freq_factors etc. filled for llama3/longrope)
  std::vector<TensorPlan> tensors;
};

Result<GenPlan> make_plan(const GenSpec& spec, uint64_t n_vocab);
// The tensor's random values (deterministic in seed and name), f32, nuri order.
std::vector<float> plan_values(const TensorPlan& t, uint64_t seed);

}  // namespace nuri::model
