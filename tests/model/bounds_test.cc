// Hostile hyper-parameters: a GGUF whose metadata asks for sizes beyond what nuri supports (or
// that contradict each other) must fail to load with a message naming the field, never overflow a
// buffer or allocate without bound. Files are real shared models rewritten with one key changed.
#include <gtest/gtest.h>

#include <string>

#include "io/gguf.h"
#include "model/model.h"
#include "test_util.h"

namespace nuri::model {
namespace {

// Copies `src` to a temp file with metadata key `key` set to `value` (tensors unchanged).
std::string rewrite(const std::string& src, const std::string& key, const io::GgufValue& value, const std::string& tag) {
  auto f = io::GgufFile::open(src);
  EXPECT_TRUE(f.ok()) << (f.ok() ? "" : f.error());
  if (!f.ok()) return "";
  io::GgufWriter w;
  for (const auto& [k, v] : f->metadata()) w.set(k, v);
  if (!key.empty()) w.set(key, value);
  for (const auto& t : f->tensors()) EXPECT_TRUE(w.add_tensor(t.name, t.dtype, t.shape(), t.data, t.n_bytes).is_ok());
  const std::string out = ::testing::TempDir() + "/nuri_bounds_" + tag + ".gguf";
  EXPECT_TRUE(w.write(out).is_ok());
  return out;
}

std::string moe_model() { return test::shared_dir() + "/models/tiny-mixtral-moe-8x-spm-Q4_K_M.gguf"; }
std::string dense_model() { return test::shared_dir() + "/models/stories260K-F32.gguf"; }

void expect_refused(const std::string& path, const std::string& needle) {
  auto m = Model::load(path);
  ASSERT_FALSE(m.ok()) << path << " loaded";
  EXPECT_NE(m.error().find(needle), std::string::npos) << m.error();
}

TEST(Bounds, UnchangedCopyLoads) {
  NURI_REQUIRE_SHARED();
  for (const auto& src : {moe_model(), dense_model()}) {
    auto m = Model::load(rewrite(src, "", io::GgufValue::u32(0), "copy"));
    ASSERT_TRUE(m.ok()) << m.error();
  }
}

TEST(Bounds, TooManyExperts) {
  NURI_REQUIRE_SHARED();
  expect_refused(rewrite(moe_model(), "llama.expert_count", io::GgufValue::u32(1024), "exp1024"), "n_expert = 1024");
  // A 64-bit count saturates instead of wrapping to a small number.
  expect_refused(rewrite(moe_model(), "llama.expert_count", io::GgufValue::u64(uint64_t{1} << 32 | 8), "exp_wrap"),
                 "n_expert = 2147483647");
  expect_refused(rewrite(moe_model(), "llama.expert_used_count", io::GgufValue::u32(9), "used9"), "n_expert_used = 9");
}

TEST(Bounds, ContradictoryOrHugeSizes) {
  NURI_REQUIRE_SHARED();
  expect_refused(rewrite(dense_model(), "llama.block_count", io::GgufValue::u32(1 << 20), "layers"), "n_layer");
  expect_refused(rewrite(dense_model(), "llama.attention.head_count_kv", io::GgufValue::u32(3), "kv3"),
                 "not a multiple of n_head_kv");
  expect_refused(rewrite(dense_model(), "llama.attention.head_count_kv", io::GgufValue::u64(uint64_t{1} << 32), "kvwrap"),
                 "n_head");
  expect_refused(rewrite(dense_model(), "llama.context_length", io::GgufValue::u64(uint64_t{1} << 40), "ctx"),
                 "n_ctx_train");
  expect_refused(rewrite(dense_model(), "llama.rope.dimension_count", io::GgufValue::u32(7), "rot"), "n_rot");
}

TEST(Bounds, CliExitsWithMessage) {
  NURI_REQUIRE_SHARED();
  const std::string f = rewrite(moe_model(), "llama.expert_count", io::GgufValue::u32(1024), "cli");
  const std::string err = ::testing::TempDir() + "/nuri_bounds_cli.err";
  auto r = test::run_cmd(test::nuri_binary() + " run -m " + test::shell_quote(f) + " -p hi -n 2 2>" + err);
  EXPECT_EQ(r.exit_code, 1);
  std::string msg;
  if (FILE* e = std::fopen(err.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, e)) > 0) msg.append(buf, n);
    std::fclose(e);
  }
  EXPECT_NE(msg.find("n_expert = 1024"), std::string::npos) << msg;
}

}  // namespace
}  // namespace nuri::model
