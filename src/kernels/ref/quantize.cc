// Scalar quantisation into GGUF block formats. Weights use simple (not search-optimised)
// scale choices; activations follow the rounding llama.cpp's x86 paths use, so dot products
// see the same 8-bit values.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/fp16.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels::ref {
namespace {

inline int nearest_int(float f) { return static_cast<int>(std::nearbyint(f)); }  // ties to even

void quantize_q8_0(const float* x, BlockQ8_0* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    y[b].d = fp32_to_fp16(d);
    for (int j = 0; j < kQK; ++j) y[b].qs[j] = static_cast<int8_t>(nearest_int(x[j] * id));
  }
}

void quantize_q8_1(const float* x, BlockQ8_1* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK; ++b, x += kQK) {
    float amax = 0.f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      y[b].qs[j] = static_cast<int8_t>(nearest_int(x[j] * id));
      sum += y[b].qs[j];
    }
    y[b].d = fp32_to_fp16(d);
    y[b].s = fp32_to_fp16(d * sum);
  }
}

void quantize_q8_k(const float* x, BlockQ8_K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    float max = 0.f, amax = 0.f;
    for (int j = 0; j < kQK_K; ++j) {
      if (std::fabs(x[j]) > amax) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    if (amax == 0.f) {
      std::memset(&y[b], 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.f / max;
    for (int j = 0; j < kQK_K; ++j) y[b].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
    for (int j = 0; j < kQK_K / 16; ++j) {
      int s = 0;
      for (int i = 0; i < 16; ++i) s += y[b].qs[j * 16 + i];
      y[b].bsums[j] = static_cast<int16_t>(s);
    }
    y[b].d = 1.f / iscale;
  }
}

// Legacy 4/5-bit: symmetric (_0) uses the signed max as -8*d (resp. -16*d); affine (_1) uses min/max.
template <int kBits>
void quantize_sym(const float* x, uint8_t* qs, uint32_t* qh, uint16_t* d_out) {
  constexpr int kHalf = 1 << (kBits - 1);
  float amax = 0.f, max = 0.f;
  for (int j = 0; j < kQK; ++j)
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  const float d = max / -kHalf;
  const float id = d != 0.f ? 1.f / d : 0.f;
  *d_out = fp32_to_fp16(d);
  uint32_t h = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = std::min(2 * kHalf - 1, static_cast<int>(x[j] * id + kHalf + 0.5f));
    const int q1 = std::min(2 * kHalf - 1, static_cast<int>(x[j + kQK / 2] * id + kHalf + 0.5f));
    qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    h |= static_cast<uint32_t>((q0 & 0x10) >> 4) << j;
    h |= static_cast<uint32_t>((q1 & 0x10) >> 4) << (j + kQK / 2);
  }
  if (qh) *qh = h;
}

template <int kBits>
void quantize_affine(const float* x, uint8_t* qs, uint32_t* qh, uint16_t* d_out, uint16_t* m_out) {
  constexpr int kLevels = (1 << kBits) - 1;
  float mn = x[0], mx = x[0];
  for (int j = 1; j < kQK; ++j) {
    mn = std::min(mn, x[j]);
    mx = std::max(mx, x[j]);
  }
  const float d = (mx - mn) / kLevels;
  const float id = d != 0.f ? 1.f / d : 0.f;
  *d_out = fp32_to_fp16(d);
  *m_out = fp32_to_fp16(mn);
  uint32_t h = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    const int q0 = std::min(kLevels, static_cast<int>((x[j] - mn) * id + 0.5f));
    const int q1 = std::min(kLevels, static_cast<int>((x[j + kQK / 2] - mn) * id + 0.5f));
    qs[j] = static_cast<uint8_t>((q0 & 0xF) | ((q1 & 0xF) << 4));
    h |= static_cast<uint32_t>((q0 & 0x10) >> 4) << j;
    h |= static_cast<uint32_t>((q1 & 0x10) >> 4) << (j + kQK / 2);
  }
  if (qh) *qh = h;
}

