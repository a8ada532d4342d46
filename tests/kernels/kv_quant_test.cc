// Attention over quantised KV (q8_0 / q4_0 K and/or V, read in place): every compiled SIMD target
// equals the scalar reference (kernels::attention_heads_quant) on paged, shuffled blocks with a
// window starting mid-block, and the scalar reference agrees with the exact oracle
// (attention_ref: dequantised rows, f64 softmax) to quantisation accuracy; f16/f16 keeps the old
// bit-exact path. kv_store_row: every element round-trips within half a quantisation step.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "kernels/cpu/cpu.h"
#include "kernels/fp16.h"
#include "kernels/ops.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels {
namespace {

std::vector<cpu::Target> targets() {
  std::vector<cpu::Target> t;
  for (auto x : {cpu::Target::kScalar, cpu::Target::kAvx2, cpu::Target::kAvx512})
    if (cpu::target_available(x)) t.push_back(x);
  return t;
}

DType dtype(KvType t) { return t == KvType::kQ8_0 ? DType::kQ8_0 : t == KvType::kQ4_0 ? DType::kQ4_0 : DType::kF16; }

TEST(KvQuant, StoreRowRoundTripsWithinHalfAStep) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 2.f);
  for (KvType t : {KvType::kQ8_0, KvType::kQ4_0}) {
    const int n = 128;
    std::vector<float> x(n), y(n);
    for (auto& e : x) e = nd(rng);
    std::vector<uint8_t> row(kv_row_bytes(t, n));
    EXPECT_EQ(row.size(), static_cast<size_t>(n / 32 * (t == KvType::kQ8_0 ? 34 : 18)));
    kv_store_row(t, x.data(), row.data(), n);
    ref::dequantize_row(dtype(t), row.data(), y.data(), n);
    for (int b = 0; b < n / 32; ++b) {
      float amax = 0.f;
      for (int i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(x[b * 32 + i]));
      const float step = t == KvType::kQ8_0 ? amax / 127 : amax / 8;  // q4_0: d = max / -8
      for (int i = 0; i < 32; ++i) EXPECT_LE(std::fabs(y[b * 32 + i] - x[b * 32 + i]), 0.5f * step * 1.01f + 1e-6f);
    }
  }
}

TEST(KvQuant, EveryTargetEqualsTheScalarReferenceAndTheOracle) {
  std::mt19937 rng(17);
  std::normal_distribution<float> nd(0.f, 1.f);
  const KvType types[] = {KvType::kF16, KvType::kQ8_0, KvType::kQ4_0};
  for (KvType kt : types)
    for (KvType vt : types)
      for (int hd : {32, 64, 128})
        for (int first : {0, 7}) {
          if (kt == KvType::kF16 && vt == KvType::kF16) continue;
          const int n_head = 4, n_head_kv = 2, kvd = n_head_kv * hd, bs = 16, n_pos = 75, n_kv = n_pos - first;
          const int n_blocks = (n_pos + bs - 1) / bs;
          std::vector<int32_t> table(n_blocks);
          std::iota(table.begin(), table.end(), 0);
          std::shuffle(table.begin(), table.end(), rng);
          const size_t kr = kv_row_bytes(kt, kvd), vr = kv_row_bytes(vt, kvd);
          std::vector<uint8_t> pk(static_cast<size_t>(n_blocks) * bs * kr), pv(static_cast<size_t>(n_blocks) * bs * vr);
          std::vector<float> row(kvd);
          for (int p = 0; p < n_pos; ++p) {
            const size_t r = static_cast<size_t>(table[p / bs]) * bs + p % bs;
            for (auto& e : row) e = nd(rng);
            kv_store_row(kt, row.data(), &pk[r * kr], kvd);
            for (auto& e : row) e = nd(rng);
            kv_store_row(vt, row.data(), &pv[r * vr], kvd);
          }
          KvBlocks kv;
          kv.k = reinterpret_cast<const uint16_t*>(pk.data());
          kv.v = reinterpret_cast<const uint16_t*>(pv.data());
          kv.blocks = table.data();
          kv.block_size = bs;
          kv.k_type = kt;
          kv.v_type = vt;
          kv.k_row_bytes = static_cast<int64_t>(kr);
          kv.v_row_bytes = static_cast<int64_t>(vr);
          kv.k_block_bytes = bs * kv.k_row_bytes;
          kv.v_block_bytes = bs * kv.v_row_bytes;
          std::vector<float> q(n_head * hd), ref(n_head * hd), oracle(n_head * hd), got(n_head * hd), scores(n_kv);
          for (auto& e : q) e = 2.f * nd(rng);
          const float scale = 1.f / std::sqrt(static_cast<float>(hd));
          attention_heads_quant(q.data(), kv, first, n_kv, n_head, n_head_kv, hd, scale, ref.data(), 0, n_head);
          attention_ref(q.data(), kv, first, n_kv, n_head, n_head_kv, hd, scale, oracle.data(), scores.data());
          const std::string what = std::string("K ") + kv_type_name(kt) + " V " + kv_type_name(vt) + " head_dim " +
                                   std::to_string(hd) + " first " + std::to_string(first);
          for (int i = 0; i < n_head * hd; ++i) ASSERT_NEAR(ref[i], oracle[i], 3e-2) << what << " element " << i;
          for (cpu::Target tg : targets()) {
            std::fill(got.begin(), got.end(), 0.f);
            cpu::attention(tg, q.data(), kv, first, n_kv, n_head, n_head_kv, hd, scale, got.data(), 0, n_head);
            for (int i = 0; i < n_head * hd; ++i)
              ASSERT_NEAR(got[i], ref[i], 2e-5f * (1.f + std::fabs(ref[i]))) << cpu::target_name(tg) << " " << what << " element " << i;
          }
        }
}

}  // namespace
}  // namespace nuri::kernels
