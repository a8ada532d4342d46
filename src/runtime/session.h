// runtime/session.h — a forward context with a dense KV cache of its own: up to n_seq sequences
// of n_ctx positions each, one contiguous block per sequence and layer (f16, or q8_0/q4_0 rows). The single-process
// path for commands that drive the forward pass themselves (chat, bench, eval-synth) and for
// tests; the engine (nuri/engine.h) uses the paged, prefix-shared cache instead. Both hand the
// model only a KvView: the KV cache lives here in runtime/, not in model/.
// Invariants: a sequence's positions are 0..seq_len-1 with no gaps and decode appends; nothing is
// allocated per token after creation.
#pragma once

#include <memory>
#include <vector>

#include "base/status.h"
#include "model/context.h"

namespace nuri::runtime {

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(std::shared_ptr<const model::Model> model, model::ContextParams params);

  // Processes the tokens (any mix of sequences; each sequence's tokens in position order,
  // starting at its current length). Logits of tokens marked `logits` are kept in batch order.
  Status decode(const std::vector<model::BatchToken>& batch);
  int32_t n_outputs() const { return ctx_->n_outputs(); }
  const float* logits(int32_t i) const { return ctx_->logits(i); }

  int32_t seq_len(int32_t seq) const { return seq_len_[seq]; }
  void seq_clear(int32_t seq) { seq_len_[seq] = 0; }
  void seq_truncate(int32_t seq, int32_t n) {
    if (n < seq_len_[seq]) seq_len_[seq] = n;
  }
  // dst gets a copy of src's first n positions (n = -1: all).
  void seq_copy(int32_t src, int32_t dst, int32_t n = -1);

  const model::ContextParams& params() const { return ctx_->params(); }
  const model::ModelConfig& config() const { return ctx_->config(); }
  int n_threads() const { return ctx_->n_threads(); }
  size_t kv_bytes() const { return k_.size() + v_.size(); }
  model::Context& context() { return *ctx_; }

 private:
  Session() = default;
  std::unique_ptr<model::Context> ctx_;
  std::vector<int32_t> seq_len_;
  std::vector<uint8_t> k_, v_;  // [n_layer][n_seq][n_ctx] rows of kv_dim in params().k_type / v_type
  std::vector<int32_t> tables_, n_blocks_;  // [n_seq]: sequence s is block s (of n_ctx positions)
  model::KvView view_;
};

}  // namespace nuri::runtime
