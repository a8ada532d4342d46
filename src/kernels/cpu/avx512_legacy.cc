// AVX-512 (F BW VL VNNI) + F16C products for the legacy 32-element block formats (Q8_0, Q4_0,
// Q5_0 with Q8_0 activations; Q4_1, Q5_1 with Q8_1 activations) in kernels/ref's float order:
//   is = the block's integer dot product (exact);  s += fp16(dw) * dy * is  [+ fp16(m) * sy]
// block by block, so every product equals ref::vec_dot bit for bit and a batch of T tokens gives
// exactly the numbers of T single-token calls (batched greedy == single-sequence greedy).
// Weights become unsigned bytes for vpdpbusd (Q8_0: w ^ 0x80 = w + 128; Q4/Q5: the raw 4/5-bit
// values); the offset comes back as -offset * (sum of the activation block), exact in int32.
//   T = 1 (decode): 4 rows at a time; each row's two-block vpdpbusd lanes are reduced to block
//     sums with in-lane shuffles and the float steps run on the 4 rows at once. Weight-bound.
//   T >= 2 (batched decode, prefill): tokens live in vector lanes (8 or 16). The activations are
//     transposed once per call (dword k of block b of every token in one vector); each weight
//     dword is broadcast and one vpdpbusd does 4 multiply-adds for every token, with no horizontal
//     reduction: about 3x fewer instructions per multiply-add than dotting row pairs.
#include "kernels/cpu/avx512_legacy.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <type_traits>
#include <vector>

#include "kernels/blocks.h"
#include "kernels/cpu/impl.h"
#include "kernels/fp16.h"

#if NURI_CPU_HAVE_X86
#pragma GCC push_options
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c,bmi,bmi2")
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c,bmi,bmi2"))), apply_to = function)
#endif
#pragma GCC optimize("fp-contract=off")  // ref's float order: no fused multiply-adds

namespace nuri::kernels::cpu::avx512::legacy {
namespace {

inline float h2f(uint16_t h) { return _cvtsh_ss(h); }

// Activation row: int8 qs[nbp * 32] | float d[nbp] | float s[nbp] | int32 sum[nbp]; nbp = blocks
// rounded up to even, the padding block all zero. d = fp16(amax / 127) and qs as ref Q8_0 / Q8_1;
// s = fp16(d * sum(qs)) (ref Q8_1's s); sum = sum(qs).
struct Layout {
  int64_t nb, nbp;
  size_t d_off, s_off, sum_off, bytes;
  explicit Layout(int64_t n) {
    nb = n / kQK;
    nbp = (nb + 1) & ~int64_t{1};
    d_off = align64(nbp * kQK);
    s_off = d_off + align64(nbp * 4);
    sum_off = s_off + align64(nbp * 4);
    bytes = sum_off + align64(nbp * 4);
  }
};

// One weight block -> 32 unsigned bytes (element order, offset included) and its scale(s).
template <DType W>
struct Blk;
inline __m256i nibbles(const uint8_t* qs) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(a, 4), m), _mm_and_si128(a, m));
}
inline __m256i high_bits(__m256i v, const uint8_t* qh) {  // element e gets bit e of qh as +16
  return _mm256_mask_add_epi8(v, ld32(qh), v, _mm256_set1_epi8(16));
}
template <>
struct Blk<DType::kQ8_0> {
  static constexpr size_t kBytes = sizeof(BlockQ8_0);
  static constexpr int32_t kOff = 128;
  static constexpr bool kAffine = false;
  static __m256i u8(const uint8_t* p) {
    return _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2)), _mm256_set1_epi8(static_cast<char>(0x80)));
  }
};
template <>
struct Blk<DType::kQ4_0> {
  static constexpr size_t kBytes = sizeof(BlockQ4_0);
  static constexpr int32_t kOff = 8;
  static constexpr bool kAffine = false;
  static __m256i u8(const uint8_t* p) { return nibbles(p + 2); }
};
template <>
struct Blk<DType::kQ5_0> {
  static constexpr size_t kBytes = sizeof(BlockQ5_0);
  static constexpr int32_t kOff = 16;
  static constexpr bool kAffine = false;
  static __m256i u8(const uint8_t* p) { return high_bits(nibbles(p + 6), p + 2); }
};
template <>
struct Blk<DType::kQ4_1> {
  static constexpr size_t kBytes = sizeof(BlockQ4_1);
  static constexpr int32_t kOff = 0;
  static constexpr bool kAffine = true;  // x = q * d + m; m at byte 2
  static __m256i u8(const uint8_t* p) { return nibbles(p + 4); }
};
template <>
struct Blk<DType::kQ5_1> {
  static constexpr size_t kBytes = sizeof(BlockQ5_1);
  static constexpr int32_t kOff = 0;
  static constexpr bool kAffine = true;
  static __m256i u8(const uint8_t* p) { return high_bits(nibbles(p + 8), p + 4); }
};

