// model/weights.h — weights bound to roles. Views point into the mmapped file (or into
// buffers the loader owns for converted checkpoints). Shapes are nuri order (outermost first).
#pragma once

#include <vector>

#include "kernels/ops.h"

namespace nuri::model {

struct LayerWeights {
  std::vector<float> attn_norm;             // [n_embd]
  kernels::WeightView wq, wk, wv, wo;       // [q_dim, n_embd] [kv_dim, n_embd] [kv_dim, n_embd] [n_embd, q_dim]
  std::vector<float> bq, bk, bv, bo;        // optional biases [q_dim] [kv_dim] [kv_dim] [n_embd]
  std::vector<float> q_norm, k_norm;        // optional [head_dim]
  std::vector<float> ffn_norm;              // [n_embd]
  kernels::WeightView w_gate, w_up, w_down; // dense: [n_ff, n_embd] [n_ff, n_embd] [n_embd, n_ff]
  kernels::WeightView gate_inp;             // MoE router [n_expert, n_embd]
  kernels::WeightView gate_exps, up_exps, down_exps;  // [n_expert * n_ff_exp, n_embd] x2, [n_expert * n_embd, n_ff_exp]
};

struct ModelWeights {
  kernels::WeightView tok_embd;  // [n_vocab, n_embd]
  std::vector<float> out_norm;   // [n_embd]
  kernels::WeightView output;    // [n_vocab, n_embd] (tok_embd when tied)
  std::vector<LayerWeights> layers;
};

}  // namespace nuri::model
