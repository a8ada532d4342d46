// Scalar dequantisation of every supported block format (GGUF block definitions).
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/fp16.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels::ref {

bool can_dequantize(DType t) {
  switch (t) {
    case DType::kF32: case DType::kF16: case DType::kBF16: case DType::kQ4_0: case DType::kQ4_1:
    case DType::kQ5_0: case DType::kQ5_1: case DType::kQ8_0: case DType::kQ4_K: case DType::kQ5_K:
    case DType::kQ6_K: case DType::kQ8_K:
      return true;
    default:
      return false;
  }
}

void dequantize_row(DType type, const void* src, float* y, int64_t n) {
  switch (type) {
    case DType::kF32:
      std::memcpy(y, src, n * sizeof(float));
      return;
    case DType::kF16: {
      const auto* x = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) y[i] = fp16_to_fp32(x[i]);
      return;
    }
    case DType::kBF16: {
      const auto* x = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) y[i] = bf16_to_fp32(x[i]);
      return;
    }
    case DType::kQ4_0: {
      const auto* x = static_cast<const BlockQ4_0*>(src);
      for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_fp32(x[b].d);
        for (int j = 0; j < kQK / 2; ++j) {
          y[j] = ((x[b].qs[j] & 0x0F) - 8) * d;
          y[j + kQK / 2] = ((x[b].qs[j] >> 4) - 8) * d;
        }
      }
      return;
    }
    case DType::kQ4_1: {
      const auto* x = static_cast<const BlockQ4_1*>(src);
      for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
        for (int j = 0; j < kQK / 2; ++j) {
          y[j] = (x[b].qs[j] & 0x0F) * d + m;
          y[j + kQK / 2] = (x[b].qs[j] >> 4) * d + m;
        }
      }
      return;
    }
    case DType::kQ5_0: {
      const auto* x = static_cast<const BlockQ5_0*>(src);
      for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_fp32(x[b].d);
        uint32_t qh;
        std::memcpy(&qh, x[b].qh, 4);
        for (int j = 0; j < kQK / 2; ++j) {
          const int xh0 = ((qh >> j) << 4) & 0x10;
          const int xh1 = (qh >> (j + 12)) & 0x10;
          y[j] = (((x[b].qs[j] & 0x0F) | xh0) - 16) * d;
          y[j + kQK / 2] = (((x[b].qs[j] >> 4) | xh1) - 16) * d;
        }
      }
      return;
    }
    case DType::kQ5_1: {
      const auto* x = static_cast<const BlockQ5_1*>(src);
      for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_fp32(x[b].d), m = fp16_to_fp32(x[b].m);
        uint32_t qh;
        std::memcpy(&qh, x[b].qh, 4);
        for (int j = 0; j < kQK / 2; ++j) {
          const int xh0 = ((qh >> j) << 4) & 0x10;
          const int xh1 = (qh >> (j + 12)) & 0x10;
          y[j] = ((x[b].qs[j] & 0x0F) | xh0) * d + m;
          y[j + kQK / 2] = ((x[b].qs[j] >> 4) | xh1) * d + m;
        }
      }
      return;
    }
    case DType::kQ8_0: {
      const auto* x = static_cast<const BlockQ8_0*>(src);
      for (int64_t b = 0; b < n / kQK; ++b, y += kQK) {
        const float d = fp16_to_fp32(x[b].d);
        for (int j = 0; j < kQK; ++j) y[j] = x[b].qs[j] * d;
      }
      return;
    }
    case DType::kQ4_K: {
      const auto* x = static_cast<const BlockQ4_K*>(src);
      for (int64_t b = 0; b < n / kQK_K; ++b) {
        const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
        const uint8_t* q = x[b].qs;
        int is = 0;
        uint8_t sc, m;
        for (int j = 0; j < kQK_K; j += 64) {
          get_scale_min_k4(is + 0, x[b].scales, &sc, &m);
          const float d1 = d * sc, m1 = dmin * m;
          get_scale_min_k4(is + 1, x[b].scales, &sc, &m);
          const float d2 = d * sc, m2 = dmin * m;
          for (int l = 0; l < 32; ++l) *y++ = d1 * (q[l] & 0xF) - m1;
          for (int l = 0; l < 32; ++l) *y++ = d2 * (q[l] >> 4) - m2;
          q += 32;
          is += 2;
        }
      }
      return;
    }
    case DType::kQ5_K: {
      const auto* x = static_cast<const BlockQ5_K*>(src);
      for (int64_t b = 0; b < n / kQK_K; ++b) {
        const float d = fp16_to_fp32(x[b].d), dmin = fp16_to_fp32(x[b].dmin);
        const uint8_t* ql = x[b].qs;
        const uint8_t* qh = x[b].qh;
        int is = 0;
        uint8_t sc, m, u1 = 1, u2 = 2;
        for (int j = 0; j < kQK_K; j += 64) {
          get_scale_min_k4(is + 0, x[b].scales, &sc, &m);
          const float d1 = d * sc, m1 = dmin * m;
          get_scale_min_k4(is + 1, x[b].scales, &sc, &m);
          const float d2 = d * sc, m2 = dmin * m;
          for (int l = 0; l < 32; ++l) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
          for (int l = 0; l < 32; ++l) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
          ql += 32;
          is += 2;
          u1 <<= 2;
          u2 <<= 2;
        }
      }
      return;
    }
    case DType::kQ6_K: {
      const auto* x = static_cast<const BlockQ6_K*>(src);
      for (int64_t b = 0; b < n / kQK_K; ++b) {
        const float d = fp16_to_fp32(x[b].d);
        const uint8_t* ql = x[b].ql;
        const uint8_t* qh = x[b].qh;
        const int8_t* sc = x[b].scales;
        for (int k = 0; k < kQK_K; k += 128) {
          for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = static_cast<int8_t>((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = static_cast<int8_t>((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = static_cast<int8_t>((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = static_cast<int8_t>((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l + 0] = d * sc[is + 0] * q1;
            y[l + 32] = d * sc[is + 2] * q2;
            y[l + 64] = d * sc[is + 4] * q3;
            y[l + 96] = d * sc[is + 6] * q4;
          }
          y += 128;
          ql += 64;
          qh += 32;
          sc += 8;
        }
      }
      return;
    }
    case DType::kQ8_K: {
      const auto* x = static_cast<const BlockQ8_K*>(src);
      for (int64_t b = 0; b < n / kQK_K; ++b)
        for (int j = 0; j < kQK_K; ++j) *y++ = x[b].d * x[b].qs[j];
      return;
    }
    default:
      break;
  }
  std::memset(y, 0, n * sizeof(float));  // callers check can_dequantize first
}

}  // namespace nuri::kernels::ref
