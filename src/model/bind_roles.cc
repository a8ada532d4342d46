#include "model/bind_roles.h"

namespace nuri::model {

Status bind_roles(ModelConfig& c, ModelWeights& w, const RoleBinder& b, bool output_optional) {
  const uint64_t V = c.n_vocab, E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim();
  NURI_TRY(b.view(Role::kTokEmbd, 0, {V, E}, &w.tok_embd, false));
  NURI_TRY(b.vec(Role::kOutNorm, 0, E, &w.out_norm, false));
  NURI_TRY(b.view(Role::kOutput, 0, {V, E}, &w.output, output_optional));
  if (w.output.empty()) {
    w.output = w.tok_embd;
    c.tied_embeddings = true;
  }
  w.layers.resize(c.n_layer);
  for (int l = 0; l < c.n_layer; ++l) {
    LayerWeights& L = w.layers[l];
    NURI_TRY(b.vec(Role::kAttnNorm, l, E, &L.attn_norm, false));
    NURI_TRY(b.view(Role::kWq, l, {Q, E}, &L.wq, false));
    NURI_TRY(b.view(Role::kWk, l, {KV, E}, &L.wk, false));
    NURI_TRY(b.view(Role::kWv, l, {KV, E}, &L.wv, false));
    NURI_TRY(b.view(Role::kWo, l, {E, Q}, &L.wo, false));
    NURI_TRY(b.vec(Role::kBq, l, Q, &L.bq, !c.qkv_bias));
    NURI_TRY(b.vec(Role::kBk, l, KV, &L.bk, !c.qkv_bias));
    NURI_TRY(b.vec(Role::kBv, l, KV, &L.bv, !c.qkv_bias));
    NURI_TRY(b.vec(Role::kBo, l, E, &L.bo, true));
    NURI_TRY(b.vec(Role::kQNorm, l, c.head_dim, &L.q_norm, !c.qk_norm));
    NURI_TRY(b.vec(Role::kKNorm, l, c.head_dim, &L.k_norm, !c.qk_norm));
    NURI_TRY(b.vec(Role::kFfnNorm, l, E, &L.ffn_norm, false));
    if (c.n_expert > 0) {
      const uint64_t X = c.n_expert, F = c.n_ff_exp;
      NURI_TRY(b.view(Role::kGateInp, l, {X, E}, &L.gate_inp, false));
      NURI_TRY(b.view(Role::kGateExps, l, {X, F, E}, &L.gate_exps, false));
      NURI_TRY(b.view(Role::kUpExps, l, {X, F, E}, &L.up_exps, false));
      NURI_TRY(b.view(Role::kDownExps, l, {X, E, F}, &L.down_exps, false));
    } else {
      const uint64_t F = c.n_ff;
      NURI_TRY(b.view(Role::kGate, l, {F, E}, &L.w_gate, false));
      NURI_TRY(b.view(Role::kUp, l, {F, E}, &L.w_up, false));
      NURI_TRY(b.view(Role::kDown, l, {E, F}, &L.w_down, false));
    }
  }
  return Status::ok();
}

}  // namespace nuri::model
