// The forward pass of every supported family, top to bottom. One code path: architecture
// differences are config fields (biases, qk-norm, rope style, MoE). Shapes in comments are
// [rows, cols] row-major; T is the number of tokens in the chunk.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "base/check.h"
#include "model/context.h"
#include "model/rope_scaling.h"

namespace nuri::model {

using kernels::WeightView;

namespace {
// One K or V row into the cache: the backend's f16 store, or q8_0/q4_0 blocks.
void store_kv(kernels::Backend& be, kernels::KvType type, const float* x, uint8_t* dst, int32_t n) {
  if (type == kernels::KvType::kF16) be.kv_store(x, reinterpret_cast<uint16_t*>(dst), n);
  else kernels::kv_store_row(type, x, dst, n);
}
}  // namespace

Status check_kv_types(const ModelConfig& c, kernels::KvType k_type, kernels::KvType v_type) {
  for (auto [t, what] : {std::pair{k_type, "--cache-type-k"}, std::pair{v_type, "--cache-type-v"}})
    if (t != kernels::KvType::kF16 && c.head_dim % 32 != 0)
      return Error(std::string(what) + " " + kernels::kv_type_name(t) + " needs head_dim to be a multiple of 32 (whole " +
                   "blocks per head); this model's head_dim is " + std::to_string(c.head_dim) + " (use f16)");
  return Status::ok();
}

Context::Context(std::shared_ptr<const Model> m, ContextParams p) : model_(std::move(m)), params_(p) {}

Result<std::unique_ptr<Context>> Context::create(std::shared_ptr<const Model> model, ContextParams p) {
  if (p.n_ctx <= 0 || p.n_seq <= 0 || p.n_batch <= 0) return Error("context: n_ctx, n_seq and n_batch must be positive");
  const ModelConfig& c = model->config();
  std::unique_ptr<Context> ctx(new Context(std::move(model), p));
  const int threads = p.n_threads;  // 0: the backend picks (physical cores)
  const size_t B = p.n_batch;
  const int32_t ff = std::max(c.n_ff, c.n_ff_exp);
  ctx->x_.resize(B * c.n_embd);
  ctx->xn_.resize(B * c.n_embd);
  ctx->q_.resize(B * c.q_dim());
  ctx->k_cur_.resize(B * c.kv_dim());
  ctx->v_cur_.resize(B * c.kv_dim());
  ctx->attn_.resize(B * c.q_dim());
  ctx->tmp_.resize(B * std::max(c.n_embd, c.q_dim()));
  ctx->gate_.resize(B * ff);
  ctx->up_.resize(B * std::max(ff, c.n_embd));
  ctx->router_.resize(B * std::max(1, c.n_expert));
  // Every weight dtype and input width of the model's products sizes the backend's scratch.
  kernels::BackendParams bp;
  bp.n_threads = threads;
  bp.max_rows = static_cast<int64_t>(B);
  bp.max_ctx = p.n_ctx;
  const ModelWeights& mw = ctx->model_->weights();
  bp.weight_dtypes.push_back(mw.output.dtype);
  for (const auto& L : mw.layers)
    for (const auto* wv : {&L.wq, &L.wk, &L.wv, &L.wo, &L.w_gate, &L.w_up, &L.w_down, &L.gate_inp, &L.gate_exps,
                           &L.up_exps, &L.down_exps})
      if (!wv->empty()) bp.weight_dtypes.push_back(wv->dtype);
  bp.n_in = {c.n_embd, c.q_dim(), ff};
  ctx->backend_ = kernels::make_backend(p.reference ? kernels::BackendKind::kReference : kernels::BackendKind::kCpu, bp);
  if (p.profile) ctx->backend_ = kernels::make_profiled_backend(std::move(ctx->backend_), p.profile);
  ctx->attn_q_.resize(B);
  ctx->ids_.resize(B);
  ctx->rope_cs_.resize(B * std::max(2, c.n_rot));
  ctx->rope_ = rope_params(c, p.n_ctx);
  if (c.n_expert > 0) {
    const size_t K = std::max(1, c.n_expert_used);
    ctx->moe_out_.resize(B * K * c.n_embd);
    ctx->moe_x_.resize(B * c.n_embd);
    ctx->moe_sel_.resize(B * K);
    ctx->moe_w_.resize(B * K);
    ctx->moe_rows_.resize(B * K);
  }
  ctx->out_rows_.reserve(B);
  return ctx;
}

size_t Context::scratch_bytes() const {
  size_t n = 0;
  for (const auto* v : {&x_, &xn_, &q_, &k_cur_, &v_cur_, &attn_, &tmp_, &gate_, &up_, &router_, &rope_cs_, &moe_out_,
                        &moe_x_, &moe_w_, &logits_})
    n += v->capacity() * sizeof(float);
  n += (moe_sel_.capacity() + moe_rows_.capacity() + out_rows_.capacity() + ids_.capacity()) * sizeof(int32_t);
  n += attn_q_.capacity() * sizeof(kernels::AttnQuery);
  return n + backend_->scratch_bytes();
}

void Context::mm(const WeightView& w, const float* x, int32_t T, float* y) {
  const kernels::MatJob job{&w, y};
  backend_->matmul(x, T, &job, 1);
}

Status Context::decode(const std::vector<BatchToken>& batch, const KvView& kv) {
  const ModelConfig& c = config();
  for (const auto& t : batch) {
    if (t.token < 0 || t.token >= c.n_vocab) return Error("decode: token id " + std::to_string(t.token) + " out of range");
    if (t.pos >= params_.n_ctx) return Error("decode: context is full (" + std::to_string(params_.n_ctx) + " positions)");
    if (!kv.holds(t.seq, t.pos))
      return Error("decode: sequence " + std::to_string(t.seq) + " has no KV block for position " + std::to_string(t.pos));
  }
  return run_batch(batch, kv);
}

Status Context::run_batch(const std::vector<BatchToken>& batch, const KvView& kv) {
  const ModelConfig& c = config();
  int32_t n_out = 0;
  for (const auto& t : batch) n_out += t.logits ? 1 : 0;
  if (logits_.size() < static_cast<size_t>(n_out) * c.n_vocab) logits_.resize(static_cast<size_t>(n_out) * c.n_vocab);
  n_outputs_ = 0;
  for (size_t i = 0; i < batch.size(); i += params_.n_batch) {
    const int32_t T = static_cast<int32_t>(std::min<size_t>(params_.n_batch, batch.size() - i));
    NURI_TRY(forward_chunk(batch.data() + i, T, kv));
  }
  return Status::ok();
}

Status Context::forward_chunk(const BatchToken* toks, int32_t T, const KvView& kv) {
  const ModelConfig& c = config();
  const ModelWeights& w = model_->weights();
  const int32_t E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim(), hd = c.head_dim;
  const int32_t R = std::max(2, c.n_rot);

  kernels::Backend& be = *backend_;
  // x[T, E] = token embeddings (rows dequantised exactly)
  for (int32_t t = 0; t < T; ++t) ids_[t] = toks[t].token;
  be.get_rows(w.tok_embd, ids_.data(), T, x_.data());
  // cos/sin per token, shared by every layer and head
  for (int32_t t = 0; t < T; ++t) be.rope_table(rope_, toks[t].pos, &rope_cs_[t * R]);

  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = w.layers[l];
    // ---- attention ----
    be.rmsnorm(x_.data(), L.attn_norm.data(), xn_.data(), T, E, c.norm_eps);
    const kernels::MatJob qkv[3] = {{&L.wq, q_.data()}, {&L.wk, k_cur_.data()}, {&L.wv, v_cur_.data()}};
    be.matmul(xn_.data(), T, qkv, 3);  // q[T, Q], k[T, KV], v[T, KV]
    for (int32_t t = 0; t < T; ++t) {
      float* qt = &q_[t * Q];
      float* kt = &k_cur_[t * KV];
      float* vt = &v_cur_[t * KV];
      if (!L.bq.empty()) for (int i = 0; i < Q; ++i) qt[i] += L.bq[i];
      if (!L.bk.empty()) for (int i = 0; i < KV; ++i) kt[i] += L.bk[i];
      if (!L.bv.empty()) for (int i = 0; i < KV; ++i) vt[i] += L.bv[i];
      if (!L.q_norm.empty()) {
        be.rmsnorm(qt, L.q_norm.data(), qt, c.n_head, hd, c.norm_eps);  // per head
        be.rmsnorm(kt, L.k_norm.data(), kt, c.n_head_kv, hd, c.norm_eps);
      }
      be.rope(qt, c.n_head, hd, rope_, toks[t].pos, &rope_cs_[t * R], c.rope_style);
      be.rope(kt, c.n_head_kv, hd, rope_, toks[t].pos, &rope_cs_[t * R], c.rope_style);
      store_kv(be, kv.k_type, kt, kv.k_row(l, toks[t].seq, toks[t].pos), KV);
      store_kv(be, kv.v_type, vt, kv.v_row(l, toks[t].seq, toks[t].pos), KV);
    }
    attention_layer(l, toks, T, kv);         // attn[T, Q]
    mm(L.wo, attn_.data(), T, tmp_.data());  // [T, E]
    for (int32_t t = 0; t < T; ++t)
      for (int i = 0; i < E; ++i) x_[t * E + i] += tmp_[t * E + i] + (L.bo.empty() ? 0.f : L.bo[i]);

    // ---- feed-forward ----
    be.rmsnorm(x_.data(), L.ffn_norm.data(), xn_.data(), T, E, c.norm_eps);
    if (c.n_expert == 0) {
      const kernels::MatJob gu[2] = {{&L.w_gate, gate_.data()}, {&L.w_up, up_.data()}};
      be.matmul(xn_.data(), T, gu, 2, /*fuse_swiglu=*/true);  // gate[T, F] = silu(x Wg) * (x Wu)
      mm(L.w_down, gate_.data(), T, tmp_.data());            // [T, E]
      for (int32_t t = 0; t < T; ++t)
        for (int i = 0; i < E; ++i) x_[t * E + i] += tmp_[t * E + i];
    } else {
      moe_ffn(L, T);
    }
  }

