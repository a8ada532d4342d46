// model/config.h — model hyper-parameters as plain data. Architecture differences are fields
// here (norm, qk-norm, biases, rope style, MoE routing), not class hierarchies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/ops.h"

namespace nuri::model {

enum class Arch { kLlama, kQwen2, kQwen3, kQwen3Moe };
const char* arch_name(Arch a);

// RoPE scaling as a model file states it (llama.cpp's hparams: GGUF `<arch>.rope.scaling.*`, HF
// config.json `rope_scaling`); rope_params() (model/rope_scaling.h) turns it into the angles of a
// context. Llama 3 scaling is kNone with freq_factors (GGUF rope_freqs.weight).
enum class RopeScalingType { kNone, kLinear, kYarn, kLongRope };
const char* rope_scaling_name(RopeScalingType t);

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  float freq_scale = 1.f;        // 1 / factor (rope.scaling.factor, older files rope.scale_linear)
  int32_t n_ctx_orig = 0;        // original training context (YaRN ramp, LongRoPE long/short); 0: n_ctx_train
  float attn_factor = 1.f;       // rope.scaling.attn_factor: multiplies cos/sin (YaRN's mscale on top)
  float yarn_ext_factor = -1.f;  // YaRN extrapolation mix; < 0: 1 for YaRN, 0 otherwise (llama.cpp's default)
  float yarn_beta_fast = 32.f;
  float yarn_beta_slow = 1.f;
  float yarn_log_mul = 0.f;      // mscale_all_dim (DeepSeek-style YaRN attention factor); 0: none
  std::vector<float> freq_factors;   // [n_rot / 2] or empty: divisors of each frequency (Llama 3)
  std::vector<float> long_factors;   // [n_rot / 2] or empty: LongRoPE, used when n_ctx > n_ctx_orig
  std::vector<float> short_factors;  // [n_rot / 2] or empty: LongRoPE otherwise
};

struct ModelConfig {
  Arch arch = Arch::kLlama;
  std::string arch_str;      // as in the file: "llama", "qwen2", ...
  int32_t n_vocab = 0;
  int32_t n_embd = 0;
  int32_t n_layer = 0;
  int32_t n_head = 0;
  int32_t n_head_kv = 0;
  int32_t head_dim = 0;      // per head, for q/k/v
  int32_t n_ff = 0;          // dense FFN width
  int32_t n_expert = 0;      // 0: dense
  int32_t n_expert_used = 0;
  int32_t n_ff_exp = 0;      // expert FFN width
  int32_t n_ctx_train = 0;
  int32_t n_rot = 0;         // rotary dims per head
  float rope_theta = 10000.f;
  float norm_eps = 1e-5f;
  kernels::RopeStyle rope_style = kernels::RopeStyle::kNormal;
  RopeScaling rope_scaling;
  bool qk_norm = false;      // RMSNorm of each q/k head before RoPE (qwen3)
  bool qkv_bias = false;     // biases on q, k, v (qwen2)
  bool tied_embeddings = false;
  bool moe_norm_topk = true; // renormalise the selected experts' softmax weights to sum 1
  int32_t sliding_window = 0;  // 0: full attention

  int32_t q_dim() const { return n_head * head_dim; }
  int32_t kv_dim() const { return n_head_kv * head_dim; }
};

// Limits a file's hyper-parameters must respect before anything is sized from them: a hostile or
// corrupt file gets an error naming the field instead of an overflow or a huge allocation.
// kMaxExperts is llama.cpp's LLAMA_MAX_EXPERTS; the others are far above any published model.
inline constexpr int32_t kMaxExperts = 512;
inline constexpr int32_t kMaxVocab = 1 << 24;
inline constexpr int32_t kMaxEmbd = 1 << 16;
inline constexpr int32_t kMaxLayers = 1024;
inline constexpr int32_t kMaxHeads = 1024;
inline constexpr int32_t kMaxFf = 1 << 20;
inline constexpr int32_t kMaxCtxTrain = 1 << 24;

// Checks every size field of c against the limits above and against each other (n_head a
// multiple of n_head_kv, n_expert_used <= n_expert, n_rot <= head_dim, ...). n_vocab = 0 means
// "not known yet" (GGUF reads it from token_embd afterwards). RoPE scaling: factor, attention
// factor, YaRN betas and original context bounded, factor vectors of n_rot / 2 finite positive
// values. `where` prefixes the message.
Status validate_config(const ModelConfig& c, const std::string& where);

}  // namespace nuri::model