// Q4_K / Q5_K: 8 sub-blocks of 32 with 6-bit scale and min under f16 d and dmin.
template <int kBits>
void quantize_k_affine(const float* x, uint16_t* d_out, uint16_t* dmin_out, uint8_t* scales, uint8_t* q_out /*[256]*/) {
  constexpr int kLevels = (1 << kBits) - 1;
  float sub_scale[8], sub_min[8];
  float max_scale = 0.f, max_min = 0.f;
  for (int j = 0; j < 8; ++j) {
    float mn = 0.f, mx = 0.f;  // the offset can only represent mins <= 0
    for (int l = 0; l < 32; ++l) {
      mn = std::min(mn, x[32 * j + l]);
      mx = std::max(mx, x[32 * j + l]);
    }
    sub_scale[j] = (mx - mn) / kLevels;
    sub_min[j] = -mn;
    max_scale = std::max(max_scale, sub_scale[j]);
    max_min = std::max(max_min, sub_min[j]);
  }
  const float d = max_scale / 63.f, dmin = max_min / 63.f;
  *d_out = fp32_to_fp16(d);
  *dmin_out = fp32_to_fp16(dmin);
  const float dq = fp16_to_fp32(*d_out), dminq = fp16_to_fp32(*dmin_out);
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) {
    sc[j] = static_cast<uint8_t>(std::min(63, dq > 0 ? nearest_int(sub_scale[j] / dq) : 0));
    m[j] = static_cast<uint8_t>(std::min(63, dminq > 0 ? nearest_int(sub_min[j] / dminq) : 0));
  }
  std::memset(scales, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      scales[j] = sc[j];
      scales[j + 4] = m[j];
    } else {
      scales[j + 4] = static_cast<uint8_t>((sc[j] & 0xF) | ((m[j] & 0xF) << 4));
      scales[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      scales[j] |= static_cast<uint8_t>((m[j] >> 4) << 6);
    }
  }
  for (int j = 0; j < 8; ++j) {
    uint8_t s, mm;
    get_scale_min_k4(j, scales, &s, &mm);
    const float ds = dq * s, dm = dminq * mm;
    for (int l = 0; l < 32; ++l) {
      int q = ds > 0 ? nearest_int((x[32 * j + l] + dm) / ds) : 0;
      q_out[32 * j + l] = static_cast<uint8_t>(std::clamp(q, 0, kLevels));
    }
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* y, int64_t n) {
  uint8_t q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    quantize_k_affine<4>(x, &y[b].d, &y[b].dmin, y[b].scales, q);
    // Dequant order: for each 64 chunk, low nibbles are elements 0..31, high nibbles 32..63.
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        y[b].qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* y, int64_t n) {
  uint8_t q[kQK_K];
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    quantize_k_affine<5>(x, &y[b].d, &y[b].dmin, y[b].scales, q);
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        const uint8_t lo = q[64 * c + l], hi = q[64 * c + 32 + l];
        y[b].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        if (lo & 0x10) y[b].qh[l] |= static_cast<uint8_t>(1 << (2 * c));
        if (hi & 0x10) y[b].qh[l] |= static_cast<uint8_t>(2 << (2 * c));
      }
  }
}

