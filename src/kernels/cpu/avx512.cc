// AVX-512 (F BW VL DQ VNNI) + FMA + F16C kernels. Compiled into every x86-64 build; called only
// when the CPU has these extensions (dispatch.cc).
// Q8_0 / Q4_0 / Q5_0 / Q4_1 / Q5_1: avx512_legacy.cc (ref's float order, bit for bit).
// Q4_K / Q5_K / Q6_K: vpmaddubsw + vpdpwssd with the sub-block scales; each super-block's integer
// sums are reduced exactly and combined in ref's float order, so results equal ref bit for bit.
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/cpu/avx512_legacy.h"
#include "kernels/cpu/impl.h"
#include "kernels/cpu/prefetch.h"
#include "kernels/fp16.h"
#include "kernels/ref/quant.h"

#if NURI_CPU_HAVE_X86
#pragma GCC push_options
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c,bmi,bmi2")
#ifdef __clang__  // clang ignores GCC target pragmas (the fuzz build compiles with clang)
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c,bmi,bmi2"))), apply_to = function)
#endif
#pragma GCC optimize("fp-contract=off")  // ref's float order, no fused multiply-adds unless written

namespace nuri::kernels::cpu::avx512 {
namespace {

#include "kernels/cpu/k_steps.inc"


// ---------------------------------------------------------------------------------------------
// Activation layouts (one row per token, every part 64-byte aligned):
//   legacy (Q8_0, Q4_0, Q5_0, Q4_1, Q5_1 weights): see avx512_legacy.cc
//   AK (Q4_K, Q5_K, Q6_K): int8 qs[n] | float d[n/256] | int16 bsums[n/16]   (values of ref Q8_K)
//   F16 / BF16: uint16[n];  F32: float[n]
// ---------------------------------------------------------------------------------------------
struct AKLayout {
  int64_t nsb;
  size_t d_off, bs_off, bytes;
  explicit AKLayout(int64_t n) {
    nsb = n / kQK_K;
    d_off = align64(n);
    bs_off = d_off + align64(nsb * 4);
    bytes = bs_off + align64(nsb * 32);
  }
};


bool is_ak(DType w) { return w == DType::kQ4_K || w == DType::kQ5_K || w == DType::kQ6_K; }

void quantize_ak_row(const float* x, int64_t n, uint8_t* dst) {
  const AKLayout L(n);
  auto* qs = reinterpret_cast<int8_t*>(dst);
  auto* d = reinterpret_cast<float*>(dst + L.d_off);
  auto* bs = reinterpret_cast<int16_t*>(dst + L.bs_off);
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (int64_t b = 0; b < L.nsb; ++b) {
    const float* xb = x + b * kQK_K;
    __m512 a = _mm512_setzero_ps();
    for (int i = 0; i < 16; ++i) a = _mm512_max_ps(a, _mm512_andnot_ps(sign, _mm512_loadu_ps(xb + 16 * i)));
    const float amax = _mm512_reduce_max_ps(a);
    if (amax == 0.f) {
      std::memset(qs + b * kQK_K, 0, kQK_K);
      d[b] = 0.f;
      std::memset(bs + b * 16, 0, 32);
      continue;
    }
    // ref keeps the first element of largest magnitude (its sign matters).
    float max = 0.f;
    const __m512 va = _mm512_set1_ps(amax);
    for (int i = 0; i < 16; ++i) {
      const __mmask16 m = _mm512_cmp_ps_mask(_mm512_andnot_ps(sign, _mm512_loadu_ps(xb + 16 * i)), va, _CMP_EQ_OQ);
      if (m) {
        max = xb[16 * i + __builtin_ctz(m)];
        break;
      }
    }
    const float iscale = -127.f / max;
    const __m512 vs = _mm512_set1_ps(iscale);
    const __m512i c127 = _mm512_set1_epi32(127);
    for (int i = 0; i < 16; ++i) {
      __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_loadu_ps(xb + 16 * i), vs));
      q = _mm512_min_epi32(q, c127);
      _mm_store_si128(reinterpret_cast<__m128i*>(qs + b * kQK_K + 16 * i), _mm512_cvtepi32_epi8(q));
      bs[b * 16 + i] = static_cast<int16_t>(_mm512_reduce_add_epi32(q));
    }
    d[b] = 1.f / iscale;
  }
}

void quantize_f16_row(const float* x, int64_t n, uint16_t* dst) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  for (; i < n; ++i) dst[i] = fp32_to_fp16(x[i]);
}

// ---------------------------------------------------------------------------------------------
// K formats: per super-block, 4 vectors of 64 u8 values, 4 vectors of int16 scales (one per
// vpmaddubsw lane), 16 int16 "min" weights for the activation block sums, and the f16 scales.
// ---------------------------------------------------------------------------------------------
struct KUnpacked {
  __m512i q[4];
  __m512i sc[4];
  __m256i mins;  // [16] int16 weights of bsums
  float d, dmin;
};


// The 8 six-bit scales and mins of a Q4_K / Q5_K super-block (get_scale_min_k4 for j = 0..7), as
// two 8-byte words, with word operations instead of 16 byte extractions.
inline void scales_mins_k4(const uint8_t* q, uint64_t* sc, uint64_t* m) {
  uint32_t u0, u1, u2;
  std::memcpy(&u0, q, 4);
  std::memcpy(&u1, q + 4, 4);
  std::memcpy(&u2, q + 8, 4);
  const uint32_t s_lo = u0 & 0x3f3f3f3fu, m_lo = u1 & 0x3f3f3f3fu;
  const uint32_t s_hi = (u2 & 0x0f0f0f0fu) | (((u0 >> 6) & 0x03030303u) << 4);
  const uint32_t m_hi = ((u2 >> 4) & 0x0f0f0f0fu) | (((u1 >> 6) & 0x03030303u) << 4);
  *sc = s_lo | static_cast<uint64_t>(s_hi) << 32;
  *m = m_lo | static_cast<uint64_t>(m_hi) << 32;
}

// Scale vectors for vpdpwssd: chunk c gets sub-block 2c's scale in int16 lanes 0..15, 2c+1's in 16..31.
inline void scale_vectors_k4(uint64_t sc8, __m512i* out) {
  const __m512i s16 = _mm512_castsi128_si512(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc8))));
  for (int c = 0; c < 4; ++c) {
    const __m512i idx = _mm512_mask_blend_epi16(0xFFFF0000u, _mm512_set1_epi16(static_cast<int16_t>(2 * c)),
                                                _mm512_set1_epi16(static_cast<int16_t>(2 * c + 1)));
    out[c] = _mm512_permutexvar_epi16(idx, s16);
  }
}

