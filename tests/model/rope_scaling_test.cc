// RoPE scaling: the cos/sin tables of every scaling type against an independent float64
// computation (tests/model/rope_reference.py, numpy), the Llama 3 factors against the HF formula,
// GGUF and config.json reading (and refusing what is out of bounds), the context's choice of
// LongRoPE factors, and the forward pass: the reference backend and the HF directory give the
// same logits as the fast path / the GGUF on scaled models at positions past the original context.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "kernels/backend.h"
#include "model/context.h"
#include "model/gen.h"
#include "model/rope_scaling.h"
#include "runtime/session.h"
#include "test_util.h"

namespace nuri::model {
namespace {

using nlohmann::json;

// Runs rope_reference.py on the cases; the parsed JSON answer.
json python_reference(const json& cases) {
  const std::string in = ::testing::TempDir() + "/nuri_rope_cases.json";
  std::ofstream(in) << cases.dump();
  test::CmdResult r = test::run_cmd("/usr/bin/python3 " + test::shell_quote(std::string(NURI_SOURCE_DIR) +
                                    "/tests/model/rope_reference.py") + " < " + test::shell_quote(in));
  EXPECT_EQ(r.exit_code, 0) << r.out;
  return json::parse(r.out, nullptr, false);
}

ModelConfig base_config(int n_rot, int head_dim, float theta) {
  ModelConfig c;
  c.n_embd = 64;
  c.n_layer = 1;
  c.n_head = 4;
  c.n_head_kv = 4;
  c.head_dim = head_dim;
  c.n_ff = 64;
  c.n_ctx_train = 512;
  c.n_rot = n_rot;
  c.rope_theta = theta;
  return c;
}

struct TableCase {
  const char* name;
  ModelConfig c;
  json desc;  // the same scaling for rope_reference.py
};

std::vector<TableCase> table_cases() {
  std::vector<TableCase> v;
  auto add = [&](const char* name, ModelConfig c) {
    const RopeScaling& r = c.rope_scaling;
    json d = {{"n_rot", c.n_rot}, {"base", c.rope_theta}, {"type", rope_scaling_name(r.type)},
              {"factor", 1.0 / r.freq_scale}, {"n_ctx_orig", r.n_ctx_orig}, {"attn_factor", r.attn_factor},
              {"beta_fast", r.yarn_beta_fast}, {"beta_slow", r.yarn_beta_slow}, {"log_mul", r.yarn_log_mul}};
    d["freq_factors"] = r.freq_factors.empty() ? json(nullptr) : json(r.freq_factors);
    v.push_back({name, c, d});
  };
  add("none", base_config(16, 16, 10000.f));
  ModelConfig c = base_config(16, 16, 10000.f);
  c.rope_scaling.type = RopeScalingType::kNone;  // a factor under type none is ignored (llama.cpp)
  c.rope_scaling.freq_scale = 0.25f;
  add("none-with-factor", c);
  c = base_config(16, 16, 10000.f);
  c.rope_scaling.type = RopeScalingType::kLinear;
  c.rope_scaling.freq_scale = 0.25f;
  add("linear", c);
  c.rope_scaling.attn_factor = 0.7f;
  add("linear-attn", c);
  for (int orig : {32, 256}) {
    c = base_config(16, 16, 10000.f);
    c.rope_scaling.type = RopeScalingType::kYarn;
    c.rope_scaling.freq_scale = 0.25f;
    c.rope_scaling.n_ctx_orig = orig;
    add(orig == 32 ? "yarn-32" : "yarn-256", c);
  }
  c = base_config(64, 128, 1000000.f);  // partial rotary, wide head, big base
  c.rope_scaling.type = RopeScalingType::kYarn;
  c.rope_scaling.freq_scale = 1.f / 40;
  c.rope_scaling.n_ctx_orig = 4096;
  c.rope_scaling.yarn_beta_fast = 16.f;
  c.rope_scaling.yarn_beta_slow = 2.f;
  c.rope_scaling.attn_factor = 1.3f;
  add("yarn-partial-betas", c);
  c.rope_scaling.yarn_log_mul = 0.707f;
  add("yarn-log-mul", c);
  c = base_config(32, 32, 500000.f);
  c.rope_scaling.n_ctx_orig = 64;
  c.rope_scaling.freq_factors = llama3_freq_factors(32, 500000.f, 8.f, 1.f, 4.f, 64);
  add("llama3", c);
  c = base_config(16, 16, 10000.f);
  c.rope_scaling.type = RopeScalingType::kLongRope;
  c.rope_scaling.n_ctx_orig = 32;
  c.rope_scaling.attn_factor = longrope_attn_factor(4.f, 32);
  for (int i = 0; i < 8; ++i) c.rope_scaling.freq_factors.push_back(1.f + 0.5f * i);  // as the long factors
  add("longrope-factors", c);
  return v;
}

TEST(RopeScaling, TablesMatchIndependentFloat64Computation) {
  const std::vector<int32_t> positions = {0, 1, 7, 31, 32, 33, 100, 200};
  auto cases = table_cases();
  json in = json::array();
  for (auto& tc : cases) {
    tc.desc["positions"] = positions;
    in.push_back(tc.desc);
  }
  json want = python_reference(in);
  ASSERT_TRUE(want.is_array() && want.size() == cases.size());
  for (size_t k = 0; k < cases.size(); ++k) {
    SCOPED_TRACE(cases[k].name);
    const ModelConfig& c = cases[k].c;
    ASSERT_TRUE(validate_config(c, cases[k].name).is_ok());
    const kernels::RopeParams rp = rope_params(c, 4096);
    std::vector<float> cs(c.n_rot);
    for (size_t pi = 0; pi < positions.size(); ++pi) {
      kernels::rope_table(rp, positions[pi], cs.data());
      // float32 recurrence of the frequencies: the angle's error grows with pos and the pair index.
      const double tol = 2e-6 + 2e-7 * positions[pi] * c.n_rot;
      for (int i = 0; i < c.n_rot; ++i)
        ASSERT_NEAR(cs[i], want[k][pi][i].get<double>(), tol) << "pos " << positions[pi] << " dim " << i;
    }
  }
}

TEST(RopeScaling, Llama3FactorsMatchHfFormula) {
  json in = json::array();
  struct P { int n_rot; float base, factor, low, high; int orig; };
  const P ps[] = {{128, 500000.f, 8.f, 1.f, 4.f, 8192}, {64, 500000.f, 32.f, 1.f, 4.f, 8192}, {16, 10000.f, 8.f, 1.f, 4.f, 32},
                  {32, 10000.f, 4.f, 2.f, 8.f, 64}};
  for (const auto& p : ps)
    in.push_back({{"llama3", {{"n_rot", p.n_rot}, {"base", p.base}, {"factor", p.factor}, {"low", p.low},
                              {"high", p.high}, {"n_ctx_orig", p.orig}}}});
  json want = python_reference(in);
  ASSERT_TRUE(want.is_array());
  int n_mid = 0;  // pairs in the smooth band: the formula's interesting part is exercised
  for (size_t k = 0; k < std::size(ps); ++k) {
    auto got = llama3_freq_factors(ps[k].n_rot, ps[k].base, ps[k].factor, ps[k].low, ps[k].high, ps[k].orig);
    ASSERT_EQ(got.size(), want[k].size());
    for (size_t i = 0; i < got.size(); ++i) {
      const double w = want[k][i].get<double>();
      EXPECT_NEAR(got[i], w, 1e-5 * w) << k << " pair " << i;
      n_mid += w > 1.0001 && w < ps[k].factor - 1e-4;
    }
  }
  EXPECT_GE(n_mid, 3);
}

TEST(RopeScaling, ContextParameters) {
  ModelConfig c = base_config(16, 16, 10000.f);
  c.rope_scaling.type = RopeScalingType::kLongRope;
  c.rope_scaling.n_ctx_orig = 32;
  c.rope_scaling.long_factors.assign(8, 3.f);
  c.rope_scaling.short_factors.assign(8, 1.5f);
  EXPECT_EQ(rope_params(c, 32).freq_factors, c.rope_scaling.short_factors.data());  // n_ctx <= n_ctx_orig
  EXPECT_EQ(rope_params(c, 33).freq_factors, c.rope_scaling.long_factors.data());
  EXPECT_EQ(rope_params(c, 33).ext_factor, 0.f);
  c.rope_scaling.freq_factors.assign(8, 2.f);  // rope_freqs wins over long/short (llama.cpp)
  EXPECT_EQ(rope_params(c, 33).freq_factors, c.rope_scaling.freq_factors.data());
  ModelConfig y = base_config(16, 16, 10000.f);
  y.rope_scaling.type = RopeScalingType::kYarn;
  y.rope_scaling.freq_scale = 0.25f;
  y.rope_scaling.n_ctx_orig = 32;
  kernels::RopeParams p = rope_params(y, 128);
  EXPECT_EQ(p.ext_factor, 1.f);
  EXPECT_EQ(p.corr_dims[0], 0.f);  // n_rot 16, n_ctx_orig 32: floor(-1.6) -> 0, ceil(1.41) = 2
  EXPECT_EQ(p.corr_dims[1], 2.f);
  EXPECT_NEAR(p.attn_factor * (1 + 0.1 * std::log(4.0)), 1 + 0.1 * std::log(4.0), 1e-6);
  y.rope_scaling.yarn_ext_factor = 0.f;  // an explicit 0 turns YaRN into plain interpolation
  EXPECT_EQ(rope_params(y, 128).ext_factor, 0.f);
}

// A GGUF with the given rope metadata (+ factor tensors) on a generated tiny model.
std::string tiny_gguf(const std::string& tag, const GenSpec& spec_in) {
  auto v = io::GgufFile::open(test::shared_dir() + "/vocab/ggml-vocab-llama-spm.gguf");
  EXPECT_TRUE(v.ok());
  GenSpec spec = spec_in;
  spec.shape = "tiny";
  spec.seed = 5;
  const std::string out = ::testing::TempDir() + "/nuri_rope_" + tag + ".gguf";
  Status st = gen_gguf(spec, *v, out);
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out;
}

// general.file_type is llama.cpp's llama_ftype (what llama-bench prints as the model's type), not
// the ggml type id: Q8_0 is 7 there (ggml's Q8_0 is 8, its "Q5_0" ftype), Q4_0 2, F16 1.
TEST(GenGguf, FileTypeIsLlamaFtype) {
  for (auto [dtype, want] : {std::pair{"q8_0", 7u}, std::pair{"q4_0", 2u}, std::pair{"f16", 1u}, std::pair{"q5_0", 8u}}) {
    GenSpec spec;
    spec.dtype = dtype;
    auto f = io::GgufFile::open(tiny_gguf(std::string("ftype_") + dtype, spec));
    ASSERT_TRUE(f.ok()) << f.error();
    EXPECT_EQ(f->get_uint("general.file_type").value_or(999), want) << dtype;
  }
}

std::string rewrite(const std::string& src, const std::string& key, const io::GgufValue& value, const std::string& tag) {
  auto f = io::GgufFile::open(src);
  EXPECT_TRUE(f.ok());
  io::GgufWriter w;
  for (const auto& [k, val] : f->metadata()) w.set(k, val);
  if (!key.empty()) w.set(key, value);
  for (const auto& t : f->tensors()) EXPECT_TRUE(w.add_tensor(t.name, t.dtype, t.shape(), t.data, t.n_bytes).is_ok());
  const std::string out = ::testing::TempDir() + "/nuri_rope_" + tag + ".gguf";
  EXPECT_TRUE(w.write(out).is_ok());
  return out;
}

TEST(RopeScaling, GgufKeysAndTensorsRoundTrip) {
  NURI_REQUIRE_SHARED();
  GenSpec s;
  s.rope_scaling = "yarn";
  s.rope_factor = 8.f;
  s.rope_orig_ctx = 64;
  s.rope_attn_factor = 0.9f;
  auto m = Model::load(tiny_gguf("yarn", s));
  ASSERT_TRUE(m.ok()) << m.error();
  const RopeScaling& r = (*m)->config().rope_scaling;
  EXPECT_EQ(r.type, RopeScalingType::kYarn);
  EXPECT_EQ(r.freq_scale, 1.f / 8.f);
  EXPECT_EQ(r.n_ctx_orig, 64);
  EXPECT_EQ(r.attn_factor, 0.9f);
  EXPECT_EQ(r.yarn_beta_fast, 32.f);

  s = GenSpec();
  s.rope_scaling = "llama3";
  s.rope_factor = 8.f;
  m = Model::load(tiny_gguf("llama3", s));
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ((*m)->config().rope_scaling.type, RopeScalingType::kNone);
  EXPECT_EQ((*m)->config().rope_scaling.freq_factors, llama3_freq_factors(16, 10000.f, 8.f, 1.f, 4.f, 32));

  s.rope_scaling = "longrope";
  const std::string lr = tiny_gguf("longrope", s);
  m = Model::load(lr);
  ASSERT_TRUE(m.ok()) << m.error();
  const RopeScaling& l = (*m)->config().rope_scaling;
  EXPECT_EQ(l.type, RopeScalingType::kLongRope);
  ASSERT_EQ(l.long_factors.size(), 8u);
  EXPECT_EQ(l.long_factors.back(), 8.f);
  EXPECT_FLOAT_EQ(l.attn_factor, std::sqrt(1 + std::log(8.f) / std::log(32.f)));

  // The old key: rope.scale_linear without a type is linear scaling (llama.cpp).
  auto old = Model::load(rewrite(tiny_gguf("plain", GenSpec()), "llama.rope.scale_linear", io::GgufValue::f32(2.f), "old"));
  ASSERT_TRUE(old.ok()) << old.error();
  EXPECT_EQ((*old)->config().rope_scaling.type, RopeScalingType::kLinear);
  EXPECT_EQ((*old)->config().rope_scaling.freq_scale, 0.5f);
}

void expect_refused(const std::string& path, const std::string& needle) {
  auto m = Model::load(path);
  ASSERT_FALSE(m.ok()) << path << " loaded";
  EXPECT_NE(m.error().find(needle), std::string::npos) << m.error();
}

TEST(RopeScaling, GgufRefusesBadValues) {
  NURI_REQUIRE_SHARED();
  const std::string plain = tiny_gguf("plain2", GenSpec());
  expect_refused(rewrite(plain, "llama.rope.scaling.type", io::GgufValue::str("ntk"), "ntk"), "rope.scaling.type 'ntk'");
  expect_refused(rewrite(plain, "llama.rope.scaling.factor", io::GgufValue::f32(1e9f), "f1e9"), "rope scaling factor");
  expect_refused(rewrite(plain, "llama.rope.scaling.factor", io::GgufValue::f32(NAN), "fnan"), "rope scaling factor");
  expect_refused(rewrite(plain, "llama.rope.scaling.attn_factor", io::GgufValue::f32(-1.f), "attn"), "attn_factor");
  expect_refused(rewrite(plain, "llama.rope.scaling.original_context_length", io::GgufValue::u64(uint64_t{1} << 40), "orig"),
                 "original context");
  GenSpec s;
  s.rope_scaling = "llama3";
  const std::string l3 = tiny_gguf("llama3b", s);
  // rope_freqs of the wrong length (n_rot / 2 = 8 expected).
  auto f = io::GgufFile::open(l3);
  ASSERT_TRUE(f.ok());
  io::GgufWriter w;
  for (const auto& [k, v] : f->metadata()) w.set(k, v);
  for (const auto& t : f->tensors())
    if (t.name != "rope_freqs.weight") {
      ASSERT_TRUE(w.add_tensor(t.name, t.dtype, t.shape(), t.data, t.n_bytes).is_ok());
    }
  const float seven[7] = {1, 1, 1, 1, 1, 1, 1};
  ASSERT_TRUE(w.add_tensor("rope_freqs.weight", DType::kF32, {7}, seven, sizeof seven).is_ok());
  const float zero[8] = {1, 1, 1, 0, 1, 1, 1, 1};
  const std::string bad7 = ::testing::TempDir() + "/nuri_rope_bad7.gguf";
  ASSERT_TRUE(w.write(bad7).is_ok());
  expect_refused(bad7, "rope_freqs.weight");
  io::GgufWriter w3;
  for (const auto& [k, v] : f->metadata()) w3.set(k, v);
  for (const auto& t : f->tensors())
    if (t.name != "rope_freqs.weight") {
      ASSERT_TRUE(w3.add_tensor(t.name, t.dtype, t.shape(), t.data, t.n_bytes).is_ok());
    }
  ASSERT_TRUE(w3.add_tensor("rope_freqs.weight", DType::kF32, {8}, zero, sizeof zero).is_ok());
  const std::string bad0 = ::testing::TempDir() + "/nuri_rope_bad0.gguf";
  ASSERT_TRUE(w3.write(bad0).is_ok());
  expect_refused(bad0, "rope_freqs holds 0");
}

Result<ModelConfig> hf(const std::string& extra) {
  json j = json::parse(R"({"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 1, "num_attention_heads": 4,
    "num_key_value_heads": 2, "head_dim": 16, "intermediate_size": 128, "vocab_size": 100,
    "max_position_embeddings": 512, "rope_theta": 10000.0)" + extra + "}");
  return config_from_hf(j, "config.json");
}

TEST(RopeScaling, HfConfig) {
  auto c = hf(R"(, "rope_scaling": {"rope_type": "linear", "factor": 2.0})");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kLinear);
  EXPECT_EQ(c->rope_scaling.freq_scale, 0.5f);
  c = hf(R"(, "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128, "beta_fast": 16})");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kYarn);
  EXPECT_EQ(c->rope_scaling.n_ctx_orig, 128);
  EXPECT_EQ(c->rope_scaling.yarn_beta_fast, 16.f);
  EXPECT_EQ(c->rope_scaling.attn_factor, 1.f);
  // HF attention_factor is the whole scale of cos/sin: 1.5 after YaRN's own 0.1 ln 4 + 1.
  c = hf(R"(, "rope_scaling": {"type": "yarn", "factor": 4.0, "original_max_position_embeddings": 128, "attention_factor": 1.5})");
  ASSERT_TRUE(c.ok()) << c.error();
  kernels::RopeParams p = rope_params(*c, 512);
  EXPECT_NEAR(p.attn_factor * (1 + 0.1 * std::log(4.0)), 1.5, 1e-6);
  c = hf(R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
           "original_max_position_embeddings": 32})");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->rope_scaling.freq_factors, llama3_freq_factors(16, 10000.f, 8.f, 1.f, 4.f, 32));
  std::string lf = "[1,1,1,1,2,3,4,5]", sf = "[1,1,1,1,1,1,1.1,1.2]";
  c = hf(R"(, "rope_scaling": {"type": "longrope", "long_factor": )" + lf + R"(, "short_factor": )" + sf +
         R"(}, "original_max_position_embeddings": 64)");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kLongRope);
  EXPECT_EQ(c->rope_scaling.n_ctx_orig, 64);
  EXPECT_EQ(c->rope_scaling.long_factors[7], 5.f);
  EXPECT_FLOAT_EQ(c->rope_scaling.attn_factor, std::sqrt(1 + std::log(512.f / 64) / std::log(64.f)));  // factor 512 / 64
  c = hf(R"(, "partial_rotary_factor": 0.5, "rope_parameters": {"rope_type": "default", "rope_theta": 5000.0})");
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->n_rot, 8);
  EXPECT_EQ(c->rope_theta, 5000.f);
  EXPECT_EQ(c->rope_scaling.type, RopeScalingType::kNone);
  c = hf(R"(, "rope_scaling": null)");
  ASSERT_TRUE(c.ok()) << c.error();
  // Refused with the key named.
  for (const auto& [extra, needle] : std::vector<std::pair<std::string, std::string>>{
           {R"(, "rope_scaling": {"type": "ntk-by-parts", "factor": 2})", "type 'ntk-by-parts'"},
           {R"(, "rope_scaling": {"type": "linear", "factor": "2"})", "rope_scaling.factor must be a number"},
           {R"(, "rope_scaling": {"type": "linear", "factor": 0})", "rope_scaling.factor"},
           {R"(, "rope_scaling": {"type": "longrope", "long_factor": [1, 2], "short_factor": [1, 2]})", "long_factor"},
           {R"(, "rope_scaling": {"type": "longrope", "long_factor": [1,1,1,1,1,1,1,0], "short_factor": [1,1,1,1,1,1,1,1]})",
            "rope_factors_long holds 0"},
           {R"(, "rope_scaling": [1])", "rope_scaling must be an object"},
           {R"(, "partial_rotary_factor": 0.35)", "partial_rotary_factor gives 5"},
           {R"(, "partial_rotary_factor": 0.1)", "partial_rotary_factor gives 1"},
       }) {
    c = hf(extra);
    ASSERT_FALSE(c.ok()) << extra;
    EXPECT_NE(c.error().find(needle), std::string::npos) << c.error();
  }
}

