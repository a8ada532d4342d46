// AVX2 + FMA + F16C target (x86-64 machines without AVX-512 VNNI).
// Q8_0 / Q4_0 / Q5_0: vpmaddubsw on |w| and sign(y, w) (exact: |sums| < 2^15), per-lane float
// accumulation. Q4_1 / Q5_1: exact block sums, ref's float order (bit-identical to ref). Q4_K / Q5_K / Q6_K: vpmaddubsw + vpmaddwd with the sub-block scales, exact integer
// reduction per super-block and ref's float order (bit-identical to ref). F32 / F16 / BF16: 8-lane FMA.
// Activations use the scalar target's (ref) layout, so quantisation is ref's own code.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/cpu/impl.h"
#include "kernels/cpu/prefetch.h"
#include "kernels/fp16.h"
#include "kernels/ref/quant.h"

#if NURI_CPU_HAVE_X86
#pragma GCC push_options
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx2,fma,f16c,bmi,bmi2")
#ifdef __clang__  // clang ignores GCC target pragmas (the fuzz build compiles with clang)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,bmi,bmi2"))), apply_to = function)
#endif
#pragma GCC optimize("fp-contract=off")  // ref's float order, no fused multiply-adds unless written

namespace nuri::kernels::cpu::avx2 {
namespace {

#include "kernels/cpu/k_steps.inc"

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}
inline int32_t hsum_i32(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
  return _mm_cvtsi128_si32(s);
}

// f16 -> f32 with F16C (exact, as fp16_to_fp32). movd from a register, not pinsrw into a live
// register: the merge made every block's scale wait on the previous one (profiled on Zen 1).
inline float f16c(uint16_t h) { return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(h))); }

// 32 bits -> 32 bytes of 0xFF where the bit is set.
inline __m256i bits_to_bytes(uint32_t x) {
  const __m256i shuf = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3,
                                        3, 3, 3, 3, 3);
  const __m256i bit = _mm256_set1_epi64x(static_cast<long long>(0x8040201008040201ull));
  __m256i v = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x)), shuf);
  return _mm256_cmpeq_epi8(_mm256_and_si256(v, bit), bit);
}

// Signed weight values of block b (Q8_0: as stored; Q4_0 / Q5_0: q - offset) and the f16 scale.
template <DType W>
inline __m256i load_q0(const uint8_t* row, int64_t b, uint16_t* d) {
  if constexpr (W == DType::kQ8_0) {
    const uint8_t* p = row + b * 34;
    *d = ld16(p);
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 2));
  } else {
    const size_t bytes = W == DType::kQ4_0 ? 18 : 22;
    const uint8_t* p = row + b * bytes;
    *d = ld16(p);
    const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + (W == DType::kQ4_0 ? 2 : 6)));
    __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(a, 4), a), _mm256_set1_epi8(0x0F));
    if constexpr (W == DType::kQ4_0) {
      return _mm256_sub_epi8(v, _mm256_set1_epi8(8));
    } else {
      uint32_t qh;
      std::memcpy(&qh, p + 2, 4);
      v = _mm256_or_si256(v, _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
      return _mm256_sub_epi8(v, _mm256_set1_epi8(16));
    }
  }
}

template <DType W, int R, int TT>
void tile_q0(const uint8_t* const* wr, const uint8_t* const* ar, int64_t nb, float* y, int64_t ldy, const Prefetch& pf) {
  __m256 acc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    pf.at(b);
    __m256i aw[R], w[R];
    float dw[R];
    for (int r = 0; r < R; ++r) {
      uint16_t d;
      w[r] = load_q0<W>(wr[r], b, &d);
      aw[r] = _mm256_sign_epi8(w[r], w[r]);
      dw[r] = f16c(d);
    }
    for (int t = 0; t < TT; ++t) {
      const auto* yb = reinterpret_cast<const BlockQ8_0*>(ar[t]) + b;
      const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb->qs));
      const float dy = f16c(yb->d);
      for (int r = 0; r < R; ++r) {
        const __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(aw[r], _mm256_sign_epi8(yv, w[r])), ones);
        acc[r][t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw[r] * dy), acc[r][t]);
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) y[t * ldy + r] = hsum(acc[r][t]);
}

