#include "kernels/ops.h"

#include <algorithm>
#include <cmath>

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

void rope(float* x, int n_head, int head_dim, int n_rot, int32_t pos, float freq_base, RopeStyle style) {
  const float theta_scale = std::pow(freq_base, -2.0f / n_rot);
  for (int h = 0; h < n_head; ++h) {
    float* v = x + static_cast<int64_t>(h) * head_dim;
    float theta = static_cast<float>(pos);
    for (int i = 0; i < n_rot; i += 2) {
      const float c = std::cos(theta), s = std::sin(theta);
      const int a = style == RopeStyle::kNormal ? i : i / 2;
      const int b = style == RopeStyle::kNormal ? i + 1 : i / 2 + n_rot / 2;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
      theta *= theta_scale;
    }
  }
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

void attention_heads(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                     int head_dim, float scale, float* out, int h0, int h1) {
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
