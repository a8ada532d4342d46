// Scalar dot products of a weight row with an activation row already converted to the
// weight's vec_dot_type. Integer parts are exact; float order is the plain per-block order.
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/fp16.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels::ref {

DType vec_dot_type(DType w) {
  switch (w) {
    case DType::kQ4_0: case DType::kQ5_0: case DType::kQ8_0: return DType::kQ8_0;
    case DType::kQ4_1: case DType::kQ5_1: return DType::kQ8_1;
    case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K: return DType::kQ8_K;
    case DType::kF16: return DType::kF16;
    case DType::kBF16: return DType::kBF16;
    default: return DType::kF32;
  }
}

namespace {

// Unpacks the 32 quant values of legacy block b into q[32] (without offset).
inline void unpack_nibbles(const uint8_t* qs, const uint8_t* qh_bytes, int* q) {
  uint32_t qh = 0;
  if (qh_bytes) std::memcpy(&qh, qh_bytes, 4);
  for (int j = 0; j < kQK / 2; ++j) {
    q[j] = qs[j] & 0x0F;
    q[j + kQK / 2] = qs[j] >> 4;
    if (qh_bytes) {
      q[j] |= ((qh >> j) << 4) & 0x10;
      q[j + kQK / 2] |= (qh >> (j + 12)) & 0x10;
    }
  }
}

// Unpacks a Q4_K/Q5_K super-block into q[256] (values 0..15 / 0..31) in element order.
template <typename B, bool kHasHigh>
inline void unpack_k(const B& b, int* q) {
  const uint8_t* ql = b.qs;
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      int lo = ql[32 * c + l] & 0xF, hi = ql[32 * c + l] >> 4;
      if constexpr (kHasHigh) {
        const uint8_t h = reinterpret_cast<const BlockQ5_K&>(b).qh[l];
        lo += (h >> (2 * c)) & 1 ? 16 : 0;
        hi += (h >> (2 * c + 1)) & 1 ? 16 : 0;
      }
      q[64 * c + l] = lo;
      q[64 * c + 32 + l] = hi;
    }
  }
}

template <typename B, bool kHasHigh>
float dot_k_affine(const B* x, const BlockQ8_K* y, int64_t nb) {
  float sum = 0.f;
  int q[kQK_K];
  for (int64_t b = 0; b < nb; ++b) {
    unpack_k<B, kHasHigh>(x[b], q);
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 8; ++j) {
      uint8_t sc, m;
      get_scale_min_k4(j, x[b].scales, &sc, &m);
      int32_t s = 0;
      for (int l = 0; l < 32; ++l) s += q[32 * j + l] * y[b].qs[32 * j + l];
      isum += sc * s;
      msum += m * (y[b].bsums[2 * j] + y[b].bsums[2 * j + 1]);
    }
    const float d = fp16_to_fp32(x[b].d) * y[b].d;
    const float dmin = fp16_to_fp32(x[b].dmin) * y[b].d;
    sum += d * isum - dmin * msum;
  }
  return sum;
}