// Q4_1 / Q5_1 (Q8_1 activations): the block's integer dot product with vpmaddubsw on the unsigned
// 4/5-bit values (exact: |pair sums| < 2^15), reduced per block, then ref's float steps
// s += d * dy * is + m * sy in ref's order, so results equal ref bit for bit.
template <DType W>
inline __m256i load_q1(const uint8_t* p) {
  const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + (W == DType::kQ4_1 ? 4 : 8)));
  __m256i v = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(a, 4), a), _mm256_set1_epi8(0x0F));
  if constexpr (W == DType::kQ5_1) {
    uint32_t qh;
    std::memcpy(&qh, p + 4, 4);
    v = _mm256_or_si256(v, _mm256_and_si256(bits_to_bytes(qh), _mm256_set1_epi8(0x10)));
  }
  return v;
}

template <DType W, int R, int TT>
void tile_q1(const uint8_t* const* wr, const uint8_t* const* ar, int64_t nb, float* y, int64_t ldy, const Prefetch& pf) {
  constexpr size_t kBytes = W == DType::kQ4_1 ? sizeof(BlockQ4_1) : sizeof(BlockQ5_1);
  float sum[R][TT] = {};
  const __m256i ones = _mm256_set1_epi16(1);
  for (int64_t b = 0; b < nb; ++b) {
    pf.at(b);
    __m256i w[R];
    float dw[R], mw[R];
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = wr[r] + b * kBytes;
      w[r] = load_q1<W>(p);
      dw[r] = fp16_to_fp32(ld16(p));
      mw[r] = fp16_to_fp32(ld16(p + 2));
    }
    for (int t = 0; t < TT; ++t) {
      const auto* yb = reinterpret_cast<const BlockQ8_1*>(ar[t]) + b;
      const __m256i yv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb->qs));
      const float dy = fp16_to_fp32(yb->d), sy = fp16_to_fp32(yb->s);
      for (int r = 0; r < R; ++r) {
        const int32_t is = hsum_i32(_mm256_madd_epi16(_mm256_maddubs_epi16(w[r], yv), ones));
        sum[r][t] += dw[r] * dy * static_cast<float>(is) + mw[r] * sy;
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) y[t * ldy + r] = sum[r][t];
}

// K formats. Per super-block and row: the integer dot product with the sub-block scales
// (vpmaddubsw on the unsigned values, vpmaddwd with the scale broadcast per vector, exact), the
// mins term from the activation's block sums (exact), both reduced for four rows at once with a
// vphaddd tree; then ref's float steps on four lanes (one per row), so results equal ref bit for
// bit. Scales are decoded for all eight sub-blocks at once (get_scale_min_k4 on 32-bit words).

// pshufb controls: int16 lane k of each 128-bit half, broadcast over the half.
alignas(32) constexpr uint8_t kScaleShuf[8][32] = {
#define NURI_S(k) {2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, \
                   2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, \
                   2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1, 2 * k, 2 * k + 1}
    NURI_S(0), NURI_S(1), NURI_S(2), NURI_S(3), NURI_S(4), NURI_S(5), NURI_S(6), NURI_S(7)};
#undef NURI_S
inline __m256i scale_of(__m256i s, int k) {
  return _mm256_shuffle_epi8(s, _mm256_load_si256(reinterpret_cast<const __m256i*>(kScaleShuf[k])));
}

// Q4_K / Q5_K: int16 scales [sc0..sc7] (both halves) and int16 mins [m0..m7] of one super-block.
inline void k4_scales(const uint8_t* s, __m256i* sc, __m128i* m) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, s, 4);
  std::memcpy(&u1, s + 4, 4);
  std::memcpy(&u2, s + 8, 4);
  constexpr uint32_t k6 = 0x3F3F3F3Fu, k4 = 0x0F0F0F0Fu, k2 = 0x03030303u;
  const uint32_t sc_lo = u0 & k6, m_lo = u1 & k6;                           // j < 4
  const uint32_t sc_hi = (u2 & k4) | (((u0 >> 6) & k2) << 4);               // j >= 4
  const uint32_t m_hi = ((u2 >> 4) & k4) | (((u1 >> 6) & k2) << 4);
  const __m128i v = _mm_setr_epi32(static_cast<int>(sc_lo), static_cast<int>(sc_hi), static_cast<int>(m_lo),
                                   static_cast<int>(m_hi));
  *sc = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(v));
  *m = _mm_cvtepu8_epi16(_mm_srli_si128(v, 8));
}

