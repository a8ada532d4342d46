#include "runtime/session.h"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace nuri::runtime {

Result<std::unique_ptr<Session>> Session::create(std::shared_ptr<const model::Model> model, model::ContextParams p) {
  if (p.n_ctx <= 0 || p.n_seq <= 0) return Error("session: n_ctx and n_seq must be positive");
  const model::ModelConfig& c = model->config();
  NURI_TRY(model::check_kv_types(c, p.k_type, p.v_type));
  const size_t k_row = kernels::kv_row_bytes(p.k_type, c.kv_dim()), v_row = kernels::kv_row_bytes(p.v_type, c.kv_dim());
  const size_t rows = static_cast<size_t>(c.n_layer) * p.n_seq * p.n_ctx;
  if (rows * (k_row + v_row) > (size_t{1} << 35))
    return Error("session: KV cache of " + std::to_string(rows * (k_row + v_row) >> 20) + " MiB is too large; lower --ctx");
  std::unique_ptr<Session> s(new Session());
  NURI_ASSIGN_OR_RETURN(s->ctx_, model::Context::create(std::move(model), p));
  s->seq_len_.assign(p.n_seq, 0);
  s->k_.assign(rows * k_row, 0);
  s->v_.assign(rows * v_row, 0);
  s->tables_.resize(p.n_seq);
  std::iota(s->tables_.begin(), s->tables_.end(), 0);
  s->n_blocks_.assign(p.n_seq, 1);
  model::KvView& v = s->view_;
  v.k = s->k_.data();
  v.v = s->v_.data();
  v.k_type = p.k_type;
  v.v_type = p.v_type;
  v.k_row_bytes = k_row;
  v.v_row_bytes = v_row;
  v.block_size = p.n_ctx;
  v.k_layer_stride = k_row * p.n_ctx * p.n_seq;
  v.v_layer_stride = v_row * p.n_ctx * p.n_seq;
  v.n_seq = p.n_seq;
  v.table_stride = 1;
  v.tables = s->tables_.data();
  v.n_blocks = s->n_blocks_.data();
  return s;
}

Status Session::decode(const std::vector<model::BatchToken>& batch) {
  const model::ContextParams& p = params();
  // Validate the whole batch first: positions continue each sequence, ids are in range.
  std::vector<int32_t> next(seq_len_);
  for (const auto& t : batch) {
    if (t.seq < 0 || t.seq >= p.n_seq) return Error("decode: sequence id " + std::to_string(t.seq) + " out of range");
    if (t.pos != next[t.seq])
      return Error("decode: sequence " + std::to_string(t.seq) + " expects position " + std::to_string(next[t.seq]) +
                   ", got " + std::to_string(t.pos));
    if (t.pos >= p.n_ctx) return Error("decode: context is full (" + std::to_string(p.n_ctx) + " positions)");
    ++next[t.seq];
  }
  NURI_TRY(ctx_->decode(batch, view_));
  for (const auto& t : batch) seq_len_[t.seq] = std::max(seq_len_[t.seq], t.pos + 1);
  return Status::ok();
}

void Session::seq_copy(int32_t src, int32_t dst, int32_t n) {
  if (src == dst) return;
  if (n < 0 || n > seq_len_[src]) n = seq_len_[src];
  for (int l = 0; l < config().n_layer; ++l) {
    std::memcpy(view_.k_row(l, dst, 0), view_.k_row(l, src, 0), n * view_.k_row_bytes);
    std::memcpy(view_.v_row(l, dst, 0), view_.v_row(l, src, 0), n * view_.v_row_bytes);
  }
  seq_len_[dst] = n;
}

}  // namespace nuri::runtime
