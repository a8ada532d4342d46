// kernels/cpu against kernels/ref on random inputs with awkward sizes, for every weight dtype and
// every SIMD target this machine runs. K-quant and Q4_1 / Q5_1 products (and AVX-512's Q8_0 / Q4_0 /
// Q5_0) must equal ref bit for bit; AVX2's Q8_0-family and float products may differ only by float
// summation order (tight relative tolerance). A batch must equal one-token calls bit for bit.
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <algorithm>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "base/thread_pool.h"
#include "kernels/fp16.h"
#include "kernels/ops.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels {
namespace {

std::vector<cpu::Target> targets() {
  std::vector<cpu::Target> v;
  for (auto t : {cpu::Target::kScalar, cpu::Target::kAvx2, cpu::Target::kAvx512})
    if (cpu::target_available(t)) v.push_back(t);
  return v;
}

// Products that must equal ref bit for bit: K-quants and Q4_1 / Q5_1 everywhere, the scalar target
// (ref itself), and AVX-512's Q8_0 / Q4_0 / Q5_0 (ref's float order).
bool exact_dtype(cpu::Target tg, DType w) {
  if (w == DType::kQ4_K || w == DType::kQ5_K || w == DType::kQ6_K || w == DType::kQ4_1 || w == DType::kQ5_1) return true;
  if (tg == cpu::Target::kScalar) return dtype_info(w).block_size > 1;
  return tg == cpu::Target::kAvx512 && (w == DType::kQ8_0 || w == DType::kQ4_0 || w == DType::kQ5_0);
}

std::vector<int> sizes_for(DType w) {
  switch (dtype_info(w).block_size) {
    case 256: return {256, 768, 2304};
    case 32: return {32, 96, 416, 896};
    default: return {1, 17, 100, 896};
  }
}

struct Case {
  DType w;
  int n, n_out, T;
};

void check_case(cpu::Target tg, const Case& c, std::mt19937& rng) {
  std::normal_distribution<float> nd(0.f, 1.f);
  const size_t wrow = *row_size(c.w, c.n);
  std::vector<uint8_t> wq(wrow * c.n_out);
  std::vector<float> tmp(c.n);
  for (int r = 0; r < c.n_out; ++r) {
    for (auto& v : tmp) v = nd(rng) * (r % 3 == 0 ? 0.01f : 1.f);
    ref::quantize_row(c.w, tmp.data(), wq.data() + r * wrow, c.n);
  }
  std::vector<float> x(static_cast<size_t>(c.T) * c.n);
  for (auto& v : x) v = nd(rng) * 3.f;
  if (c.T > 1) std::fill(x.begin() + c.n, x.begin() + 2 * c.n, 0.f);  // an all-zero token
  WeightView wv{c.w, wq.data(), c.n_out, c.n, wrow};

  // Oracle: ref activations and ref::vec_dot per (row, token).
  const DType vt = ref::vec_dot_type(c.w);
  const size_t xrow = *row_size(vt, c.n);
  std::vector<uint8_t> xq(xrow * c.T);
  for (int t = 0; t < c.T; ++t) {
    if (vt == DType::kF32) std::memcpy(xq.data() + t * xrow, &x[t * c.n], c.n * 4);
    else ref::quantize_row(vt, &x[t * c.n], xq.data() + t * xrow, c.n);
  }
  // Scale for the tolerance: sum of |w_i x_i| with dequantised weights.
  std::vector<float> wd(c.n);
  const size_t arb = cpu::act_row_bytes(tg, c.w, c.n);
  std::vector<uint8_t> act_buf(arb * c.T + 64);
  uint8_t* act = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(act_buf.data()) + 63) & ~uintptr_t{63});
  cpu::quantize_act(tg, c.w, x.data(), c.n, c.T, act);
  std::vector<float> y(static_cast<size_t>(c.T) * c.n_out, NAN);
  // Two calls over a split of the rows, as the thread pool does.
  const int64_t mid = c.n_out / 2;
  cpu::gemm(tg, wv, act, c.T, 0, mid, y.data(), c.n_out);
  cpu::gemm(tg, wv, act, c.T, mid, c.n_out, y.data(), c.n_out);
  for (int r = 0; r < c.n_out; ++r) {
    ref::dequantize_row(c.w, wq.data() + r * wrow, wd.data(), c.n);
    for (int t = 0; t < c.T; ++t) {
      const float expect = ref::vec_dot(c.w, wq.data() + r * wrow, xq.data() + t * xrow, c.n);
      const float got = y[t * c.n_out + r];
      if (exact_dtype(tg, c.w)) {
        ASSERT_EQ(got, expect) << cpu::target_name(tg) << " " << dtype_name(c.w) << " n=" << c.n << " r=" << r
                               << " t=" << t;
      } else {
        double sabs = 0;
        for (int i = 0; i < c.n; ++i) sabs += std::fabs(static_cast<double>(wd[i]) * x[t * c.n + i]);
        ASSERT_NEAR(got, expect, 1e-5 * sabs + 1e-6)
            << cpu::target_name(tg) << " " << dtype_name(c.w) << " n=" << c.n << " r=" << r << " t=" << t;
      }
    }
  }
}