inline __m256i mins_vector_k4(uint64_t m8) {
  const __m128i m16 = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(m8)));
  return _mm256_set_m128i(_mm_unpackhi_epi16(m16, m16), _mm_unpacklo_epi16(m16, m16));
}

// Q6_K values (unsigned, 0..63) of half h of a super-block: chunks 2h and 2h + 1, 64 values each
// (ql[64h ..] low / high nibbles, qh[32h ..] bit pairs).
[[gnu::always_inline]] inline void q6_values(const BlockQ6_K* b, int h, __m512i* q0, __m512i* q1) {
  const __m512i low = _mm512_set1_epi8(0x0F), hm = _mm512_set1_epi8(0x30);
  const __m512i shl = _mm512_set_epi64(2, 2, 2, 2, 4, 4, 4, 4);
  const __m512i shr = _mm512_set_epi64(2, 2, 2, 2, 0, 0, 0, 0);
  const __m512i l = _mm512_loadu_si512(b->ql + 64 * h);
  const __m512i hh = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh + 32 * h)));
  *q0 = _mm512_or_si512(_mm512_and_si512(l, low), _mm512_and_si512(_mm512_sllv_epi64(hh, shl), hm));
  *q1 = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), low), _mm512_and_si512(_mm512_srlv_epi64(hh, shr), hm));
}

template <DType W>
struct QK;

template <>
struct QK<DType::kQ4_K> {
  static constexpr size_t kBytes = sizeof(BlockQ4_K);
  static constexpr bool kAffine = true;
  [[gnu::always_inline]] static inline void unpack(const uint8_t* p, KUnpacked* u) {
    const auto* b = reinterpret_cast<const BlockQ4_K*>(p);
    uint64_t sc8, m8;
    scales_mins_k4(b->scales, &sc8, &m8);
    const __m512i low = _mm512_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs + 32 * c));
      u->q[c] = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(x), _mm256_srli_epi16(x, 4), 1), low);
    }
    scale_vectors_k4(sc8, u->sc);
    u->mins = mins_vector_k4(m8);
    u->d = fp16_to_fp32(b->d);
    u->dmin = fp16_to_fp32(b->dmin);
  }
};

template <>
struct QK<DType::kQ5_K> {
  static constexpr size_t kBytes = sizeof(BlockQ5_K);
  static constexpr bool kAffine = true;
  [[gnu::always_inline]] static inline void unpack(const uint8_t* p, KUnpacked* u) {
    const auto* b = reinterpret_cast<const BlockQ5_K*>(p);
    uint64_t sc8, m8;
    scales_mins_k4(b->scales, &sc8, &m8);
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m512i h2 = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qh)));
    const __m512i c16 = _mm512_set1_epi8(16);
    for (int c = 0; c < 4; ++c) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b->qs + 32 * c));
      __m512i v = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(x), _mm256_srli_epi16(x, 4), 1), low);
      const __m512i bit = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi8(static_cast<char>(1 << (2 * c)))),
                                             _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1))), 1);
      v = _mm512_mask_add_epi8(v, _mm512_test_epi8_mask(h2, bit), v, c16);
      u->q[c] = v;
    }
    scale_vectors_k4(sc8, u->sc);
    u->mins = mins_vector_k4(m8);
    u->d = fp16_to_fp32(b->d);
    u->dmin = fp16_to_fp32(b->dmin);
  }
};

template <>
struct QK<DType::kQ6_K> {
  static constexpr size_t kBytes = sizeof(BlockQ6_K);
  static constexpr bool kAffine = false;
  [[gnu::always_inline]] static inline void unpack(const uint8_t* p, KUnpacked* u) {
    const auto* b = reinterpret_cast<const BlockQ6_K*>(p);
    for (int h = 0; h < 2; ++h) q6_values(b, h, &u->q[2 * h], &u->q[2 * h + 1]);
    const __m256i s16 = _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales)));
    const __m512i s512 = _mm512_castsi256_si512(s16);
    for (int k = 0; k < 4; ++k) {
      alignas(64) int16_t idx[32];
      for (int i = 0; i < 32; ++i) idx[i] = static_cast<int16_t>(4 * k + i / 8);
      u->sc[k] = _mm512_permutexvar_epi16(_mm512_load_si512(idx), s512);
    }
    u->mins = _mm256_slli_epi16(s16, 5);  // 32 * scale: the -32 offset of every value
    u->d = fp16_to_fp32(b->d);
    u->dmin = 0.f;
  }
};