// Logits of tokens at positions 0..n-1 (prefill), the last `check` of them compared.
std::vector<float> logits_at(const std::shared_ptr<Model>& m, bool reference, int n) {
  ContextParams cp;
  cp.n_ctx = 128;
  cp.n_threads = 2;
  cp.reference = reference;
  auto s = runtime::Session::create(m, cp);
  EXPECT_TRUE(s.ok());
  std::vector<BatchToken> b;
  for (int i = 0; i < n; ++i) b.push_back({static_cast<int32_t>((i * 7919 + 13) % m->config().n_vocab), i, 0, i >= n - 4});
  EXPECT_TRUE((*s)->decode(b).is_ok());
  std::vector<float> out;
  for (int i = 0; i < 4; ++i) out.insert(out.end(), (*s)->logits(i), (*s)->logits(i) + m->config().n_vocab);
  return out;
}

double nmse(const std::vector<float>& a, const std::vector<float>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += (a[i] - b[i]) * double(a[i] - b[i]);
    den += double(b[i]) * b[i];
  }
  return num / std::max(den, 1e-30);
}

TEST(RopeScaling, ReferenceBackendAndHfDirectoryAgreePastOriginalContext) {
  NURI_REQUIRE_SHARED();
  auto v = io::GgufFile::open(test::shared_dir() + "/vocab/ggml-vocab-gpt-2.gguf");
  ASSERT_TRUE(v.ok());
  struct Case { const char* arch; const char* type; int dims; };
  const Case cases[] = {{"llama", "linear", 0}, {"llama", "yarn", 0}, {"llama", "llama3", 0}, {"llama", "longrope", 0},
                        {"qwen2", "yarn", 8}};
  const int n = 100;  // positions 96..99 checked, n_ctx_orig 32
  for (const auto& k : cases) {
    SCOPED_TRACE(std::string(k.arch) + " " + k.type);
    GenSpec s;
    s.arch = k.arch;
    s.seed = 9;
    s.rope_scaling = k.type;
    s.rope_factor = 4.f;
    s.rope_orig_ctx = 32;
    s.rope_dims = k.dims;
    s.rope_attn_factor = std::string(k.type) == "yarn" ? 0.9f : 0.f;
    const std::string g = ::testing::TempDir() + "/nuri_rope_fw_" + k.arch + k.type + ".gguf";
    const std::string h = ::testing::TempDir() + "/nuri_rope_fw_" + k.arch + k.type + "_hf";
    ASSERT_TRUE(gen_gguf(s, *v, g).is_ok());
    ASSERT_TRUE(gen_hf(s, *v, h).is_ok());
    auto mg = Model::load(g), mh = Model::load(h);
    ASSERT_TRUE(mg.ok()) << mg.error();
    ASSERT_TRUE(mh.ok()) << mh.error();
    const auto fast = logits_at(*mg, false, n), ref = logits_at(*mg, true, n), dir = logits_at(*mh, false, n);
    // The reference keeps f32 activations and an exact softmax: ~1e-7 apart on these shapes.
    EXPECT_LT(nmse(fast, ref), 1e-6);
    EXPECT_LT(nmse(dir, fast), 1e-8);
    // The scaling matters at these positions: unscaled RoPE gives other logits.
    GenSpec plain = s;
    plain.rope_scaling = "none";
    const std::string p = ::testing::TempDir() + "/nuri_rope_fw_plain.gguf";
    ASSERT_TRUE(gen_gguf(plain, *v, p).is_ok());
    auto mp = Model::load(p);
    ASSERT_TRUE(mp.ok());
    const double off = nmse(logits_at(*mp, false, n), fast);
    // (Random tiny models: attention moves the logits little, so the margin is relative.)
    EXPECT_GT(off, 30 * nmse(fast, ref));
    std::printf("%s %s: fast vs reference %.2g, HF dir vs GGUF %.2g, unscaled vs scaled %.2g\n", k.arch, k.type,
                nmse(fast, ref), nmse(dir, fast), off);
  }
}

}  // namespace
}  // namespace nuri::model
