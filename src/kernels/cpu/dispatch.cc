// Runtime dispatch for kernels/cpu and the scalar target (kernels/ref behind the same interface).
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/cpu/cpu.h"
#include "kernels/cpu/impl.h"
#include "kernels/fp16.h"
#include "kernels/ops.h"
#include "kernels/ref/quant.h"

#if NURI_CPU_HAVE_X86 && defined(__clang__)
#include <cpuid.h>
#endif

namespace nuri::kernels::cpu {

namespace scalar {

bool has_matmul(DType w, int64_t n) {
  const DType vt = ref::vec_dot_type(w);
  return ref::can_dequantize(w) && ref::can_quantize(vt) && row_size(w, n).has_value() && row_size(vt, n).has_value();
}
int act_kind(DType w) { return 100 + static_cast<int>(ref::vec_dot_type(w)); }
size_t act_row_bytes(DType w, int64_t n) { return align64(*row_size(ref::vec_dot_type(w), n)); }
void quantize_act(DType w, const float* x, int64_t n, int64_t T, uint8_t* dst) {
  const DType vt = ref::vec_dot_type(w);
  const size_t rb = act_row_bytes(w, n);
  for (int64_t t = 0; t < T; ++t) {
    if (vt == DType::kF32) std::memcpy(dst + t * rb, x + t * n, n * sizeof(float));
    else ref::quantize_row(vt, x + t * n, dst + t * rb, n);
  }
}
void gemm(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  const size_t rb = act_row_bytes(w.dtype, w.n_in);
  for (int64_t t = 0; t < T; ++t)
    for (int64_t r = r0; r < r1; ++r) y[t * ldy + r] = ref::vec_dot(w.dtype, w.row(r), act + t * rb, w.n_in);
}
void attention(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
               int head_dim, float scale, float* out, int h0, int h1) {
  kernels::attention_heads(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
}

}  // namespace scalar

namespace {

#if NURI_CPU_HAVE_X86
bool has_f16c() {
#if defined(__clang__)
  // clang's __builtin_cpu_supports has no "f16c" (clang 14): CPUID leaf 1, ECX bit 29.
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29));
#else
  return __builtin_cpu_supports("f16c");
#endif
}
#endif

// The one CPU-feature check: the best target this build has code for and this CPU runs.
Target best_supported() {
#if NURI_CPU_HAVE_X86
  static const Target best = [] {
    __builtin_cpu_init();
    const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") &&
                        __builtin_cpu_supports("avx512dq") && has_f16c() &&
                        __builtin_cpu_supports("fma");
    const bool avx2 =
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
    return avx512 ? Target::kAvx512 : avx2 ? Target::kAvx2 : Target::kScalar;
  }();
  return best;
#else
  return Target::kScalar;
#endif
}

// The default target: the best supported, or a lower one named by NURI_CPU_TARGET.
Target detect() {
  Target best = best_supported();
  if (const char* env = std::getenv("NURI_CPU_TARGET")) {
    for (Target t : {Target::kScalar, Target::kAvx2, Target::kAvx512})
      if (std::strcmp(env, target_name(t)) == 0 && static_cast<int>(t) <= static_cast<int>(best)) best = t;
  }
  return best;
}

Target g_target = detect();

}  // namespace

const char* target_name(Target t) {
  switch (t) {
    case Target::kAvx512: return "avx512";
    case Target::kAvx2: return "avx2";
    default: return "scalar";
  }
}

bool target_available(Target t) { return static_cast<int>(t) <= static_cast<int>(best_supported()); }

Target active_target() { return g_target; }
void set_active_target(Target t) {
  if (target_available(t)) g_target = t;
}

#if NURI_CPU_HAVE_X86
#define NURI_DISPATCH(t, call)                         \
  switch (t) {                                         \
    case Target::kAvx512: return avx512::call;         \
    case Target::kAvx2: return avx2::call;             \
    default: return scalar::call;                      \
  }
#else
#define NURI_DISPATCH(t, call) return scalar::call;
#endif

bool has_matmul(Target t, DType w, int64_t n) { NURI_DISPATCH(t, has_matmul(w, n)) }
int act_kind(Target t, DType w, int64_t n) {
  if (t != Target::kScalar && !has_matmul(t, w, n)) t = Target::kScalar;
  NURI_DISPATCH(t, act_kind(w))
}
size_t act_row_bytes(Target t, DType w, int64_t n) {
  if (t != Target::kScalar && !has_matmul(t, w, n)) t = Target::kScalar;
  NURI_DISPATCH(t, act_row_bytes(w, n))
}
void quantize_act(Target t, DType w, const float* x, int64_t n, int64_t T, uint8_t* dst) {
  if (t != Target::kScalar && !has_matmul(t, w, n)) t = Target::kScalar;
  NURI_DISPATCH(t, quantize_act(w, x, n, T, dst))
}
void gemm(Target t, const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y,
          int64_t ldy) {
  if (t != Target::kScalar && !has_matmul(t, w.dtype, w.n_in)) t = Target::kScalar;
  NURI_DISPATCH(t, gemm(w, act, T, r0, r1, y, ldy))
}
void attention(Target t, const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head,
               int n_head_kv, int head_dim, float scale, float* out, int h0, int h1) {
  NURI_DISPATCH(t, attention(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1))
}
void attention(Target t, const float* q, const uint16_t* k, const uint16_t* v, int64_t n_kv, int n_head,
               int n_head_kv, int head_dim, float scale, float* out, int h0, int h1) {
  attention(t, q, contiguous_kv(k, v, n_kv), 0, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
}

void rope_cached(float* x, int n_head, int head_dim, int n_rot, const float* cs, RopeStyle style) {
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

}  // namespace nuri::kernels::cpu