// ---------------------------------------------------------------------------------------------
// T = 1: 8 rows (wr[i], rows past the last repeat it) against one activation row; out[i] = dot of
// row i. Each row's two-block vpdpbusd lanes are reduced to block sums with in-lane shuffles; the
// scales of the 8 rows x 2 blocks come in one gather, the float steps run on 8 rows at once.
// ---------------------------------------------------------------------------------------------
template <DType W>
inline void gemv8(const uint8_t* const* wr, const __m512i gidx, const uint8_t* a, const Layout& L, int64_t pf,
                  float* out) {
  using B = Blk<W>;
  const auto* d = reinterpret_cast<const float*>(a + L.d_off);
  const auto* s = reinterpret_cast<const float*>(a + L.s_off);
  const auto* sum = reinterpret_cast<const int32_t*>(a + L.sum_off);
  const __m512i pair = _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  __m256 acc = _mm256_setzero_ps();
  // Blocks b and b + 1 (kOne: b only, the row's last block).
  auto step = [&](int64_t b, auto one) {
    constexpr bool kOne = decltype(one)::value;
    const __m512i y = _mm512_load_si512(a + b * kQK);  // the padding block is zero
    __m512i p[8];
    for (int r = 0; r < 8; ++r) {
      const uint8_t* w = wr[r] + b * B::kBytes;
      // The next 8 rows (contiguous) in the order they are consumed: 16 blocks' bytes per step.
      _mm_prefetch(reinterpret_cast<const char*>(wr[0] + pf + (8 * b + 2 * r) * B::kBytes), _MM_HINT_T0);
      const __m256i lo = B::u8(w);
      const __m256i hi = kOne ? _mm256_setzero_si256() : B::u8(w + B::kBytes);
      p[r] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1), y);
    }
    // z[g] chunk j: [row 4g, 4g + 1, 4g + 2, 4g + 3] sums of chunk j's four lanes (chunks 0, 1:
    // block b; 2, 3: block b + 1).
    __m512i z[2];
    for (int g = 0; g < 2; ++g) {
      const __m512i* q = p + 4 * g;
      const __m512i x01 = _mm512_add_epi32(_mm512_unpacklo_epi32(q[0], q[1]), _mm512_unpackhi_epi32(q[0], q[1]));
      const __m512i x23 = _mm512_add_epi32(_mm512_unpacklo_epi32(q[2], q[3]), _mm512_unpackhi_epi32(q[2], q[3]));
      z[g] = _mm512_add_epi32(_mm512_unpacklo_epi64(x01, x23), _mm512_unpackhi_epi64(x01, x23));
    }
    // [rows 0-3 block b | rows 0-3 block b+1 | rows 4-7 block b | rows 4-7 block b+1]
    __m512i is = _mm512_add_epi32(_mm512_shuffle_i32x4(z[0], z[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                  _mm512_shuffle_i32x4(z[0], z[1], _MM_SHUFFLE(3, 1, 3, 1)));
    // -> [rows 0-7 block b | rows 0-7 block b + 1]
    is = _mm512_permutexvar_epi32(_mm512_set_epi32(15, 14, 13, 12, 7, 6, 5, 4, 11, 10, 9, 8, 3, 2, 1, 0), is);
    if constexpr (B::kOff != 0) {
      const __m512i sm = _mm512_permutexvar_epi32(pair, _mm512_castsi128_si512(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(sum + b))));
      is = _mm512_sub_epi32(is, _mm512_mullo_epi32(sm, _mm512_set1_epi32(B::kOff)));
    }
    // Scales (and mins) of the 8 rows x 2 blocks: lane i < 8 row i block b, lane 8 + i block b + 1.
    const __m512i dm = _mm512_i32gather_epi32(gidx, wr[0] + b * B::kBytes, 1);
    const __m512 dw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(dm));
    const __m512 dy = _mm512_permutexvar_ps(pair, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(d + b)))));
    __m512 t = _mm512_mul_ps(_mm512_mul_ps(dw, dy), _mm512_cvtepi32_ps(is));
    if constexpr (B::kAffine) {
      const __m512 mw = _mm512_cvtph_ps(_mm512_cvtepi32_epi16(_mm512_srli_epi32(dm, 16)));
      const __m512 sy = _mm512_permutexvar_ps(pair, _mm512_castps128_ps512(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(s + b)))));
      t = _mm512_add_ps(t, _mm512_mul_ps(mw, sy));
    }
    acc = _mm256_add_ps(acc, _mm512_castps512_ps256(t));
    if (!kOne) acc = _mm256_add_ps(acc, _mm512_extractf32x8_ps(t, 1));
  };
  int64_t b = 0;
  for (; b + 2 <= L.nb; b += 2) step(b, std::false_type{});
  if (b < L.nb) step(b, std::true_type{});
  _mm256_storeu_ps(out, acc);
}

