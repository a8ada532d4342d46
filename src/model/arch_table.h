// model/arch_table.h — the single table of names: GGUF tensor names and metadata keys, and the
// Hugging Face names of the same roles.
#pragma once

#include <optional>
#include <string>

#include "model/config.h"

namespace nuri::model {

// The facts of one family, read by both loaders (GGUF and Hugging Face).
struct ArchInfo {
  Arch arch;
  const char* gguf_name;            // general.architecture
  const char* hf_model_types[3];    // config.json model_type values (unused entries null)
  kernels::RopeStyle gguf_rope;     // RoPE pairing of the GGUF q/k layout (HF checkpoints are always NeoX)
  bool qkv_bias;                    // biases on q, k, v
  bool qk_norm;                     // RMSNorm of each q/k head before RoPE
};
const ArchInfo& arch_info(Arch a);
std::string supported_gguf_archs();       // "llama, qwen2, ..." for error messages
std::string supported_hf_model_types();

std::optional<Arch> arch_from_string(const std::string& s);  // GGUF general.architecture
std::optional<Arch> arch_from_hf(const std::string& model_type);  // config.json model_type

enum class Role {
  kTokEmbd, kOutNorm, kOutput,
  kAttnNorm, kWq, kWk, kWv, kWo, kBq, kBk, kBv, kBo, kQNorm, kKNorm,
  kFfnNorm, kGate, kUp, kDown, kGateInp, kGateExps, kUpExps, kDownExps,
};

// "blk.3.attn_q.weight" style names (layer ignored for global roles).
std::string gguf_tensor_name(Role r, int layer);
// "model.layers.3.self_attn.q_proj.weight" style names; empty where HF has no such tensor.
std::string hf_tensor_name(Role r, int layer);

}  // namespace nuri::model