// [a0 a1 a2 a3] = sums of the 8 int32 lanes of each of four vectors.
inline __m128i hsum4_i32(__m256i a0, __m256i a1, __m256i a2, __m256i a3) {
  const __m256i s = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
  return _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
}
inline __m128i hsum4_i32(__m128i a0, __m128i a1, __m128i a2, __m128i a3) {
  return _mm_hadd_epi32(_mm_hadd_epi32(a0, a1), _mm_hadd_epi32(a2, a3));
}

template <DType W>
constexpr size_t k_bytes() {
  return W == DType::kQ4_K ? sizeof(BlockQ4_K) : W == DType::kQ5_K ? sizeof(BlockQ5_K) : sizeof(BlockQ6_K);
}

// The weight values of vectors 2c and 2c + 1 (64 values, unsigned) of a super-block.
template <DType W>
inline void k_pair(const uint8_t* p, int c, __m256i hbits, __m256i* lo, __m256i* hi) {
  const __m256i low = _mm256_set1_epi8(0x0F);
  if constexpr (W == DType::kQ4_K || W == DType::kQ5_K) {
    const uint8_t* qs = W == DType::kQ4_K ? reinterpret_cast<const BlockQ4_K*>(p)->qs : reinterpret_cast<const BlockQ5_K*>(p)->qs;
    const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
    *lo = _mm256_and_si256(x, low);
    *hi = _mm256_and_si256(_mm256_srli_epi16(x, 4), low);
    if constexpr (W == DType::kQ5_K) {
      const __m256i b0 = _mm256_set1_epi8(static_cast<char>(1 << (2 * c)));
      const __m256i b1 = _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1)));
      const __m256i c16 = _mm256_set1_epi8(16);
      *lo = _mm256_or_si256(*lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, b0), b0), c16));
      *hi = _mm256_or_si256(*hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(hbits, b1), b1), c16));
    }
  } else {  // Q6_K: vectors 4h + {0, 1, 2, 3} from ql[64h ..], qh[32h ..]; pair c -> (2c, 2c + 1)
    const auto* b = reinterpret_cast<const BlockQ6_K*>(p);
    const __m256i hm = _mm256_set1_epi8(0x30);
    const int h = c / 2;
    const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh + 32 * h));
    const __m256i l0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->ql + 64 * h));
    const __m256i l1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->ql + 64 * h + 32));
    if (c % 2 == 0) {
      *lo = _mm256_or_si256(_mm256_and_si256(l0, low), _mm256_and_si256(_mm256_slli_epi16(qh, 4), hm));
      *hi = _mm256_or_si256(_mm256_and_si256(l1, low), _mm256_and_si256(_mm256_slli_epi16(qh, 2), hm));
    } else {
      *lo = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), low), _mm256_and_si256(qh, hm));
      *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), low),
                            _mm256_and_si256(_mm256_srli_epi16(qh, 2), hm));
    }
  }
}

