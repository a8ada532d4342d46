// The forward pass of every supported family, top to bottom. One code path: architecture
// differences are config fields (biases, qk-norm, rope style, MoE). Shapes in comments are
// [rows, cols] row-major; T is the number of tokens in the chunk.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "kernels/fp16.h"
#include "kernels/ref/quant.h"
#include "model/context.h"

namespace nuri::model {

using kernels::WeightView;

Context::Context(std::shared_ptr<const Model> m, ContextParams p) : model_(std::move(m)), params_(p) {}

Result<std::unique_ptr<Context>> Context::create(std::shared_ptr<const Model> model, ContextParams p) {
  if (p.n_ctx <= 0 || p.n_seq <= 0 || p.n_batch <= 0) return Error("context: n_ctx, n_seq and n_batch must be positive");
  const ModelConfig& c = model->config();
  const size_t kv = static_cast<size_t>(c.n_layer) * p.n_seq * p.n_ctx * c.kv_dim();
  if (kv > (size_t{1} << 34)) return Error("context: KV cache of " + std::to_string(kv * 4 >> 20) + " MiB is too large; lower --ctx");
  std::unique_ptr<Context> ctx(new Context(std::move(model), p));
  const int threads = p.n_threads > 0 ? p.n_threads : ThreadPool::default_threads();
  ctx->pool_ = std::make_unique<ThreadPool>(threads);
  ctx->seq_len_.assign(p.n_seq, 0);
  ctx->k_.assign(kv, 0);
  ctx->v_.assign(kv, 0);
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
  ctx->scores_.resize(static_cast<size_t>(threads) * p.n_ctx);
  // Largest activation row among all matmuls, quantised for B tokens.
  const int32_t max_in = std::max({c.n_embd, c.q_dim(), ff});
  size_t qs = 0;
  for (DType dt : {DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ8_1, DType::kQ8_K}) {
    if (max_in % dtype_info(dt).block_size == 0) qs = std::max(qs, *row_size(dt, max_in));
  }
  ctx->qscratch_.resize(qs * B + 64);
  ctx->out_rows_.reserve(B);
  return ctx;
}

uint16_t* Context::k_cell(int layer, int32_t seq, int32_t pos) {
  const size_t kvd = config().kv_dim();
  return k_.data() + ((static_cast<size_t>(layer) * params_.n_seq + seq) * params_.n_ctx + pos) * kvd;
}
uint16_t* Context::v_cell(int layer, int32_t seq, int32_t pos) {
  const size_t kvd = config().kv_dim();
  return v_.data() + ((static_cast<size_t>(layer) * params_.n_seq + seq) * params_.n_ctx + pos) * kvd;
}

void Context::seq_copy(int32_t src, int32_t dst, int32_t n) {
  if (src == dst) return;
  if (n < 0 || n > seq_len_[src]) n = seq_len_[src];
  const size_t bytes = static_cast<size_t>(n) * config().kv_dim() * sizeof(uint16_t);
  for (int l = 0; l < config().n_layer; ++l) {
    std::memcpy(k_cell(l, dst, 0), k_cell(l, src, 0), bytes);
    std::memcpy(v_cell(l, dst, 0), v_cell(l, src, 0), bytes);
  }
  seq_len_[dst] = n;
}

void Context::mm(const WeightView& w, const float* x, int32_t T, float* y) {
  if (params_.reference) kernels::matmul_f32_ref(w, x, T, y);
  else kernels::matmul(w, x, T, y, qscratch_.data(), pool_.get());
}

Status Context::decode(const std::vector<BatchToken>& batch) {
  const ModelConfig& c = config();
  // Validate the whole batch first: positions continue each sequence, ids are in range.
  std::vector<int32_t> next(seq_len_);
  int32_t n_out = 0;
  for (const auto& t : batch) {
    if (t.seq < 0 || t.seq >= params_.n_seq) return Error("decode: sequence id " + std::to_string(t.seq) + " out of range");
    if (t.token < 0 || t.token >= c.n_vocab) return Error("decode: token id " + std::to_string(t.token) + " out of range");
    if (t.pos != next[t.seq]) return Error("decode: sequence " + std::to_string(t.seq) + " expects position " +
                                           std::to_string(next[t.seq]) + ", got " + std::to_string(t.pos));
    if (t.pos >= params_.n_ctx) return Error("decode: context is full (" + std::to_string(params_.n_ctx) + " positions)");
    ++next[t.seq];
    n_out += t.logits ? 1 : 0;
  }
  if (logits_.size() < static_cast<size_t>(n_out) * c.n_vocab) logits_.resize(static_cast<size_t>(n_out) * c.n_vocab);
  n_outputs_ = 0;
  for (size_t i = 0; i < batch.size(); i += params_.n_batch) {
    const int32_t T = static_cast<int32_t>(std::min<size_t>(params_.n_batch, batch.size() - i));
    NURI_TRY(forward_chunk(batch.data() + i, T));
  }
  return Status::ok();
}

Status Context::forward_chunk(const BatchToken* toks, int32_t T) {
  const ModelConfig& c = config();
  const ModelWeights& w = model_->weights();
  const int32_t E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim(), hd = c.head_dim;
  const float attn_scale = 1.0f / std::sqrt(static_cast<float>(hd));

  // x[T, E] = token embeddings (rows dequantised exactly)
  for (int32_t t = 0; t < T; ++t)
    kernels::ref::dequantize_row(w.tok_embd.dtype, w.tok_embd.row(toks[t].token), &x_[t * E], E);

  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = w.layers[l];
    // ---- attention ----
    for (int32_t t = 0; t < T; ++t) kernels::rmsnorm(&x_[t * E], L.attn_norm.data(), &xn_[t * E], E, c.norm_eps);
    mm(L.wq, xn_.data(), T, q_.data());      // [T, Q]
    mm(L.wk, xn_.data(), T, k_cur_.data());  // [T, KV]
    mm(L.wv, xn_.data(), T, v_cur_.data());  // [T, KV]
    for (int32_t t = 0; t < T; ++t) {
      float* qt = &q_[t * Q];
      float* kt = &k_cur_[t * KV];
      float* vt = &v_cur_[t * KV];
      if (!L.bq.empty()) for (int i = 0; i < Q; ++i) qt[i] += L.bq[i];
      if (!L.bk.empty()) for (int i = 0; i < KV; ++i) kt[i] += L.bk[i];
      if (!L.bv.empty()) for (int i = 0; i < KV; ++i) vt[i] += L.bv[i];
      if (!L.q_norm.empty()) {
        for (int h = 0; h < c.n_head; ++h) kernels::rmsnorm(qt + h * hd, L.q_norm.data(), qt + h * hd, hd, c.norm_eps);
        for (int h = 0; h < c.n_head_kv; ++h) kernels::rmsnorm(kt + h * hd, L.k_norm.data(), kt + h * hd, hd, c.norm_eps);
      }
      kernels::rope(qt, c.n_head, hd, c.n_rot, toks[t].pos, c.rope_theta, c.rope_style);
      kernels::rope(kt, c.n_head_kv, hd, c.n_rot, toks[t].pos, c.rope_theta, c.rope_style);
      uint16_t* kc = k_cell(l, toks[t].seq, toks[t].pos);
      uint16_t* vc = v_cell(l, toks[t].seq, toks[t].pos);
      for (int i = 0; i < KV; ++i) {
        kc[i] = kernels::fp32_to_fp16(kt[i]);
        vc[i] = kernels::fp32_to_fp16(vt[i]);
      }
    }
    // attn[T, Q]: each token attends to its sequence's positions 0..pos (sliding window if set).
    pool_->parallel_for(T, [&](int64_t t0, int64_t t1, int thread) {
      float* scores = scores_.data() + static_cast<size_t>(thread) * params_.n_ctx;
      for (int64_t t = t0; t < t1; ++t) {
        const int32_t pos = toks[t].pos;
        int32_t first = 0;
        if (c.sliding_window > 0 && pos + 1 > c.sliding_window) first = pos + 1 - c.sliding_window;
        auto attn = params_.reference ? kernels::attention_ref : kernels::attention;
        attn(&q_[t * Q], k_cell(l, toks[t].seq, first), v_cell(l, toks[t].seq, first), pos + 1 - first,
                           c.n_head, c.n_head_kv, hd, attn_scale, &attn_[t * Q], scores);
      }
    });
    mm(L.wo, attn_.data(), T, tmp_.data());  // [T, E]
    for (int32_t t = 0; t < T; ++t)
      for (int i = 0; i < E; ++i) x_[t * E + i] += tmp_[t * E + i] + (L.bo.empty() ? 0.f : L.bo[i]);

    // ---- feed-forward ----
    for (int32_t t = 0; t < T; ++t) kernels::rmsnorm(&x_[t * E], L.ffn_norm.data(), &xn_[t * E], E, c.norm_eps);
    if (c.n_expert == 0) {
      const int32_t F = c.n_ff;
      mm(L.w_gate, xn_.data(), T, gate_.data());  // [T, F]
      mm(L.w_up, xn_.data(), T, up_.data());      // [T, F]
      for (int32_t t = 0; t < T; ++t) kernels::swiglu(&gate_[t * F], &up_[t * F], &gate_[t * F], F);
      mm(L.w_down, gate_.data(), T, tmp_.data());  // [T, E]
      for (int32_t t = 0; t < T; ++t)
        for (int i = 0; i < E; ++i) x_[t * E + i] += tmp_[t * E + i];
    } else {
      const int32_t X = c.n_expert, K = c.n_expert_used, F = c.n_ff_exp;
      mm(L.gate_inp, xn_.data(), T, router_.data());  // [T, X]
      int32_t sel[64];
      float wsel[64];
      for (int32_t t = 0; t < T; ++t) {
        float* p = &router_[t * X];
        kernels::softmax(p, X);
        // top-k by probability (stable: lower expert id first on ties)
        int32_t order[256];
        std::iota(order, order + X, 0);
        std::partial_sort(order, order + K, order + X, [&](int32_t a, int32_t b) { return p[a] > p[b]; });
        float sum = 0.f;
        for (int k = 0; k < K; ++k) {
          sel[k] = order[k];
          wsel[k] = p[order[k]];
          sum += wsel[k];
        }
        if (c.moe_norm_topk)
          for (int k = 0; k < K; ++k) wsel[k] /= sum;
        float* out = &tmp_[t * E];
        std::fill(out, out + E, 0.f);
        for (int k = 0; k < K; ++k) {
          const int32_t e = sel[k];
          WeightView g = L.gate_exps, u = L.up_exps, d = L.down_exps;
          g.data += static_cast<size_t>(e) * F * g.row_bytes;
          g.n_out = F;
          u.data += static_cast<size_t>(e) * F * u.row_bytes;
          u.n_out = F;
          d.data += static_cast<size_t>(e) * E * d.row_bytes;
          d.n_out = E;
          mm(g, &xn_[t * E], 1, gate_.data());
          mm(u, &xn_[t * E], 1, up_.data());
          kernels::swiglu(gate_.data(), up_.data(), gate_.data(), F);
          mm(d, gate_.data(), 1, up_.data());
          for (int i = 0; i < E; ++i) out[i] += up_[i] * wsel[k];
        }
      }
      for (int32_t t = 0; t < T; ++t)
        for (int i = 0; i < E; ++i) x_[t * E + i] += tmp_[t * E + i];
    }
  }

  // ---- output: logits for requested tokens ----
  out_rows_.clear();
  for (int32_t t = 0; t < T; ++t)
    if (toks[t].logits) out_rows_.push_back(t);
  for (size_t i = 0; i < out_rows_.size(); ++i)
    kernels::rmsnorm(&x_[out_rows_[i] * E], w.out_norm.data(), &xn_[i * E], E, c.norm_eps);
  if (!out_rows_.empty()) {
    mm(w.output, xn_.data(), static_cast<int32_t>(out_rows_.size()),
       logits_.data() + static_cast<size_t>(n_outputs_) * c.n_vocab);
    n_outputs_ += static_cast<int32_t>(out_rows_.size());
  }
  for (int32_t t = 0; t < T; ++t) seq_len_[toks[t].seq] = std::max(seq_len_[toks[t].seq], toks[t].pos + 1);
  return Status::ok();
}

}  // namespace nuri::model