// Sums of the 16 lanes of each of a, b, c, e -> lanes 0..3.
inline __m128i reduce4(__m512i a, __m512i b, __m512i c, __m512i e) {
  const __m512i ab = _mm512_add_epi32(_mm512_shuffle_i64x2(a, b, 0x44), _mm512_shuffle_i64x2(a, b, 0xEE));
  const __m512i ce = _mm512_add_epi32(_mm512_shuffle_i64x2(c, e, 0x44), _mm512_shuffle_i64x2(c, e, 0xEE));
  __m512i x = _mm512_add_epi32(_mm512_shuffle_i64x2(ab, ce, 0x88), _mm512_shuffle_i64x2(ab, ce, 0xDD));
  x = _mm512_add_epi32(x, _mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(0x4E)));
  x = _mm512_add_epi32(x, _mm512_shuffle_epi32(x, static_cast<_MM_PERM_ENUM>(0xB1)));
  // lane 0 of each 128-bit chunk k holds the sum of input k
  const __m512i idx = _mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0);
  return _mm512_castsi512_si128(_mm512_permutexvar_epi32(idx, x));
}
// Sums of the 8 lanes of each of a, b, c, e -> lanes 0..3.
inline __m128i reduce4(__m256i a, __m256i b, __m256i c, __m256i e) {
  const __m256i x = _mm256_hadd_epi32(_mm256_hadd_epi32(a, b), _mm256_hadd_epi32(c, e));
  return _mm_add_epi32(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
}

// Kept out of line: inlined into gemm_ak, its constants spilled (Q6_K decode 16.9 -> 22.5 ms).
template <class U, int R, int TT>
[[gnu::noinline]] void tile_ak(const uint8_t* const* wr, const uint8_t* const* ar, const AKLayout& L, float* y, int64_t ldy) {
  static_assert((R == 4 && (TT == 4 || TT == 1)) || (R == 1 && (TT == 4 || TT == 1)));
  float sum[R][TT] = {};
  for (int64_t sb = 0; sb < L.nsb; ++sb) {
    // One row at a time (its unpacked super-block stays in registers), every token of the tile.
    __m512i acc[R][TT];
    __m256i mins[R];
    float dw[R], dmw[R];
    for (int r = 0; r < R; ++r) {
      if constexpr (TT == 1) {  // decode streams the weights once: fetch ahead
        const char* ahead = reinterpret_cast<const char*>(wr[r] + (sb + 16) * U::kBytes);
        for (size_t off = 0; off < U::kBytes; off += 64) _mm_prefetch(ahead + off, _MM_HINT_T0);
      }
      KUnpacked u;
      U::unpack(wr[r] + sb * U::kBytes, &u);
      for (int t = 0; t < TT; ++t) {
        __m512i a = _mm512_setzero_si512();
        for (int c = 0; c < 4; ++c)
          a = _mm512_dpwssd_epi32(a, _mm512_maddubs_epi16(u.q[c], _mm512_load_si512(ar[t] + sb * kQK_K + 64 * c)), u.sc[c]);
        acc[r][t] = a;
      }
      mins[r] = u.mins;
      dw[r] = u.d;
      dmw[r] = u.dmin;
    }
    __m256i mv[R][TT];
    float dy[TT];
    for (int t = 0; t < TT; ++t) {
      const __m256i bs = _mm256_load_si256(reinterpret_cast<const __m256i*>(ar[t] + L.bs_off + sb * 32));
      dy[t] = reinterpret_cast<const float*>(ar[t] + L.d_off)[sb];
      for (int r = 0; r < R; ++r) mv[r][t] = _mm256_madd_epi16(bs, mins[r]);
    }
    alignas(16) int32_t is[R][TT], ms[R][TT];
    if constexpr (TT == 4) {
      for (int r = 0; r < R; ++r) {
        _mm_store_si128(reinterpret_cast<__m128i*>(is[r]), reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]));
        _mm_store_si128(reinterpret_cast<__m128i*>(ms[r]), reduce4(mv[r][0], mv[r][1], mv[r][2], mv[r][3]));
      }
    } else if constexpr (R == 4) {
      alignas(16) int32_t a4[4], m4[4];
      _mm_store_si128(reinterpret_cast<__m128i*>(a4), reduce4(acc[0][0], acc[1][0], acc[2][0], acc[3][0]));
      _mm_store_si128(reinterpret_cast<__m128i*>(m4), reduce4(mv[0][0], mv[1][0], mv[2][0], mv[3][0]));
      for (int r = 0; r < R; ++r) {
        is[r][0] = a4[r];
        ms[r][0] = m4[r];
      }
    } else {
      is[0][0] = _mm512_reduce_add_epi32(acc[0][0]);
      const __m256i m = mv[0][0];
      __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(m), _mm256_extracti128_si256(m, 1));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0x4E));
      s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, 0xB1));
      ms[0][0] = _mm_cvtsi128_si32(s4);
    }
    for (int r = 0; r < R; ++r) {
      for (int t = 0; t < TT; ++t) {
        // ref's float order: d = dw * dy; sum += d * isum - dmin * msum (K affine);
        //                    sum += dw * dy * (isum - msum) (Q6_K, msum = 32 * sum(scale * bsum)).
        if constexpr (U::kAffine) {
          const float d = dw[r] * dy[t];
          const float dmin = dmw[r] * dy[t];
          sum[r][t] += d * static_cast<float>(is[r][t]) - dmin * static_cast<float>(ms[r][t]);
        } else {
          sum[r][t] += dw[r] * dy[t] * static_cast<float>(is[r][t] - ms[r][t]);
        }
      }
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) y[t * ldy + r] = sum[r][t];
}

// Decode form (T < 4): R = 4 rows (or 1) x TT = 1 or 2 tokens, nothing unpacked to memory. Per
// super-block and row: scales decoded for all sub-blocks at once, broadcast by vpshufb, each 64-value
// chunk unpacked once for the tokens; the four rows' sums reduced together, then ref's float steps
// on four lanes (one per row): bit-identical to tile_ak and ref.
alignas(64) constexpr uint8_t kDecShuf[4][64] = {
#define NURI_H(i) 2 * (i), 2 * (i) + 1, 2 * (i), 2 * (i) + 1, 2 * (i), 2 * (i) + 1, 2 * (i), 2 * (i) + 1
#define NURI_L(i) NURI_H(i), NURI_H(i)
#define NURI_C(c) {NURI_L(2 * (c)), NURI_L(2 * (c)), NURI_L(2 * (c) + 1), NURI_L(2 * (c) + 1)}
    NURI_C(0), NURI_C(1), NURI_C(2), NURI_C(3)};
#undef NURI_C
#undef NURI_L
#undef NURI_H