template <DType W, int R, int TT>
void tile_k(const uint8_t* const* wr, const uint8_t* const* ar, int64_t nsb, float* y, int64_t ldy, const Prefetch& pf) {
  static_assert(R == 1 || R == 4);
  constexpr size_t kBytes = k_bytes<W>();
  constexpr bool kQ6 = W == DType::kQ6_K;
  // Q6_K's scales: int8 per 16 values; vector k needs scale 2k on its low half, 2k + 1 on its
  // high half: evens | odds as int16, then lane k of each half.
  const __m128i q6_perm = _mm_setr_epi8(0, 2, 4, 6, 8, 10, 12, 14, 1, 3, 5, 7, 9, 11, 13, 15);
  __m128 sum[TT];
  for (int t = 0; t < TT; ++t) sum[t] = _mm_setzero_ps();
  for (int64_t sb = 0; sb < nsb; ++sb) {
    pf.at(sb);
    const uint8_t* p[R];
    __m256i sc[R], hb[R];
    __m128i mn[R];      // Q4_K / Q5_K: the 8 mins
    __m256i sc16[R];    // Q6_K: the 16 scales in order, for the block sums
    for (int r = 0; r < R; ++r) {
      p[r] = wr[r] + sb * kBytes;
      hb[r] = _mm256_setzero_si256();
      if constexpr (kQ6) {
        const __m128i s8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const BlockQ6_K*>(p[r])->scales));
        sc[r] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(s8, q6_perm));
        sc16[r] = _mm256_cvtepi8_epi16(s8);
      } else {
        k4_scales(W == DType::kQ4_K ? reinterpret_cast<const BlockQ4_K*>(p[r])->scales
                                    : reinterpret_cast<const BlockQ5_K*>(p[r])->scales,
                  &sc[r], &mn[r]);
        if constexpr (W == DType::kQ5_K)
          hb[r] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const BlockQ5_K*>(p[r])->qh));
      }
    }
    const BlockQ8_K* yb[TT];
    __m256i acc[R][TT];
    for (int t = 0; t < TT; ++t) yb[t] = reinterpret_cast<const BlockQ8_K*>(ar[t]) + sb;
    for (int r = 0; r < R; ++r)
      for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_si256();
    for (int c = 0; c < 4; ++c) {
      for (int r = 0; r < R; ++r) {
        __m256i lo, hi;
        k_pair<W>(p[r], c, hb[r], &lo, &hi);
        const __m256i s0 = scale_of(sc[r], 2 * c), s1 = scale_of(sc[r], 2 * c + 1);
        for (int t = 0; t < TT; ++t) {
          const __m256i y0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb[t]->qs + 64 * c));
          const __m256i y1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb[t]->qs + 64 * c + 32));
          acc[r][t] = _mm256_add_epi32(acc[r][t], _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), s0));
          acc[r][t] = _mm256_add_epi32(acc[r][t], _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), s1));
        }
      }
    }
    // Per-row float factors (lane r): d, and dmin for the affine formats.
    __m128 dw, mw = _mm_setzero_ps();
    if constexpr (kQ6) {
      alignas(16) uint16_t h[8] = {};
      for (int r = 0; r < R; ++r) h[r] = reinterpret_cast<const BlockQ6_K*>(p[r])->d;
      dw = _mm_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
    } else {
      alignas(16) uint32_t h[4] = {};
      for (int r = 0; r < R; ++r) std::memcpy(&h[r], p[r], 4);  // d, dmin
      const __m256 f = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
      const __m256 g = _mm256_permutevar8x32_ps(f, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
      dw = _mm256_castps256_ps128(g);
      mw = _mm256_extractf128_ps(g, 1);
    }
    for (int t = 0; t < TT; ++t) {
      const __m256i bs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(yb[t]->bsums));
      const __m128 yd = _mm_set1_ps(yb[t]->d);
      __m256i a[4];
      for (int r = 0; r < 4; ++r) a[r] = _mm256_setzero_si256();
      if constexpr (kQ6) {
        // is - 32 * sum_g scale_g * bsum_g, exact (ref's values are q - 32).
        for (int r = 0; r < R; ++r) a[r] = _mm256_sub_epi32(acc[r][t], _mm256_slli_epi32(_mm256_madd_epi16(bs, sc16[r]), 5));
        const __m128i is = hsum4_i32(a[0], a[1], a[2], a[3]);
        sum[t] = _mm_add_ps(sum[t], _mm_mul_ps(_mm_mul_ps(dw, yd), _mm_cvtepi32_ps(is)));
      } else {
        // Block sums over each 32-value sub-block, times that sub-block's min.
        const __m128i bs32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        __m128i m[4];
        for (int r = 0; r < 4; ++r) m[r] = _mm_setzero_si128();
        for (int r = 0; r < R; ++r) {
          a[r] = acc[r][t];
          m[r] = _mm_madd_epi16(bs32, mn[r]);
        }
        const __m128i is = hsum4_i32(a[0], a[1], a[2], a[3]);
        const __m128i ms = hsum4_i32(m[0], m[1], m[2], m[3]);
        sum[t] = k_affine_step(sum[t], dw, mw, yd, is, ms);
      }
    }
  }
  store_k_rows<R, TT>(sum, y, ldy);
}