  // ---- output: logits for requested tokens ----
  out_rows_.clear();
  for (int32_t t = 0; t < T; ++t)
    if (toks[t].logits) out_rows_.push_back(t);
  for (size_t i = 0; i < out_rows_.size(); ++i)
    be.rmsnorm(&x_[out_rows_[i] * E], w.out_norm.data(), &xn_[i * E], 1, E, c.norm_eps);
  if (!out_rows_.empty()) {
    mm(w.output, xn_.data(), static_cast<int32_t>(out_rows_.size()),
       logits_.data() + static_cast<size_t>(n_outputs_) * c.n_vocab);
    n_outputs_ += static_cast<int32_t>(out_rows_.size());
  }
  return Status::ok();
}

// attn[T, Q]: each token attends to its sequence's positions 0..pos (sliding window if set),
// read through the sequence's block table.
void Context::attention_layer(int l, const BatchToken* toks, int32_t T, const KvView& kv) {
  const ModelConfig& c = config();
  const int32_t Q = c.q_dim(), hd = c.head_dim;
  for (int32_t t = 0; t < T; ++t) {
    const int32_t pos = toks[t].pos;
    int32_t first = 0;
    if (c.sliding_window > 0 && pos + 1 > c.sliding_window) first = pos + 1 - c.sliding_window;
    attn_q_[t] = {&q_[t * Q], kv.layer(l, toks[t].seq), first, pos + 1 - first, &attn_[t * Q]};
  }
  backend_->attention(attn_q_.data(), T, c.n_head, c.n_head_kv, hd, 1.0f / std::sqrt(static_cast<float>(hd)));
}

