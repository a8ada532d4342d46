#include "model/arch_table.h"

namespace nuri::model {

// One row per family: everything both loaders need to know about it. Architecture differences
// that are not here are config fields read from the file (n_expert, sliding_window, ...).
const ArchInfo kArchs[] = {
    // arch             gguf        HF model_type            GGUF rope style          qkv_bias qk_norm
    {Arch::kLlama,    "llama",    {"llama", "mistral"},     kernels::RopeStyle::kNormal, false, false},
    {Arch::kQwen2,    "qwen2",    {"qwen2"},                kernels::RopeStyle::kNeox,   true,  false},
    {Arch::kQwen3,    "qwen3",    {"qwen3"},                kernels::RopeStyle::kNeox,   false, true},
    {Arch::kQwen3Moe, "qwen3moe", {"qwen3_moe"},            kernels::RopeStyle::kNeox,   false, true},
};

const ArchInfo& arch_info(Arch a) {
  for (const ArchInfo& r : kArchs)
    if (r.arch == a) return r;
  return kArchs[0];
}

const char* arch_name(Arch a) { return arch_info(a).gguf_name; }

std::optional<Arch> arch_from_string(const std::string& s) {
  for (const ArchInfo& r : kArchs)
    if (s == r.gguf_name) return r.arch;
  return std::nullopt;
}

std::optional<Arch> arch_from_hf(const std::string& t) {
  for (const ArchInfo& r : kArchs)
    for (const char* mt : r.hf_model_types)
      if (mt && t == mt) return r.arch;
  return std::nullopt;
}

std::string supported_gguf_archs() {
  std::string s;
  for (const ArchInfo& r : kArchs) s += (s.empty() ? "" : ", ") + std::string(r.gguf_name);
  return s;
}

std::string supported_hf_model_types() {
  std::string s;
  for (const ArchInfo& r : kArchs)
    for (const char* mt : r.hf_model_types)
      if (mt) s += (s.empty() ? "" : ", ") + std::string(mt);
  return s;
}

namespace {
struct Names {
  Role role;
  const char* gguf;  // suffix after "blk.N." for layer roles
  const char* hf;    // suffix after "model.layers.N." for layer roles
  bool layer;
};
const Names kNames[] = {
    {Role::kTokEmbd, "token_embd.weight", "model.embed_tokens.weight", false},
    {Role::kOutNorm, "output_norm.weight", "model.norm.weight", false},
    {Role::kOutput, "output.weight", "lm_head.weight", false},
    {Role::kAttnNorm, "attn_norm.weight", "input_layernorm.weight", true},
    {Role::kWq, "attn_q.weight", "self_attn.q_proj.weight", true},
    {Role::kWk, "attn_k.weight", "self_attn.k_proj.weight", true},
    {Role::kWv, "attn_v.weight", "self_attn.v_proj.weight", true},
    {Role::kWo, "attn_output.weight", "self_attn.o_proj.weight", true},
    {Role::kBq, "attn_q.bias", "self_attn.q_proj.bias", true},
    {Role::kBk, "attn_k.bias", "self_attn.k_proj.bias", true},
    {Role::kBv, "attn_v.bias", "self_attn.v_proj.bias", true},
    {Role::kBo, "attn_output.bias", "self_attn.o_proj.bias", true},
    {Role::kQNorm, "attn_q_norm.weight", "self_attn.q_norm.weight", true},
    {Role::kKNorm, "attn_k_norm.weight", "self_attn.k_norm.weight", true},
    {Role::kFfnNorm, "ffn_norm.weight", "post_attention_layernorm.weight", true},
    {Role::kGate, "ffn_gate.weight", "mlp.gate_proj.weight", true},
    {Role::kUp, "ffn_up.weight", "mlp.up_proj.weight", true},
    {Role::kDown, "ffn_down.weight", "mlp.down_proj.weight", true},
    {Role::kGateInp, "ffn_gate_inp.weight", "mlp.gate.weight", true},
    {Role::kGateExps, "ffn_gate_exps.weight", "", true},  // HF stores experts one by one
    {Role::kUpExps, "ffn_up_exps.weight", "", true},
    {Role::kDownExps, "ffn_down_exps.weight", "", true},
};
const Names& names(Role r) {
  for (const auto& n : kNames)
    if (n.role == r) return n;
  return kNames[0];
}
}  // namespace

std::string gguf_tensor_name(Role r, int layer) {
  const Names& n = names(r);
  return n.layer ? "blk." + std::to_string(layer) + "." + n.gguf : n.gguf;
}

std::string hf_tensor_name(Role r, int layer) {
  const Names& n = names(r);
  if (!*n.hf) return "";
  return n.layer ? "model.layers." + std::to_string(layer) + "." + n.hf : n.hf;
}

}  // namespace nuri::model
