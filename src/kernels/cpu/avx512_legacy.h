// kernels/cpu/avx512_legacy.h — AVX-512 products for Q8_0, Q4_0, Q5_0, Q4_1, Q5_1 weights, equal
// to kernels/ref bit for bit (internal to kernels/cpu; avx512.cc dispatches here).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/cpu/impl.h"

#if NURI_CPU_HAVE_X86
namespace nuri::kernels::cpu::avx512::legacy {

bool handles(DType w);
// One activation row (64-byte multiple), shared by all five weight types.
size_t act_row_bytes(int64_t n);
void quantize_row(const float* x, int64_t n, uint8_t* dst);
void gemm(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy);

}  // namespace nuri::kernels::cpu::avx512::legacy
#endif