TEST(CpuMatmul, MatchesRefEveryTargetAndDtype) {
  std::mt19937 rng(11);
  for (cpu::Target tg : targets()) {
    for (DType w : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ5_0, DType::kQ4_1,
                    DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
      for (int n : sizes_for(w))
        for (int n_out : {1, 5, 13, 37})
          for (int T : {1, 3, 6, 13, 37}) check_case(tg, {w, n, n_out, T}, rng);
    }
  }
}

// A batch of T tokens gives bit for bit the products of T one-token calls (what makes batched greedy
// decoding equal single-sequence decoding), on every target, dtype and batch shape the engine uses.
TEST(CpuMatmul, BatchEqualsSingleTokenCallsBitForBit) {
  std::mt19937 rng(23);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (cpu::Target tg : targets()) {
    for (DType w : {DType::kF32, DType::kF16, DType::kQ8_0, DType::kQ4_0, DType::kQ5_0, DType::kQ4_1, DType::kQ5_1,
                    DType::kQ4_K, DType::kQ6_K}) {
      const int n = dtype_info(w).block_size == 256 ? 768 : 416, n_out = 23;
      const size_t wrow = *row_size(w, n);
      std::vector<uint8_t> wq(wrow * n_out);
      std::vector<float> tmp(n);
      for (int r = 0; r < n_out; ++r) {
        for (auto& v : tmp) v = nd(rng);
        ref::quantize_row(w, tmp.data(), wq.data() + r * wrow, n);
      }
      const WeightView wv{w, wq.data(), n_out, n, wrow};
      const size_t arb = cpu::act_row_bytes(tg, w, n);
      for (int T : {2, 8, 9, 16, 40}) {
        std::vector<float> x(static_cast<size_t>(T) * n);
        for (auto& v : x) v = nd(rng);
        std::vector<uint8_t> buf(arb * T + 64);
        uint8_t* act = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(buf.data()) + 63) & ~uintptr_t{63});
        cpu::quantize_act(tg, w, x.data(), n, T, act);
        std::vector<float> y(static_cast<size_t>(T) * n_out), y1(n_out);
        cpu::gemm(tg, wv, act, T, 0, n_out, y.data(), n_out);
        for (int t = 0; t < T; ++t) {
          cpu::quantize_act(tg, w, &x[static_cast<size_t>(t) * n], n, 1, act);
          cpu::gemm(tg, wv, act, 1, 0, n_out, y1.data(), n_out);
          for (int r = 0; r < n_out; ++r)
            ASSERT_EQ(y[static_cast<size_t>(t) * n_out + r], y1[r])
                << cpu::target_name(tg) << " " << dtype_name(w) << " T=" << T << " t=" << t << " r=" << r;
        }
      }
    }
  }
}