// ---------------------------------------------------------------------------------------------
// T >= 2: tokens in lanes. A panel holds kLanes tokens (missing ones zero); per block b:
//   int32 q[8][kLanes] (dword k of the block, signed bytes) | int32 c[kLanes] (-offset * sum) |
//   float d[kLanes] | float s[kLanes]
// ---------------------------------------------------------------------------------------------
struct V8 {
  static constexpr int kLanes = 8;
  using I = __m256i;
  using F = __m256;
  static I load(const uint8_t* p) { return _mm256_load_si256(reinterpret_cast<const __m256i*>(p)); }
  static F loadf(const uint8_t* p) { return _mm256_load_ps(reinterpret_cast<const float*>(p)); }
  static I bcast(const uint8_t* p) { return _mm256_set1_epi32(static_cast<int>(ld32(p))); }
  static I dot(I acc, I u, I s) { return _mm256_dpbusd_epi32(acc, u, s); }
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float v) { return _mm256_set1_ps(v); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F cvt(I a) { return _mm256_cvtepi32_ps(a); }
  static void store(float* p, F v) { _mm256_storeu_ps(p, v); }
};
struct V16 {
  static constexpr int kLanes = 16;
  using I = __m512i;
  using F = __m512;
  static I load(const uint8_t* p) { return _mm512_load_si512(p); }
  static F loadf(const uint8_t* p) { return _mm512_load_ps(p); }
  static I bcast(const uint8_t* p) { return _mm512_set1_epi32(static_cast<int>(ld32(p))); }
  static I dot(I acc, I u, I s) { return _mm512_dpbusd_epi32(acc, u, s); }
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float v) { return _mm512_set1_ps(v); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F cvt(I a) { return _mm512_cvtepi32_ps(a); }
  static void store(float* p, F v) { _mm512_storeu_ps(p, v); }
};

inline size_t panel_block_bytes(int lanes) { return static_cast<size_t>(11) * 4 * lanes; }

// Panel of tokens t0 .. t0 + nt - 1 (nt <= lanes) of act, for weights with offset `off`.
void build_panel(const uint8_t* act, size_t arb, const Layout& L, int64_t t0, int64_t nt, int lanes, int32_t off,
                 uint8_t* panel) {
  const size_t bb = panel_block_bytes(lanes);
  std::memset(panel, 0, bb * L.nb);
  for (int64_t i = 0; i < nt; ++i) {
    const uint8_t* a = act + (t0 + i) * arb;
    const auto* d = reinterpret_cast<const float*>(a + L.d_off);
    const auto* s = reinterpret_cast<const float*>(a + L.s_off);
    const auto* sum = reinterpret_cast<const int32_t*>(a + L.sum_off);
    for (int64_t b = 0; b < L.nb; ++b) {
      auto* q = reinterpret_cast<int32_t*>(panel + b * bb);
      for (int k = 0; k < 8; ++k) q[k * lanes + i] = static_cast<int32_t>(ld32(a + b * kQK + 4 * k));
      q[8 * lanes + i] = -off * sum[b];
      reinterpret_cast<float*>(q + 9 * lanes)[i] = d[b];
      reinterpret_cast<float*>(q + 10 * lanes)[i] = s[b];
    }
  }
}

