#include "model/config.h"

namespace nuri::model {
namespace {

Status in_range(const std::string& where, const char* name, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    return Error(where + ": " + name + " = " + std::to_string(v) + " is outside the supported range " +
                 std::to_string(lo) + ".." + std::to_string(hi));
  return Status::ok();
}

Status finite_in(const std::string& where, const char* name, float v, float lo, float hi) {
  if (!(v >= lo && v <= hi))  // NaN fails too
    return Error(where + ": " + name + " = " + std::to_string(v) + " is outside the supported range " +
                 std::to_string(lo) + ".." + std::to_string(hi));
  return Status::ok();
}

Status validate_rope_scaling(const ModelConfig& c, const std::string& where) {
  const RopeScaling& r = c.rope_scaling;
  // factor 1/1024 .. 65536 (published models use 2..64).
  NURI_TRY(finite_in(where, "rope scaling factor (1 / freq_scale)", 1.f / r.freq_scale, 1.f / 1024, 65536.f));
  NURI_TRY(in_range(where, "rope scaling original context (n_ctx_orig)", r.n_ctx_orig, 0, kMaxCtxTrain));
  NURI_TRY(finite_in(where, "rope scaling attn_factor", r.attn_factor, 1e-3f, 1e3f));
  if (!(r.yarn_ext_factor < 0.f))  // negative: the default; NaN is checked (and refused)
    NURI_TRY(finite_in(where, "yarn_ext_factor", r.yarn_ext_factor, 0.f, 1e3f));
  NURI_TRY(finite_in(where, "yarn_beta_fast", r.yarn_beta_fast, 1e-3f, 1e6f));
  NURI_TRY(finite_in(where, "yarn_beta_slow", r.yarn_beta_slow, 1e-3f, 1e6f));
  NURI_TRY(finite_in(where, "yarn_log_multiplier", r.yarn_log_mul, 0.f, 1e3f));
  for (const auto& [name, v] : {std::pair<const char*, const std::vector<float>*>{"rope_freqs", &r.freq_factors},
                                {"rope_factors_long", &r.long_factors},
                                {"rope_factors_short", &r.short_factors}}) {
    if (v->empty()) continue;
    if (v->size() != static_cast<size_t>(c.n_rot / 2))
      return Error(where + ": " + name + " has " + std::to_string(v->size()) + " values, expected n_rot / 2 = " +
                   std::to_string(c.n_rot / 2));
    for (float f : *v)
      if (!(f >= 1e-6f && f <= 1e6f))
        return Error(where + ": " + name + " holds " + std::to_string(f) + "; every factor must be in 1e-6..1e6");
  }
  return Status::ok();
}

}  // namespace

const char* rope_scaling_name(RopeScalingType t) {
  switch (t) {
    case RopeScalingType::kNone: return "none";
    case RopeScalingType::kLinear: return "linear";
    case RopeScalingType::kYarn: return "yarn";
    case RopeScalingType::kLongRope: return "longrope";
  }
  return "?";
}

Status validate_config(const ModelConfig& c, const std::string& where) {
  if (c.n_vocab != 0) NURI_TRY(in_range(where, "n_vocab", c.n_vocab, 1, kMaxVocab));
  NURI_TRY(in_range(where, "n_embd", c.n_embd, 1, kMaxEmbd));
  NURI_TRY(in_range(where, "n_layer", c.n_layer, 1, kMaxLayers));
  NURI_TRY(in_range(where, "n_head", c.n_head, 1, kMaxHeads));
  NURI_TRY(in_range(where, "n_head_kv", c.n_head_kv, 1, c.n_head));
  if (c.n_head % c.n_head_kv != 0)
    return Error(where + ": n_head " + std::to_string(c.n_head) + " is not a multiple of n_head_kv " +
                 std::to_string(c.n_head_kv));
  NURI_TRY(in_range(where, "head_dim", c.head_dim, 1, kernels::kMaxHeadDim));
  NURI_TRY(in_range(where, "n_rot", c.n_rot, 2, c.head_dim));
  if (c.n_rot % 2) return Error(where + ": n_rot = " + std::to_string(c.n_rot) + " must be even");
  NURI_TRY(in_range(where, "n_expert", c.n_expert, 0, kMaxExperts));
  if (c.n_expert > 0) {
    NURI_TRY(in_range(where, "n_expert_used", c.n_expert_used, 1, c.n_expert));
    NURI_TRY(in_range(where, "n_ff_exp", c.n_ff_exp, 1, kMaxFf));
  } else {
    NURI_TRY(in_range(where, "n_ff", c.n_ff, 1, kMaxFf));
  }
  if (c.n_ff != 0) NURI_TRY(in_range(where, "n_ff", c.n_ff, 1, kMaxFf));
  NURI_TRY(in_range(where, "n_ctx_train", c.n_ctx_train, 1, kMaxCtxTrain));
  NURI_TRY(in_range(where, "sliding_window", c.sliding_window, 0, kMaxCtxTrain));
  if (!(c.rope_theta > 0.f) || !(c.norm_eps > 0.f) || !(c.norm_eps < 1.f))
    return Error(where + ": rope_theta and norm_eps must be positive (norm_eps < 1)");
  return validate_rope_scaling(c, where);
}

}  // namespace nuri::model
