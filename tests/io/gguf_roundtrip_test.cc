// GGUF writer -> reader round trip: every metadata type, nested arrays, several tensor dtypes.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "io/gguf.h"

namespace nuri::io {
namespace {

std::string random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
  return s;
}

TEST(GgufRoundTrip, EveryMetadataTypeAndTensorDtype) {
  GgufWriter w;
  w.set("general.architecture", GgufValue::str("llama"));
  w.set("t.u8", GgufValue::u8(250));
  w.set("t.i8", GgufValue::i8(-120));
  w.set("t.u16", GgufValue::u16(65000));
  w.set("t.i16", GgufValue::i16(-32000));
  w.set("t.u32", GgufValue::u32(4000000000u));
  w.set("t.i32", GgufValue::i32(-2000000000));
  w.set("t.u64", GgufValue::u64(18000000000000000000ull));
  w.set("t.i64", GgufValue::i64(-9000000000000000000ll));
  w.set("t.f32", GgufValue::f32(3.25f));
  w.set("t.f64", GgufValue::f64(-1e300));
  w.set("t.bool", GgufValue::boolean(true));
  w.set("t.str", GgufValue::str("héllo ✓ \n"));
  w.set("t.arr_str", GgufValue::strings({"a", "", "ü"}));
  w.set("t.arr_f32", GgufValue::f32s({1.5f, -2.0f}));
  w.set("t.arr_nested", GgufValue::array(GgufType::kArray, {GgufValue::i32s({1, 2, 3}), GgufValue::i32s({})}));
  w.set("t.arr_bool", GgufValue::array(GgufType::kBool, {GgufValue::boolean(false), GgufValue::boolean(true)}));

  struct T { const char* name; DType dt; std::vector<uint64_t> shape; };
  std::vector<T> ts = {{"f32", DType::kF32, {3, 5}},        {"f16", DType::kF16, {7}},
                       {"bf16", DType::kBF16, {2, 2, 2}},   {"q8_0", DType::kQ8_0, {4, 64}},
                       {"q4_k", DType::kQ4_K, {2, 256}},    {"q6_k", DType::kQ6_K, {1, 512}},
                       {"q5_0", DType::kQ5_0, {3, 32}},     {"i32", DType::kI32, {1, 1, 1, 9}}};
  std::vector<std::string> datas;
  for (size_t i = 0; i < ts.size(); ++i) {
    uint64_t n = 1;
    for (auto d : ts[i].shape) n *= d;
    const auto& info = dtype_info(ts[i].dt);
    datas.push_back(random_bytes(n / info.block_size * info.type_size, 100 + i));
    ASSERT_TRUE(w.add_tensor(ts[i].name, ts[i].dt, ts[i].shape, datas.back().data(), datas.back().size()).is_ok());
  }
  const std::string bytes = w.serialize();
  auto f = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "mem.gguf");
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->architecture(), "llama");
  EXPECT_EQ(*f->get_uint("t.u8"), 250u);
  EXPECT_EQ(*f->get_int("t.i8"), -120);
  EXPECT_EQ(*f->get_uint("t.u16"), 65000u);
  EXPECT_EQ(*f->get_int("t.i16"), -32000);
  EXPECT_EQ(*f->get_uint("t.u32"), 4000000000u);
  EXPECT_EQ(*f->get_int("t.i32"), -2000000000);
  EXPECT_EQ(*f->get_uint("t.u64"), 18000000000000000000ull);
  EXPECT_EQ(*f->get_int("t.i64"), -9000000000000000000ll);
  EXPECT_EQ(*f->get_float("t.f32"), 3.25);
  EXPECT_EQ(*f->get_float("t.f64"), -1e300);
  EXPECT_EQ(*f->get_bool("t.bool"), true);
  EXPECT_EQ(*f->get_string("t.str"), "héllo ✓ \n");
  EXPECT_EQ(*f->get_string_array("t.arr_str"), (std::vector<std::string>{"a", "", "ü"}));
  EXPECT_EQ(*f->get_f32_array("t.arr_f32"), (std::vector<float>{1.5f, -2.0f}));
  const GgufArray* nested = f->find("t.arr_nested")->as_array();
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->items.size(), 2u);
  EXPECT_EQ(nested->items[0].as_array()->items.size(), 3u);
  EXPECT_EQ(*nested->items[0].as_array()->items[2].as_int(), 3);
  // Every value compares equal to what was written, with its exact type.
  ASSERT_EQ(f->metadata().size(), 17u);
  EXPECT_EQ(f->metadata()[1].first, "t.u8");
  EXPECT_EQ(f->metadata()[1].second.type, GgufType::kUint8);
  EXPECT_TRUE(*f->find("t.arr_nested") == GgufValue::array(GgufType::kArray, {GgufValue::i32s({1, 2, 3}), GgufValue::i32s({})}));

  ASSERT_EQ(f->tensors().size(), ts.size());
  for (size_t i = 0; i < ts.size(); ++i) {
    const GgufTensorInfo* t = f->tensor(ts[i].name);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->dtype, ts[i].dt);
    EXPECT_EQ(t->shape(), ts[i].shape);
    EXPECT_EQ(t->offset % f->alignment(), 0u);
    ASSERT_EQ(t->n_bytes, datas[i].size());
    EXPECT_EQ(std::memcmp(t->data, datas[i].data(), t->n_bytes), 0) << ts[i].name;
  }
}

TEST(GgufRoundTrip, CustomAlignmentAndFile) {
  GgufWriter w;
  w.set("general.alignment", GgufValue::u32(64));
  std::vector<float> x = {1, 2, 3};
  ASSERT_TRUE(w.add_tensor("a", DType::kF32, {3}, x.data(), 12).is_ok());
  ASSERT_TRUE(w.add_tensor("b", DType::kF32, {3}, x.data(), 12).is_ok());
  const std::string path = ::testing::TempDir() + "/nuri_rt.gguf";
  ASSERT_TRUE(w.write(path).is_ok());
  auto f = GgufFile::open(path);
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->tensor("b")->offset, 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  float y[3];
  std::memcpy(y, f->tensor("b")->data, 12);
  EXPECT_EQ(y[2], 3.0f);
}

TEST(GgufWriter, RejectsWrongByteCount) {
  GgufWriter w;
  std::vector<uint8_t> d(33);
  EXPECT_FALSE(w.add_tensor("q", DType::kQ8_0, {32}, d.data(), d.size()).is_ok());
  EXPECT_FALSE(w.add_tensor("q", DType::kQ8_0, {31}, d.data(), 34).is_ok());
}

}  // namespace
}  // namespace nuri::io
