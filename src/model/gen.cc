// Random-weight model generation (nuri gen).
#include "model/gen.h"
#include "model/gen_plan.h"
#include "model/rope_scaling.h"

#include <cmath>
#include <cstring>

#include "base/thread_pool.h"
#include "kernels/ref/quant.h"

namespace nuri::model {
namespace {

using Shape = GenShape;
const Shape kShapes[] = {
    {"tiny", 64, 2, 4, 2, 16, 128, 0, 0, 0, 512, 10000.f, false},
    {"tiny-moe", 64, 2, 4, 2, 16, 128, 4, 2, 64, 512, 10000.f, false},
    {"qwen2.5-0.5b", 896, 24, 14, 2, 64, 4864, 0, 0, 0, 32768, 1000000.f, true},
    {"llama3.2-1b", 2048, 16, 32, 8, 64, 8192, 0, 0, 0, 131072, 500000.f, true},
    {"qwen3-0.6b", 1024, 28, 16, 8, 128, 3072, 0, 0, 0, 40960, 1000000.f, true},
    {"qwen3moe-tiny", 256, 2, 4, 2, 64, 512, 8, 2, 256, 2048, 10000.f, false},
};

uint64_t splitmix64(uint64_t& s) {
  uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t hash_name(const std::string& s, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Uniform values with the given standard deviation, deterministic per (seed, tensor name).
void fill_random(std::vector<float>& v, const std::string& name, uint64_t seed, float stddev, float mean = 0.f) {
  uint64_t s = hash_name(name, seed);
  const float a = stddev * std::sqrt(3.0f);
  for (auto& x : v) {
    const double u = (splitmix64(s) >> 11) * (1.0 / 9007199254740992.0);
    x = mean + static_cast<float>((2.0 * u - 1.0) * a);
  }
}

// llama.cpp's fallback when a row does not fit a K-quant super-block.
DType fit(DType t, uint64_t row) {
  if (row % dtype_info(t).block_size == 0) return t;
  switch (t) {
    case DType::kQ4_K: return row % 32 == 0 ? DType::kQ5_0 : DType::kF16;
    case DType::kQ5_K: return row % 32 == 0 ? DType::kQ5_1 : DType::kF16;
    case DType::kQ6_K: return row % 32 == 0 ? DType::kQ8_0 : DType::kF16;
    default: return row % 32 == 0 ? DType::kQ8_0 : DType::kF16;
  }
}

}  // namespace

std::vector<std::string> gen_shapes() {
  std::vector<std::string> v;
  for (const auto& s : kShapes) v.push_back(s.name);
  return v;
}

namespace {

// Rotary dims and RoPE scaling of the plan, from the --rope-* options. rope_freqs / rope_factors
// tensors are read by llama.cpp for arch llama only, so only llama gets them. (llama.cpp 3.22.1
// loads partial rotary dims for none of nuri's architectures; nuri reads them.)
Status plan_rope(const GenSpec& spec, GenPlan* g) {
  const GenShape* sh = g->sh;
  g->n_rot = spec.rope_dims > 0 ? spec.rope_dims : sh->head_dim;
  if (g->n_rot < 2 || g->n_rot > sh->head_dim || g->n_rot % 2)
    return Error("--rope-dims must be even and in 2.." + std::to_string(sh->head_dim) + " (head_dim)");
  if (g->arch == "llama" && g->n_rot != sh->head_dim)
    return Error("--rope-dims: partial rotary is written for qwen2/qwen3 (NeoX pairs) only; llama keeps n_rot == head_dim");
  const std::string& t = spec.rope_scaling;
  if (t == "none") return Status::ok();
  if (!(spec.rope_factor >= 1.f / 1024 && spec.rope_factor <= 65536.f)) return Error("--rope-factor must be in 1/1024..65536");
  if (spec.rope_orig_ctx < 1 || spec.rope_orig_ctx > kMaxCtxTrain) return Error("--rope-orig-ctx must be positive");
  if (!(spec.rope_attn_factor >= 0.f && spec.rope_attn_factor <= 1e3f)) return Error("--rope-attn-factor must be in 0..1000");
  RopeScaling& r = g->rope;
  r.n_ctx_orig = spec.rope_orig_ctx;
  r.attn_factor = spec.rope_attn_factor > 0.f ? spec.rope_attn_factor : 1.f;
  const float F = spec.rope_factor;
  const int half = g->n_rot / 2;
  if (t == "linear" || t == "yarn") {
    r.type = t == "linear" ? RopeScalingType::kLinear : RopeScalingType::kYarn;
    r.freq_scale = 1.f / F;
  } else if (t == "llama3" || t == "longrope") {
    if (g->arch != "llama") return Error("--rope-scaling " + t + ": llama.cpp reads frequency factors for arch llama only");
    if (t == "llama3") {
      r.freq_factors = llama3_freq_factors(g->n_rot, sh->rope_theta, F, 1.f, 4.f, spec.rope_orig_ctx);
    } else {
      // Smooth made-up factors: long ones grow from 1 to about the factor with the wavelength
      // (as published LongRoPE factors do), short ones stay near 1.
      r.type = RopeScalingType::kLongRope;
      for (int i = 0; i < half; ++i) {
        const float x = half > 1 ? static_cast<float>(i) / (half - 1) : 0.f;
        r.long_factors.push_back(1.f + (F - 1.f) * x * x);
        r.short_factors.push_back(1.f + 0.25f * x);
      }
      if (spec.rope_attn_factor == 0.f) r.attn_factor = longrope_attn_factor(F, spec.rope_orig_ctx);
    }
  } else {
    return Error("unknown --rope-scaling '" + t + "' (none, linear, yarn, llama3, longrope)");
  }
  return Status::ok();
}

}  // namespace

Result<GenPlan> make_plan(const GenSpec& spec, uint64_t V) {
  GenPlan g;
  for (const auto& s : kShapes)
    if (spec.shape == s.name) g.sh = &s;
  if (!g.sh) return Error("unknown shape '" + spec.shape + "'");
  const Shape* sh = g.sh;
  g.arch = spec.arch;
  const bool llama_moe = g.arch == "llama-moe";
  if (llama_moe) g.arch = "llama";
  if (g.arch != "llama" && g.arch != "qwen2" && g.arch != "qwen3" && g.arch != "qwen3moe")
    return Error("unknown arch '" + spec.arch + "' (llama, qwen2, qwen3, qwen3moe, llama-moe)");
  g.moe = llama_moe || g.arch == "qwen3moe";
  if (g.moe && sh->n_expert == 0) return Error("shape '" + spec.shape + "' has no experts; use tiny-moe or qwen3moe-tiny");
  if (!g.moe && sh->n_expert > 0) return Error("shape '" + spec.shape + "' is a MoE shape; use --arch qwen3moe or llama-moe");
  std::string dt = spec.dtype;
  for (auto& ch : dt) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const bool q4_k_m = dt == "q4_k_m";
  if (q4_k_m) {
    g.base = DType::kQ4_K;
  } else {
    auto d = dtype_from_name(dt);
    if (!d || !kernels::ref::can_quantize(*d) || *d == DType::kQ8_K || *d == DType::kQ8_1)
      return Error("unsupported --dtype '" + spec.dtype + "'");
    g.base = *d;
  }
  g.n_layer = spec.n_layer_override > 0 ? spec.n_layer_override : sh->n_layer;
  NURI_TRY(plan_rope(spec, &g));
  const uint64_t E = sh->n_embd, Q = sh->n_head * sh->head_dim, KV = sh->n_head_kv * sh->head_dim;
  const uint64_t HD = sh->head_dim;
  const int32_t n_layer = g.n_layer;
  auto more_bits = [&](int l) { return l < n_layer / 8 || l >= 7 * n_layer / 8 || (l - n_layer / 8) % 3 == 2; };
  auto add = [&](std::string name, std::vector<uint64_t> shape, DType dtype, float stddev, float mean = 0.f) {
    if (shape.size() == 1) dtype = DType::kF32;  // norms and biases stay f32
    g.tensors.push_back({std::move(name), std::move(shape), dtype, stddev, mean});
  };
  const DType base = g.base;
  add("token_embd.weight", {V, E}, base, 0.02f);
  add("output_norm.weight", {E}, DType::kF32, 0.05f, 1.0f);
  if (!sh->tied) add("output.weight", {V, E}, q4_k_m ? DType::kQ6_K : base, 0.02f);
  for (int l = 0; l < n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    const DType hi = q4_k_m && more_bits(l) ? DType::kQ6_K : base;
    add(b + "attn_norm.weight", {E}, DType::kF32, 0.05f, 1.0f);
    add(b + "attn_q.weight", {Q, E}, base, 0.02f);
    add(b + "attn_k.weight", {KV, E}, base, 0.02f);
    add(b + "attn_v.weight", {KV, E}, hi, 0.02f);
    add(b + "attn_output.weight", {E, Q}, base, 0.02f);
    if (g.arch == "qwen2") {
      add(b + "attn_q.bias", {Q}, DType::kF32, 0.02f);
      add(b + "attn_k.bias", {KV}, DType::kF32, 0.02f);
      add(b + "attn_v.bias", {KV}, DType::kF32, 0.02f);
    }
    if (g.arch == "qwen3" || g.arch == "qwen3moe") {
      add(b + "attn_q_norm.weight", {HD}, DType::kF32, 0.05f, 1.0f);
      add(b + "attn_k_norm.weight", {HD}, DType::kF32, 0.05f, 1.0f);
    }
    add(b + "ffn_norm.weight", {E}, DType::kF32, 0.05f, 1.0f);
    if (g.moe) {
      const uint64_t X = sh->n_expert, F = sh->n_ff_exp;
      add(b + "ffn_gate_inp.weight", {X, E}, DType::kF32, 0.1f);
      add(b + "ffn_gate_exps.weight", {X, F, E}, base, 0.02f);
      add(b + "ffn_up_exps.weight", {X, F, E}, base, 0.02f);
      add(b + "ffn_down_exps.weight", {X, E, F}, hi, 0.02f);
    } else {
      const uint64_t F = sh->n_ff;
      add(b + "ffn_gate.weight", {F, E}, base, 0.02f);
      add(b + "ffn_up.weight", {F, E}, base, 0.02f);
      add(b + "ffn_down.weight", {E, F}, hi, 0.02f);
    }
  }
  return g;
}

std::vector<float> plan_values(const TensorPlan& t, uint64_t seed) {
  uint64_t n = 1;
  for (auto d : t.shape) n *= d;
  std::vector<float> v(n);
  fill_random(v, t.name, seed, t.stddev, t.mean);
  return v;
}

namespace {

void set_hparams(io::GgufWriter& w, const GenPlan& g, const GenSpec& spec) {
  const Shape* sh = g.sh;
  const std::string p = g.arch + ".";
  w.set("general.architecture", io::GgufValue::str(g.arch));
  w.set("general.name", io::GgufValue::str("nuri-gen-" + spec.arch + "-" + spec.shape + "-" + spec.dtype));
  w.set(p + "context_length", io::GgufValue::u32(sh->n_ctx));
  w.set(p + "embedding_length", io::GgufValue::u32(sh->n_embd));
  w.set(p + "block_count", io::GgufValue::u32(g.n_layer));
  // Mixtral-style MoE in the llama arch: llama.cpp sizes the experts by feed_forward_length
  // (there is no dense FFN), so that key holds the expert width.
  const bool llama_moe = g.moe && g.arch == "llama";
  w.set(p + "feed_forward_length", io::GgufValue::u32(llama_moe ? sh->n_ff_exp : sh->n_ff));
  w.set(p + "attention.head_count", io::GgufValue::u32(sh->n_head));
  w.set(p + "attention.head_count_kv", io::GgufValue::u32(sh->n_head_kv));
  w.set(p + "attention.key_length", io::GgufValue::u32(sh->head_dim));
  w.set(p + "attention.value_length", io::GgufValue::u32(sh->head_dim));
  w.set(p + "rope.dimension_count", io::GgufValue::u32(g.n_rot));
  w.set(p + "rope.freq_base", io::GgufValue::f32(sh->rope_theta));
  for (const auto& [k, v] : rope_scaling_gguf_kv(g.rope, p)) w.set(k, v);
  w.set(p + "attention.layer_norm_rms_epsilon", io::GgufValue::f32(1e-6f));
  if (g.moe) {
    w.set(p + "expert_count", io::GgufValue::u32(sh->n_expert));
    w.set(p + "expert_used_count", io::GgufValue::u32(sh->n_expert_used));
    w.set(p + "expert_feed_forward_length", io::GgufValue::u32(sh->n_ff_exp));
  }
}

// general.file_type holds llama.cpp's llama_ftype ("mostly Q8_0" = 7, ...), not the ggml type id
// of the main tensors (Q8_0 = 8 there): readers print the model's quantisation from it.
uint32_t llama_file_type(const std::string& dtype) {
  static const std::pair<const char*, uint32_t> kTypes[] = {
      {"f32", 0},   {"f16", 1},   {"q4_0", 2},  {"q4_1", 3},  {"q8_0", 7},    {"q5_0", 8},  {"q5_1", 9},
      {"q4_k", 14}, {"q5_k", 16}, {"q6_k", 18}, {"bf16", 32}, {"q4_k_m", 15},
  };
  for (const auto& [name, ft] : kTypes)
    if (dtype == name) return ft;
  return 0;
}

}  // namespace

Status gen_gguf(const GenSpec& spec, const io::GgufFile& vocab, const std::string& out_path,
                void (*progress)(const char*)) {
  auto tokens = vocab.get_string_array("tokenizer.ggml.tokens");
  if (!tokens) return Error(vocab.path() + ": no tokenizer.ggml.tokens");
  NURI_ASSIGN_OR_RETURN(GenPlan g, make_plan(spec, tokens->size()));
  io::GgufWriter w;
  set_hparams(w, g, spec);
  w.set("general.file_type", io::GgufValue::u32(llama_file_type(spec.dtype)));
  for (const auto& [k, v] : vocab.metadata())
    if (k.rfind("tokenizer.", 0) == 0) w.set(k, v);
  ThreadPool pool(ThreadPool::default_threads());
  size_t done = 0;
  for (const auto& t : g.tensors) {
    std::vector<float> v = plan_values(t, spec.seed);
    const uint64_t row = t.shape.back();
    const DType dtype = fit(t.dtype, row);
    const size_t rb = *row_size(dtype, row);
    std::string bytes(rb * (v.size() / row), '\0');
    pool.parallel_for(static_cast<int64_t>(v.size() / row), [&](int64_t r0, int64_t r1, int) {
      for (int64_t r = r0; r < r1; ++r) kernels::ref::quantize_row(dtype, &v[r * row], &bytes[r * rb], row);
    });
    NURI_TRY(w.add_tensor(t.name, dtype, t.shape, bytes.data(), bytes.size()));
    if (progress && (++done % 8 == 0 || done == g.tensors.size())) {
      char msg[96];
      std::snprintf(msg, sizeof msg, "tensor %zu/%zu", done, g.tensors.size());
      progress(msg);
    }
  }
  for (const auto& [name, v] : rope_scaling_gguf_tensors(g.rope))
    NURI_TRY(w.add_tensor(name, DType::kF32, {v.size()}, v.data(), v.size() * sizeof(float)));
  return w.write(out_path);
}

}  // namespace nuri::model
