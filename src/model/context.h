// model/context.h — inference state over a loaded Model: scratch buffers sized once at creation
// and the forward pass (forward.cc), which calls kernels only through the backend seam
// (kernels/backend.h) and reads and writes K/V only through a KvView (model/kv_view.h). The KV
// memory belongs to runtime/: a dense cache (runtime/session.h) or the paged, prefix-shared one
// (runtime/kv_cache.h).
// Non-goals: KV memory, sampling, scheduling, block allocation and sharing (runtime/ does those).
// Invariants: nothing is allocated per token after creation (except growing the logits buffer to
// a new maximum of requested outputs).
#pragma once

#include <memory>
#include <vector>

#include "base/status.h"
#include "kernels/backend.h"
#include "kernels/profile.h"
#include "model/kv_view.h"
#include "model/model.h"

namespace nuri::model {

struct ContextParams {
  int32_t n_ctx = 2048;    // most positions of a sequence
  int32_t n_seq = 1;       // sequences (the KV owner's; used by runtime::Session)
  int32_t n_batch = 512;   // tokens per forward chunk
  int n_threads = 0;       // 0: physical cores
  bool reference = false;  // the reference backend (f32 oracle: dequantised rows, exact softmax)
  // Optional: time every backend op into this (kernels/profile.h; nuri bench --profile).
  kernels::OpProfile* profile = nullptr;
  // Types of the cached K and V rows, for the KV owner (runtime/); quantised ones need head_dim % 32 == 0.
  kernels::KvType k_type = kernels::KvType::kF16, v_type = kernels::KvType::kF16;
};
// An error naming the option when the model's head_dim cannot hold quantised K/V rows.
Status check_kv_types(const ModelConfig& c, kernels::KvType k_type, kernels::KvType v_type);

struct BatchToken {
  int32_t token = 0;
  int32_t pos = 0;
  int32_t seq = 0;
  bool logits = false;
};

class Context {
 public:
  static Result<std::unique_ptr<Context>> create(std::shared_ptr<const Model> model, ContextParams params);

  // Processes the tokens (any mix of sequences; each sequence's tokens in position order) over
  // the KV cache `kv`: every (seq, pos) of the batch must be mapped by it (and pos < n_ctx); the
  // owner of `kv` keeps the sequence lengths. Logits of tokens marked `logits` are kept in batch
  // order.
  Status decode(const std::vector<BatchToken>& batch, const KvView& kv);
  int32_t n_outputs() const { return n_outputs_; }
  const float* logits(int32_t i) const { return logits_.data() + static_cast<size_t>(i) * config().n_vocab; }

  const ModelConfig& config() const { return model_->config(); }
  const ContextParams& params() const { return params_; }
  const Model& model() const { return *model_; }
  int n_threads() const { return backend_->n_threads(); }
  const char* backend_name() const { return backend_->name(); }
  // The RoPE angles' parameters of this context (the model's scaling at n_ctx; model/rope_scaling.h):
  // pass them to Backend::rope_table / rope for any rotation, a re-rotation of cached K included.
  const kernels::RopeParams& rope() const { return rope_; }
  // Scratch buffers and logits held now, the backend's included (runtime/memory_fit.h estimates
  // an upper bound).
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
  kernels::RopeParams rope_;                   // freq_factors point into the model's config

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
