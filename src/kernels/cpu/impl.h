// kernels/cpu/impl.h — the per-target entry points behind kernels/cpu/cpu.h (internal).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace nuri::kernels::cpu {

// Unaligned little-endian loads of block fields (scales, bit masks) for every target's kernels.
inline uint16_t ld16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t ld32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

#define NURI_CPU_TARGET_API                                                                                    \
  bool has_matmul(DType w, int64_t n);                                                                         \
  int act_kind(DType w);                                                                                       \
  size_t act_row_bytes(DType w, int64_t n);                                                                    \
  void quantize_act(DType w, const float* x, int64_t n, int64_t T, uint8_t* dst);                              \
  void gemm(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy); \
  void attention(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv, \
                 int head_dim, float scale, float* out, int h0, int h1);

namespace scalar { NURI_CPU_TARGET_API }
#if defined(__x86_64__)
#define NURI_CPU_HAVE_X86 1
namespace avx2 {
NURI_CPU_TARGET_API
// Attention over quantised K/V (kernels::attention_heads_quant's numerics), also used by avx512.
void attention_quant(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                     int head_dim, float scale, float* out, int h0, int h1);
}
namespace avx512 { NURI_CPU_TARGET_API }
#endif

inline constexpr size_t align64(size_t n) { return (n + 63) & ~size_t{63}; }

}  // namespace nuri::kernels::cpu
