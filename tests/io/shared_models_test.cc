// Every GGUF in ../shared loads; known values of the real and random models match.
#include <gtest/gtest.h>
#include <dirent.h>

#include "io/gguf.h"
#include "test_util.h"

namespace nuri::io {
namespace {

std::vector<std::string> gguf_files(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") out.push_back(dir + "/" + n);
  }
  ::closedir(d);
  return out;
}

TEST(SharedModels, EveryGgufLoads) {
  NURI_REQUIRE_SHARED();
  auto files = gguf_files(test::shared_dir() + "/models");
  auto vocab = gguf_files(test::shared_dir() + "/vocab");
  files.insert(files.end(), vocab.begin(), vocab.end());
  ASSERT_GE(files.size(), 20u);
  for (const auto& p : files) {
    auto f = GgufFile::open(p);
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_TRUE(f->get_string("tokenizer.ggml.model").has_value()) << p;
  }
}

TEST(SharedModels, Stories260K) {
  NURI_REQUIRE_SHARED();
  for (const char* v : {"F32", "F16", "Q8_0"}) {
    auto f = GgufFile::open(test::shared_dir() + "/models/stories260K-" + std::string(v) + ".gguf");
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->architecture(), "llama");
    EXPECT_EQ(*f->get_uint("llama.block_count"), 5u);
    EXPECT_EQ(*f->get_uint("llama.attention.head_count"), 8u);
    EXPECT_EQ(*f->get_uint("llama.attention.head_count_kv"), 4u);
    EXPECT_EQ(*f->get_uint("llama.embedding_length"), 64u);
    EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->size(), 512u);
    EXPECT_EQ(*f->get_string("tokenizer.ggml.model"), "llama");
    const GgufTensorInfo* emb = f->tensor("token_embd.weight");
    ASSERT_NE(emb, nullptr);
    EXPECT_EQ(emb->shape(), (std::vector<uint64_t>{512, 64}));
  }
}

TEST(SharedModels, TinyQwen3Moe) {
  NURI_REQUIRE_SHARED();
  auto f = GgufFile::open(test::shared_dir() + "/models/tiny-qwen3moe-8x-qwen2vocab-Q4_K_M.gguf");
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->architecture(), "qwen3moe");
  EXPECT_EQ(*f->get_uint("qwen3moe.expert_count"), 8u);
  EXPECT_EQ(*f->get_uint("qwen3moe.expert_used_count"), 2u);
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->size(), 151936u);
  EXPECT_EQ(*f->get_string("tokenizer.ggml.pre"), "qwen2");
  EXPECT_TRUE(f->get_string("tokenizer.chat_template").has_value());
  EXPECT_EQ(*f->get_uint("qwen3moe.block_count"), 2u);
}

TEST(SharedModels, TinyMixtral) {
  NURI_REQUIRE_SHARED();
  auto f = GgufFile::open(test::shared_dir() + "/models/tiny-mixtral-moe-8x-spm-Q4_K_M.gguf");
  ASSERT_TRUE(f.ok()) << f.error();
  EXPECT_EQ(f->architecture(), "llama");
  EXPECT_EQ(*f->get_uint("llama.expert_count"), 8u);
  EXPECT_EQ(*f->get_uint("llama.expert_used_count"), 2u);
  EXPECT_EQ(f->get_string_array("tokenizer.ggml.tokens")->size(), 32000u);
  // Q4_K_M mixes block formats.
  bool q4k = false, q6k = false;
  for (const auto& t : f->tensors()) {
    q4k |= t.dtype == DType::kQ4_K;
    q6k |= t.dtype == DType::kQ6_K;
  }
  EXPECT_TRUE(q4k && q6k);
}

TEST(SharedModels, InspectCliOnEveryFile) {
  NURI_REQUIRE_SHARED();
  auto files = gguf_files(test::shared_dir() + "/models");
  auto vocab = gguf_files(test::shared_dir() + "/vocab");
  files.insert(files.end(), vocab.begin(), vocab.end());
  for (const auto& p : files) {
    auto r = test::run_cmd(test::nuri_binary() + " inspect --json " + test::shell_quote(p) + " 2>&1");
    EXPECT_EQ(r.exit_code, 0) << p << "\n" << r.out;
    EXPECT_NE(r.out.find("\"n_tensors\""), std::string::npos) << p;
  }
  auto r = test::run_cmd(test::nuri_binary() + " inspect " + test::shell_quote(test::shared_dir() + "/models/stories260K-F32.gguf"));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("architecture:  llama"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("n_layer"), std::string::npos) << r.out;
  // A non-GGUF file: one-line error, exit 1.
  auto bad = test::run_cmd(test::nuri_binary() + " inspect " + test::shell_quote(test::shared_dir() + "/README.md") + " 2>&1");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("not a GGUF file"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace nuri::io