TEST(CpuMatmul, OpsMatmulUsesFastPathWithSameResults) {
  // kernels::matmul (the op API, threaded) equals ref per (row, token) within the tolerance.
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int n = 512, n_out = 37, T = 5;
  for (DType w : {DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    const size_t wrow = *row_size(w, n);
    std::vector<uint8_t> wq(wrow * n_out);
    std::vector<float> tmp(n), x(T * n), y(T * n_out);
    for (int r = 0; r < n_out; ++r) {
      for (auto& v : tmp) v = nd(rng);
      ref::quantize_row(w, tmp.data(), wq.data() + r * wrow, n);
    }
    for (auto& v : x) v = nd(rng);
    WeightView wv{w, wq.data(), n_out, n, wrow};
    std::vector<uint8_t> scratch(matmul_scratch_bytes(w, n, T));
    ThreadPool pool(2);
    matmul(wv, x.data(), T, y.data(), scratch.data(), &pool);
    const DType vt = ref::vec_dot_type(w);
    std::vector<uint8_t> xq(*row_size(vt, n));
    for (int t = 0; t < T; ++t) {
      ref::quantize_row(vt, &x[t * n], xq.data(), n);
      for (int r = 0; r < n_out; ++r) {
        const float e = ref::vec_dot(w, wq.data() + r * wrow, xq.data(), n);
        EXPECT_NEAR(y[t * n_out + r], e, 1e-4 * (1 + std::fabs(e))) << dtype_name(w);
      }
    }
  }
}

TEST(CpuAttention, MatchesOpsAttentionEveryTarget) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (cpu::Target tg : targets()) {
    for (int hd : {8, 64, 80, 128}) {
      for (int n_kv : {1, 7, 40}) {
        const int n_head = 4, n_head_kv = 2;
        const int kvd = n_head_kv * hd;
        std::vector<float> q(n_head * hd), out_ref(n_head * hd), out(n_head * hd), scores(n_kv);
        std::vector<uint16_t> k(n_kv * kvd), v(n_kv * kvd);
        for (auto& e : q) e = nd(rng);
        for (auto& e : k) e = fp32_to_fp16(nd(rng));
        for (auto& e : v) e = fp32_to_fp16(nd(rng));
        const float scale = 1.f / std::sqrt(static_cast<float>(hd));
        attention(q.data(), k.data(), v.data(), n_kv, n_head, n_head_kv, hd, scale, out_ref.data(), scores.data());
        // Two head ranges, as the forward pass splits them over threads.
        cpu::attention(tg, q.data(), k.data(), v.data(), n_kv, n_head, n_head_kv, hd, scale, out.data(), 0, 1);
        cpu::attention(tg, q.data(), k.data(), v.data(), n_kv, n_head, n_head_kv, hd, scale, out.data(), 1, n_head);
        for (size_t i = 0; i < out.size(); ++i) {
          // Only the K dot product's summation order differs; the f16 accumulator may round one
          // f16 ulp (2^-10 relative) apart.
          ASSERT_NEAR(out[i], out_ref[i], 4e-3 * (1 + std::fabs(out_ref[i])))
              << cpu::target_name(tg) << " hd=" << hd << " n_kv=" << n_kv << " i=" << i;
        }
        if (tg == cpu::Target::kScalar) {
          EXPECT_EQ(out, out_ref);  // same loop: identical
        }
      }
    }
  }
}

