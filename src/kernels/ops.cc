#include "kernels/ops.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "kernels/blocks.h"
#include "kernels/cpu/cpu.h"
#include "kernels/fp16.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels {

size_t matmul_scratch_bytes(DType w, int64_t n_in, int64_t T) {
  const DType vt = ref::vec_dot_type(w);
  if (!row_size(vt, n_in) || !row_size(w, n_in)) return 0;
  // Room for the scalar (ref) layout and the SIMD target's layout, whichever is larger.
  return std::max(cpu::act_row_bytes(cpu::Target::kScalar, w, n_in),
                  cpu::act_row_bytes(cpu::active_target(), w, n_in)) * T + 64;
}

// Runs the active cpu/ target: activations are quantised once, rows are split over the pool.
void matmul(const WeightView& w, const float* x, int64_t T, float* y, uint8_t* scratch, ThreadPool* pool) {
  const cpu::Target tg = cpu::active_target();
  scratch = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch) + 63) & ~uintptr_t{63});
  cpu::quantize_act(tg, w.dtype, x, w.n_in, T, scratch);
  auto work = [&](int64_t r0, int64_t r1, int) { cpu::gemm(tg, w, scratch, T, r0, r1, y, w.n_out); };
  if (pool) pool->parallel_for(w.n_out, work, 16);
  else work(0, w.n_out, 0);
}

void matmul_f32_ref(const WeightView& w, const float* x, int64_t T, float* y) {
  std::vector<float> row(w.n_in);
  for (int64_t r = 0; r < w.n_out; ++r) {
    ref::dequantize_row(w.dtype, w.row(r), row.data(), w.n_in);
    for (int64_t t = 0; t < T; ++t) {
      double s = 0;
      for (int64_t i = 0; i < w.n_in; ++i) s += static_cast<double>(row[i]) * x[t * w.n_in + i];
      y[t * w.n_out + r] = static_cast<float>(s);
    }
  }
}

void rmsnorm(const float* x, const float* w, float* y, int64_t n, float eps) {
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / n);
  const float scale = 1.0f / std::sqrt(mean + eps);
  if (w) {
    for (int64_t i = 0; i < n; ++i) y[i] = (x[i] * scale) * w[i];
  } else {
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale;
  }
}

void rope_corr_dims(int n_rot, int32_t n_ctx_orig, float freq_base, float beta_fast, float beta_slow, float dims[2]) {
  // corr_dim(beta) = n_rot * ln(n_ctx_orig / (beta * 2 pi)) / (2 ln freq_base), in float as ggml has it.
  auto corr_dim = [&](float beta) {
    return n_rot * std::log(n_ctx_orig / (beta * 2 * static_cast<float>(M_PI))) / (2 * std::log(freq_base));
  };
  const float start = std::floor(corr_dim(beta_fast));
  const float end = std::ceil(corr_dim(beta_slow));
  dims[0] = std::max(0.f, start);
  dims[1] = std::min(static_cast<float>(n_rot - 1), end);
}

void rope_table(const RopeParams& rp, int32_t pos, float* cs) {
  const float theta_scale = std::pow(rp.freq_base, -2.0f / rp.n_rot);
  float mscale = rp.attn_factor;
  if (rp.ext_factor != 0.0f) mscale *= 1.0f + 0.1f * std::log(1.0f / rp.freq_scale);
  float theta_base = static_cast<float>(pos);
  for (int i0 = 0; i0 < rp.n_rot; i0 += 2) {
    const float ff = rp.freq_factors ? rp.freq_factors[i0 / 2] : 1.0f;
    const float theta_extrap = theta_base / ff;
    const float theta_interp = rp.freq_scale * theta_extrap;
    float theta = theta_interp;
    if (rp.ext_factor != 0.0f) {
      const float y = (i0 / 2 - rp.corr_dims[0]) / std::max(0.001f, rp.corr_dims[1] - rp.corr_dims[0]);
      const float ramp_mix = (1 - std::min(1.0f, std::max(0.0f, y))) * rp.ext_factor;
      theta = theta_interp * (1 - ramp_mix) + theta_extrap * ramp_mix;
    }
    cs[i0] = std::cos(theta) * mscale;
    cs[i0 + 1] = std::sin(theta) * mscale;
    theta_base *= theta_scale;
  }
}

