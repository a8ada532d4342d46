// vec_dot of every weight dtype equals the f64 dot of the dequantised rows (weights and the
// activations as quantised), on awkward lengths (several blocks).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "kernels/fp16.h"

#include "kernels/ops.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels {
namespace {

TEST(VecDot, MatchesDequantisedDot) {
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (DType w : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0,
                  DType::kQ5_1, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K}) {
    for (int n : {256, 768, 1280}) {
      std::vector<float> a(n), x(n);
      for (auto& v : a) v = nd(rng);
      for (auto& v : x) v = nd(rng);
      std::vector<uint8_t> wq(*row_size(w, n));
      ref::quantize_row(w, a.data(), wq.data(), n);
      const DType vt = ref::vec_dot_type(w);
      std::vector<uint8_t> xq(*row_size(vt, n));
      ref::quantize_row(vt, x.data(), xq.data(), n);
      std::vector<float> ad(n), xd(n);
      ref::dequantize_row(w, wq.data(), ad.data(), n);
      if (vt == DType::kQ8_1) {  // Q8_1 has no dequantiser of its own: its values are d * q
        const auto* b = reinterpret_cast<const uint8_t*>(xq.data());
        for (int blk = 0; blk < n / 32; ++blk) {
          uint16_t d;
          std::memcpy(&d, b + blk * 36, 2);
          for (int j = 0; j < 32; ++j) xd[blk * 32 + j] = static_cast<int8_t>(b[blk * 36 + 4 + j]) * fp16_to_fp32(d);
        }
      } else {
        ref::dequantize_row(vt, xq.data(), xd.data(), n);
      }
      double expect = 0;
      for (int i = 0; i < n; ++i) expect += static_cast<double>(ad[i]) * xd[i];
      const float got = ref::vec_dot(w, wq.data(), xq.data(), n);
      // Q4_1/Q5_1 use the fp16-rounded block sum s; allow for it.
      const double tol = 1e-4 * std::sqrt(static_cast<double>(n)) * 10 + 2e-3 * std::fabs(expect);
      EXPECT_NEAR(got, expect, tol) << dtype_name(w) << " n=" << n;
    }
  }
}

TEST(Matmul, ThreadedEqualsOracleOrder) {
  // matmul (threaded, activation rounding) against matmul_f32_ref: close, not equal.
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0.f, 1.f);
  const int n_out = 37, n_in = 512, T = 3;
  std::vector<float> a(n_out * n_in), x(T * n_in);
  for (auto& v : a) v = nd(rng) * 0.05f;
  for (auto& v : x) v = nd(rng);
  for (DType w : {DType::kF32, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
    const size_t rb = *row_size(w, n_in);
    std::vector<uint8_t> wq(rb * n_out);
    for (int r = 0; r < n_out; ++r) ref::quantize_row(w, &a[r * n_in], &wq[r * rb], n_in);
    WeightView v{w, wq.data(), n_out, n_in, rb};
    std::vector<float> y(T * n_out), yr(T * n_out);
    std::vector<uint8_t> scratch(matmul_scratch_bytes(w, n_in, T) + 64);
    ThreadPool pool(2);
    matmul(v, x.data(), T, y.data(), scratch.data(), &pool);
    matmul_f32_ref(v, x.data(), T, yr.data());
    for (int i = 0; i < T * n_out; ++i) EXPECT_NEAR(y[i], yr[i], 0.05) << dtype_name(w);
  }
}

}  // namespace
}  // namespace nuri::kernels
