#include "model/arch_table.h"

namespace nuri::model {

const char* arch_name(Arch a) {
  switch (a) {
    case Arch::kLlama: return "llama";
    case Arch::kQwen2: return "qwen2";
    case Arch::kQwen3: return "qwen3";
    case Arch::kQwen3Moe: return "qwen3moe";
  }
  return "?";
}

std::optional<Arch> arch_from_string(const std::string& s) {
  if (s == "llama") return Arch::kLlama;
  if (s == "qwen2") return Arch::kQwen2;
  if (s == "qwen3") return Arch::kQwen3;
  if (s == "qwen3moe") return Arch::kQwen3Moe;
  return std::nullopt;
}

std::optional<Arch> arch_from_hf(const std::string& t) {
  if (t == "llama" || t == "mistral") return Arch::kLlama;
  if (t == "qwen2") return Arch::kQwen2;
  if (t == "qwen3") return Arch::kQwen3;
  if (t == "qwen3_moe") return Arch::kQwen3Moe;
  return std::nullopt;
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