template <DType W>
inline __m256 load_f(const uint8_t* p, int64_t i) {
  if constexpr (W == DType::kF32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(p) + i);
  } else {
    const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(p) + i));
    if constexpr (W == DType::kF16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}
template <DType W>
inline float elem_f(const uint8_t* p, int64_t i) {
  if constexpr (W == DType::kF32) return reinterpret_cast<const float*>(p)[i];
  else if constexpr (W == DType::kF16) return fp16_to_fp32(reinterpret_cast<const uint16_t*>(p)[i]);
  else return bf16_to_fp32(reinterpret_cast<const uint16_t*>(p)[i]);
}

template <DType W, int R, int TT>
void tile_f(const uint8_t* const* wr, const uint8_t* const* ar, int64_t n, float* y, int64_t ldy, const Prefetch& pf) {
  __m256 acc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    pf.at(i / 8);
    __m256 w[R];
    for (int r = 0; r < R; ++r) w[r] = load_f<W>(wr[r], i);
    for (int t = 0; t < TT; ++t) {
      const __m256 a = load_f<W>(ar[t], i);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm256_fmadd_ps(w[r], a, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) {
      float s = hsum(acc[r][t]);
      for (int64_t j = i; j < n; ++j) s += elem_f<W>(wr[r], j) * elem_f<W>(ar[t], j);
      y[t * ldy + r] = s;
    }
}

template <int R, int TT, class Tile>
inline void run_tile(const WeightView& w, const uint8_t* act, size_t arb, int64_t r, int64_t t, float* y, int64_t ldy,
                     const Tile& tile, const Prefetch& pf) {
  const uint8_t* wr[R];
  const uint8_t* ar[TT];
  for (int i = 0; i < R; ++i) wr[i] = w.row(r + i);
  for (int i = 0; i < TT; ++i) ar[i] = act + (t + i) * arb;
  tile.template operator()<R, TT>(wr, ar, y + t * ldy + r, ldy, pf);
}

// Tiles of 4 weight rows x 2 (or 1) tokens; decode (T < 4) takes the same 4-row tiles: four
// independent accumulator chains hide the FMA latency and the activation block is loaded once
// for four rows (Zen 1, Q8_0 0.5B: the one-row loop was latency-bound). Every tile shape
// accumulates a row's blocks in the same order, so results do not depend on T. The first
// token pair of a row tile prefetches the next tile's rows (n_iter: the tile loop's length).
template <class Tile>
void drive(const WeightView& w, const uint8_t* act, size_t arb, int64_t T, int64_t r0, int64_t r1, float* y,
           int64_t ldy, int64_t n_iter, const Tile& tile) {
  const int64_t tc = std::max<int64_t>(4, static_cast<int64_t>((256 << 10) / arb) & ~int64_t{3});
  const Prefetch none;
  for (int64_t t0 = 0; t0 < T; t0 += tc) {
    const int64_t t1 = std::min(T, t0 + tc);
    int64_t r = r0;
    for (; r + 4 <= r1; r += 4) {
      const int64_t next = std::min<int64_t>(4, r1 - (r + 4));
      const Prefetch pf = next > 0 ? Prefetch(w.row(r + 4), next * static_cast<int64_t>(w.row_bytes), n_iter) : none;
      int64_t t = t0;
      for (; t + 2 <= t1; t += 2) run_tile<4, 2>(w, act, arb, r, t, y, ldy, tile, t == t0 ? pf : none);
      for (; t < t1; ++t) run_tile<4, 1>(w, act, arb, r, t, y, ldy, tile, t == t0 ? pf : none);
    }
    for (; r < r1; ++r)
      for (int64_t t = t0; t < t1; ++t) run_tile<1, 1>(w, act, arb, r, t, y, ldy, tile, none);
  }
}

template <DType W>
void gemm_t(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  const size_t arb = scalar::act_row_bytes(w.dtype, w.n_in);
  const int64_t n = w.n_in;
  auto tile = [n]<int R, int TT>(const uint8_t* const* wr, const uint8_t* const* ar, float* yy, int64_t ld,
                                 const Prefetch& pf) {
    if constexpr (W == DType::kQ8_0 || W == DType::kQ4_0 || W == DType::kQ5_0) tile_q0<W, R, TT>(wr, ar, n / kQK, yy, ld, pf);
    else if constexpr (W == DType::kQ4_1 || W == DType::kQ5_1) tile_q1<W, R, TT>(wr, ar, n / kQK, yy, ld, pf);
    else if constexpr (W == DType::kQ4_K || W == DType::kQ5_K || W == DType::kQ6_K) tile_k<W, R, TT>(wr, ar, n / kQK_K, yy, ld, pf);
    else tile_f<W, R, TT>(wr, ar, n, yy, ld, pf);
  };
  constexpr bool kQ0 = W == DType::kQ8_0 || W == DType::kQ4_0 || W == DType::kQ5_0 || W == DType::kQ4_1 || W == DType::kQ5_1;
  constexpr bool kK = W == DType::kQ4_K || W == DType::kQ5_K || W == DType::kQ6_K;
  const int64_t n_iter = kQ0 ? n / kQK : kK ? n / kQK_K : n / 8;
  drive(w, act, arb, T, r0, r1, y, ldy, std::max<int64_t>(n_iter, 1), tile);
}

}  // namespace

