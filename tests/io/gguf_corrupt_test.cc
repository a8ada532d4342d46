// Corrupted GGUF files: each gives a clean one-line error naming the file and the problem.
// Run under the asan preset to check there is no out-of-bounds read on any of them.
#include <gtest/gtest.h>

#include <cstring>

#include "io/gguf.h"

namespace nuri::io {
namespace {

// Hand-built GGUF bytes, so each test can break exactly one field.
struct Raw {
  std::string b;
  template <typename T>
  Raw& put(T x) {
    char c[sizeof(T)];
    std::memcpy(c, &x, sizeof(T));
    b.append(c, sizeof(T));
    return *this;
  }
  Raw& str(const std::string& s) {
    put<uint64_t>(s.size());
    b += s;
    return *this;
  }
  Raw& header(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
    b += "GGUF";
    return put<uint32_t>(version).put<uint64_t>(n_tensors).put<uint64_t>(n_kv);
  }
  Raw& kv_u32(const std::string& k, uint32_t v) { return str(k).put<uint32_t>(4).put<uint32_t>(v); }
  Raw& tensor(const std::string& name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
    str(name).put<uint32_t>(static_cast<uint32_t>(ne.size()));
    for (auto d : ne) put<uint64_t>(d);
    return put<uint32_t>(type).put<uint64_t>(offset);
  }
  Raw& pad(size_t a = 32) {
    while (b.size() % a) b += '\0';
    return *this;
  }
  Raw& zeros(size_t n) {
    b.append(n, '\0');
    return *this;
  }
};

Status parse(const std::string& bytes) {
  auto r = GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "bad.gguf");
  return r.ok() ? Status::ok() : r.status();
}

void expect_error(const std::string& bytes, const std::string& needle) {
  Status s = parse(bytes);
  ASSERT_FALSE(s.is_ok()) << "expected an error containing '" << needle << "'";
  EXPECT_NE(s.message().find("bad.gguf"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(needle), std::string::npos) << s.message();
  EXPECT_EQ(s.message().find('\n'), std::string::npos) << "error must be one line: " << s.message();
}

std::string valid_file() {
  Raw r;
  r.header(1, 1).kv_u32("general.alignment", 32).tensor("w", {32, 2}, 0, 0).pad().zeros(256);
  return r.b;
}

TEST(GgufCorrupt, ValidBaselineParses) { EXPECT_TRUE(parse(valid_file()).is_ok()) << parse(valid_file()).message(); }
TEST(GgufCorrupt, EmptyFile) { expect_error("", "not a GGUF file"); }
TEST(GgufCorrupt, WrongMagic) { expect_error("GGML" + valid_file().substr(4), "bad magic"); }
TEST(GgufCorrupt, TruncatedHeader) { expect_error(valid_file().substr(0, 10), "truncated"); }
TEST(GgufCorrupt, VersionOne) { Raw r; r.header(0, 0, 1); expect_error(r.b, "version 1"); }
TEST(GgufCorrupt, UnknownVersion) { Raw r; r.header(0, 0, 99); expect_error(r.b, "unsupported GGUF version 99"); }
TEST(GgufCorrupt, BigEndian) { Raw r; r.header(0, 0, 0x03000000u); expect_error(r.b, "big-endian"); }
TEST(GgufCorrupt, AbsurdKvCount) { Raw r; r.header(0, 1ull << 60); expect_error(r.b, "metadata count"); }
TEST(GgufCorrupt, AbsurdTensorCount) { Raw r; r.header(~0ull, 0); expect_error(r.b, "tensor count"); }
TEST(GgufCorrupt, HugeKeyLength) {
  Raw r;
  r.header(0, 1).put<uint64_t>(1ull << 62).zeros(16);
  expect_error(r.b, "past the end");
}
TEST(GgufCorrupt, InvalidUtf8Key) {
  Raw r;
  r.header(0, 1).str("bad\xC3(key").put<uint32_t>(4).put<uint32_t>(1);
  expect_error(r.b, "not valid UTF-8");
}
TEST(GgufCorrupt, UnknownValueType) {
  Raw r;
  r.header(0, 1).str("k").put<uint32_t>(77).put<uint32_t>(1);
  expect_error(r.b, "unknown value type 77");
}
TEST(GgufCorrupt, AbsurdArrayCount) {
  Raw r;
  r.header(0, 1).str("k").put<uint32_t>(9).put<uint32_t>(8).put<uint64_t>(1ull << 40).zeros(64);
  expect_error(r.b, "does not fit");
}
TEST(GgufCorrupt, ArraysNestedTooDeep) {
  Raw r;
  r.header(0, 1).str("k").put<uint32_t>(9);
  for (int i = 0; i < 20; ++i) r.put<uint32_t>(9).put<uint64_t>(1);
  r.put<uint32_t>(4).put<uint64_t>(0).zeros(64);
  expect_error(r.b, "nested deeper");
}
TEST(GgufCorrupt, BadBool) {
  Raw r;
  r.header(0, 1).str("k").put<uint32_t>(7).put<uint8_t>(7);
  expect_error(r.b, "bool value");
}
TEST(GgufCorrupt, DuplicateKey) {
  Raw r;
  r.header(0, 2).kv_u32("a", 1).kv_u32("a", 2);
  expect_error(r.b, "duplicate metadata key 'a'");
}
TEST(GgufCorrupt, AlignmentNotPowerOfTwo) {
  Raw r;
  r.header(0, 1).kv_u32("general.alignment", 48);
  expect_error(r.b, "power of two");
}
TEST(GgufCorrupt, TooManyDims) {
  Raw r;
  r.header(1, 0).tensor("w", {1, 1, 1, 1, 1, 1, 1}, 0, 0).pad().zeros(64);
  expect_error(r.b, "7 dimensions");
}
TEST(GgufCorrupt, ZeroDim) {
  Raw r;
  r.header(1, 0).tensor("w", {32, 0}, 0, 0).pad().zeros(64);
  expect_error(r.b, "zero dimension");
}
TEST(GgufCorrupt, AbsurdShape) {
  Raw r;
  r.header(1, 0).tensor("w", {1ull << 40, 1ull << 40}, 0, 0).pad().zeros(64);
  expect_error(r.b, "absurd");
}
TEST(GgufCorrupt, UnknownDtype) {
  Raw r;
  r.header(1, 0).tensor("w", {32}, 99, 0).pad().zeros(128);
  expect_error(r.b, "unknown dtype id 99");
}
TEST(GgufCorrupt, RowNotMultipleOfBlock) {
  Raw r;
  r.header(1, 0).tensor("w", {33, 2}, 8, 0).pad().zeros(256);
  expect_error(r.b, "block size");
}
TEST(GgufCorrupt, MisalignedOffset) {
  Raw r;
  r.header(1, 0).tensor("w", {8}, 0, 7).pad().zeros(256);
  expect_error(r.b, "not aligned");
}
TEST(GgufCorrupt, DataPastEndOfFile) {
  Raw r;
  r.header(1, 0).tensor("w", {32, 4}, 0, 0).pad().zeros(100);  // needs 512 bytes
  expect_error(r.b, "runs past the end of the file");
}
TEST(GgufCorrupt, OffsetPastEndOfFile) {
  Raw r;
  r.header(1, 0).tensor("w", {8}, 0, 1ull << 50).pad().zeros(64);
  expect_error(r.b, "runs past the end of the file");
}
TEST(GgufCorrupt, DuplicateTensor) {
  Raw r;
  r.header(2, 0).tensor("w", {8}, 0, 0).tensor("w", {8}, 0, 32).pad().zeros(64);
  expect_error(r.b, "duplicate tensor name 'w'");
}
TEST(GgufCorrupt, InvalidUtf8TensorName) {
  Raw r;
  r.header(1, 0).tensor("w\xFF", {8}, 0, 0).pad().zeros(64);
  expect_error(r.b, "not valid UTF-8");
}
TEST(GgufCorrupt, EveryTruncationOfAValidFileFailsCleanly) {
  // A file with metadata of every kind, cut at every byte: an error each time, never a crash.
  GgufWriter w;
  w.set("general.architecture", GgufValue::str("llama"));
  w.set("a", GgufValue::strings({"x", "yy"}));
  w.set("b", GgufValue::array(GgufType::kArray, {GgufValue::i32s({1, 2})}));
  w.set("c", GgufValue::f64(1.0));
  std::vector<float> d(64, 1.0f);
  ASSERT_TRUE(w.add_tensor("t", DType::kF32, {2, 32}, d.data(), 256).is_ok());
  const std::string full = w.serialize();
  ASSERT_TRUE(parse(full).is_ok());
  for (size_t n = 0; n + 1 < full.size(); ++n) {
    // Cuts inside the trailing tensor data must fail too (the tensor runs past the end).
    Status s = parse(full.substr(0, n));
    ASSERT_FALSE(s.is_ok()) << "cut at " << n;
  }
}

}  // namespace
}  // namespace nuri::io