template <DType W, int R, int TT>
inline void tile_ak_dec(const uint8_t* const* wr, const uint8_t* const* ar, const AKLayout& L, float* y, int64_t ldy,
                        const Prefetch& pf) {
  static_assert((R == 4 || R == 1) && (TT == 1 || TT == 2));
  using U = QK<W>;
  constexpr bool kQ6 = W == DType::kQ6_K;
  const __m512i low = _mm512_set1_epi8(0x0F);
  __m128 sum[TT];
  for (int t = 0; t < TT; ++t) sum[t] = _mm_setzero_ps();
  for (int64_t sb = 0; sb < L.nsb; ++sb) {
    pf.at(sb);
    __m512i acc[8][TT];  // rows 0..3; 4..7: the rows' second chains (Q5_K)
    __m128i mn[4];   // Q4_K / Q5_K: 8 int16 mins
    __m256i s6[4];   // Q6_K: 16 int16 scales in order
    for (int r = 0; r < 4; ++r) {
      mn[r] = _mm_setzero_si128();
      s6[r] = _mm256_setzero_si256();
      for (int t = 0; t < TT; ++t) acc[r][t] = acc[r + 4][t] = _mm512_setzero_si512();
    }
    for (int r = 0; r < R; ++r) {
      const uint8_t* p = wr[r] + sb * U::kBytes;
      if constexpr (kQ6) {
        // Chunk c (64 values) holds groups 4c..4c+3, one per 128-bit lane. Lane j of `sl` holds
        // int32 [s[j], s[4 + j], s[8 + j], s[12 + j]]; vpshufb picks int32 c's low half.
        const auto* b = reinterpret_cast<const BlockQ6_K*>(p);
        const __m128i s8 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b->scales));
        const __m128i by_lane = _mm_shuffle_epi8(s8, _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
        const __m512i sl = _mm512_cvtepi16_epi32(_mm256_cvtepi8_epi16(by_lane));
        s6[r] = _mm256_cvtepi8_epi16(s8);
        for (int h = 0; h < 2; ++h) {
          __m512i q0, q1;
          q6_values(b, h, &q0, &q1);
          const __m512i c0 = _mm512_set1_epi32(((8 * h) | ((8 * h + 1) << 8)) * 0x00010001);
          const __m512i c1 = _mm512_set1_epi32(((8 * h + 4) | ((8 * h + 5) << 8)) * 0x00010001);
          const __m512i sc0 = _mm512_shuffle_epi8(sl, c0), sc1 = _mm512_shuffle_epi8(sl, c1);
          for (int t = 0; t < TT; ++t) {  // two chains per token (integer sums: order-free)
            const uint8_t* yq = ar[t] + sb * kQK_K + 128 * h;
            const __m512i a0 = _mm512_madd_epi16(_mm512_maddubs_epi16(q0, _mm512_load_si512(yq)), sc0);
            const __m512i a1 = _mm512_madd_epi16(_mm512_maddubs_epi16(q1, _mm512_load_si512(yq + 64)), sc1);
            acc[r][t] = _mm512_add_epi32(acc[r][t], _mm512_add_epi32(a0, a1));
          }
        }
      } else {
        const uint8_t* scales = W == DType::kQ4_K ? reinterpret_cast<const BlockQ4_K*>(p)->scales
                                                  : reinterpret_cast<const BlockQ5_K*>(p)->scales;
        const uint8_t* qs = W == DType::kQ4_K ? reinterpret_cast<const BlockQ4_K*>(p)->qs
                                              : reinterpret_cast<const BlockQ5_K*>(p)->qs;
        uint64_t sc8, m8;
        scales_mins_k4(scales, &sc8, &m8);
        const __m512i sc = _mm512_broadcast_i32x4(_mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(sc8))));
        mn[r] = _mm_cvtepu8_epi16(_mm_cvtsi64_si128(static_cast<long long>(m8)));
        __m512i h2 = _mm512_setzero_si512();
        if constexpr (W == DType::kQ5_K)
          h2 = _mm512_broadcast_i64x4(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const BlockQ5_K*>(p)->qh)));
        for (int c = 0; c < 4; ++c) {
          const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * c));
          __m512i q = _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(x), _mm256_srli_epi16(x, 4), 1), low);
          if constexpr (W == DType::kQ5_K) {
            const __m512i bit = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_set1_epi8(static_cast<char>(1 << (2 * c)))),
                                                   _mm256_set1_epi8(static_cast<char>(1 << (2 * c + 1))), 1);
            q = _mm512_mask_add_epi8(q, _mm512_test_epi8_mask(h2, bit), q, _mm512_set1_epi8(16));
          }
          const __m512i s = _mm512_shuffle_epi8(sc, _mm512_load_si512(kDecShuf[c]));
          // Q5_K: two accumulator chains per token (integer sums, so order-free); its longer
          // unpack left the single chain latency-bound in one measurement (Zen 4, noisy VM).
          const int k = W == DType::kQ5_K && (c & 1) ? r + 4 : r;
          for (int t = 0; t < TT; ++t)
            acc[k][t] = _mm512_dpwssd_epi32(acc[k][t], _mm512_maddubs_epi16(q, _mm512_load_si512(ar[t] + sb * kQK_K + 64 * c)), s);
        }
      }
    }
    // Row factors, lane r: d (and dmin).
    __m128 dw, mw = _mm_setzero_ps();
    if constexpr (kQ6) {
      alignas(16) uint16_t h[8] = {};
      for (int r = 0; r < R; ++r) h[r] = reinterpret_cast<const BlockQ6_K*>(wr[r] + sb * U::kBytes)->d;
      dw = _mm_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
    } else {
      alignas(16) uint32_t h[4] = {};
      for (int r = 0; r < R; ++r) std::memcpy(&h[r], wr[r] + sb * U::kBytes, 4);  // d, dmin
      const __m256 f = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(h)));
      const __m256 g = _mm256_permutevar8x32_ps(f, _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7));
      dw = _mm256_castps256_ps128(g);
      mw = _mm256_extractf128_ps(g, 1);
    }
    for (int t = 0; t < TT; ++t) {
      const __m256i bs = _mm256_load_si256(reinterpret_cast<const __m256i*>(ar[t] + L.bs_off + sb * 32));
      const __m128 yd = _mm_set1_ps(reinterpret_cast<const float*>(ar[t] + L.d_off)[sb]);
      if constexpr (W == DType::kQ5_K)
        for (int r = 0; r < R; ++r) acc[r][t] = _mm512_add_epi32(acc[r][t], acc[r + 4][t]);
      const __m128i is = reduce4(acc[0][t], acc[1][t], acc[2][t], acc[3][t]);
      if constexpr (kQ6) {  // msum = 32 * sum(scale * bsum)
        __m256i m[4];
        for (int r = 0; r < 4; ++r) m[r] = _mm256_madd_epi16(bs, s6[r]);
        const __m128i ms = _mm_slli_epi32(reduce4(m[0], m[1], m[2], m[3]), 5);
        sum[t] = _mm_add_ps(sum[t], _mm_mul_ps(_mm_mul_ps(dw, yd), _mm_cvtepi32_ps(_mm_sub_epi32(is, ms))));
      } else {
        const __m128i bs32 = _mm_hadd_epi16(_mm256_castsi256_si128(bs), _mm256_extracti128_si256(bs, 1));
        const __m128i ms = _mm_hadd_epi32(_mm_hadd_epi32(_mm_madd_epi16(bs32, mn[0]), _mm_madd_epi16(bs32, mn[1])),
                                          _mm_hadd_epi32(_mm_madd_epi16(bs32, mn[2]), _mm_madd_epi16(bs32, mn[3])));
        sum[t] = k_affine_step(sum[t], dw, mw, yd, is, ms);
      }
    }
  }
  store_k_rows<R, TT>(sum, y, ldy);
}

