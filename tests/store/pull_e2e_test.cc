// `nuri pull/list/show/rm` end to end against a local Hub-shaped server (hub_server.py: API JSON
// with siblings, resolve URLs that redirect, LFS ETags = SHA-256 from Python's hashlib, Range,
// one file with a wrong hash, one connection dropped half way) serving ../shared models; plus a
// Hugging Face cache tree laid out by hand, as huggingface_hub writes it, found by name.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using nuri::test::nuri_binary;
using nuri::test::run_cmd;
using nuri::test::shell_quote;

const char* kCommit = "0123456789abcdef0123456789abcdef01234567";

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sha256sum(const std::string& path) {
  auto r = run_cmd("/usr/bin/sha256sum " + shell_quote(path));
  return r.exit_code == 0 ? r.out.substr(0, 64) : "";
}

class Hub : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!nuri::test::have_shared() || !nuri::test::path_exists("/usr/bin/python3")) return;
    root_ = fs::path(::testing::TempDir()) / ("nuri_hub_" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    const std::string m = nuri::test::shared_dir() + "/models/";
    // A transformers-style repo: random tiny llama written by nuri gen as config + safetensors + tokenizer.
    const std::string hfsrc = (root_ / "hfsrc").string();
    auto g = run_cmd(nuri_binary() + " gen --arch llama --vocab " +
                     shell_quote(nuri::test::shared_dir() + "/vocab/ggml-vocab-gpt-2.gguf") +
                     " --shape tiny --seed 7 --format safetensors -o " + shell_quote(hfsrc) + " 2>&1");
    ASSERT_EQ(g.exit_code, 0) << g.out;
    nlohmann::json hf_files = nlohmann::json::object();
    for (const auto& e : fs::directory_iterator(hfsrc))
      hf_files[e.path().filename().string()] = {{"path", e.path().string()},
                                                {"lfs", e.path().extension() == ".safetensors"}};
    hf_files["README.md"] = {{"path", std::string(NURI_SOURCE_DIR) + "/README.md"}};
    nlohmann::json spec = {
        {"repos",
         {{"nuri-test/stories",
           {{"sha", kCommit},
            {"files",
             {{"stories260K-Q8_0.gguf", {{"path", m + "stories260K-Q8_0.gguf"}, {"lfs", true}, {"drop_once", true}}},
              {"stories260K-F16.gguf", {{"path", m + "stories260K-F16.gguf"}, {"lfs", true}}},
              {"README.md", {{"path", std::string(NURI_SOURCE_DIR) + "/README.md"}}}}}}},
          {"nuri-test/bad",
           {{"sha", "baadf00d0123456789abcdef0123456789abcdef"},
            {"files", {{"stories260K-F32.gguf", {{"path", m + "stories260K-F32.gguf"}, {"lfs", true}, {"bad_hash", true}}}}}}},
          {"nuri-test/hf", {{"sha", "feedface0123456789abcdef0123456789abcdef"}, {"files", hf_files}}}}}};
    std::ofstream(root_ / "spec.json") << spec.dump(1);
    const std::string script = std::string(NURI_SOURCE_DIR) + "/tests/store/hub_server.py";
    const std::string spec_s = (root_ / "spec.json").string(), port_s = (root_ / "port").string(),
                      log_s = (root_ / "log.jsonl").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::execl("/usr/bin/python3", "python3", script.c_str(), spec_s.c_str(), port_s.c_str(), log_s.c_str(), nullptr);
      ::_exit(127);
    }
    for (int i = 0; i < 200 && !fs::exists(root_ / "port"); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(fs::exists(root_ / "port")) << "hub_server.py did not start";
    endpoint_ = "http://127.0.0.1:" + slurp(root_ / "port");
  }
  static void TearDownTestSuite() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      ::waitpid(pid_, nullptr, 0);
    }
    if (!root_.empty()) fs::remove_all(root_);
  }
  void SetUp() override {
    if (!nuri::test::have_shared()) GTEST_SKIP() << "../shared not found";
    if (endpoint_.empty()) GTEST_SKIP() << "/usr/bin/python3 not found";
  }
  static std::string env(const std::string& hf_home = "") {
    return "HF_HOME=" + shell_quote(hf_home.empty() ? (root_ / "hf").string() : hf_home) +
           " HF_ENDPOINT=" + endpoint_ + " HF_TOKEN=test-token NURI_MODELS= HF_HUB_CACHE= HUGGINGFACE_HUB_CACHE= ";
  }
  // Runs nuri with the test's environment; stderr goes into err.
  static nuri::test::CmdResult nuri(const std::string& args, std::string* err = nullptr, const std::string& hf = "") {
    const fs::path e = root_ / "stderr.txt";
    auto r = run_cmd(env(hf) + nuri_binary() + " " + args + " 2>" + shell_quote(e.string()));
    if (err) *err = slurp(e);
    return r;
  }
  static std::vector<nlohmann::json> log() {
    std::vector<nlohmann::json> out;
    std::ifstream in(root_ / "log.jsonl");
    std::string line;
    while (std::getline(in, line)) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  static fs::path repo(const std::string& d) { return root_ / "hf" / "hub" / d; }
  static inline fs::path root_;
  static inline std::string endpoint_;
  static inline pid_t pid_ = -1;
};