void rope_rotate(float* x, int n_head, int head_dim, int n_rot, const float* cs, RopeStyle style) {
  for (int h = 0; h < n_head; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < n_rot; i += 2) {
      const float c = cs[i], s = cs[i + 1];
      const int a = style == RopeStyle::kNormal ? i : i / 2;
      const int b = style == RopeStyle::kNormal ? i + 1 : i / 2 + n_rot / 2;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
}

void rope(float* x, int n_head, int head_dim, const RopeParams& rp, int32_t pos, RopeStyle style) {
  float cs[kMaxHeadDim];
  rope_table(rp, pos, cs);
  rope_rotate(x, n_head, head_dim, rp.n_rot, cs, style);
}

void rope(float* x, int n_head, int head_dim, int n_rot, int32_t pos, float freq_base, RopeStyle style) {
  RopeParams rp;
  rp.n_rot = n_rot;
  rp.freq_base = freq_base;
  rope(x, n_head, head_dim, rp, pos, style);
}

void softmax(float* x, int64_t n) {
  float mx = -INFINITY;
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, x[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - mx);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu(const float* g, const float* u, float* h, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
}

void attention(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head, int n_head_kv,
               int head_dim, float scale, float* out, float* scores) {
  (void)scores;
  attention_heads(q, contiguous_kv(k, v, n_kv), 0, n_kv, n_head, n_head_kv, head_dim, scale, out, 0, n_head);
}

void attention_heads(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head, int n_head_kv,
                     int head_dim, float scale, float* out, int h0, int h1) {
  attention_heads(q, contiguous_kv(k, v, n_kv), 0, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
}

void attention_ref(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head, int n_head_kv,
                   int head_dim, float scale, float* out, float* scores) {
  attention_ref(q, contiguous_kv(k, v, n_kv), 0, n_kv, n_head, n_head_kv, head_dim, scale, out, scores);
}

const char* kv_type_name(KvType t) {
  switch (t) {
    case KvType::kQ8_0: return "q8_0";
    case KvType::kQ4_0: return "q4_0";
    case KvType::kF16: break;
  }
  return "f16";
}

bool parse_kv_type(const char* s, KvType* out) {
  const std::string v = s ? s : "";
  if (v == "f16") *out = KvType::kF16;
  else if (v == "q8_0") *out = KvType::kQ8_0;
  else if (v == "q4_0") *out = KvType::kQ4_0;
  else return false;
  return true;
}

namespace {
DType kv_dtype(KvType t) {
  return t == KvType::kQ8_0 ? DType::kQ8_0 : t == KvType::kQ4_0 ? DType::kQ4_0 : DType::kF16;
}
}  // namespace

size_t kv_row_bytes(KvType t, int64_t n) {
  if (t == KvType::kF16) return static_cast<size_t>(n) * sizeof(uint16_t);
  return static_cast<size_t>(n / 32) * (t == KvType::kQ8_0 ? sizeof(BlockQ8_0) : sizeof(BlockQ4_0));
}

void kv_store_row(KvType t, const float* x, void* dst, int64_t n) {
  if (t == KvType::kF16) {
    auto* d = static_cast<uint16_t*>(dst);
    for (int64_t i = 0; i < n; ++i) d[i] = fp32_to_fp16(x[i]);
    return;
  }
  ref::quantize_row(kv_dtype(t), x, dst, n);
}

void attention_heads_quant(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                           int head_dim, float scale, float* out, int h0, int h1) {
  const int group = n_head / n_head_kv;
  const DType kt = kv_dtype(kv.k_type);
  const bool k_f16 = kv.k_type == KvType::kF16, v_f16 = kv.v_type == KvType::kF16;
  const int64_t k_head_bytes = static_cast<int64_t>(kv_row_bytes(kv.k_type, head_dim));
  const int64_t v_head_bytes = static_cast<int64_t>(kv_row_bytes(kv.v_type, head_dim));
  const auto* kb = reinterpret_cast<const uint8_t*>(kv.k);
  const auto* vb = reinterpret_cast<const uint8_t*>(kv.v);
  // The query in K's dot-product type: f16, or q8_0 blocks (head_dim / 32 of them).
  alignas(64) uint8_t qv[kMaxHeadDim * sizeof(uint16_t)];
  uint16_t acc16[kMaxHeadDim];
  float acc32[kMaxHeadDim], vrow[kMaxHeadDim];
  for (int h = h0; h < h1; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * head_dim;
    if (k_f16) kv_store_row(KvType::kF16, qh, qv, head_dim);
    else ref::quantize_row(ref::vec_dot_type(kt), qh, qv, head_dim);
    const int hk = h / group;
    float M = -INFINITY, S = 0.f;
    for (int d = 0; d < head_dim; ++d) acc16[d] = 0, acc32[d] = 0.f;
    const int64_t end = first + n_kv;
    for (int64_t p = first; p < end;) {  // block by block, positions in order
      const int64_t b = p / kv.block_size, r0 = p - b * kv.block_size;
      const int64_t r1 = std::min(kv.block_size, r0 + (end - p));
      const int64_t blk = kv.blocks[b];
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* kj = kb + blk * kv.k_block_bytes + r * kv.k_row_bytes + hk * k_head_bytes;
        float s;
        if (k_f16) {
          const auto* k16 = reinterpret_cast<const uint16_t*>(kj);
          const auto* q16 = reinterpret_cast<const uint16_t*>(qv);
          s = 0.f;
          for (int d = 0; d < head_dim; ++d) s += fp16_to_fp32(k16[d]) * fp16_to_fp32(q16[d]);
        } else {
          s = ref::vec_dot(kt, kj, qv, head_dim);
        }
        s *= scale;
        float ms = 1.f, vs = 1.f;
        if (s > M) {
          const float m_old = M;
          M = s;
          ms = std::exp(m_old - M);
          if (v_f16) for (int d = 0; d < head_dim; ++d) acc16[d] = fp32_to_fp16(fp16_to_fp32(acc16[d]) * ms);
          else for (int d = 0; d < head_dim; ++d) acc32[d] *= ms;
        } else {
          vs = std::exp(s - M);
        }
        const uint8_t* vj = vb + blk * kv.v_block_bytes + r * kv.v_row_bytes + hk * v_head_bytes;
        if (v_f16) {
          const auto* v16 = reinterpret_cast<const uint16_t*>(vj);
          for (int d = 0; d < head_dim; ++d) acc16[d] = fp32_to_fp16(fp16_to_fp32(acc16[d]) + fp16_to_fp32(v16[d]) * vs);
        } else {
          ref::dequantize_row(kv_dtype(kv.v_type), vj, vrow, head_dim);
          for (int d = 0; d < head_dim; ++d) acc32[d] += vrow[d] * vs;
        }
        S = S * ms + vs;
      }
      p += r1 - r0;
    }
    const float inv = S == 0.f ? 0.f : 1.f / S;
    float* oh = out + static_cast<int64_t>(h) * head_dim;
    for (int d = 0; d < head_dim; ++d) oh[d] = (v_f16 ? fp16_to_fp32(acc16[d]) : acc32[d]) * inv;
  }
}

void attention_heads(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                     int head_dim, float scale, float* out, int h0, int h1) {
  if (!kv.f16()) return attention_heads_quant(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
  // Streaming (online-softmax) attention with llama.cpp's CPU flash-attention numerics: the query
  // is rounded to f16 for the K dot product and the V accumulator is f16.
  // head_dim <= kMaxHeadDim (checked when a model loads).
  const int group = n_head / n_head_kv;
  const int64_t kv_stride = static_cast<int64_t>(n_head_kv) * head_dim;
  uint16_t qh16[kMaxHeadDim];
  uint16_t acc[kMaxHeadDim];
  for (int h = h0; h < h1; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * head_dim;
    for (int d = 0; d < head_dim; ++d) qh16[d] = fp32_to_fp16(qh[d]);
    const int hk = h / group;
    float M = -INFINITY, S = 0.f;
    for (int d = 0; d < head_dim; ++d) acc[d] = 0;
    const int64_t end = first + n_kv;
    for (int64_t p = first; p < end;) {  // block by block, positions in order
      const int64_t b = p / kv.block_size, r0 = p - b * kv.block_size;
      const int64_t r1 = std::min(kv.block_size, r0 + (end - p));
      const int64_t base = static_cast<int64_t>(kv.blocks[b]) * kv.block_stride + static_cast<int64_t>(hk) * head_dim;
      for (int64_t r = r0; r < r1; ++r) {
        const uint16_t* kj = kv.k + base + r * kv_stride;
        float s = 0.f;
        for (int d = 0; d < head_dim; ++d) s += fp16_to_fp32(kj[d]) * fp16_to_fp32(qh16[d]);
        s *= scale;
        float ms = 1.f, vs = 1.f;
        if (s > M) {
          const float m_old = M;
          M = s;
          ms = std::exp(m_old - M);
          for (int d = 0; d < head_dim; ++d) acc[d] = fp32_to_fp16(fp16_to_fp32(acc[d]) * ms);
        } else {
          vs = std::exp(s - M);
        }
        const uint16_t* vj = kv.v + base + r * kv_stride;
        for (int d = 0; d < head_dim; ++d) acc[d] = fp32_to_fp16(fp16_to_fp32(acc[d]) + fp16_to_fp32(vj[d]) * vs);
        S = S * ms + vs;
      }
      p += r1 - r0;
    }
    const float inv = S == 0.f ? 0.f : 1.f / S;
    float* oh = out + static_cast<int64_t>(h) * head_dim;
    for (int d = 0; d < head_dim; ++d) oh[d] = fp16_to_fp32(acc[d]) * inv;
  }
}

void attention_ref(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                   int head_dim, float scale, float* out, float* scores) {
  const int group = n_head / n_head_kv;
  if (!kv.f16()) {
    // Quantised rows: dequantised one head row at a time (exact f32/f64 softmax as below).
    const int64_t k_head_bytes = static_cast<int64_t>(kv_row_bytes(kv.k_type, head_dim));
    const int64_t v_head_bytes = static_cast<int64_t>(kv_row_bytes(kv.v_type, head_dim));
    const auto* kb = reinterpret_cast<const uint8_t*>(kv.k);
    const auto* vb = reinterpret_cast<const uint8_t*>(kv.v);
    auto rowp = [&](const uint8_t* base, int64_t block_bytes, int64_t row_bytes, int64_t head_bytes, int64_t j, int hk) {
      const int64_t p = first + j, b = p / kv.block_size;
      return base + kv.blocks[b] * block_bytes + (p - b * kv.block_size) * row_bytes + hk * head_bytes;
    };
    float tmp[kMaxHeadDim];
    for (int h = 0; h < n_head; ++h) {
      const float* qh = q + static_cast<int64_t>(h) * head_dim;
      const int hk = h / group;
      for (int64_t j = 0; j < n_kv; ++j) {
        ref::dequantize_row(kv_dtype(kv.k_type), rowp(kb, kv.k_block_bytes, kv.k_row_bytes, k_head_bytes, j, hk), tmp, head_dim);
        double s = 0;
        for (int d = 0; d < head_dim; ++d) s += static_cast<double>(qh[d]) * tmp[d];
        scores[j] = static_cast<float>(s) * scale;
      }
      softmax(scores, n_kv);
      double acc[kMaxHeadDim] = {};
      for (int64_t j = 0; j < n_kv; ++j) {
        ref::dequantize_row(kv_dtype(kv.v_type), rowp(vb, kv.v_block_bytes, kv.v_row_bytes, v_head_bytes, j, hk), tmp, head_dim);
        for (int d = 0; d < head_dim; ++d) acc[d] += static_cast<double>(scores[j]) * tmp[d];
      }
      float* oh = out + static_cast<int64_t>(h) * head_dim;
      for (int d = 0; d < head_dim; ++d) oh[d] = static_cast<float>(acc[d]);
    }
    return;
  }
  const int64_t kv_stride = static_cast<int64_t>(n_head_kv) * head_dim;
  // Element offset of position first + j's row.
  auto row = [&](int64_t j) {
    const int64_t p = first + j, b = p / kv.block_size;
    return static_cast<int64_t>(kv.blocks[b]) * kv.block_stride + (p - b * kv.block_size) * kv_stride;
  };
  for (int h = 0; h < n_head; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * head_dim;
    const int hk = h / group;
    for (int64_t j = 0; j < n_kv; ++j) {
      const uint16_t* kj = kv.k + row(j) + static_cast<int64_t>(hk) * head_dim;
      double s = 0;
      for (int d = 0; d < head_dim; ++d) s += static_cast<double>(qh[d]) * fp16_to_fp32(kj[d]);
      scores[j] = static_cast<float>(s) * scale;
    }
    softmax(scores, n_kv);
    float* oh = out + static_cast<int64_t>(h) * head_dim;
    for (int d = 0; d < head_dim; ++d) {
      double acc = 0;
      for (int64_t j = 0; j < n_kv; ++j)
        acc += static_cast<double>(scores[j]) * fp16_to_fp32(kv.v[row(j) + static_cast<int64_t>(hk) * head_dim + d]);
      oh[d] = static_cast<float>(acc);
    }
  }
}

}  // namespace nuri::kernels