// Prefill form of tile_ak: 4 rows against tokens [0, nt) (a multiple of 4). Each super-block of the
// 4 rows is unpacked once for all tokens; per-(row, token) float sums persist across super-blocks in
// `sums`, so every sum is built in exactly tile_ak's (and ref's) order.
template <class U, int R>
void rows_ak(const uint8_t* const* wr, const uint8_t* act, size_t arb, int64_t nt, const AKLayout& L, float* sums) {
  for (int64_t i = 0; i < R * nt; ++i) sums[i] = 0.f;
  for (int64_t sb = 0; sb < L.nsb; ++sb) {
    KUnpacked u[R];
    for (int r = 0; r < R; ++r) U::unpack(wr[r] + sb * U::kBytes, &u[r]);
    for (int64_t t = 0; t < nt; t += 4) {
      const uint8_t* ar[4] = {act + t * arb, act + (t + 1) * arb, act + (t + 2) * arb, act + (t + 3) * arb};
      __m512i acc[R][4];
      for (int r = 0; r < R; ++r)
        for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_si512();
      for (int c = 0; c < 4; ++c) {
        for (int j = 0; j < 4; ++j) {
          const __m512i yv = _mm512_load_si512(ar[j] + sb * kQK_K + 64 * c);
          for (int r = 0; r < R; ++r)
            acc[r][j] = _mm512_dpwssd_epi32(acc[r][j], _mm512_maddubs_epi16(u[r].q[c], yv), u[r].sc[c]);
        }
      }
      __m256i bs[4];
      for (int j = 0; j < 4; ++j) bs[j] = _mm256_load_si256(reinterpret_cast<const __m256i*>(ar[j] + L.bs_off + sb * 32));
      const __m128 dy = _mm_setr_ps(reinterpret_cast<const float*>(ar[0] + L.d_off)[sb],
                                    reinterpret_cast<const float*>(ar[1] + L.d_off)[sb],
                                    reinterpret_cast<const float*>(ar[2] + L.d_off)[sb],
                                    reinterpret_cast<const float*>(ar[3] + L.d_off)[sb]);
      for (int r = 0; r < R; ++r) {
        const __m128i is = reduce4(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
        const __m128i ms = reduce4(_mm256_madd_epi16(bs[0], u[r].mins), _mm256_madd_epi16(bs[1], u[r].mins),
                                   _mm256_madd_epi16(bs[2], u[r].mins), _mm256_madd_epi16(bs[3], u[r].mins));
        float* s = sums + r * nt + t;
        __m128 add;  // the same IEEE operations as tile_ak's scalar code, four tokens at a time
        if constexpr (U::kAffine) {
          const __m128 d = _mm_mul_ps(_mm_set1_ps(u[r].d), dy);
          const __m128 dmin = _mm_mul_ps(_mm_set1_ps(u[r].dmin), dy);
          add = _mm_sub_ps(_mm_mul_ps(d, _mm_cvtepi32_ps(is)), _mm_mul_ps(dmin, _mm_cvtepi32_ps(ms)));
        } else {
          add = _mm_mul_ps(_mm_mul_ps(_mm_set1_ps(u[r].d), dy), _mm_cvtepi32_ps(_mm_sub_epi32(is, ms)));
        }
        _mm_storeu_ps(s, _mm_add_ps(_mm_loadu_ps(s), add));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Float weights (F32, F16, BF16): 16 lanes per step, masked tail.
// ---------------------------------------------------------------------------------------------
template <DType W>
inline __m512 load_f(const uint8_t* p, int64_t i, __mmask16 m) {
  if constexpr (W == DType::kF32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(p) + i);
  } else if constexpr (W == DType::kF16) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(p) + i));
  } else {
    const __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(p) + i);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

template <DType W, int R, int TT>
inline void tile_f(const uint8_t* const* wr, const uint8_t* const* ar, int64_t n, float* y, int64_t ldy,
                   const Prefetch& pf) {
  __m512 acc[R][TT];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) acc[r][t] = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << (n - i)) - 1);
    pf.at(i / 16);
    __m512 w[R];
    for (int r = 0; r < R; ++r) w[r] = load_f<W>(wr[r], i, m);
    for (int t = 0; t < TT; ++t) {
      const __m512 a = load_f<W>(ar[t], i, m);
      for (int r = 0; r < R; ++r) acc[r][t] = _mm512_fmadd_ps(w[r], a, acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < TT; ++t) y[t * ldy + r] = _mm512_reduce_add_ps(acc[r][t]);
}

// ---------------------------------------------------------------------------------------------
// Driver: token chunks that fit in L2, then 4-row x 4-token tiles.
// ---------------------------------------------------------------------------------------------
template <int R, int TT, class Tile>
inline void run_tile(const WeightView& w, const uint8_t* act, size_t arb, int64_t r, int64_t t, float* y, int64_t ldy,
                     const Tile& tile, const Prefetch& pf = Prefetch()) {
  const uint8_t* wr[R];
  const uint8_t* ar[TT];
  for (int i = 0; i < R; ++i) wr[i] = w.row(r + i);
  for (int i = 0; i < TT; ++i) ar[i] = act + (t + i) * arb;
  tile.template operator()<R, TT>(wr, ar, y + t * ldy + r, ldy, pf);
}

// Decode (T < 4): 4-row x 2- (or 1-) token tiles; the first token pair prefetches the next tile's
// rows (n_iter: the tile loop's length).
template <class Tile>
void drive_decode(const WeightView& w, const uint8_t* act, size_t arb, int64_t T, int64_t r0, int64_t r1, float* y,
                  int64_t ldy, int64_t n_iter, const Tile& tile) {
  int64_t r = r0;
  for (; r + 4 <= r1; r += 4) {
    const int64_t next = std::min<int64_t>(4, r1 - (r + 4));
    const Prefetch pf = next > 0 ? Prefetch(w.row(r + 4), next * static_cast<int64_t>(w.row_bytes), n_iter) : Prefetch();
    int64_t t = 0;
    for (; t + 2 <= T; t += 2) run_tile<4, 2>(w, act, arb, r, t, y, ldy, tile, t == 0 ? pf : Prefetch());
    for (; t < T; ++t) run_tile<4, 1>(w, act, arb, r, t, y, ldy, tile, t == 0 ? pf : Prefetch());
  }
  for (; r < r1; ++r)
    for (int64_t t = 0; t < T; ++t) run_tile<1, 1>(w, act, arb, r, t, y, ldy, tile);
}

// T >= 4: token chunks that fit in L2, 4-row x 4-token tiles.
template <class Tile>
void drive(const WeightView& w, const uint8_t* act, size_t arb, int64_t T, int64_t r0, int64_t r1, float* y,
           int64_t ldy, const Tile& tile) {
  const int64_t tc = std::max<int64_t>(4, static_cast<int64_t>((384 << 10) / arb) & ~int64_t{3});
  for (int64_t t0 = 0; t0 < T; t0 += tc) {
    const int64_t t1 = std::min(T, t0 + tc);
    int64_t r = r0;
    // 16 rows at a time so each token's 16 outputs (one 64-byte line of y) are written together.
    for (; r + 16 <= r1; r += 16) {
      int64_t t = t0;
      for (; t + 4 <= t1; t += 4)
        for (int g = 0; g < 4; ++g) run_tile<4, 4>(w, act, arb, r + 4 * g, t, y, ldy, tile);
      for (; t < t1; ++t)
        for (int g = 0; g < 4; ++g) run_tile<4, 1>(w, act, arb, r + 4 * g, t, y, ldy, tile);
    }
    for (; r + 4 <= r1; r += 4) {
      int64_t t = t0;
      for (; t + 4 <= t1; t += 4) run_tile<4, 4>(w, act, arb, r, t, y, ldy, tile);
      for (; t < t1; ++t) run_tile<4, 1>(w, act, arb, r, t, y, ldy, tile);
    }
    for (; r < r1; ++r) {
      int64_t t = t0;
      for (; t + 4 <= t1; t += 4) run_tile<1, 4>(w, act, arb, r, t, y, ldy, tile);
      for (; t < t1; ++t) run_tile<1, 1>(w, act, arb, r, t, y, ldy, tile);
    }
  }
}