void quantize_q6_k(const float* x, BlockQ6_K* y, int64_t n) {
  for (int64_t b = 0; b < n / kQK_K; ++b, x += kQK_K) {
    float scale[16], max_abs_scale = 0.f, max_scale = 0.f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.f, mx = 0.f;
      for (int l = 0; l < 16; ++l)
        if (std::fabs(x[16 * j + l]) > amax) {
          amax = std::fabs(x[16 * j + l]);
          mx = x[16 * j + l];
        }
      scale[j] = mx / -32.f;
      if (std::fabs(scale[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(scale[j]);
        max_scale = scale[j];
      }
    }
    const float d = max_scale / -128.f;
    y[b].d = fp32_to_fp16(d);
    const float dq = fp16_to_fp32(y[b].d);
    int8_t q[kQK_K];
    for (int j = 0; j < 16; ++j) {
      const int s = dq != 0.f ? std::clamp(nearest_int(scale[j] / dq), -128, 127) : 0;
      y[b].scales[j] = static_cast<int8_t>(s);
      const float ds = dq * s;
      for (int l = 0; l < 16; ++l) {
        const int v = ds != 0.f ? nearest_int(x[16 * j + l] / ds) : 0;
        q[16 * j + l] = static_cast<int8_t>(std::clamp(v, -32, 31) + 32);
      }
    }
    std::memset(y[b].qh, 0, sizeof(y[b].qh));
    for (int half = 0; half < 2; ++half) {
      uint8_t* ql = y[b].ql + 64 * half;
      uint8_t* qh = y[b].qh + 32 * half;
      const int8_t* qq = q + 128 * half;
      for (int l = 0; l < 32; ++l) {
        const uint8_t q1 = qq[l], q2 = qq[l + 32], q3 = qq[l + 64], q4 = qq[l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }
}

}  // namespace

bool can_quantize(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ4_0: case DType::kQ4_1:
    case DType::kQ5_0: case DType::kQ5_1: case DType::kQ8_0: case DType::kQ8_1: case DType::kQ4_K:
    case DType::kQ5_K: case DType::kQ6_K: case DType::kQ8_K:
      return true;
    default:
      return false;
  }
}

void quantize_row(DType type, const float* x, void* dst, int64_t n) {
  switch (type) {
    case DType::kF32: std::memcpy(dst, x, n * sizeof(float)); return;
    case DType::kF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_fp16(x[i]);
      return;
    }
    case DType::kBF16: {
      auto* y = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) y[i] = fp32_to_bf16(x[i]);
      return;
    }
    case DType::kQ4_0: {
      auto* y = static_cast<BlockQ4_0*>(dst);
      for (int64_t b = 0; b < n / kQK; ++b) quantize_sym<4>(x + b * kQK, y[b].qs, nullptr, &y[b].d);
      return;
    }
    case DType::kQ5_0: {
      auto* y = static_cast<BlockQ5_0*>(dst);
      for (int64_t b = 0; b < n / kQK; ++b) {
        uint32_t qh;
        quantize_sym<5>(x + b * kQK, y[b].qs, &qh, &y[b].d);
        std::memcpy(y[b].qh, &qh, 4);
      }
      return;
    }
    case DType::kQ4_1: {
      auto* y = static_cast<BlockQ4_1*>(dst);
      for (int64_t b = 0; b < n / kQK; ++b) quantize_affine<4>(x + b * kQK, y[b].qs, nullptr, &y[b].d, &y[b].m);
      return;
    }
    case DType::kQ5_1: {
      auto* y = static_cast<BlockQ5_1*>(dst);
      for (int64_t b = 0; b < n / kQK; ++b) {
        uint32_t qh;
        quantize_affine<5>(x + b * kQK, y[b].qs, &qh, &y[b].d, &y[b].m);
        std::memcpy(y[b].qh, &qh, 4);
      }
      return;
    }
    case DType::kQ8_0: quantize_q8_0(x, static_cast<BlockQ8_0*>(dst), n); return;
    case DType::kQ8_1: quantize_q8_1(x, static_cast<BlockQ8_1*>(dst), n); return;
    case DType::kQ8_K: quantize_q8_k(x, static_cast<BlockQ8_K*>(dst), n); return;
    case DType::kQ4_K: quantize_q4_k(x, static_cast<BlockQ4_K*>(dst), n); return;
    case DType::kQ5_K: quantize_q5_k(x, static_cast<BlockQ5_K*>(dst), n); return;
    case DType::kQ6_K: quantize_q6_k(x, static_cast<BlockQ6_K*>(dst), n); return;
    default: return;
  }
}

}  // namespace nuri::kernels::ref
