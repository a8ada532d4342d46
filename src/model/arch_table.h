// model/arch_table.h — the single table of names: GGUF tensor names and metadata keys, and the
// Hugging Face names of the same roles.
#pragma once

#include <optional>
#include <string>

#include "model/config.h"

namespace nuri::model {

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