template <DType W>
void gemm_ak(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  const AKLayout L(w.n_in);
  auto tile = [&L]<int R, int TT>(const uint8_t* const* wr, const uint8_t* const* ar, float* yy, int64_t ld,
                                  const Prefetch&) {  // tile_ak fetches ahead itself
    tile_ak<QK<W>, R, TT>(wr, ar, L, yy, ld);
  };
  if (W == DType::kQ6_K && T == 1) {  // one row at a time: 16.9 ms against 19.9 for 4-row tiles (Zen 4, 1B shape)
    for (int64_t r = r0; r < r1; ++r) run_tile<1, 1>(w, act, L.bytes, r, 0, y, ldy, tile);
    return;
  }
  if (T < 4) {
    auto dec = [&L]<int R, int TT>(const uint8_t* const* wr, const uint8_t* const* ar, float* yy, int64_t ld,
                                   const Prefetch& pf) {
      tile_ak_dec<W, R, TT>(wr, ar, L, yy, ld, pf);
    };
    return drive_decode(w, act, L.bytes, T, r0, r1, y, ldy, L.nsb, dec);
  }
  if (T < 8) return drive(w, act, L.bytes, T, r0, r1, y, ldy, tile);
  // Prefill: chunks of up to kChunk tokens; 4 rows at a time unpacked once per chunk.
  constexpr int64_t kChunk = 128;
  alignas(64) float sums[16 * kChunk];
  const int64_t tc = std::min<int64_t>(kChunk, std::max<int64_t>(4, static_cast<int64_t>((384 << 10) / L.bytes) & ~int64_t{3}));
  for (int64_t t0 = 0; t0 < T; t0 += tc) {
    const int64_t t1 = std::min(T, t0 + tc);
    const int64_t nt4 = (t1 - t0) & ~int64_t{3};
    int64_t r = r0;
    // 16 rows per group, so each token's outputs are written as one 64-byte line (y rows are long).
    for (; r + 16 <= r1 && nt4 > 0; r += 16) {
      for (int g = 0; g < 4; ++g) {
        const uint8_t* wr[4] = {w.row(r + 4 * g), w.row(r + 4 * g + 1), w.row(r + 4 * g + 2), w.row(r + 4 * g + 3)};
        rows_ak<QK<W>, 4>(wr, act + t0 * L.bytes, L.bytes, nt4, L, sums + 4 * g * nt4);
      }
      for (int64_t t = 0; t < nt4; ++t)
        for (int i = 0; i < 16; ++i) y[(t0 + t) * ldy + r + i] = sums[i * nt4 + t];
      for (int64_t t = t0 + nt4; t < t1; ++t)
        for (int g = 0; g < 4; ++g) run_tile<4, 1>(w, act, L.bytes, r + 4 * g, t, y, ldy, tile);
    }
    for (; r + 4 <= r1; r += 4) {
      const uint8_t* wr[4] = {w.row(r), w.row(r + 1), w.row(r + 2), w.row(r + 3)};
      if (nt4 > 0) {
        rows_ak<QK<W>, 4>(wr, act + t0 * L.bytes, L.bytes, nt4, L, sums);
        for (int i = 0; i < 4; ++i)
          for (int64_t t = 0; t < nt4; ++t) y[(t0 + t) * ldy + r + i] = sums[i * nt4 + t];
      }
      for (int64_t t = t0 + nt4; t < t1; ++t) run_tile<4, 1>(w, act, L.bytes, r, t, y, ldy, tile);
    }
    for (; r < r1; ++r)
      for (int64_t t = t0; t < t1; ++t) run_tile<1, 1>(w, act, L.bytes, r, t, y, ldy, tile);
  }
}

