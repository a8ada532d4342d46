// Safetensors reader: single file, sharded index, and malformed headers.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "base/mmap.h"
#include "io/safetensors.h"

namespace nuri::io {
namespace {

// Writes a safetensors file with the given tensors (F32 data).
std::string make_st(const std::vector<std::pair<std::string, std::vector<float>>>& ts, std::string header_override = "") {
  nlohmann::json h = nlohmann::json::object();
  std::string data;
  for (const auto& [name, v] : ts) {
    size_t b = data.size();
    data.append(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    h[name] = {{"dtype", "F32"}, {"shape", {v.size()}}, {"data_offsets", {b, data.size()}}};
  }
  h["__metadata__"] = {{"format", "pt"}};
  std::string hs = header_override.empty() ? h.dump() : header_override;
  std::string out(8, '\0');
  uint64_t n = hs.size();
  std::memcpy(out.data(), &n, 8);
  return out + hs + data;
}

TEST(Safetensors, SingleFile) {
  const std::string p = ::testing::TempDir() + "/nuri_a.safetensors";
  ASSERT_TRUE(write_file(p, make_st({{"x", {1, 2, 3}}, {"y", {4}}})).is_ok());
  auto st = Safetensors::open(p);
  ASSERT_TRUE(st.ok()) << st.error();
  ASSERT_EQ(st->tensors().size(), 2u);
  const auto* x = st->tensor("x");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->shape, std::vector<uint64_t>{3});
  float v[3];
  std::memcpy(v, x->data, 12);
  EXPECT_EQ(v[1], 2.0f);
  EXPECT_EQ(st->metadata().at("format"), "pt");
}

TEST(Safetensors, ShardedIndex) {
  const std::string dir = ::testing::TempDir() + "/nuri_sharded";
  ::mkdir(dir.c_str(), 0755);
  ASSERT_TRUE(write_file(dir + "/model-00001-of-00002.safetensors", make_st({{"a", {1, 2}}})).is_ok());
  ASSERT_TRUE(write_file(dir + "/model-00002-of-00002.safetensors", make_st({{"b", {3}}})).is_ok());
  nlohmann::json idx = {{"metadata", {{"total_size", 12}}},
                        {"weight_map", {{"a", "model-00001-of-00002.safetensors"}, {"b", "model-00002-of-00002.safetensors"}}}};
  ASSERT_TRUE(write_file(dir + "/model.safetensors.index.json", idx.dump()).is_ok());
  auto st = Safetensors::open(dir);
  ASSERT_TRUE(st.ok()) << st.error();
  ASSERT_NE(st->tensor("b"), nullptr);
  float b;
  std::memcpy(&b, st->tensor("b")->data, 4);
  EXPECT_EQ(b, 3.0f);
}

TEST(Safetensors, MalformedFilesGiveErrors) {
  const std::string p = ::testing::TempDir() + "/nuri_bad.safetensors";
  const std::vector<std::string> bad = {
      "",                                                    // too short
      std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8),    // header length past end
      make_st({}, "not json"),
      make_st({}, "[1,2]"),
      make_st({}, R"({"x":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})"),   // data past end
      make_st({{"x", {1}}}, R"({"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})"),  // size mismatch
      make_st({{"x", {1}}}, R"({"x":{"dtype":"Q9","shape":[1],"data_offsets":[0,4]}})"),   // dtype
      make_st({{"x", {1}}}, R"({"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})"),
      make_st({{"x", {1}}}, R"({"x":{"dtype":"F32","shape":[1]}})"),
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    ASSERT_TRUE(write_file(p, bad[i]).is_ok());
    auto st = Safetensors::open(p);
    EXPECT_FALSE(st.ok()) << "case " << i;
    if (!st.ok()) {
      EXPECT_NE(st.error().find("nuri_bad.safetensors"), std::string::npos) << st.error();
    }
  }
}

}  // namespace
}  // namespace nuri::io
