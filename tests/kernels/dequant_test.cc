// Dequantisation against hand-computed blocks: each expected value is written out from the
// GGUF block definition, independently of the code under test.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "kernels/blocks.h"
#include "kernels/fp16.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels {
namespace {

constexpr uint16_t kHalf = 0x3800;  // 0.5
constexpr uint16_t kOne = 0x3C00;   // 1.0
constexpr uint16_t kTwo = 0x4000;   // 2.0
constexpr uint16_t kQuarter = 0x3400;  // 0.25

TEST(Dequant, F16AndBF16) {
  uint16_t h[3] = {kHalf, 0xC000 /* -2 */, 0x7BFF /* 65504 */};
  float y[3];
  ref::dequantize_row(DType::kF16, h, y, 3);
  EXPECT_EQ(y[0], 0.5f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], 65504.0f);
  uint16_t b[2] = {0x3F80, 0xC040 /* -3 */};
  ref::dequantize_row(DType::kBF16, b, y, 2);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -3.0f);
}

TEST(Dequant, Q8_0) {
  BlockQ8_0 b{};
  b.d = kHalf;
  for (int i = 0; i < 32; ++i) b.qs[i] = static_cast<int8_t>(i - 16);
  float y[32];
  ref::dequantize_row(DType::kQ8_0, &b, y, 32);
  for (int i = 0; i < 32; ++i) EXPECT_EQ(y[i], (i - 16) * 0.5f);
}

TEST(Dequant, Q4_0AndQ4_1) {
  BlockQ4_0 b{};
  b.d = kTwo;
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  float y[32];
  ref::dequantize_row(DType::kQ4_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], (j - 8) * 2.0f);
    EXPECT_EQ(y[j + 16], (15 - j - 8) * 2.0f);
  }
  BlockQ4_1 c{};
  c.d = kHalf;
  c.m = 0xBC00;  // -1
  for (int j = 0; j < 16; ++j) c.qs[j] = static_cast<uint8_t>(j | (3 << 4));
  ref::dequantize_row(DType::kQ4_1, &c, y, 32);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], j * 0.5f - 1.0f);
    EXPECT_EQ(y[j + 16], 3 * 0.5f - 1.0f);
  }
}

TEST(Dequant, Q5_0AndQ5_1) {
  BlockQ5_0 b{};
  b.d = kOne;
  // element j (0..15) low nibble j, 5th bit from qh bit j; element j+16 high nibble, bit j+16.
  uint32_t qh = 0;
  for (int j = 0; j < 32; j += 3) qh |= 1u << j;
  std::memcpy(b.qh, &qh, 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>((j & 0xF) | (((j * 7) & 0xF) << 4));
  float y[32];
  ref::dequantize_row(DType::kQ5_0, &b, y, 32);
  for (int j = 0; j < 16; ++j) {
    const int lo = (j & 0xF) + ((qh >> j) & 1) * 16;
    const int hi = ((j * 7) & 0xF) + ((qh >> (j + 16)) & 1) * 16;
    EXPECT_EQ(y[j], static_cast<float>(lo - 16)) << j;
    EXPECT_EQ(y[j + 16], static_cast<float>(hi - 16)) << j;
  }
  BlockQ5_1 c{};
  c.d = kTwo;
  c.m = kHalf;
  std::memcpy(c.qh, &qh, 4);
  std::memcpy(c.qs, b.qs, 16);
  ref::dequantize_row(DType::kQ5_1, &c, y, 32);
  for (int j = 0; j < 16; ++j) {
    const int lo = (j & 0xF) + ((qh >> j) & 1) * 16;
    EXPECT_EQ(y[j], lo * 2.0f + 0.5f);
  }
}

// Q4_K: scales of sub-blocks 0..3 are the low 6 bits of bytes 0..3 (mins: bytes 4..7); sub-blocks
// 4..7 take their low 4 bits from bytes 8..11 and their top 2 bits from the top of bytes 0..7.
TEST(Dequant, Q4_K) {
  BlockQ4_K b{};
  b.d = kHalf;
  b.dmin = kQuarter;
  const uint8_t sc[8] = {1, 2, 3, 63, 17, 33, 48, 5};
  const uint8_t mn[8] = {0, 1, 2, 3, 20, 40, 63, 9};
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    b.scales[j + 4] = static_cast<uint8_t>(mn[j] | ((mn[j + 4] >> 4) << 6));
    b.scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
  }
  for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>((i % 16) | (((i * 5) % 16) << 4));
  float y[256];
  ref::dequantize_row(DType::kQ4_K, &b, y, 256);
  // Element e: chunk c = e / 64; within it, first 32 use low nibbles of qs[32c + l], next 32 high.
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, l = e % 32, high = (e % 64) >= 32, sub = e / 32;
    const uint8_t byte = b.qs[32 * c + l];
    const int q = high ? byte >> 4 : byte & 0xF;
    const float expect = 0.5f * sc[sub] * q - 0.25f * mn[sub];
    EXPECT_FLOAT_EQ(y[e], expect) << e;
  }
}