// Random f16 K/V rows for positions [0, n_pos), stored twice: in a pool of shuffled blocks of bs
// positions (the paged cache's layout) and contiguously from position `first` on.
struct PagedKv {
  std::vector<int32_t> table;
  std::vector<uint16_t> pool_k, pool_v, k, v;
  int bs, kvd;
  PagedKv(int n_pos, int first, int bs_, int kvd_, std::mt19937& rng) : bs(bs_), kvd(kvd_) {
    std::normal_distribution<float> nd(0.f, 1.f);
    const int n_blocks = (n_pos + bs - 1) / bs;
    table.resize(n_blocks);
    std::iota(table.begin(), table.end(), 0);
    std::shuffle(table.begin(), table.end(), rng);
    pool_k.resize(static_cast<size_t>(n_blocks) * bs * kvd);
    pool_v.resize(pool_k.size());
    k.resize(static_cast<size_t>(n_pos - first) * kvd);
    v.resize(k.size());
    for (int p = 0; p < n_pos; ++p)
      for (int d = 0; d < kvd; ++d) {
        const uint16_t kk = fp32_to_fp16(nd(rng)), vv = fp32_to_fp16(nd(rng));
        const size_t at = (static_cast<size_t>(table[p / bs]) * bs + p % bs) * kvd + d;
        pool_k[at] = kk;
        pool_v[at] = vv;
        if (p >= first) {
          k[static_cast<size_t>(p - first) * kvd + d] = kk;
          v[static_cast<size_t>(p - first) * kvd + d] = vv;
        }
      }
  }
  KvBlocks view() const { return {pool_k.data(), pool_v.data(), table.data(), bs, static_cast<int64_t>(bs) * kvd}; }
};

// Paged K/V (rows scattered over blocks in a shuffled pool, a window starting mid-block) gives
// bit-identical results to the same rows stored contiguously, on every target and the oracle.
TEST(CpuAttention, BlockTableEqualsContiguousBitForBit) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int n_head = 4, n_head_kv = 2, hd = 64, kvd = n_head_kv * hd;
  for (int bs : {1, 3, 16}) {
    for (int first : {0, 5}) {
      const int n_pos = 45, n_kv = n_pos - first;
      const PagedKv pk(n_pos, first, bs, kvd, rng);
      const std::vector<uint16_t>& k = pk.k;
      const std::vector<uint16_t>& v = pk.v;
      const KvBlocks kv = pk.view();
      std::vector<float> q(n_head * hd), want(n_head * hd), got(n_head * hd), scores(n_kv);
      for (auto& e : q) e = nd(rng);
      const float scale = 0.125f;
      for (cpu::Target tg : targets()) {
        cpu::attention(tg, q.data(), k.data(), v.data(), n_kv, n_head, n_head_kv, hd, scale, want.data(), 0, n_head);
        cpu::attention(tg, q.data(), kv, first, n_kv, n_head, n_head_kv, hd, scale, got.data(), 0, n_head);
        EXPECT_EQ(got, want) << cpu::target_name(tg) << " block size " << bs << " first " << first;
      }
      attention_ref(q.data(), k.data(), v.data(), n_kv, n_head, n_head_kv, hd, scale, want.data(), scores.data());
      attention_ref(q.data(), kv, first, n_kv, n_head, n_head_kv, hd, scale, got.data(), scores.data());
      EXPECT_EQ(got, want) << "ref, block size " << bs << " first " << first;
    }
  }
}

