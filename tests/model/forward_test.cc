// Random-weight tiny models of every family: batched prefill equals token-by-token decoding,
// the fast path agrees with the f32 reference forward, and bad files fail with clear errors.
#include <gtest/gtest.h>

#include <cmath>

#include "model/context.h"
#include "model/gen.h"
#include "runtime/session.h"
#include "test_util.h"

namespace nuri::model {
namespace {

std::string gen_model(const std::string& arch, const std::string& shape, const std::string& dtype,
                      const std::string& vocab) {
  const std::string out = ::testing::TempDir() + "/nuri_" + arch + "_" + shape + "_" + dtype + ".gguf";
  auto v = io::GgufFile::open(test::shared_dir() + "/vocab/" + vocab);
  EXPECT_TRUE(v.ok()) << v.error();
  GenSpec spec;
  spec.arch = arch;
  spec.shape = shape;
  spec.dtype = dtype;
  spec.seed = 42;
  Status st = gen_gguf(spec, *v, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out;
}

struct Family {
  const char* arch;
  const char* shape;
  const char* vocab;
};
const Family kFamilies[] = {
    {"llama", "tiny", "ggml-vocab-llama-spm.gguf"},
    {"qwen2", "tiny", "ggml-vocab-qwen2.gguf"},
    {"qwen3", "tiny", "ggml-vocab-qwen2.gguf"},
    {"qwen3moe", "tiny-moe", "ggml-vocab-qwen2.gguf"},
    {"llama-moe", "tiny-moe", "ggml-vocab-llama-spm.gguf"},
};

std::vector<int32_t> some_tokens(int n, int32_t n_vocab) {
  std::vector<int32_t> t;
  for (int i = 0; i < n; ++i) t.push_back(static_cast<int32_t>((i * 7919 + 13) % n_vocab));
  return t;
}

TEST(Forward, BatchedPrefillEqualsTokenByToken) {
  NURI_REQUIRE_SHARED();
  for (const auto& f : kFamilies) {
    SCOPED_TRACE(f.arch);
    auto m = Model::load(gen_model(f.arch, f.shape, "f32", f.vocab));
    ASSERT_TRUE(m.ok()) << m.error();
    const int n = 12;
    auto toks = some_tokens(n, (*m)->config().n_vocab);
    ContextParams cp;
    cp.n_ctx = 64;
    cp.n_threads = 2;
    auto batched = runtime::Session::create(*m, cp);
    auto single = runtime::Session::create(*m, cp);
    ASSERT_TRUE(batched.ok() && single.ok());
    std::vector<BatchToken> all;
    for (int i = 0; i < n; ++i) all.push_back({toks[i], i, 0, true});
    ASSERT_TRUE((*batched)->decode(all).is_ok());
    const int V = (*m)->config().n_vocab;
    double max_diff = 0;
    for (int i = 0; i < n; ++i) {
      ASSERT_TRUE((*single)->decode({{toks[i], i, 0, true}}).is_ok());
      for (int v = 0; v < V; ++v)
        max_diff = std::max(max_diff, static_cast<double>(std::fabs((*single)->logits(0)[v] - (*batched)->logits(i)[v])));
    }
    EXPECT_LE(max_diff, 1e-4);
  }
}

TEST(Forward, FastPathAgreesWithReference) {
  NURI_REQUIRE_SHARED();
  for (const auto& f : kFamilies) {
    for (const char* dt : {"f32", "q8_0", "q4_k_m"}) {
      SCOPED_TRACE(std::string(f.arch) + " " + dt);
      auto m = Model::load(gen_model(f.arch, f.shape, dt, f.vocab));
      ASSERT_TRUE(m.ok()) << m.error();
      auto toks = some_tokens(8, (*m)->config().n_vocab);
      ContextParams cp;
      cp.n_ctx = 32;
      auto fast = runtime::Session::create(*m, cp);
      cp.reference = true;
      auto ref = runtime::Session::create(*m, cp);
      std::vector<BatchToken> b;
      for (int i = 0; i < 8; ++i) b.push_back({toks[i], i, 0, i == 7});
      ASSERT_TRUE((*fast)->decode(b).is_ok());
      ASSERT_TRUE((*ref)->decode(b).is_ok());
      double num = 0, den = 0;
      for (int v = 0; v < (*m)->config().n_vocab; ++v) {
        const double d = (*fast)->logits(0)[v] - (*ref)->logits(0)[v];
        num += d * d;
        den += static_cast<double>((*ref)->logits(0)[v]) * (*ref)->logits(0)[v];
      }
      EXPECT_LT(num / den, 1e-3) << "NMSE";  // activation rounding to 8 bits costs ~1e-4
    }
  }
}

TEST(Forward, MultipleSequencesInOneBatch) {
  NURI_REQUIRE_SHARED();
  auto m = Model::load(gen_model("qwen2", "tiny", "f32", "ggml-vocab-qwen2.gguf"));
  ASSERT_TRUE(m.ok());
  ContextParams cp;
  cp.n_ctx = 32;
  cp.n_seq = 2;
  auto ctx = runtime::Session::create(*m, cp);
  auto a = some_tokens(5, 1000), b = some_tokens(7, 2000);
  // Interleaved: both sequences in each batch.
  std::vector<BatchToken> batch;
  for (int i = 0; i < 5; ++i) batch.push_back({a[i], i, 0, i == 4});
  for (int i = 0; i < 7; ++i) batch.push_back({b[i], i, 1, i == 6});
  ASSERT_TRUE((*ctx)->decode(batch).is_ok());
  auto solo = runtime::Session::create(*m, cp);
  std::vector<BatchToken> sb;
  for (int i = 0; i < 7; ++i) sb.push_back({b[i], i, 0, i == 6});
  ASSERT_TRUE((*solo)->decode(sb).is_ok());
  for (int v = 0; v < 100; ++v) EXPECT_NEAR((*ctx)->logits(1)[v], (*solo)->logits(0)[v], 1e-4);
  // Copying a sequence's cache then continuing gives the same logits as the original.
  (*ctx)->seq_copy(0, 1);
  ASSERT_TRUE((*ctx)->decode({{42, 5, 0, true}, {42, 5, 1, true}}).is_ok());
  for (int v = 0; v < 100; ++v) EXPECT_EQ((*ctx)->logits(0)[v], (*ctx)->logits(1)[v]);
  // Positions must continue the sequence.
  EXPECT_FALSE((*ctx)->decode({{1, 9, 0, true}}).is_ok());
}

// nuri bench --profile's timing backend (kernels/profile.h) changes no result, and counts the ops
// one forward of a dense llama makes: per layer one fused q/k/v, one output, one fused gate/up
// and one down product, one attention and two norms; then the final norm and the output product.
TEST(Forward, ProfiledBackendCountsOpsAndChangesNothing) {
  NURI_REQUIRE_SHARED();
  auto m = Model::load(gen_model("llama", "tiny", "q8_0", "ggml-vocab-llama-spm.gguf"));
  ASSERT_TRUE(m.ok()) << m.error();
  const int32_t L = (*m)->config().n_layer;
  ContextParams cp;
  cp.n_ctx = 32;
  cp.n_threads = 2;
  auto plain = runtime::Session::create(*m, cp);
  kernels::OpProfile prof;
  cp.profile = &prof;
  auto timed = runtime::Session::create(*m, cp);
  ASSERT_TRUE(plain.ok() && timed.ok());
  auto toks = some_tokens(9, (*m)->config().n_vocab);
  std::vector<BatchToken> batch;
  for (int i = 0; i < 9; ++i) batch.push_back({toks[i], i, 0, i == 8});
  ASSERT_TRUE((*plain)->decode(batch).is_ok());
  ASSERT_TRUE((*timed)->decode(batch).is_ok());
  for (int32_t v = 0; v < (*m)->config().n_vocab; ++v) ASSERT_EQ((*plain)->logits(0)[v], (*timed)->logits(0)[v]) << v;
  auto calls = [&](kernels::Op o) { return prof.ops[static_cast<int>(o)].calls; };
  EXPECT_EQ(calls(kernels::Op::kMatmul), 4 * L + 1);
  EXPECT_EQ(calls(kernels::Op::kAttention), L);
  EXPECT_EQ(calls(kernels::Op::kRmsnorm), 2 * L + 1);
  EXPECT_EQ(calls(kernels::Op::kGetRows), 1);
  EXPECT_GT(prof.ops[static_cast<int>(kernels::Op::kMatmul)].seconds, 0.0);
  for (const auto& e : prof.ops) EXPECT_LE(e.sync_seconds, e.seconds + 1e-9);
}

// The same random weights as a GGUF file, as a Hugging Face directory, and converted back from
// that directory: all three compute the same logits (llama q/k rows are permuted both ways).
TEST(Forward, HuggingFaceDirectoryAndConvertMatchGguf) {
  NURI_REQUIRE_SHARED();
  for (const auto& f : kFamilies) {
    SCOPED_TRACE(f.arch);
    auto vocab = io::GgufFile::open(test::shared_dir() + "/vocab/" + f.vocab);
    ASSERT_TRUE(vocab.ok());
    GenSpec spec;
    spec.arch = f.arch;
    spec.shape = f.shape;
    spec.dtype = "f32";
    spec.seed = 42;
    const std::string dir = ::testing::TempDir() + "/nuri_hf_" + f.arch;
    ASSERT_TRUE(gen_hf(spec, *vocab, dir).is_ok());
    std::vector<std::pair<std::string, io::GgufValue>> kv;
    for (const auto& [k, v] : vocab->metadata())
      if (k.rfind("tokenizer.", 0) == 0) kv.emplace_back(k, v);
    const std::string conv = ::testing::TempDir() + "/nuri_conv_" + f.arch + ".gguf";
    Status cs = convert_hf_to_gguf(dir, "f32", kv, conv);
    ASSERT_TRUE(cs.is_ok()) << cs.message();
    std::vector<std::shared_ptr<Model>> models;
    for (const std::string& p : {gen_model(f.arch, f.shape, "f32", f.vocab), dir, conv}) {
      auto m = Model::load(p);
      ASSERT_TRUE(m.ok()) << p << ": " << m.error();
      models.push_back(*m);
    }
    auto toks = some_tokens(6, models[0]->config().n_vocab);
    std::vector<std::vector<float>> logits;
    for (auto& m : models) {
      ContextParams cp;
      cp.n_ctx = 16;
      auto ctx = runtime::Session::create(m, cp);
      std::vector<BatchToken> b;
      for (int i = 0; i < 6; ++i) b.push_back({toks[i], i, 0, i == 5});
      ASSERT_TRUE((*ctx)->decode(b).is_ok());
      logits.emplace_back((*ctx)->logits(0), (*ctx)->logits(0) + m->config().n_vocab);
    }
    for (size_t v = 0; v < logits[0].size(); ++v) {
      ASSERT_NEAR(logits[1][v], logits[0][v], 1e-4) << "HF dir, vocab id " << v;
      ASSERT_NEAR(logits[2][v], logits[0][v], 1e-4) << "converted, vocab id " << v;
    }
  }
}

TEST(Forward, UnsupportedArchAndMissingTensor) {
  NURI_REQUIRE_SHARED();
  auto path = gen_model("llama", "tiny", "f32", "ggml-vocab-llama-spm.gguf");
  auto f = io::GgufFile::open(path);
  ASSERT_TRUE(f.ok());
  // Rewrite with another architecture name, and without one tensor.
  for (int variant = 0; variant < 2; ++variant) {
    io::GgufWriter w;
    for (const auto& [k, v] : f->metadata()) {
      if (variant == 0 && k == "general.architecture") w.set(k, io::GgufValue::str("mamba9"));
      else w.set(k, v);
    }
    for (const auto& t : f->tensors()) {
      if (variant == 1 && t.name == "blk.1.ffn_up.weight") continue;
      ASSERT_TRUE(w.add_tensor(t.name, t.dtype, t.shape(), t.data, t.n_bytes).is_ok());
    }
    const std::string out = ::testing::TempDir() + "/nuri_bad_" + std::to_string(variant) + ".gguf";
    ASSERT_TRUE(w.write(out).is_ok());
    auto m = Model::load(out);
    ASSERT_FALSE(m.ok());
    if (variant == 0) EXPECT_NE(m.error().find("unsupported architecture 'mamba9'"), std::string::npos) << m.error();
    else EXPECT_NE(m.error().find("missing tensor 'blk.1.ffn_up.weight'"), std::string::npos) << m.error();
  }
}

}  // namespace
}  // namespace nuri::model
