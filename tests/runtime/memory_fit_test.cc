// runtime/memory_fit.h against the real allocations on every ../shared model: the weights the
// loader maps, the engine's paged KV pool and a Context's dense cache (exact), the forward's
// scratch after a step with an output row per sequence (an upper bound within 1.5x + 64 KiB);
// the largest fitting context fits and one block more does not; the `nuri run` refusal names
// the numbers and `--ctx auto` runs.
#include <gtest/gtest.h>

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "model/context.h"
#include "model/model.h"
#include "runtime/kv_cache.h"
#include "runtime/memory_fit.h"
#include "test_util.h"
#include "runtime/session.h"

namespace nuri::runtime {
namespace {

std::vector<std::string> shared_ggufs() {
  std::vector<std::string> out;
  const std::string dir = test::shared_dir() + "/models";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") out.push_back(dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST(MemoryFit, EstimatesMatchRealSizes) {
  NURI_REQUIRE_SHARED();
  const auto files = shared_ggufs();
  ASSERT_GE(files.size(), 5u);
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    auto facts = read_model_facts(path);
    ASSERT_TRUE(facts.ok()) << facts.error();
    auto m = model::Model::load(path);
    ASSERT_TRUE(m.ok()) << m.error();
    const model::ModelConfig& c = (*m)->config();
    EXPECT_EQ(facts->config.n_layer, c.n_layer);
    EXPECT_EQ(facts->config.kv_dim(), c.kv_dim());
    EXPECT_EQ(facts->config.n_vocab, c.n_vocab);
    // Weights: every tensor the loader binds, nothing beyond the file.
    EXPECT_GE(facts->weight_bytes, (*m)->weight_bytes());
    EXPECT_LE(facts->weight_bytes, facts->file_bytes);
    EXPECT_EQ(facts->file_bytes, static_cast<uint64_t>(std::filesystem::file_size(path)));

    // Paged KV as the engine creates it (n_parallel sequences of n_ctx, 16-position blocks).
    FitParams fp;
    fp.n_ctx = 200;
    fp.n_seq = 3;
    fp.n_batch = 64;
    fp.n_threads = 2;
    KvCacheParams kp;
    kp.n_layer = c.n_layer;
    kp.kv_dim = c.kv_dim();
    kp.n_seq = fp.n_seq;
    kp.max_positions = fp.n_ctx;
    kp.block_size = 16;
    auto kv = KvCache::create(kp);
    ASSERT_TRUE(kv.ok()) << kv.error();
    const KvCacheStats ks = (*kv)->stats();
    const MemoryNeeds paged = estimate_memory(*facts, fp);
    EXPECT_EQ(paged.kv, static_cast<uint64_t>(ks.bytes_total) + static_cast<uint64_t>(ks.blocks_total) * 16 * sizeof(int32_t));
    // Quantised cache rows (--cache-type-k q8_0 --cache-type-v q4_0): the estimate follows the types.
    if (c.kv_dim() % 32 == 0) {
      KvCacheParams qp = kp;
      qp.k_type = kernels::KvType::kQ8_0;
      qp.v_type = kernels::KvType::kQ4_0;
      auto qkv = KvCache::create(qp);
      ASSERT_TRUE(qkv.ok()) << qkv.error();
      FitParams qf = fp;
      qf.k_type = qp.k_type;
      qf.v_type = qp.v_type;
      const KvCacheStats qs = (*qkv)->stats();
      EXPECT_EQ(estimate_memory(*facts, qf).kv,
                static_cast<uint64_t>(qs.bytes_total) + static_cast<uint64_t>(qs.blocks_total) * 16 * sizeof(int32_t));
      EXPECT_LT(qs.bytes_total, ks.bytes_total * 6 / 10);  // 34 + 18 bytes per 32 values against 128
    }

    // Dense KV (runtime::Session) and scratch of its Context after a step that wants logits for every sequence.
    model::ContextParams cp;
    cp.n_ctx = fp.n_ctx;
    cp.n_seq = fp.n_seq;
    cp.n_batch = fp.n_batch;
    cp.n_threads = fp.n_threads;
    auto ctx = Session::create(*m, cp);
    ASSERT_TRUE(ctx.ok()) << ctx.error();
    std::vector<model::BatchToken> b;
    for (int32_t s = 0; s < fp.n_seq; ++s) b.push_back({1, 0, s, true});
    ASSERT_TRUE((*ctx)->decode(b).is_ok());
    fp.paged = false;
    const MemoryNeeds dense = estimate_memory(*facts, fp);
    EXPECT_EQ(dense.kv, (*ctx)->kv_bytes());
    const uint64_t real = (*ctx)->context().scratch_bytes();
    EXPECT_GE(dense.compute, real);
    EXPECT_LE(dense.compute, real * 3 / 2 + (64 << 10)) << "estimate " << dense.compute << " real " << real;
    EXPECT_EQ(dense.weights, facts->weight_bytes);
  }
}

// A Hugging Face MoE directory (nuri gen --format safetensors), whose experts the
// loader stacks into owned copies (counted twice: mapped and copied).
TEST(MemoryFit, HuggingFaceDirectories) {
  NURI_REQUIRE_SHARED();
  const std::string vocab = test::shared_dir() + "/vocab/ggml-vocab-gpt-2.gguf";
  for (const char* spec : {"qwen3moe tiny-moe"}) {  // (dense directories take the same path minus the copies)
    SCOPED_TRACE(spec);
    std::string arch = spec, shape;
    shape = arch.substr(arch.find(' ') + 1);
    arch.resize(arch.find(' '));
    const std::string dir = ::testing::TempDir() + "/nuri_fit_" + arch + "_" + std::to_string(::getpid());
    ASSERT_EQ(test::run_cmd(test::nuri_binary() + " gen --arch " + arch + " --vocab " + test::shell_quote(vocab) + " --shape " +
                            shape + " --seed 3 --format safetensors -o " + test::shell_quote(dir) + " 2>/dev/null")
                  .exit_code,
              0);
    auto facts = read_model_facts(dir);
    ASSERT_TRUE(facts.ok()) << facts.error();
    auto m = model::Model::load(dir);
    ASSERT_TRUE(m.ok()) << m.error();
    EXPECT_EQ(facts->config.n_layer, (*m)->config().n_layer);
    EXPECT_EQ(facts->config.kv_dim(), (*m)->config().kv_dim());
    EXPECT_EQ(facts->config.n_vocab, (*m)->config().n_vocab);
    EXPECT_GE(facts->weight_bytes, (*m)->weight_bytes());
    EXPECT_GT(facts->file_bytes, 0u);
    if ((*m)->config().n_expert > 0) EXPECT_GT(facts->weight_bytes, facts->file_bytes);  // + the stacked expert copies
    else EXPECT_LE(facts->weight_bytes, facts->file_bytes);
    std::filesystem::remove_all(dir);
  }
}

TEST(MemoryFit, LargestFittingContext) {
  NURI_REQUIRE_SHARED();
  auto facts = read_model_facts(test::shared_dir() + "/models/tiny-mixtral-moe-8x-spm-Q4_K_M.gguf");
  ASSERT_TRUE(facts.ok()) << facts.error();
  FitParams fp;
  fp.n_ctx = 32768;
  fp.n_seq = 4;
  fp.n_threads = 2;
  const MemoryNeeds full = estimate_memory(*facts, fp);
  const uint64_t budget = full.weights + full.compute / 2 + full.kv / 3;  // room for about a third of the KV
  const int32_t best = largest_fitting_ctx(*facts, fp, budget);
  ASSERT_GT(best, 16);
  EXPECT_LT(best, fp.n_ctx);
  EXPECT_EQ(best % 16, 0);
  FitParams at = fp;
  at.n_ctx = best;
  EXPECT_LE(estimate_memory(*facts, at).total(), budget);
  at.n_ctx = best + 16;
  EXPECT_GT(estimate_memory(*facts, at).total(), budget);
  EXPECT_EQ(largest_fitting_ctx(*facts, fp, full.total()), fp.n_ctx);
  EXPECT_EQ(largest_fitting_ctx(*facts, fp, full.weights / 2), 0);
}

TEST(MemoryFit, ParseBytesAndAvailable) {
  EXPECT_EQ(*parse_bytes("123"), 123u);
  EXPECT_EQ(*parse_bytes("8G"), 8ull << 30);
  EXPECT_EQ(*parse_bytes("1.5GiB"), 3ull << 29);
  EXPECT_EQ(*parse_bytes("512 MiB"), 512ull << 20);
  EXPECT_FALSE(parse_bytes("lots").ok());
  EXPECT_FALSE(parse_bytes("5X").ok());
  EXPECT_FALSE(parse_bytes("-1G").ok());
  EXPECT_GT(available_memory(), 16ull << 20);
}

TEST(MemoryFit, RunRefusesAndCtxAutoShrinks) {
  NURI_REQUIRE_SHARED();
  const std::string m = test::shared_dir() + "/models/stories260K-F32.gguf";
  const std::string bin = test::nuri_binary();
  // A cap that holds weights + compute + half the KV of 512 positions (as `nuri run -t 1` allocates).
  auto facts = read_model_facts(m);
  ASSERT_TRUE(facts.ok()) << facts.error();
  FitParams fp;
  fp.n_ctx = 512;
  fp.n_threads = 1;
  fp.paged = false;
  const MemoryNeeds need = estimate_memory(*facts, fp);
  const std::string cap = std::to_string(need.total() - need.kv / 2);
  auto r = test::run_cmd(bin + " run -t 1 -m " + m + " -p 'Once upon a time' -n 8 --ctx 512 --max-memory " + cap + " 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("does not fit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("weights 1.1 MiB"), std::string::npos) << r.out;  // 1185344-byte file
  EXPECT_NE(r.out.find("largest context that fits is 256 positions"), std::string::npos) << r.out;
  auto ok = test::run_cmd(bin + " run -t 1 -m " + m + " -p 'Once upon a time' -n 8 --ctx auto --max-memory " + cap + " 2>&1");
  EXPECT_EQ(ok.exit_code, 0) << ok.out;
  EXPECT_NE(ok.out.find("Once upon a time"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("context reduced to"), std::string::npos) << ok.out;
}

TEST(MemoryFit, ServeRefusesAndCtxAutoShrinks) {
  NURI_REQUIRE_SHARED();
  const std::string m = test::shared_dir() + "/models/stories260K-F32.gguf";
  auto r = test::run_cmd(test::nuri_binary() + " serve -m " + m + " --port 0 -t 1 --ctx 512 --max-memory 2M 2>&1");
  EXPECT_EQ(r.exit_code, 1) << r.out;
  EXPECT_NE(r.out.find("does not fit in memory"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x 4 + compute"), std::string::npos) << r.out;  // 4 slots (--parallel default)
  // --ctx auto: starts with the context that fits (then SIGTERM from timeout ends it cleanly).
  auto facts = read_model_facts(m);
  ASSERT_TRUE(facts.ok());
  FitParams fp;
  fp.n_ctx = 512;
  fp.n_seq = 4;
  fp.n_threads = 1;
  const MemoryNeeds need = estimate_memory(*facts, fp);
  const std::string cap = std::to_string(need.total() - need.kv / 2);
  auto a = test::run_cmd("timeout 3 " + test::nuri_binary() + " serve -m " + m + " --port 0 -t 1 --ctx auto --max-memory " + cap + " 2>&1");
  EXPECT_NE(a.out.find("context reduced to"), std::string::npos) << a.out;
  EXPECT_NE(a.out.find("4 slots x 2"), std::string::npos) << a.out;  // about half of 512 positions
  EXPECT_NE(a.out.find("listening on"), std::string::npos) << a.out;
}

}  // namespace
}  // namespace nuri::runtime