std::string run_text(const std::string& env, const std::string& model) {
  return run_cmd(env + nuri_binary() + " run -m " + shell_quote(model) + " -p 'Once upon a time' -n 16 --temp 0 2>/dev/null").out;
}

TEST_F(Hub, PullResumesAfterDropAndVerifies) {
  const std::string src = nuri::test::shared_dir() + "/models/stories260K-Q8_0.gguf";
  const std::string sha = sha256sum(src);
  ASSERT_EQ(sha.size(), 64u);
  std::string err;
  auto r = nuri("pull nuri-test/stories:q8_0", &err);  // the server hangs up half way
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(err.find("interrupted"), std::string::npos) << err;
  const fs::path dir = repo("models--nuri-test--stories");
  const fs::path partial = dir / "blobs" / (sha + ".incomplete");
  ASSERT_TRUE(fs::exists(partial));
  EXPECT_EQ(fs::file_size(partial), fs::file_size(src) / 2);
  EXPECT_FALSE(fs::exists(dir / "snapshots" / kCommit / "stories260K-Q8_0.gguf"));  // nothing half-written

  r = nuri("pull nuri-test/stories:q8_0", &err);
  ASSERT_EQ(r.exit_code, 0) << err;
  const fs::path link = dir / "snapshots" / kCommit / "stories260K-Q8_0.gguf";
  EXPECT_EQ(r.out, link.string() + "\n");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link).string(), "../../blobs/" + sha);
  EXPECT_EQ(sha256sum(link.string()), sha);
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_EQ(slurp(dir / "refs" / "main"), kCommit);
  EXPECT_TRUE(fs::exists(root_ / "hf" / "hub" / ".locks" / "models--nuri-test--stories" / (sha + ".lock")));  // as huggingface_hub
  EXPECT_FALSE(fs::exists(dir / "snapshots" / kCommit / "README.md"));  // only the chosen GGUF
  // The second download asked only for the missing half.
  bool resumed = false;
  for (const auto& l : log())
    if (l["range"].is_string() && l["range"] == "bytes=" + std::to_string(fs::file_size(src) / 2) + "-") resumed = true;
  EXPECT_TRUE(resumed);
  // The token went to the Hub API.
  bool auth = false;
  for (const auto& l : log())
    if (l["path"].get<std::string>().rfind("/api/models/nuri-test/stories", 0) == 0 && l["auth"] == "Bearer test-token")
      auth = true;
  EXPECT_TRUE(auth);
  // A second pull of the same file downloads nothing.
  r = nuri("pull nuri-test/stories:Q8_0", &err);
  ASSERT_EQ(r.exit_code, 0) << err;
  EXPECT_NE(err.find("already in the store"), std::string::npos) << err;

  // The store name runs like the file.
  const std::string want = run_text("", src);
  ASSERT_GT(want.size(), 20u);
  EXPECT_EQ(run_text(env(), "nuri-test/stories"), want);
}

