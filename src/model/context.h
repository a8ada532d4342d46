// model/context.h — inference state over a loaded Model: scratch buffers sized once at creation,
// the forward pass (forward.cc), and optionally a dense KV cache of its own for up to n_seq
// sequences. The forward pass reads and writes K/V only through a KvView (model/kv_view.h): the
// dense cache is the view with one block per sequence; runtime/kv_cache.h supplies a paged one.
// Non-goals: sampling, scheduling, block allocation and sharing (runtime/ does those).
// Invariants: with the own cache, a sequence's positions are 0..seq_len-1 with no gaps and decode
// appends; nothing is allocated per token after creation (except growing the logits buffer to a
// new maximum of requested outputs).
#pragma once

#include <memory>
#include <vector>

#include "base/status.h"
#include "kernels/backend.h"
#include "model/kv_view.h"
#include "model/model.h"

namespace nuri::model {

struct ContextParams {
  int32_t n_ctx = 2048;    // positions per sequence
  int32_t n_seq = 1;       // sequences held at once
  int32_t n_batch = 512;   // tokens per forward chunk
  int n_threads = 0;       // 0: physical cores
  bool reference = false;  // the reference backend (f32 oracle: dequantised rows, exact softmax)
  bool own_kv = true;      // false: no KV of its own; only decode(batch, view) works
};

struct BatchToken {
  int32_t token = 0;
  int32_t pos = 0;
  int32_t seq = 0;
  bool logits = false;
};

class Context {
 public:
  static Result<std::unique_ptr<Context>> create(std::shared_ptr<const Model> model, ContextParams params);

  // Processes the tokens (any mix of sequences; each sequence's tokens in position order,
  // starting at its current length). Logits of tokens marked `logits` are kept in batch order.
  Status decode(const std::vector<BatchToken>& batch);
  // The same over an external KV cache: every (seq, pos) of the batch must be mapped by `kv`
  // (and pos < n_ctx); the owner of `kv` keeps the sequence lengths (seq_len() is not used).
  Status decode(const std::vector<BatchToken>& batch, const KvView& kv);
  int32_t n_outputs() const { return n_outputs_; }
  const float* logits(int32_t i) const { return logits_.data() + static_cast<size_t>(i) * config().n_vocab; }

  int32_t seq_len(int32_t seq) const { return seq_len_[seq]; }
  void seq_clear(int32_t seq) { seq_len_[seq] = 0; }
  void seq_truncate(int32_t seq, int32_t n) {
    if (n < seq_len_[seq]) seq_len_[seq] = n;
  }
  // dst gets a copy of src's first n positions (n = -1: all).
  void seq_copy(int32_t src, int32_t dst, int32_t n = -1);

  const ModelConfig& config() const { return model_->config(); }
  const ContextParams& params() const { return params_; }
  const Model& model() const { return *model_; }
  int n_threads() const { return backend_->n_threads(); }
  const char* backend_name() const { return backend_->name(); }
  size_t kv_bytes() const { return (k_.size() + v_.size()) * sizeof(uint16_t); }
  // Scratch buffers and logits held now (runtime/memory_fit.h estimates an upper bound).
  size_t scratch_bytes() const;

 private:
  Context(std::shared_ptr<const Model> m, ContextParams p);
  Status run_batch(const std::vector<BatchToken>& batch, const KvView& kv);
  Status forward_chunk(const BatchToken* toks, int32_t T, const KvView& kv);
  void mm(const kernels::WeightView& w, const float* x, int32_t T, float* y);
  void attention_layer(int l, const BatchToken* toks, int32_t T, const KvView& kv);
  void moe_ffn(const LayerWeights& L, int32_t T);

  std::shared_ptr<const Model> model_;
  ContextParams params_;
  std::unique_ptr<kernels::Backend> backend_;  // every op of the forward pass goes through it
  std::vector<int32_t> seq_len_;
  std::vector<uint16_t> k_, v_;  // own cache: f16 [n_layer][n_seq][n_ctx][kv_dim]
  std::vector<int32_t> own_tables_, own_n_blocks_;  // [n_seq]: sequence s is block s (of n_ctx positions)
  KvView own_view_;

  // Scratch, sized for n_batch tokens.
  std::vector<float> x_, xn_, q_, k_cur_, v_cur_, attn_, tmp_, gate_, up_, router_;
  std::vector<kernels::AttnQuery> attn_q_;  // [n_batch] queries of one layer
  std::vector<int32_t> ids_;      // [n_batch] token ids of the chunk
  std::vector<float> rope_cs_;    // [n_batch][n_rot] cos/sin per token
  std::vector<float> moe_out_;    // [n_batch * n_expert_used][n_embd] expert outputs per (token, slot)
  std::vector<float> moe_x_;      // [n_batch][n_embd] gathered inputs of one expert
  std::vector<int32_t> moe_sel_;  // [n_batch * n_expert_used] expert of each (token, slot)
  std::vector<float> moe_w_;      // [n_batch * n_expert_used] its weight
  std::vector<int32_t> moe_rows_; // (token * K + slot) of the rows gathered for one expert
  std::vector<float> logits_;
  int32_t n_outputs_ = 0;
  std::vector<int32_t> out_rows_;  // chunk rows that want logits
};

}  // namespace nuri::model