bool has_matmul(DType w, int64_t n) {
  switch (w) {
    case DType::kQ8_0: case DType::kQ4_0: case DType::kQ5_0: case DType::kQ4_1: case DType::kQ5_1: return n % kQK == 0;
    case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K: return n % kQK_K == 0;
    case DType::kF32: case DType::kF16: case DType::kBF16: return n > 0;
    default: return false;
  }
}
int act_kind(DType w) { return scalar::act_kind(w); }
size_t act_row_bytes(DType w, int64_t n) { return scalar::act_row_bytes(w, n); }
void quantize_act(DType w, const float* x, int64_t n, int64_t T, uint8_t* dst) { scalar::quantize_act(w, x, n, T, dst); }

void gemm(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  switch (w.dtype) {
    case DType::kQ8_0: return gemm_t<DType::kQ8_0>(w, act, T, r0, r1, y, ldy);
    case DType::kQ4_0: return gemm_t<DType::kQ4_0>(w, act, T, r0, r1, y, ldy);
    case DType::kQ5_0: return gemm_t<DType::kQ5_0>(w, act, T, r0, r1, y, ldy);
    case DType::kQ4_1: return gemm_t<DType::kQ4_1>(w, act, T, r0, r1, y, ldy);
    case DType::kQ5_1: return gemm_t<DType::kQ5_1>(w, act, T, r0, r1, y, ldy);
    case DType::kQ4_K: return gemm_t<DType::kQ4_K>(w, act, T, r0, r1, y, ldy);
    case DType::kQ5_K: return gemm_t<DType::kQ5_K>(w, act, T, r0, r1, y, ldy);
    case DType::kQ6_K: return gemm_t<DType::kQ6_K>(w, act, T, r0, r1, y, ldy);
    case DType::kF32: return gemm_t<DType::kF32>(w, act, T, r0, r1, y, ldy);
    case DType::kF16: return gemm_t<DType::kF16>(w, act, T, r0, r1, y, ldy);
    case DType::kBF16: return gemm_t<DType::kBF16>(w, act, T, r0, r1, y, ldy);
    default: return scalar::gemm(w, act, T, r0, r1, y, ldy);
  }
}