// Long contexts (n_kv >= kTiledMinKv): every target stays within f32 rounding of the exact
// softmax (the AVX-512 target's tiled path; the others keep the per-key path and its f16 rounding,
// hence their looser bound), for GQA groups that thread ranges split, and a paged cache equals the
// contiguous rows bit for bit.
TEST(CpuAttention, LongContextMatchesExactSoftmax) {
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0.f, 1.f);
  struct Shape { int n_head, n_head_kv, hd; };
  for (Shape sh : {Shape{14, 2, 64}, Shape{4, 4, 128}, Shape{6, 1, 64}}) {
    for (int64_t n_kv : {kTiledMinKv - 1, kTiledMinKv, kTiledMinKv + 477}) {
      const int kvd = sh.n_head_kv * sh.hd;
      std::vector<float> q(sh.n_head * sh.hd), want(q.size()), got(q.size()), scores(n_kv);
      std::vector<uint16_t> k(n_kv * kvd), v(k.size());
      for (auto& e : q) e = 2.f * nd(rng);
      for (auto& e : k) e = fp32_to_fp16(nd(rng));
      for (auto& e : v) e = fp32_to_fp16(nd(rng));
      const float scale = 1.f / std::sqrt(static_cast<float>(sh.hd));
      attention_ref(q.data(), k.data(), v.data(), n_kv, sh.n_head, sh.n_head_kv, sh.hd, scale, want.data(), scores.data());
      for (cpu::Target tg : targets()) {
        const int mid = sh.n_head / 2 + 1;  // splits a GQA group when there is one
        cpu::attention(tg, q.data(), k.data(), v.data(), n_kv, sh.n_head, sh.n_head_kv, sh.hd, scale, got.data(), 0, mid);
        cpu::attention(tg, q.data(), k.data(), v.data(), n_kv, sh.n_head, sh.n_head_kv, sh.hd, scale, got.data(), mid, sh.n_head);
        const bool tiled = tg == cpu::Target::kAvx512 && n_kv >= kTiledMinKv;
        const float tol = tiled ? 2e-5f : 2.5e-2f;  // per-key path: its f16 V accumulator drifts with n_kv
        for (size_t i = 0; i < got.size(); ++i)
          ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i])))
              << cpu::target_name(tg) << " heads " << sh.n_head << "/" << sh.n_head_kv << " hd=" << sh.hd << " n_kv=" << n_kv << " i=" << i;
      }
    }
  }
  // Paged (shuffled blocks of 16, window from position 5) against contiguous, past the threshold.
  const int n_head = 8, n_head_kv = 2, hd = 64, kvd = n_head_kv * hd, bs = 16, first = 5;
  const int n_pos = static_cast<int>(kTiledMinKv) + 100, n_kv = n_pos - first;
  const PagedKv pk(n_pos, first, bs, kvd, rng);
  const std::vector<uint16_t>& k = pk.k;
  const std::vector<uint16_t>& v = pk.v;
  const KvBlocks kv = pk.view();
  std::vector<float> q(n_head * hd), want(q.size()), got(q.size());
  for (auto& e : q) e = nd(rng);
  for (cpu::Target tg : targets()) {
    cpu::attention(tg, q.data(), k.data(), v.data(), n_kv, n_head, n_head_kv, hd, 0.125f, want.data(), 0, n_head);
    cpu::attention(tg, q.data(), kv, first, n_kv, n_head, n_head_kv, hd, 0.125f, got.data(), 0, n_head);
    EXPECT_EQ(got, want) << cpu::target_name(tg);
  }
}

TEST(CpuRope, CachedTableEqualsRopeBitForBit) {
  std::mt19937 rng(9);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto style : {RopeStyle::kNormal, RopeStyle::kNeox}) {
    for (int pos : {0, 1, 17, 4095}) {
      const int n_head = 3, hd = 64, n_rot = 48;
      std::vector<float> a(n_head * hd), b;
      for (auto& e : a) e = nd(rng);
      b = a;
      std::vector<float> cs(n_rot);
      rope(a.data(), n_head, hd, n_rot, pos, 10000.f, style);
      RopeParams rp;
      rp.n_rot = n_rot;
      rp.freq_base = 10000.f;
      rope_table(rp, pos, cs.data());
      cpu::rope_cached(b.data(), n_head, hd, n_rot, cs.data(), style);
      EXPECT_EQ(a, b) << "pos " << pos;
    }
  }
}

TEST(CpuPool, EveryThreadRunsOnceAndSplitCovers) {
  for (int n : {1, 2, 3}) {
    ThreadPool pool(n);
    for (int rep = 0; rep < 200; ++rep) {
      std::vector<std::atomic<int>> hits(n);
      pool.run([&](int i, int nt) {
        EXPECT_EQ(nt, n);
        hits[i].fetch_add(1);
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
    }
  }
  for (int64_t total : {0, 1, 7, 100, 1001}) {
    int64_t covered = 0, prev_end = 0;
    for (int i = 0; i < 3; ++i) {
      int64_t b, e;
      ThreadPool::split(total, 4, i, 3, &b, &e);
      EXPECT_EQ(b, prev_end);
      EXPECT_TRUE(b % 4 == 0 || b == total);
      covered += e - b;
      prev_end = e;
    }
    EXPECT_EQ(covered, total);
  }
}

}  // namespace
}  // namespace nuri::kernels
