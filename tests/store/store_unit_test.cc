// store unit tests: SHA-256 against FIPS 180-4 vectors and /usr/bin/sha256sum; model names;
// resolution in a Hugging Face-cache tree laid out by hand (as huggingface_hub writes it) and in
// NURI_MODELS directories.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <algorithm>

#include "store/pull.h"
#include "store/sha256.h"
#include "store/store.h"
#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using nuri::store::sha256_hex;

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, StreamingEqualsOneShotAndSha256sum) {
  std::mt19937 rng(7);
  const std::string dir = ::testing::TempDir();
  for (size_t n : {1u, 55u, 56u, 63u, 64u, 65u, 119u, 120u, 1000u, 65537u, 300001u}) {
    std::string data(n, '\0');
    for (auto& c : data) c = static_cast<char>(rng());
    nuri::store::Sha256 h;
    for (size_t i = 0; i < n;) {  // awkward chunk sizes
      const size_t k = std::min<size_t>(n - i, 1 + rng() % 97);
      h.update(data.data() + i, k);
      i += k;
    }
    const std::string path = dir + "/sha_" + std::to_string(n);
    std::ofstream(path, std::ios::binary) << data;
    auto ref = nuri::test::run_cmd("/usr/bin/sha256sum " + path);
    ASSERT_EQ(ref.exit_code, 0);
    const std::string want = ref.out.substr(0, 64);
    EXPECT_EQ(h.hex_digest(), want) << n;
    EXPECT_EQ(sha256_hex(data), want) << n;
    auto f = nuri::store::sha256_file(path);
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(*f, want);
  }
  EXPECT_FALSE(nuri::store::sha256_file(dir + "/does-not-exist").ok());
}

TEST(Names, ParseModelRef) {
  auto r = nuri::store::parse_model_ref("TheOwner/some-model.v2:Q4_K_M");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->repo, "TheOwner/some-model.v2");
  EXPECT_EQ(r->selector, "Q4_K_M");
  r = nuri::store::parse_model_ref("a/b");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->selector, "");
  EXPECT_FALSE(nuri::store::parse_model_ref("/abs/path.gguf"));
  EXPECT_FALSE(nuri::store::parse_model_ref("./x/y"));
  EXPECT_FALSE(nuri::store::parse_model_ref("a/b/c"));
  EXPECT_FALSE(nuri::store::parse_model_ref("a/b:"));
  EXPECT_FALSE(nuri::store::parse_model_ref("noslash"));
}

TEST(Names, QuantMatches) {
  using nuri::store::quant_matches;
  EXPECT_TRUE(quant_matches("tiny-mixtral-moe-8x-spm-Q4_K_M.gguf", "q4_k_m"));
  EXPECT_FALSE(quant_matches("tiny-mixtral-moe-8x-spm-Q4_K_M.gguf", "Q4_K"));
  EXPECT_TRUE(quant_matches("m.Q4_K.gguf", "Q4_K"));
  EXPECT_TRUE(quant_matches("model_q8_0.gguf", "Q8_0"));
  EXPECT_FALSE(quant_matches("model-XQ8_0.gguf", "Q8_0"));
  EXPECT_FALSE(quant_matches("stories260K-F16.gguf", "F1"));
  EXPECT_EQ(nuri::store::quant_from_name("stories260K-F16.gguf"), "F16");
  EXPECT_EQ(nuri::store::quant_from_name("a-q5_k_s.gguf"), "Q5_K_S");
  EXPECT_EQ(nuri::store::quant_from_name("llama-2-tiny-random.gguf"), "");
}

TEST(Pull, SelectFiles) {
  using nuri::store::select_files;
  const std::vector<std::string> gguf_repo = {".gitattributes", "README.md", "m-Q2_K.gguf", "m-Q4_K_M.gguf",
                                              "m-Q4_K_S.gguf", "m-Q8_0.gguf"};
  auto r = select_files("o/m", gguf_repo, "");  // several: Q4_K_M is the default
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, std::vector<std::string>{"m-Q4_K_M.gguf"});
  r = select_files("o/m", gguf_repo, "q8_0");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, std::vector<std::string>{"m-Q8_0.gguf"});
  r = select_files("o/m", gguf_repo, "m-Q4_K_S.gguf");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, std::vector<std::string>{"m-Q4_K_S.gguf"});
  r = select_files("o/m", gguf_repo, "IQ4_XS");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("m-Q2_K.gguf"), std::string::npos) << r.error();  // the candidates
  r = select_files("o/m", {"a-Q8_0.gguf", "b-Q8_0.gguf"}, "Q8_0");
  EXPECT_FALSE(r.ok());  // ambiguous
  r = select_files("o/m", {"a-Q8_0.gguf", "b-Q5_0.gguf"}, "");
  EXPECT_FALSE(r.ok());  // several and no Q4_K_M
  const std::vector<std::string> hf_repo = {"README.md", "config.json", "generation_config.json",
                                            "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                            "model.safetensors.index.json", "tokenizer.json", "tokenizer_config.json",
                                            "onnx/model.onnx", "pytorch_model.bin", "original/consolidated.safetensors"};
  r = select_files("o/hf", hf_repo, "");
  ASSERT_TRUE(r.ok()) << r.error();
  std::vector<std::string> got = *r;
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"config.json", "generation_config.json", "model-00001-of-00002.safetensors",
                                           "model-00002-of-00002.safetensors", "model.safetensors.index.json",
                                           "tokenizer.json", "tokenizer_config.json"}));
  EXPECT_FALSE(select_files("o/x", {"README.md", "pytorch_model.bin"}, "").ok());
}