// Mixture of experts: route every token, then run each expert once over all tokens that chose it
// (gathered rows), and sum each token's experts in its own top-k order.
void Context::moe_ffn(const LayerWeights& L, int32_t T) {
  const ModelConfig& c = config();
  const int32_t E = c.n_embd, X = c.n_expert, K = c.n_expert_used, F = c.n_ff_exp;
  mm(L.gate_inp, xn_.data(), T, router_.data());  // [T, X]
  for (int32_t t = 0; t < T; ++t) {
    float* p = &router_[t * X];
    backend_->softmax(p, X);
    // top-k by probability (stable: lower expert id first on ties)
    int32_t order[kMaxExperts];  // n_expert <= kMaxExperts (validate_config)
    std::iota(order, order + X, 0);
    std::partial_sort(order, order + K, order + X, [&](int32_t a, int32_t b) { return p[a] > p[b]; });
    float sum = 0.f;
    for (int k = 0; k < K; ++k) {
      moe_sel_[t * K + k] = order[k];
      moe_w_[t * K + k] = p[order[k]];
      sum += moe_w_[t * K + k];
    }
    if (c.moe_norm_topk)
      for (int k = 0; k < K; ++k) moe_w_[t * K + k] /= sum;
  }
  for (int32_t e = 0; e < X; ++e) {
    int32_t cnt = 0;
    for (int32_t i = 0; i < T * K; ++i)
      if (moe_sel_[i] == e) moe_rows_[cnt++] = i;
    if (cnt == 0) continue;
    for (int32_t r = 0; r < cnt; ++r)
      std::memcpy(&moe_x_[static_cast<size_t>(r) * E], &xn_[static_cast<size_t>(moe_rows_[r] / K) * E], E * sizeof(float));
    WeightView g = L.gate_exps, u = L.up_exps, d = L.down_exps;
    g.data += static_cast<size_t>(e) * F * g.row_bytes;
    g.n_out = F;
    u.data += static_cast<size_t>(e) * F * u.row_bytes;
    u.n_out = F;
    d.data += static_cast<size_t>(e) * E * d.row_bytes;
    d.n_out = E;
    const kernels::MatJob gu[2] = {{&g, gate_.data()}, {&u, up_.data()}};
    backend_->matmul(moe_x_.data(), cnt, gu, 2, /*fuse_swiglu=*/true);  // [cnt, F]
    mm(d, gate_.data(), cnt, tmp_.data());                     // [cnt, E]
    for (int32_t r = 0; r < cnt; ++r)
      std::memcpy(&moe_out_[static_cast<size_t>(moe_rows_[r]) * E], &tmp_[static_cast<size_t>(r) * E], E * sizeof(float));
  }
  for (int32_t t = 0; t < T; ++t) {
    float* xt = &x_[t * E];
    float* out = &tmp_[t * E];
    std::fill(out, out + E, 0.f);
    for (int k = 0; k < K; ++k) {
      const float* o = &moe_out_[static_cast<size_t>(t * K + k) * E];
      for (int i = 0; i < E; ++i) out[i] += o[i] * moe_w_[t * K + k];
    }
    for (int i = 0; i < E; ++i) xt[i] += out[i];
  }
}

}  // namespace nuri::model