void attention(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
               int head_dim, float scale, float* out, int h0, int h1) {
  if (!kv.f16()) return attention_quant(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
  if (head_dim % 8 != 0 || head_dim > 256)
    return scalar::attention(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
  const int group = n_head / n_head_kv;
  const int64_t kv_stride = static_cast<int64_t>(n_head_kv) * head_dim;
  const int nv = head_dim / 8;
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  for (int h = h0; h < h1; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * head_dim;
    const int hk = h / group;
    __m256 qv[32], acc[32];
    for (int i = 0; i < nv; ++i) {
      qv[i] = _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(qh + 8 * i), kRound));
      acc[i] = _mm256_setzero_ps();
    }
    float M = -INFINITY, S = 0.f;
    const int64_t end = first + n_kv;
    for (int64_t p = first; p < end;) {  // block by block, positions in order
      const int64_t b = p / kv.block_size, r0 = p - b * kv.block_size;
      const int64_t r1 = std::min(kv.block_size, r0 + (end - p));
      const int64_t base = static_cast<int64_t>(kv.blocks[b]) * kv.block_stride + static_cast<int64_t>(hk) * head_dim;
      for (int64_t r = r0; r < r1; ++r) {
        const uint16_t* kj = kv.k + base + r * kv_stride;
        __m256 sv = _mm256_setzero_ps();
        for (int i = 0; i < nv; ++i)
          sv = _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kj + 8 * i))), qv[i], sv);
        float s = hsum(sv);
        s *= scale;
        float ms = 1.f, vs = 1.f;
        if (s > M) {
          const float m_old = M;
          M = s;
          ms = std::exp(m_old - M);
          const __m256 vms = _mm256_set1_ps(ms);
          for (int i = 0; i < nv; ++i) acc[i] = _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_mul_ps(acc[i], vms), kRound));
        } else {
          vs = std::exp(s - M);
        }
        const uint16_t* vj = kv.v + base + r * kv_stride;
        const __m256 vvs = _mm256_set1_ps(vs);
        for (int i = 0; i < nv; ++i) {
          const __m256 vv = _mm256_mul_ps(_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(vj + 8 * i))), vvs);
          acc[i] = _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_add_ps(acc[i], vv), kRound));
        }
        S = S * ms + vs;
      }
      p += r1 - r0;
    }
    const float inv = S == 0.f ? 0.f : 1.f / S;
    float* oh = out + static_cast<int64_t>(h) * head_dim;
    for (int i = 0; i < nv; ++i) _mm256_storeu_ps(oh + 8 * i, _mm256_mul_ps(acc[i], _mm256_set1_ps(inv)));
  }
}

namespace {

// The 32 signed 8-bit values of a q8_0 or q4_0 K block (q4_0: nibble - 8, low nibbles first).
inline __m256i kv_block_i8(KvType t, const uint8_t* blk) {
  if (t == KvType::kQ8_0) return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 2));
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + 2));
  const __m128i m = _mm_set1_epi8(0x0F);
  const __m256i v = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(x, 4), m), _mm_and_si128(x, m));
  return _mm256_sub_epi8(v, _mm256_set1_epi8(8));
}

// Exact integer dot of two 32 x int8 blocks (|products| < 2^15 per pair: maddubs on |a|, sign(b, a)).
inline int32_t dot_i8(__m256i a, __m256i b) {
  const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(a, a), _mm256_sign_epi8(b, a));
  return hsum_i32(_mm256_madd_epi16(p, _mm256_set1_epi16(1)));
}

}  // namespace