class StoreTree : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) / ("store_tree_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    ::setenv("HF_HOME", (root_ / "hf").c_str(), 1);
    ::unsetenv("HF_HUB_CACHE");
    ::unsetenv("HUGGINGFACE_HUB_CACHE");
    ::unsetenv("NURI_MODELS");
  }
  void TearDown() override { fs::remove_all(root_); }
  // A repo as huggingface_hub lays it out: blobs named by hash, snapshot links, refs/main.
  void add_repo(const std::string& dirname, const std::string& commit,
                const std::vector<std::pair<std::string, std::string>>& files, bool ref = true) {
    const fs::path repo = root_ / "hf" / "hub" / dirname;
    fs::create_directories(repo / "blobs");
    fs::create_directories(repo / "snapshots" / commit);
    for (const auto& [name, content] : files) {
      const std::string h = sha256_hex(content);
      std::ofstream(repo / "blobs" / h, std::ios::binary) << content;
      fs::create_symlink("../../blobs/" + h, repo / "snapshots" / commit / name);
    }
    if (ref) {
      fs::create_directories(repo / "refs");
      std::ofstream(repo / "refs" / "main") << commit;
    }
  }
  fs::path root_;
};

TEST_F(StoreTree, ResolvesNamesInHfCache) {
  const std::string c1 = "1111111111111111111111111111111111111111";
  add_repo("models--own--multi", c1, {{"m-Q4_K_M.gguf", "a"}, {"m-Q8_0.gguf", "bb"}, {"README.md", "r"}});
  add_repo("models--own--single", c1, {{"only.gguf", "ccc"}}, /*ref=*/false);
  add_repo("models--own--hf", c1, {{"config.json", "{}"}, {"model.safetensors", "x"}, {"tokenizer.json", "{}"}});
  const std::string snap = (root_ / "hf/hub/models--own--multi/snapshots" / c1).string();
  using nuri::store::resolve_model;
  auto r = resolve_model("own/multi:q8_0");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, snap + "/m-Q8_0.gguf");
  r = resolve_model("own/multi:m-Q4_K_M.gguf");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, snap + "/m-Q4_K_M.gguf");
  r = resolve_model("own/multi");  // two GGUFs: ambiguous, the error lists them
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("m-Q8_0.gguf"), std::string::npos) << r.error();
  r = resolve_model("own/multi:Q5_K_M");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("m-Q4_K_M.gguf"), std::string::npos) << r.error();
  r = resolve_model("own/single");  // no refs/main: the only snapshot
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(fs::path(*r).filename(), "only.gguf");
  r = resolve_model("own/hf");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, (root_ / "hf/hub/models--own--hf/snapshots" / c1).string());
  r = resolve_model("own/missing");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("nuri pull own/missing"), std::string::npos) << r.error();

  auto entries = nuri::store::list_entries();
  std::vector<std::string> names;
  for (const auto& e : entries) names.push_back(e.name);
  EXPECT_EQ(names, (std::vector<std::string>{"own/hf", "own/multi:Q4_K_M", "own/multi:Q8_0", "own/single"}));
  for (const auto& e : entries) {
    auto p = resolve_model(e.name);
    ASSERT_TRUE(p.ok()) << p.error();
    EXPECT_EQ(*p, e.path);
  }

  std::vector<std::string> removed;
  ASSERT_TRUE(nuri::store::remove_model("own/multi:Q8_0", &removed).is_ok());
  EXPECT_FALSE(fs::exists(root_ / "hf/hub/models--own--multi/blobs" / sha256_hex("bb")));
  EXPECT_TRUE(fs::exists(root_ / "hf/hub/models--own--multi/blobs" / sha256_hex("a")));
  r = resolve_model("own/multi");  // now unambiguous
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_TRUE(nuri::store::remove_model("own/multi", &removed).is_ok());
  EXPECT_FALSE(fs::exists(root_ / "hf/hub/models--own--multi"));
  EXPECT_FALSE(nuri::store::remove_model("own/multi", &removed).is_ok());
}

TEST_F(StoreTree, NuriModelsDirsAndPaths) {
  const fs::path d1 = root_ / "d1", d2 = root_ / "d2";
  fs::create_directories(d1);
  fs::create_directories(d2);
  std::ofstream(d2 / "tiny.gguf") << "x";
  ::setenv("NURI_MODELS", (d1.string() + ":" + d2.string()).c_str(), 1);
  auto r = nuri::store::resolve_model("tiny");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, (d2 / "tiny.gguf").string());
  // An existing path wins over a store name of the same spelling.
  fs::create_directories(root_ / "own");
  std::ofstream(root_ / "own" / "x") << "y";
  ASSERT_EQ(::chdir(root_.c_str()), 0);
  r = nuri::store::resolve_model("own/x");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "own/x");
  EXPECT_FALSE(nuri::store::resolve_model("nothere").ok());
  EXPECT_FALSE(nuri::store::resolve_model("/no/such/file.gguf").ok());
  EXPECT_FALSE(nuri::store::remove_model("tiny", nullptr).is_ok());  // not a store model
  EXPECT_TRUE(fs::exists(d2 / "tiny.gguf"));
}

}  // namespace
