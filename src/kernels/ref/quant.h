// kernels/ref/quant.h — scalar reference (de)quantisation and dot products. The oracle for
// kernels/cpu: plain loops, never optimised. Row lengths must be multiples of the block size.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tensor/dtype.h"

namespace nuri::kernels::ref {

// Row of n elements of `type` -> n floats. Supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q4_K Q5_K Q6_K Q8_K.
bool can_dequantize(DType type);
void dequantize_row(DType type, const void* src, float* dst, int64_t n);

// Quantise n floats into `type` blocks (weights for `nuri gen`, activations for dot products).
// Supported: F32 F16 BF16 Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q8_1 Q4_K Q5_K Q6_K Q8_K.
bool can_quantize(DType type);
void quantize_row(DType type, const float* src, void* dst, int64_t n);

// The dtype activations are converted to before a dot product with weights of `w` (as llama.cpp:
// Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K for K formats, F16 for F16, BF16 for BF16, F32 for F32).
DType vec_dot_type(DType w);
// dot(w_row, x_row) over n elements; x is already in vec_dot_type(w).
float vec_dot(DType w, const void* w_row, const void* x_row, int64_t n);

}  // namespace nuri::kernels::ref