float dot_q6_k(const BlockQ6_K* x, const BlockQ8_K* y, int64_t nb) {
  float sum = 0.f;
  for (int64_t b = 0; b < nb; ++b) {
    int8_t q[kQK_K];
    const uint8_t* ql = x[b].ql;
    const uint8_t* qh = x[b].qh;
    for (int k = 0; k < kQK_K; k += 128) {
      for (int l = 0; l < 32; ++l) {
        q[k + l + 0] = static_cast<int8_t>(((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        q[k + l + 32] = static_cast<int8_t>(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        q[k + l + 64] = static_cast<int8_t>(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        q[k + l + 96] = static_cast<int8_t>(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
      ql += 64;
      qh += 32;
    }
    int32_t isum = 0;
    for (int g = 0; g < 16; ++g) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l) s += q[16 * g + l] * y[b].qs[16 * g + l];
      isum += x[b].scales[g] * s;
    }
    sum += fp16_to_fp32(x[b].d) * y[b].d * isum;
  }
  return sum;
}

}  // namespace

float vec_dot(DType w, const void* wr, const void* xr, int64_t n) {
  switch (w) {
    case DType::kF32: {
      const auto* a = static_cast<const float*>(wr);
      const auto* b = static_cast<const float*>(xr);
      float s = 0.f;
      for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
      return s;
    }
    case DType::kF16: case DType::kBF16: {
      const auto* a = static_cast<const uint16_t*>(wr);
      const auto* b = static_cast<const uint16_t*>(xr);
      float s = 0.f;
      if (w == DType::kF16)
        for (int64_t i = 0; i < n; ++i) s += fp16_to_fp32(a[i]) * fp16_to_fp32(b[i]);
      else
        for (int64_t i = 0; i < n; ++i) s += bf16_to_fp32(a[i]) * bf16_to_fp32(b[i]);
      return s;
    }
    case DType::kQ8_0: {
      const auto* x = static_cast<const BlockQ8_0*>(wr);
      const auto* y = static_cast<const BlockQ8_0*>(xr);
      float s = 0.f;
      for (int64_t b = 0; b < n / kQK; ++b) {
        int32_t is = 0;
        for (int j = 0; j < kQK; ++j) is += x[b].qs[j] * y[b].qs[j];
        s += fp16_to_fp32(x[b].d) * fp16_to_fp32(y[b].d) * is;
      }
      return s;
    }
    case DType::kQ4_0: case DType::kQ5_0: {
      const auto* y = static_cast<const BlockQ8_0*>(xr);
      const int off = w == DType::kQ4_0 ? 8 : 16;
      float s = 0.f;
      int q[kQK];
      for (int64_t b = 0; b < n / kQK; ++b) {
        uint16_t d;
        if (w == DType::kQ4_0) {
          const auto& x = static_cast<const BlockQ4_0*>(wr)[b];
          unpack_nibbles(x.qs, nullptr, q);
          d = x.d;
        } else {
          const auto& x = static_cast<const BlockQ5_0*>(wr)[b];
          unpack_nibbles(x.qs, x.qh, q);
          d = x.d;
        }
        int32_t is = 0;
        for (int j = 0; j < kQK; ++j) is += (q[j] - off) * y[b].qs[j];
        s += fp16_to_fp32(d) * fp16_to_fp32(y[b].d) * is;
      }
      return s;
    }
    case DType::kQ4_1: case DType::kQ5_1: {
      const auto* y = static_cast<const BlockQ8_1*>(xr);
      float s = 0.f;
      int q[kQK];
      for (int64_t b = 0; b < n / kQK; ++b) {
        uint16_t d, m;
        if (w == DType::kQ4_1) {
          const auto& x = static_cast<const BlockQ4_1*>(wr)[b];
          unpack_nibbles(x.qs, nullptr, q);
          d = x.d;
          m = x.m;
        } else {
          const auto& x = static_cast<const BlockQ5_1*>(wr)[b];
          unpack_nibbles(x.qs, x.qh, q);
          d = x.d;
          m = x.m;
        }
        int32_t is = 0;
        for (int j = 0; j < kQK; ++j) is += q[j] * y[b].qs[j];
        s += fp16_to_fp32(d) * fp16_to_fp32(y[b].d) * is + fp16_to_fp32(m) * fp16_to_fp32(y[b].s);
      }
      return s;
    }
    case DType::kQ4_K:
      return dot_k_affine<BlockQ4_K, false>(static_cast<const BlockQ4_K*>(wr), static_cast<const BlockQ8_K*>(xr), n / kQK_K);
    case DType::kQ5_K:
      return dot_k_affine<BlockQ5_K, true>(static_cast<const BlockQ5_K*>(wr), static_cast<const BlockQ8_K*>(xr), n / kQK_K);
    case DType::kQ6_K:
      return dot_q6_k(static_cast<const BlockQ6_K*>(wr), static_cast<const BlockQ8_K*>(xr), n / kQK_K);
    default:
      return 0.f;
  }
}

}  // namespace nuri::kernels::ref