// kernels::attention_heads_quant with the same float operations in the same order (bit-identical):
// K q8_0/q4_0 blocks dotted exactly in integers, then ref's (d_k * d_q) * sum; V q8_0/q4_0 rows
// dequantised 8 lanes at a time (q * d) and accumulated as acc * ms, acc + v * vs. f16 K or V keep
// the scalar reference (their f16 accumulator rounds every step).
void attention_quant(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                     int head_dim, float scale, float* out, int h0, int h1) {
  if (kv.k_type == KvType::kF16 || kv.v_type == KvType::kF16 || head_dim % 32 != 0 || head_dim > kMaxHeadDim)
    return kernels::attention_heads_quant(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
  const int group = n_head / n_head_kv;
  const int nb = head_dim / 32;
  const int64_t kbb = kv.k_type == KvType::kQ8_0 ? 34 : 18, vbb = kv.v_type == KvType::kQ8_0 ? 34 : 18;
  const auto* kbase = reinterpret_cast<const uint8_t*>(kv.k);
  const auto* vbase = reinterpret_cast<const uint8_t*>(kv.v);
  BlockQ8_0 qq[kMaxHeadDim / 32];
  alignas(32) float acc[kMaxHeadDim];
  __m256i qv[kMaxHeadDim / 32];
  float qd[kMaxHeadDim / 32];
  for (int h = h0; h < h1; ++h) {
    ref::quantize_row(DType::kQ8_0, q + static_cast<int64_t>(h) * head_dim, qq, head_dim);
    for (int b = 0; b < nb; ++b) {
      qv[b] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qq[b].qs));
      qd[b] = fp16_to_fp32(qq[b].d);
    }
    const int hk = h / group;
    float M = -INFINITY, S = 0.f;
    for (int d = 0; d < head_dim; ++d) acc[d] = 0.f;
    const int64_t end = first + n_kv;
    for (int64_t p = first; p < end;) {
      const int64_t blk = p / kv.block_size, r0 = p - blk * kv.block_size;
      const int64_t r1 = std::min(kv.block_size, r0 + (end - p));
      const int64_t id = kv.blocks[blk];
      for (int64_t r = r0; r < r1; ++r) {
        const uint8_t* kj = kbase + id * kv.k_block_bytes + r * kv.k_row_bytes + hk * nb * kbb;
        float sd = 0.f;
        for (int b = 0; b < nb; ++b) {
          const uint8_t* kb = kj + b * kbb;
          uint16_t kdh;
          std::memcpy(&kdh, kb, 2);
          const int32_t is = dot_i8(kv_block_i8(kv.k_type, kb), qv[b]);
          sd += fp16_to_fp32(kdh) * qd[b] * static_cast<float>(is);
        }
        const float sc = sd * scale;
        float ms = 1.f, vs = 1.f;
        if (sc > M) {
          const float m_old = M;
          M = sc;
          ms = std::exp(m_old - M);
          const __m256 vms = _mm256_set1_ps(ms);
          for (int d = 0; d < head_dim; d += 8) _mm256_store_ps(acc + d, _mm256_mul_ps(_mm256_load_ps(acc + d), vms));
        } else {
          vs = std::exp(sc - M);
        }
        const uint8_t* vj = vbase + id * kv.v_block_bytes + r * kv.v_row_bytes + hk * nb * vbb;
        const __m256 vvs = _mm256_set1_ps(vs);
        for (int b = 0; b < nb; ++b) {
          const uint8_t* vb = vj + b * vbb;
          uint16_t vdh;
          std::memcpy(&vdh, vb, 2);
          const __m256 dv = _mm256_set1_ps(fp16_to_fp32(vdh));
          const __m256i v8 = kv_block_i8(kv.v_type, vb);
          const __m128i lo = _mm256_castsi256_si128(v8), hi = _mm256_extracti128_si256(v8, 1);
          const __m128i parts[4] = {lo, _mm_srli_si128(lo, 8), hi, _mm_srli_si128(hi, 8)};
          for (int k = 0; k < 4; ++k) {
            const __m256 x = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(parts[k])), dv);
            float* a = acc + b * 32 + k * 8;
            _mm256_store_ps(a, _mm256_add_ps(_mm256_load_ps(a), _mm256_mul_ps(x, vvs)));
          }
        }
        S = S * ms + vs;
      }
      p += r1 - r0;
    }
    const float inv = S == 0.f ? 0.f : 1.f / S;
    float* oh = out + static_cast<int64_t>(h) * head_dim;
    for (int d = 0; d < head_dim; ++d) oh[d] = acc[d] * inv;
  }
}

}  // namespace nuri::kernels::cpu::avx2

#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
#endif