template <DType W>
void gemm_f(const WeightView& w, const uint8_t* act, size_t arb, int64_t T, int64_t r0, int64_t r1, float* y,
            int64_t ldy) {
  const int64_t n = w.n_in;
  auto tile = [n]<int R, int TT>(const uint8_t* const* wr, const uint8_t* const* ar, float* yy, int64_t ld,
                                 const Prefetch& pf) {
    tile_f<W, R, TT>(wr, ar, n, yy, ld, pf);
  };
  if (T < 4) return drive_decode(w, act, arb, T, r0, r1, y, ldy, (n + 15) / 16, tile);
  drive(w, act, arb, T, r0, r1, y, ldy, tile);
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

int act_kind(DType w) {
  if (legacy::handles(w)) return 1;
  if (is_ak(w)) return 2;
  return w == DType::kF32 ? 3 : w == DType::kF16 ? 4 : 5;
}

size_t act_row_bytes(DType w, int64_t n) {
  if (legacy::handles(w)) return legacy::act_row_bytes(n);
  if (is_ak(w)) return AKLayout(n).bytes;
  if (w == DType::kF32) return align64(n * 4);
  return align64(n * 2);
}

void quantize_act(DType w, const float* x, int64_t n, int64_t T, uint8_t* dst) {
  const size_t rb = act_row_bytes(w, n);
  for (int64_t t = 0; t < T; ++t) {
    const float* xt = x + t * n;
    uint8_t* d = dst + t * rb;
    if (legacy::handles(w)) legacy::quantize_row(xt, n, d);
    else if (is_ak(w)) quantize_ak_row(xt, n, d);
    else if (w == DType::kF32) std::memcpy(d, xt, n * 4);
    else if (w == DType::kF16) quantize_f16_row(xt, n, reinterpret_cast<uint16_t*>(d));
    else ref::quantize_row(DType::kBF16, xt, d, n);
  }
}

void gemm(const WeightView& w, const uint8_t* act, int64_t T, int64_t r0, int64_t r1, float* y, int64_t ldy) {
  const size_t arb = act_row_bytes(w.dtype, w.n_in);
  switch (w.dtype) {
    case DType::kQ8_0: case DType::kQ4_0: case DType::kQ5_0: case DType::kQ4_1: case DType::kQ5_1:
      return legacy::gemm(w, act, T, r0, r1, y, ldy);
    case DType::kQ4_K: return gemm_ak<DType::kQ4_K>(w, act, T, r0, r1, y, ldy);
    case DType::kQ5_K: return gemm_ak<DType::kQ5_K>(w, act, T, r0, r1, y, ldy);
    case DType::kQ6_K: return gemm_ak<DType::kQ6_K>(w, act, T, r0, r1, y, ldy);
    case DType::kF32: return gemm_f<DType::kF32>(w, act, arb, T, r0, r1, y, ldy);
    case DType::kF16: return gemm_f<DType::kF16>(w, act, arb, T, r0, r1, y, ldy);
    case DType::kBF16: return gemm_f<DType::kBF16>(w, act, arb, T, r0, r1, y, ldy);
    default: break;
  }
}

namespace {

// K . Q in the order of llama.cpp's ggml_vec_dot_f16 on AVX-512 (its flash attention's KQ dot):
// four 16-lane accumulators over 64-value steps, reduced (0+2, 1+3, then 0+1) and summed
// across lanes; the remaining head_dim % 64 products are added in double, one by one.
// qv: the query (f16-rounded) in 16-lane vectors; qf: the same as floats.
inline float kq_dot(const uint16_t* k, const __m512* qv, const float* qf, int head_dim) {
  const int np = head_dim & ~63;
  double sum = 0.0;
  if (np > 0) {
    __m512 a[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    for (int i = 0; i < np; i += 64)
      for (int j = 0; j < 4; ++j)
        a[j] = _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(k + i + 16 * j))),
                               qv[i / 16 + j], a[j]);
    a[0] = _mm512_add_ps(a[0], a[2]);
    a[1] = _mm512_add_ps(a[1], a[3]);
    a[0] = _mm512_add_ps(a[0], a[1]);
    sum = static_cast<double>(_mm512_reduce_add_ps(a[0]));
  }
  for (int i = np; i < head_dim; ++i) sum += static_cast<double>(fp16_to_fp32(k[i]) * qf[i]);
  return static_cast<float>(sum);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Long-context attention (n_kv >= kTiledMinKv): keys in tiles of 16, f32 scores, one softmax
// rescale per tile, the exp vectorised; the query heads that share a KV head (GQA) are done
// together, four at a time, so each K and V row is loaded and converted once for all of them.
// Numerics: exact softmax up to f32 rounding (oracle: attention_ref); not llama.cpp's per-key
// f16 path, which llama.cpp itself leaves at this length (its split-KV path). Short contexts
// keep the per-key path (greedy parity with the goldens).
// ---------------------------------------------------------------------------------------------
// e^x for x <= 0: 2^n e^r, n = round(x log2 e), r = x - n ln 2 in two parts (|r| <= ln2 / 2),
// degree-6 Taylor polynomial (relative error below 2e-7).
inline __m512 exp_neg(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-87.f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.f / 720.f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

// [sum(a), sum(b), sum(c), sum(e)] of four 16-lane vectors.
inline __m128 reduce4f(__m512 a, __m512 b, __m512 c, __m512 e) {
  const __m512 ab = _mm512_add_ps(_mm512_shuffle_f32x4(a, b, 0x44), _mm512_shuffle_f32x4(a, b, 0xEE));
  const __m512 ce = _mm512_add_ps(_mm512_shuffle_f32x4(c, e, 0x44), _mm512_shuffle_f32x4(c, e, 0xEE));
  __m512 x = _mm512_add_ps(_mm512_shuffle_f32x4(ab, ce, 0x88), _mm512_shuffle_f32x4(ab, ce, 0xDD));
  // 128-bit chunk k: input k's four partial sums
  x = _mm512_add_ps(x, _mm512_permute_ps(x, 0x4E));
  x = _mm512_add_ps(x, _mm512_permute_ps(x, 0xB1));
  return _mm512_castps512_ps128(_mm512_permutexvar_ps(_mm512_set_epi32(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 8, 4, 0), x));
}

// Heads [g0, g0 + NH) (one KV head hk), head_dim = 16 * NV.
template <int NH, int NV>
void attention_tiled_heads(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int g0, int hk, int head_dim,
                           int64_t kv_stride, float scale, float* out) {
  __m512 acc[NH][NV];
  float M[NH], S[NH];
  for (int g = 0; g < NH; ++g) {
    M[g] = -INFINITY;
    S[g] = 0.f;
    for (int i = 0; i < NV; ++i) acc[g][i] = _mm512_setzero_ps();
  }
  const float* qg = q + static_cast<int64_t>(g0) * head_dim;
  alignas(64) float sc[NH][20], pr[NH][16];  // sc: 16 keys + room for the last group of four
  const uint16_t* kr[16];
  const uint16_t* vr[16];
  for (int64_t p0 = first; p0 < first + n_kv; p0 += 16) {
    const int nk = static_cast<int>(std::min<int64_t>(16, first + n_kv - p0));
    for (int j = 0; j < nk; ++j) {
      const int64_t p = p0 + j, b = p / kv.block_size;
      const int64_t off = static_cast<int64_t>(kv.blocks[b]) * kv.block_stride + (p - b * kv.block_size) * kv_stride +
                          static_cast<int64_t>(hk) * head_dim;
      kr[j] = kv.k + off;
      vr[j] = kv.v + off;
    }
    for (int j0 = 0; j0 < nk; j0 += 4) {  // four keys at a time, reduced together
      __m512 d[NH][4];
      for (int jj = 0; jj < 4; ++jj) {
        const int j = std::min(j0 + jj, nk - 1);  // past the last key: a repeat, never read
        __m512 kf[NV];
        for (int i = 0; i < NV; ++i) kf[i] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(kr[j] + 16 * i)));
        for (int g = 0; g < NH; ++g) {
          __m512 x = _mm512_mul_ps(kf[0], _mm512_loadu_ps(qg + g * head_dim));
          for (int i = 1; i < NV; ++i) x = _mm512_fmadd_ps(kf[i], _mm512_loadu_ps(qg + g * head_dim + 16 * i), x);
          d[g][jj] = x;
        }
      }
      for (int g = 0; g < NH; ++g) _mm_storeu_ps(&sc[g][j0], reduce4f(d[g][0], d[g][1], d[g][2], d[g][3]));
    }
    const __mmask16 live = static_cast<__mmask16>(nk == 16 ? 0xFFFF : (1u << nk) - 1);
    for (int g = 0; g < NH; ++g) {
      const __m512 sv = _mm512_mul_ps(_mm512_maskz_loadu_ps(live, sc[g]), _mm512_set1_ps(scale));
      const float bm = _mm512_mask_reduce_max_ps(live, sv);
      const float mn = std::max(M[g], bm);
      const __m512 pv = _mm512_maskz_mov_ps(live, exp_neg(_mm512_sub_ps(sv, _mm512_set1_ps(mn))));
      _mm512_store_ps(pr[g], pv);
      const float corr = std::exp(M[g] - mn);  // 0 on the first tile (M = -inf)
      S[g] = S[g] * corr + _mm512_reduce_add_ps(pv);
      M[g] = mn;
      const __m512 vc = _mm512_set1_ps(corr);
      for (int i = 0; i < NV; ++i) acc[g][i] = _mm512_mul_ps(acc[g][i], vc);
    }
    for (int j = 0; j < nk; ++j) {
      __m512 vf[NV];
      for (int i = 0; i < NV; ++i) vf[i] = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(vr[j] + 16 * i)));
      for (int g = 0; g < NH; ++g) {
        const __m512 pj = _mm512_set1_ps(pr[g][j]);
        for (int i = 0; i < NV; ++i) acc[g][i] = _mm512_fmadd_ps(vf[i], pj, acc[g][i]);
      }
    }
  }
  for (int g = 0; g < NH; ++g) {
    const __m512 inv = _mm512_set1_ps(S[g] == 0.f ? 0.f : 1.f / S[g]);
    float* o = out + static_cast<int64_t>(g0 + g) * head_dim;
    for (int i = 0; i < NV; ++i) _mm512_storeu_ps(o + 16 * i, _mm512_mul_ps(acc[g][i], inv));
  }
}

