#include "model/config.h"

namespace nuri::model {
namespace {

Status in_range(const std::string& where, const char* name, int64_t v, int64_t lo, int64_t hi) {
  if (v < lo || v > hi)
    return Error(where + ": " + name + " = " + std::to_string(v) + " is outside the supported range " +
                 std::to_string(lo) + ".." + std::to_string(hi));
  return Status::ok();
}

}  // namespace

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
  return Status::ok();
}

}  // namespace nuri::model
