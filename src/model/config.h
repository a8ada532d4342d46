// model/config.h — model hyper-parameters as plain data. Architecture differences are fields
// here (norm, qk-norm, biases, rope style, MoE routing), not class hierarchies.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "kernels/ops.h"

namespace nuri::model {

enum class Arch { kLlama, kQwen2, kQwen3, kQwen3Moe };
const char* arch_name(Arch a);

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
// "not known yet" (GGUF reads it from token_embd afterwards). `where` prefixes the message.
Status validate_config(const ModelConfig& c, const std::string& where);

}  // namespace nuri::model