TEST_F(Hub, ChecksumMismatchIsRefused) {
  std::string err;
  auto r = nuri("pull -q nuri-test/bad", &err);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(err.find("checksum mismatch for stories260K-F32.gguf"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  const fs::path dir = repo("models--nuri-test--bad");
  size_t n_blobs = 0;
  for (auto it = fs::directory_iterator(dir / "blobs"); it != fs::directory_iterator(); ++it) ++n_blobs;
  EXPECT_EQ(n_blobs, 0u);  // the bad download was removed
  EXPECT_FALSE(fs::exists(dir / "snapshots"));
  EXPECT_NE(nuri("run -m nuri-test/bad -n 1").exit_code, 0);
}

TEST_F(Hub, BadInputsGiveOneLineErrors) {
  struct Case {
    std::string args, want;
  };
  for (const Case& c : std::vector<Case>{
           {"pull -q nuri-test/nope", "not found"},
           {"pull -q nuri-test/stories", "stories260K-F16.gguf"},           // several GGUFs: the candidates
           {"pull -q nuri-test/stories:Q5_K_M", "stories260K-Q8_0.gguf"},  // no match: the candidates
           {"pull -q nuri-test/stories:other.gguf", "no file matching"},
           {"pull -q not-a-name", "not a model name"},
           {"show nuri-test/never-pulled", "nuri pull nuri-test/never-pulled"},
           {"rm nuri-test/never-pulled", "not in the store"},
       }) {
    std::string err;
    auto r = nuri(c.args, &err);
    EXPECT_EQ(r.exit_code, 1) << c.args;
    EXPECT_NE(err.find(c.want), std::string::npos) << c.args << ": " << err;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << c.args << ": " << err;
  }
  // A server that is not there.
  auto r = run_cmd("HF_HOME=" + shell_quote((root_ / "hf").string()) + " HF_ENDPOINT=http://127.0.0.1:1 " +
                   nuri_binary() + " pull -q a/b 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("cannot reach http://127.0.0.1:1"), std::string::npos) << r.out;
}

TEST_F(Hub, DiskFullIsAClearError) {
  if (!nuri::test::path_exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  // The partial file of the blob is /dev/full: every write fails with ENOSPC.
  const fs::path hf = root_ / "hf-full";
  const fs::path blobs = hf / "hub" / "models--nuri-test--stories" / "blobs";
  fs::create_directories(blobs);
  const std::string sha = sha256sum(nuri::test::shared_dir() + "/models/stories260K-F16.gguf");
  fs::create_symlink("/dev/full", blobs / (sha + ".incomplete"));
  std::string err;
  auto r = nuri("pull -q nuri-test/stories:F16", &err, hf.string());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(err.find("disk full"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  EXPECT_FALSE(fs::exists(blobs / sha));
  EXPECT_FALSE(fs::exists(hf / "hub" / "models--nuri-test--stories" / "snapshots"));
}

TEST_F(Hub, TransformersRepoBringsConfigWeightsTokenizer) {
  std::string err;
  auto r = nuri("pull nuri-test/hf", &err);
  ASSERT_EQ(r.exit_code, 0) << err;
  const fs::path snap = repo("models--nuri-test--hf") / "snapshots" / "feedface0123456789abcdef0123456789abcdef";
  EXPECT_EQ(r.out, snap.string() + "\n");
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"}) {
    EXPECT_TRUE(fs::is_symlink(snap / f)) << f;
    EXPECT_EQ(slurp(snap / f), slurp(root_ / "hfsrc" / f)) << f;
  }
  EXPECT_FALSE(fs::exists(snap / "README.md"));
  const std::string want = run_text("", (root_ / "hfsrc").string());
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(run_text(env(), "nuri-test/hf"), want);
}

TEST_F(Hub, ListShowRm) {
  std::string err;
  ASSERT_EQ(nuri("pull -q nuri-test/stories:Q8_0", &err).exit_code, 0) << err;
  ASSERT_EQ(nuri("pull -q nuri-test/stories:stories260K-F16.gguf", &err).exit_code, 0) << err;
  auto l = nuri("list", &err);
  ASSERT_EQ(l.exit_code, 0) << err;
  // Columns: NAME FILE QUANT SIZE ARCH CONTEXT PARAMS; values from the GGUF metadata.
  std::istringstream lines(l.out);
  std::string line;
  bool q8 = false, f16 = false;
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    std::string name, file, quant, size, unit, arch, ctx, params;
    f >> name >> file >> quant >> size >> unit >> arch >> ctx >> params;
    if (name == "nuri-test/stories:Q8_0") {
      q8 = true;
      EXPECT_EQ(file, "stories260K-Q8_0.gguf");
      EXPECT_EQ(quant, "Q8_0");
      EXPECT_EQ(size + " " + unit, "370.3 KiB");  // 379168 bytes
      EXPECT_EQ(arch, "llama");
      EXPECT_EQ(ctx, "512");
    }
    if (name == "nuri-test/stories:F16") f16 = true;
  }
  EXPECT_TRUE(q8) << l.out;
  EXPECT_TRUE(f16) << l.out;
  auto s = nuri("show nuri-test/stories:F16", &err);
  ASSERT_EQ(s.exit_code, 0) << err;
  EXPECT_NE(s.out.find("stories260K-F16.gguf"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find("n_layer 5, n_embd 64"), std::string::npos) << s.out;
  EXPECT_NE(s.out.find(std::string("revision ") + kCommit), std::string::npos) << s.out;

  const std::string f16_sha = sha256sum(nuri::test::shared_dir() + "/models/stories260K-F16.gguf");
  ASSERT_EQ(nuri("rm nuri-test/stories:F16", &err).exit_code, 0) << err;
  EXPECT_FALSE(fs::exists(repo("models--nuri-test--stories") / "blobs" / f16_sha));
  EXPECT_EQ(nuri("run -m nuri-test/stories:F16 -n 1").exit_code, 1);
  EXPECT_EQ(nuri("run -m nuri-test/stories -n 1 -p x").exit_code, 0);  // one GGUF left: the bare name works
  ASSERT_EQ(nuri("rm nuri-test/stories", &err).exit_code, 0) << err;
  EXPECT_FALSE(fs::exists(repo("models--nuri-test--stories")));
  EXPECT_EQ(nuri("list").out.find("nuri-test/stories"), std::string::npos);
}

TEST_F(Hub, FindsExistingHuggingFaceCache) {
  // The layout huggingface_hub writes: blobs named by SHA-256, relative snapshot links, refs/main.
  const fs::path hf = root_ / "hf-existing";
  const fs::path r = hf / "hub" / "models--someone--tiny-moe-GGUF";
  const std::string src = nuri::test::shared_dir() + "/models/tiny-mixtral-moe-8x-spm-Q4_K_M.gguf";
  const std::string sha = sha256sum(src), commit = "c0ffee0123456789abcdef0123456789abcdef01";
  fs::create_directories(r / "blobs");
  fs::create_directories(r / "snapshots" / commit);
  fs::create_directories(r / "refs");
  fs::copy_file(src, r / "blobs" / sha);
  fs::create_symlink("../../blobs/" + sha, r / "snapshots" / commit / "tiny-mixtral-moe-8x-spm-Q4_K_M.gguf");
  std::ofstream(r / "refs" / "main") << commit;
  std::string err;
  auto l = nuri("list", &err, hf.string());
  ASSERT_EQ(l.exit_code, 0) << err;
  EXPECT_NE(l.out.find("someone/tiny-moe-GGUF "), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("Q4_K_M"), std::string::npos) << l.out;
  const std::string want = run_text("", src);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(run_text(env(hf.string()), "someone/tiny-moe-GGUF:Q4_K_M"), want);
  EXPECT_EQ(run_text(env(hf.string()), "someone/tiny-moe-GGUF"), want);
}

}  // namespace