// Rows wr[0..R) against one panel: out[r * kLanes + lane].
template <DType W, class V, int R>
inline void rows_panel(const uint8_t* const* wr, const uint8_t* panel, int64_t nb, int64_t pf, float* out) {
  using B = Blk<W>;
  constexpr int N = V::kLanes;
  const size_t bb = panel_block_bytes(N);
  typename V::F acc[R];
  for (int r = 0; r < R; ++r) acc[r] = V::zero();
  alignas(32) uint8_t u[R][32];
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* pb = panel + b * bb;
    float dw[R], mw[R];
    for (int r = 0; r < R; ++r) {
      const uint8_t* w = wr[r] + b * B::kBytes;
      // The next R rows (contiguous) in the order they are consumed.
      if (pf) _mm_prefetch(reinterpret_cast<const char*>(wr[0] + pf + (R * b + r) * B::kBytes), _MM_HINT_T0);
      _mm256_store_si256(reinterpret_cast<__m256i*>(u[r]), B::u8(w));
      dw[r] = h2f(ld16(w));
      if constexpr (B::kAffine) mw[r] = h2f(ld16(w + 2));
    }
    typename V::I is[R];
    const typename V::I c = V::load(pb + 8 * 4 * N);
    for (int r = 0; r < R; ++r) is[r] = c;
    for (int k = 0; k < 8; ++k) {
      const typename V::I q = V::load(pb + k * 4 * N);
      for (int r = 0; r < R; ++r) is[r] = V::dot(is[r], V::bcast(u[r] + 4 * k), q);
    }
    const typename V::F dy = V::loadf(pb + 9 * 4 * N);
    for (int r = 0; r < R; ++r) {
      typename V::F t = V::mul(V::mul(V::set1(dw[r]), dy), V::cvt(is[r]));
      if constexpr (B::kAffine) t = V::add(t, V::mul(V::set1(mw[r]), V::loadf(pb + 10 * 4 * N)));
      acc[r] = V::add(acc[r], t);
    }
  }
  for (int r = 0; r < R; ++r) V::store(out + r * N, acc[r]);
}

// Per-thread panel memory, grown to the largest call seen (never per call once warm).
uint8_t* panel_buffer(size_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  return reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) & ~uintptr_t{63});
}

template <DType W, class V>
void gemm_panel(const WeightView& w, const uint8_t* panel, int64_t t0, int64_t nt, int64_t r0, int64_t r1, float* y,
                int64_t ldy, int64_t pf, const Layout& L) {
  constexpr int N = V::kLanes;
  alignas(64) float out[4 * N];
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const uint8_t* wr[4] = {w.row(r), w.row(r + 1), w.row(r + 2), w.row(r + 3)};
    rows_panel<W, V, 4>(wr, panel, L.nb, pf, out);
    for (int64_t t = 0; t < nt; ++t)
      for (int i = 0; i < 4; ++i) y[(t0 + t) * ldy + r + i] = out[i * N + t];
  }
  for (; r < r1; ++r) {
    const uint8_t* wr[1] = {w.row(r)};
    rows_panel<W, V, 1>(wr, panel, L.nb, pf, out);
    for (int64_t t = 0; t < nt; ++t) y[(t0 + t) * ldy + r] = out[t];
  }
}

template <DType W>
void gemm_t(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  using B = Blk<W>;
  const Layout L(w.n_in);
  if (T == 1) {
    const int64_t rb = static_cast<int64_t>(w.row_bytes);
    alignas(32) float out[8];
    for (int64_t r = r0; r < r1; r += 8) {
      const int nr = static_cast<int>(std::min<int64_t>(8, r1 - r));
      const uint8_t* wr[8];
      alignas(64) int32_t gi[16];
      for (int i = 0; i < 8; ++i) {
        const int64_t o = std::min(i, nr - 1) * rb;
        wr[i] = w.row(r) + o;
        gi[i] = static_cast<int32_t>(o);
        gi[8 + i] = static_cast<int32_t>(o + B::kBytes);
      }
      gemv8<W>(wr, _mm512_load_si512(gi), act, L, 8 * rb, out);
      for (int i = 0; i < nr; ++i) y[r + i] = out[i];
    }
    return;
  }
  // Panels of 16 tokens (8 when at most 8 are left), a chunk of panels at a time so that the
  // chunk stays in L2 while every row of [r0, r1) passes over it.
  const size_t pbytes16 = panel_block_bytes(16) * L.nb;
  const int64_t chunk = std::max<int64_t>(16, static_cast<int64_t>((256 << 10) / pbytes16) * 16);
  // Small batches stream each weight row once: fetch the rows 4 ahead.
  const int64_t pf = T <= 32 ? 4 * static_cast<int64_t>(w.row_bytes) : 0;
  for (int64_t c0 = 0; c0 < T; c0 += chunk) {
    const int64_t c1 = std::min(T, c0 + chunk);
    uint8_t* buf = panel_buffer(pbytes16 * static_cast<size_t>((c1 - c0 + 15) / 16));
    int64_t n_panels = 0;
    for (int64_t t = c0; t < c1; t += 16, ++n_panels) {
      const int64_t nt = std::min<int64_t>(16, c1 - t);
      build_panel(act, L.bytes, L, t, nt, nt <= 8 ? 8 : 16, B::kOff, buf + n_panels * pbytes16);
    }
    if (n_panels == 1) {
      const int64_t nt = c1 - c0;
      if (nt <= 8) gemm_panel<W, V8>(w, buf, c0, nt, r0, r1, y, ldy, pf, L);
      else gemm_panel<W, V16>(w, buf, c0, nt, r0, r1, y, ldy, pf, L);
      continue;
    }
    // Several panels: 16 rows at a time over every panel (the rows stay in L1).
    for (int64_t rb = r0; rb < r1; rb += 16) {
      const int64_t re = std::min(r1, rb + 16);
      for (int64_t p = 0; p < n_panels; ++p) {
        const int64_t t = c0 + 16 * p, nt = std::min<int64_t>(16, c1 - t);
        const uint8_t* pan = buf + p * pbytes16;
        if (nt <= 8) gemm_panel<W, V8>(w, pan, t, nt, rb, re, y, ldy, 0, L);
        else gemm_panel<W, V16>(w, pan, t, nt, rb, re, y, ldy, 0, L);
      }
    }
  }
}

}  // namespace