template <int NV>
void attention_tiled(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
                     int head_dim, float scale, float* out, int h0, int h1) {
  const int group = n_head / n_head_kv;
  const int64_t kv_stride = static_cast<int64_t>(n_head_kv) * head_dim;
  for (int h = h0; h < h1;) {
    const int hk = h / group;
    const int end = std::min(h1, (hk + 1) * group);  // heads of this KV head in the range
    const int nh = std::min(4, end - h);  // (8 heads per pass spilled the accumulators: slower)
    switch (nh) {
      case 4: attention_tiled_heads<4, NV>(q, kv, first, n_kv, h, hk, head_dim, kv_stride, scale, out); break;
      case 3: attention_tiled_heads<3, NV>(q, kv, first, n_kv, h, hk, head_dim, kv_stride, scale, out); break;
      case 2: attention_tiled_heads<2, NV>(q, kv, first, n_kv, h, hk, head_dim, kv_stride, scale, out); break;
      default: attention_tiled_heads<1, NV>(q, kv, first, n_kv, h, hk, head_dim, kv_stride, scale, out); break;
    }
    h += nh;
  }
}

void attention(const float* q, const KvBlocks& kv, int64_t first, int64_t n_kv, int n_head, int n_head_kv,
               int head_dim, float scale, float* out, int h0, int h1) {
  if (!kv.f16()) return avx2::attention_quant(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
  if (head_dim > 256) return scalar::attention(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
  if (n_kv >= kTiledMinKv && head_dim % 16 == 0) {
    switch (head_dim / 16) {
      case 4: return attention_tiled<4>(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
      case 8: return attention_tiled<8>(q, kv, first, n_kv, n_head, n_head_kv, head_dim, scale, out, h0, h1);
      default: break;
    }
  }
  const int group = n_head / n_head_kv;
  const int64_t kv_stride = static_cast<int64_t>(n_head_kv) * head_dim;
  const int nv = (head_dim + 15) / 16;
  const int rem = head_dim - 16 * (nv - 1);
  const __mmask16 tail = static_cast<__mmask16>(rem == 16 ? 0xFFFF : (1u << rem) - 1);
  constexpr int kRound = _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC;
  const int fma_end = head_dim & ~63;
  for (int h = h0; h < h1; ++h) {
    const float* qh = q + static_cast<int64_t>(h) * head_dim;
    const int hk = h / group;
    __m512 qv[16], acc[16];
    alignas(64) float qf[kMaxHeadDim];  // the query rounded to f16, as floats
    for (int i = 0; i < nv; ++i) {
      const __mmask16 m = i == nv - 1 ? tail : 0xFFFF;
      qv[i] = _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_maskz_loadu_ps(m, qh + 16 * i), kRound));
      _mm512_mask_storeu_ps(qf + 16 * i, m, qv[i]);
      acc[i] = _mm512_setzero_ps();
    }
    float M = -INFINITY, S = 0.f;
    const int64_t end = first + n_kv;
    for (int64_t p = first; p < end;) {  // block by block, positions in order
      const int64_t b = p / kv.block_size, r0 = p - b * kv.block_size;
      const int64_t r1 = std::min(kv.block_size, r0 + (end - p));
      const int64_t base = static_cast<int64_t>(kv.blocks[b]) * kv.block_stride + static_cast<int64_t>(hk) * head_dim;
      for (int64_t r = r0; r < r1; ++r) {
        const uint16_t* kj = kv.k + base + r * kv_stride;
        float s = kq_dot(kj, qv, qf, head_dim);
        s *= scale;
        float ms = 1.f, vs = 1.f;
        if (s > M) {
          const float m_old = M;
          M = s;
          ms = std::exp(m_old - M);
          const __m512 vms = _mm512_set1_ps(ms);
          for (int i = 0; i < nv; ++i) acc[i] = _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_mul_ps(acc[i], vms), kRound));
        } else {
          vs = std::exp(s - M);
        }
        const uint16_t* vj = kv.v + base + r * kv_stride;
        const __m512 vvs = _mm512_set1_ps(vs);
        // llama.cpp's ggml_vec_mad_f16: a fused multiply-add over the first head_dim & ~63
        // values, multiply then add over the rest.
        for (int i = 0; i < nv; ++i) {
          const __mmask16 m = i == nv - 1 ? tail : 0xFFFF;
          const __m512 vf = _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(m, vj + 16 * i));
          const __m512 sum = 16 * i < fma_end ? _mm512_fmadd_ps(vf, vvs, acc[i]) : _mm512_add_ps(acc[i], _mm512_mul_ps(vf, vvs));
          acc[i] = _mm512_cvtph_ps(_mm512_cvtps_ph(sum, kRound));
        }
        S = S * ms + vs;
      }
      p += r1 - r0;
    }
    const float inv = S == 0.f ? 0.f : 1.f / S;
    float* oh = out + static_cast<int64_t>(h) * head_dim;
    const __m512 vinv = _mm512_set1_ps(inv);
    for (int i = 0; i < nv; ++i) {
      const __mmask16 m = i == nv - 1 ? tail : 0xFFFF;
      _mm512_mask_storeu_ps(oh + 16 * i, m, _mm512_mul_ps(acc[i], vinv));
    }
  }
}

}  // namespace nuri::kernels::cpu::avx512

#ifdef __clang__
#pragma clang attribute pop
#endif
#pragma GCC pop_options
#endif
