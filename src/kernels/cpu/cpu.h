// kernels/cpu/cpu.h — SIMD CPU kernels with runtime dispatch (AVX-512 VNNI, AVX2, scalar).
// Purpose: the hot ops of the forward pass — quantised matrix products (Q8_0, Q4_0, Q5_0, Q4_1, Q5_1, Q4_K,
// Q5_K, Q6_K, F16, BF16, F32 weights), attention over the f16 KV cache, RoPE with a cos/sin table —
// on the best instruction set the machine has, picked once at startup.
// Non-goals: graph logic, memory planning, new numerics: every kernel is checked against kernels/ref
// (tests/kernels/cpu_*). Integer dot products are exact; K-quant and Q4_1 / Q5_1 dot products are
// bit-identical to ref on every target, and so are Q8_0 / Q4_0 / Q5_0 on AVX-512; AVX2's Q8_0-family
// and float dot products differ from ref only in float summation order. On every target a batch of
// T tokens gives bit for bit the products of T one-token calls.
// Invariants: activation rows are quantised once per matmul into a target-private layout
// (act_row_bytes); scratch comes from the caller; nothing here allocates per call (the AVX-512
// token panels of a batch live in a per-thread buffer grown to the largest call seen).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace nuri::kernels::cpu {

enum class Target { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };
const char* target_name(Target t);
// True when this build has code for t and the CPU runs it.
bool target_available(Target t);
// The target used by default: the best available, or NURI_CPU_TARGET=scalar|avx2|avx512 if set.
Target active_target();
void set_active_target(Target t);  // tests and benchmarks; t must be available

// Whether `t` has a SIMD matmul for weight dtype w with rows of n elements (else scalar/ref).
bool has_matmul(Target t, DType w, int64_t n);
// Weights whose act_kind is equal share one quantised copy of the activations.
int act_kind(Target t, DType w, int64_t n);
// Bytes of one quantised activation row (64-byte multiple) for weight dtype w on target t.
size_t act_row_bytes(Target t, DType w, int64_t n);
// Quantise T rows of x[T, n] into dst (64-byte aligned; T rows of act_row_bytes). Same 8-bit values as ref.
void quantize_act(Target t, DType w, const float* x, int64_t n, int64_t T, uint8_t* dst);
// y[t * ldy + r] = dot(W row r, act row t) for r in [r0, r1), t in [0, T).
void gemm(Target t, const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy);

// Attention of one query token (see kernels/ops.h: attention), same f16 rounding points, over the
// positions first .. first + n_kv - 1 of a paged (block table) or contiguous K/V.
void attention(Target t, const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
               int head_dim, float scale, float* out, int h0, int h1);
void attention(Target t, const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head, int n_head_kv,
               int head_dim, float scale, float* out, int h0, int h1);

// Rotates by a table cs from kernels::rope_table, so rope_cached(x, cs) == kernels::rope(x, pos)
// bit for bit.
void rope_cached(float* x, int n_head, int head_dim, int n_rot, const float* cs, RopeStyle style);

}  // namespace nuri::kernels::cpu