bool handles(DType w) {
  return w == DType::kQ8_0 || w == DType::kQ4_0 || w == DType::kQ5_0 || w == DType::kQ4_1 || w == DType::kQ5_1;
}

size_t act_row_bytes(int64_t n) { return Layout(n).bytes; }

void quantize_row(const float* x, int64_t n, uint8_t* dst) {
  const Layout L(n);
  auto* qs = reinterpret_cast<int8_t*>(dst);
  auto* d = reinterpret_cast<float*>(dst + L.d_off);
  auto* s = reinterpret_cast<float*>(dst + L.s_off);
  auto* sum = reinterpret_cast<int32_t*>(dst + L.sum_off);
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (int64_t b = 0; b < L.nb; ++b) {
    const __m512 x0 = _mm512_loadu_ps(x + b * kQK), x1 = _mm512_loadu_ps(x + b * kQK + 16);
    const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_andnot_ps(sign, x0), _mm512_andnot_ps(sign, x1)));
    const float dd = amax / 127.f;
    const float id = amax != 0.f ? 127.f / amax : 0.f;
    const __m512 vid = _mm512_set1_ps(id);
    const __m512i q0 = _mm512_cvtps_epi32(_mm512_mul_ps(x0, vid));  // round to nearest even, as ref
    const __m512i q1 = _mm512_cvtps_epi32(_mm512_mul_ps(x1, vid));
    _mm256_store_si256(reinterpret_cast<__m256i*>(qs + b * kQK),
                       _mm256_set_m128i(_mm512_cvtepi32_epi8(q1), _mm512_cvtepi32_epi8(q0)));
    const int32_t sm = _mm512_reduce_add_epi32(_mm512_add_epi32(q0, q1));
    d[b] = fp16_to_fp32(fp32_to_fp16(dd));
    s[b] = fp16_to_fp32(fp32_to_fp16(dd * static_cast<float>(sm)));
    sum[b] = sm;
  }
  for (int64_t b = L.nb; b < L.nbp; ++b) {
    std::memset(qs + b * kQK, 0, kQK);
    d[b] = s[b] = 0.f;
    sum[b] = 0;
  }
}

void gemm(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  switch (w.dtype) {
    case DType::kQ8_0: return gemm_t<DType::kQ8_0>(w, act, T, r0, r1, y, ldy);
    case DType::kQ4_0: return gemm_t<DType::kQ4_0>(w, act, T, r0, r1, y, ldy);
    case DType::kQ5_0: return gemm_t<DType::kQ5_0>(w, act, T, r0, r1, y, ldy);
    case DType::kQ4_1: return gemm_t<DType::kQ4_1>(w, act, T, r0, r1, y, ldy);
    case DType::kQ5_1: return gemm_t<DType::kQ5_1>(w, act, T, r0, r1, y, ldy);
    default: return;
  }
}

}  // namespace nuri::kernels::cpu::avx512::legacy

#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
#endif