TEST(Dequant, Q5_K) {
  BlockQ5_K b{};
  b.d = kOne;
  b.dmin = kHalf;
  const uint8_t sc[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint8_t mn[8] = {8, 7, 6, 5, 4, 3, 2, 1};
  for (int j = 0; j < 4; ++j) {
    b.scales[j] = sc[j];
    b.scales[j + 4] = mn[j];
    b.scales[j + 8] = static_cast<uint8_t>(sc[j + 4] | (mn[j + 4] << 4));
  }
  for (int i = 0; i < 128; ++i) b.qs[i] = static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4));
  for (int i = 0; i < 32; ++i) b.qh[i] = static_cast<uint8_t>(i * 37);
  float y[256];
  ref::dequantize_row(DType::kQ5_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) {
    const int c = e / 64, l = e % 32, high = (e % 64) >= 32, sub = e / 32;
    const uint8_t byte = b.qs[32 * c + l];
    int q = high ? byte >> 4 : byte & 0xF;
    const int bit = 2 * c + (high ? 1 : 0);  // qh bit for this element
    q += ((b.qh[l] >> bit) & 1) * 16;
    EXPECT_FLOAT_EQ(y[e], 1.0f * sc[sub] * q - 0.5f * mn[sub]) << e;
  }
}

// Q6_K: element e of each 128-half h: l = e % 32, group g = (e % 128) / 32 picks the nibble
// (g 0,1: low nibbles of ql[l], ql[l+32]; g 2,3: high nibbles) and 2 bits of qh[l] at 2g.
TEST(Dequant, Q6_K) {
  BlockQ6_K b{};
  b.d = kQuarter;
  for (int i = 0; i < 128; ++i) b.ql[i] = static_cast<uint8_t>(i * 11);
  for (int i = 0; i < 64; ++i) b.qh[i] = static_cast<uint8_t>(i * 29 + 3);
  for (int i = 0; i < 16; ++i) b.scales[i] = static_cast<int8_t>(i * 9 - 70);
  float y[256];
  ref::dequantize_row(DType::kQ6_K, &b, y, 256);
  for (int e = 0; e < 256; ++e) {
    const int h = e / 128, r = e % 128, g = r / 32, l = r % 32;
    const uint8_t* ql = b.ql + 64 * h;
    const uint8_t* qh = b.qh + 32 * h;
    const uint8_t lowbyte = ql[l + (g & 1) * 32];
    const int nib = g < 2 ? lowbyte & 0xF : lowbyte >> 4;
    const int q = (nib | (((qh[l] >> (2 * g)) & 3) << 4)) - 32;
    const int scale = b.scales[8 * h + l / 16 + 2 * g];
    EXPECT_FLOAT_EQ(y[e], 0.25f * scale * q) << e;
  }
}

// Quantise -> dequantise: the error stays within half a quantisation step of each format.
TEST(Quantize, RoundTripErrorBounded) {
  std::vector<float> x(512);
  for (size_t i = 0; i < x.size(); ++i) x[i] = std::sin(0.37f * i) * (1.0f + (i % 7)) * 0.1f;
  struct C { DType t; float tol; };
  for (C c : {C{DType::kF16, 1e-3f}, C{DType::kBF16, 5e-3f}, C{DType::kQ8_0, 0.01f}, C{DType::kQ4_0, 0.12f},
              C{DType::kQ4_1, 0.08f}, C{DType::kQ5_0, 0.06f}, C{DType::kQ5_1, 0.04f}, C{DType::kQ4_K, 0.12f},
              C{DType::kQ5_K, 0.06f}, C{DType::kQ6_K, 0.03f}, C{DType::kQ8_K, 0.01f}}) {
    std::vector<uint8_t> q(*row_size(c.t, x.size()));
    ref::quantize_row(c.t, x.data(), q.data(), x.size());
    std::vector<float> y(x.size());
    ref::dequantize_row(c.t, q.data(), y.data(), x.size());
    for (size_t i = 0; i < x.size(); ++i) ASSERT_NEAR(y[i], x[i], c.tol) << dtype_name(c.t) << " at " << i;
  }
}

}  // namespace
}  // namespace nuri::kernels
