// RoPE scaling: GGUF and HF readers, GGUF writer, the context's angle parameters
// (model/rope_scaling.h).
#include "model/rope_scaling.h"

#include <algorithm>
#include <cmath>
#include <climits>

#include "base/log.h"
#include "kernels/ref/quant.h"

namespace nuri::model {
namespace {

constexpr const char* kGgufTypes = "none, linear, yarn, longrope";
constexpr const char* kHfTypes = "default, linear, yarn, llama3, longrope, su, dynamic";

// A [n_rot / 2] factor tensor of the file (any dtype nuri can dequantise), or empty.
Status read_factors(const io::GgufFile& f, const char* name, int n_rot, std::vector<float>* out) {
  const io::GgufTensorInfo* t = f.tensor(name);
  if (!t) return Status::ok();
  if (t->ne.size() != 1 || t->ne[0] != static_cast<uint64_t>(n_rot / 2))
    return Error(f.path() + ": tensor '" + name + "' must have n_rot / 2 = " + std::to_string(n_rot / 2) + " values");
  if (!kernels::ref::can_dequantize(t->dtype))
    return Error(f.path() + ": tensor '" + name + "' has dtype " + std::string(dtype_name(t->dtype)) +
                 ", which nuri cannot read");
  out->resize(n_rot / 2);
  kernels::ref::dequantize_row(t->dtype, t->data, out->data(), n_rot / 2);
  return Status::ok();
}

// llama.cpp's get_mscale (llama_context): 0.1 * mscale * ln(scale) + 1, 1 for scale <= 1.
float get_mscale(float scale, float mscale) { return scale <= 1.0f ? 1.0f : (0.1f * mscale * std::log(scale) + 1.0f); }

}  // namespace

Status rope_scaling_from_gguf(const io::GgufFile& f, const std::string& p, ModelConfig* c) {
  RopeScaling& r = c->rope_scaling;
  // llama.cpp: a missing type means "linear" (with factor 1 when no factor is given: unscaled).
  const std::string type = f.get_string(p + "rope.scaling.type").value_or("linear");
  if (type == "none") r.type = RopeScalingType::kNone;
  else if (type == "linear") r.type = RopeScalingType::kLinear;
  else if (type == "yarn") r.type = RopeScalingType::kYarn;
  else if (type == "longrope") r.type = RopeScalingType::kLongRope;
  else return Error(f.path() + ": unsupported " + p + "rope.scaling.type '" + type + "' (supported: " + kGgufTypes + ")");
  double factor = f.get_float(p + "rope.scaling.factor").value_or(0.0);
  if (!f.find(p + "rope.scaling.factor")) factor = f.get_float(p + "rope.scale_linear").value_or(0.0);
  factor = std::isnan(factor) ? factor : std::clamp(factor, -1e30, 1e30);
  r.freq_scale = factor == 0.0 ? 1.0f : 1.0f / static_cast<float>(factor);
  if (r.type == RopeScalingType::kLinear && r.freq_scale == 1.0f) r.type = RopeScalingType::kNone;
  const uint64_t orig = f.get_uint(p + "rope.scaling.original_context_length").value_or(0);
  r.n_ctx_orig = orig == 0 ? c->n_ctx_train : static_cast<int32_t>(std::min<uint64_t>(orig, INT32_MAX));
  auto getf = [&](const char* key, float def) {
    const double v = f.get_float(p + key).value_or(def);
    return std::isnan(v) ? NAN : static_cast<float>(std::clamp(v, -1e30, 1e30));  // validate_config bounds it
  };
  r.attn_factor = getf("rope.scaling.attn_factor", 1.0f);
  r.yarn_ext_factor = getf("rope.scaling.yarn_ext_factor", -1.0f);
  r.yarn_beta_fast = getf("rope.scaling.yarn_beta_fast", 32.0f);
  r.yarn_beta_slow = getf("rope.scaling.yarn_beta_slow", 1.0f);
  r.yarn_log_mul = getf("rope.scaling.yarn_log_multiplier", 0.0f);
  NURI_TRY(read_factors(f, "rope_freqs.weight", c->n_rot, &r.freq_factors));
  if (r.type == RopeScalingType::kLongRope) {
    NURI_TRY(read_factors(f, "rope_factors_long.weight", c->n_rot, &r.long_factors));
    NURI_TRY(read_factors(f, "rope_factors_short.weight", c->n_rot, &r.short_factors));
  }
  return Status::ok();
}

std::vector<float> llama3_freq_factors(int n_rot, float freq_base, float factor, float low_freq_factor,
                                       float high_freq_factor, int32_t n_ctx_orig) {
  std::vector<float> ff(n_rot / 2);
  const float low_wavelen = n_ctx_orig / low_freq_factor, high_wavelen = n_ctx_orig / high_freq_factor;
  for (int i = 0; i < n_rot / 2; ++i) {
    const float freq = 1.0f / std::pow(freq_base, static_cast<float>(2 * i) / static_cast<float>(n_rot));
    const float wavelen = 2.0f * static_cast<float>(M_PI) / freq;
    if (wavelen < high_wavelen) {
      ff[i] = 1.0f;
    } else if (wavelen > low_wavelen) {
      ff[i] = factor;
    } else {
      const float smooth = (n_ctx_orig / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
      ff[i] = 1.0f / ((1.0f - smooth) / factor + smooth);
    }
  }
  return ff;
}

float longrope_attn_factor(float factor, int32_t n_ctx_orig) {
  if (factor <= 1.0f || n_ctx_orig <= 1) return 1.0f;
  return static_cast<float>(std::sqrt(1.0 + std::log(double{factor}) / std::log(double(n_ctx_orig))));
}

Status rope_scaling_from_hf(const nlohmann::json& j, const std::string& path, ModelConfig* c) {
  // Typed reads: a key of the wrong type is an error naming it (never an exception).
  auto bad = [&](const std::string& key, const char* want) {
    return Error(path + ": " + key + " must be " + want);
  };
  if (j.contains("partial_rotary_factor") && !j["partial_rotary_factor"].is_null()) {
    const auto& v = j["partial_rotary_factor"];
    if (!v.is_number() || !(v.get<double>() > 0.0 && v.get<double>() <= 1.0)) return bad("partial_rotary_factor", "a number in (0, 1]");
    c->n_rot = static_cast<int32_t>(c->head_dim * v.get<double>());
    if (c->n_rot < 2 || c->n_rot % 2)
      return Error(path + ": partial_rotary_factor gives " + std::to_string(c->n_rot) + " rotary dims of head_dim " +
                   std::to_string(c->head_dim) + "; an even number >= 2 is needed");
  }
  const char* key = j.contains("rope_scaling") && !j["rope_scaling"].is_null() ? "rope_scaling"
                    : j.contains("rope_parameters") && !j["rope_parameters"].is_null() ? "rope_parameters" : nullptr;
  if (!key) return Status::ok();
  const nlohmann::json& rs = j[key];
  const std::string k = key;
  if (!rs.is_object()) return bad(k, "an object or null");
  auto num = [&](const char* name, double def, double* out) -> Status {
    *out = def;
    if (!rs.contains(name) || rs[name].is_null()) return Status::ok();
    if (!rs[name].is_number()) return bad(k + "." + name, "a number");
    *out = std::clamp(rs[name].get<double>(), -1e30, 1e30);  // bounded later; finite for the float casts
    return Status::ok();
  };
  auto factors = [&](const char* name, std::vector<float>* out) -> Status {
    if (!rs.contains(name) || rs[name].is_null()) return Status::ok();
    if (!rs[name].is_array() || rs[name].size() != static_cast<size_t>(c->n_rot / 2))
      return bad(k + "." + name, ("an array of n_rot / 2 = " + std::to_string(c->n_rot / 2) + " numbers").c_str());
    for (const auto& v : rs[name]) {
      if (!v.is_number()) return bad(k + "." + name, "an array of numbers");
      out->push_back(static_cast<float>(v.get<double>()));
    }
    return Status::ok();
  };
  // transformers >= 4.56 `rope_parameters` carries rope_theta too.
  if (rs.contains("rope_theta") && rs["rope_theta"].is_number()) c->rope_theta = static_cast<float>(rs["rope_theta"].get<double>());
  std::string type;
  for (const char* tk : {"rope_type", "type"})
    if (type.empty() && rs.contains(tk)) {
      if (!rs[tk].is_string()) return bad(k + "." + tk, "a string");
      type = rs[tk].get<std::string>();
    }
  if (type.empty()) type = "default";
  RopeScaling& r = c->rope_scaling;
  double factor, orig_d, attention_factor;
  const bool llama3 = type == "llama3";  // llama.cpp's converter defaults: factor 8, 8192 positions
  NURI_TRY(num("factor", llama3 ? 8.0 : 1.0, &factor));
  if (!(factor >= 1.0 / 1024 && factor <= 65536)) return bad(k + ".factor", "in 1/1024..65536");
  double top_orig = 0;
  if (j.contains("original_max_position_embeddings") && j["original_max_position_embeddings"].is_number_integer())
    top_orig = j["original_max_position_embeddings"].get<double>();
  NURI_TRY(num("original_max_position_embeddings", top_orig > 0 ? top_orig : llama3 ? 8192.0 : c->n_ctx_train, &orig_d));
  if (!(orig_d >= 1 && orig_d <= kMaxCtxTrain)) return bad(k + ".original_max_position_embeddings", "a positive context length");
  const int32_t orig = static_cast<int32_t>(orig_d);
  NURI_TRY(num("attention_factor", 0.0, &attention_factor));
  if (rs.contains("attn_factor") && attention_factor == 0.0) NURI_TRY(num("attn_factor", 0.0, &attention_factor));
  if (!(attention_factor >= 0.0 && attention_factor <= 1e3)) return bad(k + ".attention_factor", "a positive number");

  if (type == "default" || type == "none") {
    r.type = RopeScalingType::kNone;
  } else if (type == "dynamic") {
    r.type = RopeScalingType::kNone;
    NURI_LOG_WARN("%s: rope_scaling type 'dynamic' (NTK) is read as unscaled RoPE: exact up to %d positions",
              path.c_str(), c->n_ctx_train);
  } else if (type == "linear") {
    r.type = RopeScalingType::kLinear;
    r.freq_scale = 1.0f / static_cast<float>(factor);
  } else if (type == "yarn") {
    r.type = RopeScalingType::kYarn;
    r.freq_scale = 1.0f / static_cast<float>(factor);
    r.n_ctx_orig = orig;
    double beta_fast, beta_slow, ext, mscale, mscale_all_dim;
    NURI_TRY(num("beta_fast", 32.0, &beta_fast));
    NURI_TRY(num("beta_slow", 1.0, &beta_slow));
    NURI_TRY(num("extrapolation_factor", -1.0, &ext));
    NURI_TRY(num("mscale", 1.0, &mscale));
    NURI_TRY(num("mscale_all_dim", 0.0, &mscale_all_dim));
    r.yarn_beta_fast = static_cast<float>(beta_fast);
    r.yarn_beta_slow = static_cast<float>(beta_slow);
    r.yarn_ext_factor = static_cast<float>(ext);
    r.yarn_log_mul = static_cast<float>(mscale_all_dim);
    // HF: the attention factor is attention_factor if given, else
    // get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim). rope_params derives
    // get_mscale(factor, 1) / get_mscale(factor, mscale_all_dim) as llama.cpp does; attn_factor
    // carries the rest.
    const float f = static_cast<float>(factor);
    const float derived = r.yarn_log_mul != 0.f ? get_mscale(f, 1.f) / get_mscale(f, r.yarn_log_mul) : get_mscale(f, 1.f);
    if (attention_factor > 0.0) r.attn_factor = static_cast<float>(attention_factor) / derived;
    else if (mscale != 1.0) r.attn_factor = get_mscale(f, static_cast<float>(mscale)) / get_mscale(f, 1.f);
  } else if (llama3) {
    double low, high;
    NURI_TRY(num("low_freq_factor", 1.0, &low));
    NURI_TRY(num("high_freq_factor", 4.0, &high));
    if (!(low > 0 && high > low && high < 1e6)) return bad(k + ".low_freq_factor/high_freq_factor", "0 < low < high");
    r.type = RopeScalingType::kNone;
    r.n_ctx_orig = orig;
    r.freq_factors = llama3_freq_factors(c->n_rot, c->rope_theta, static_cast<float>(factor), static_cast<float>(low),
                                         static_cast<float>(high), orig);
  } else if (type == "longrope" || type == "su") {
    r.type = RopeScalingType::kLongRope;
    r.n_ctx_orig = orig;
    NURI_TRY(factors("long_factor", &r.long_factors));
    NURI_TRY(factors("short_factor", &r.short_factors));
    if (r.long_factors.empty() || r.short_factors.empty())
      return Error(path + ": " + k + " of type '" + type + "' needs long_factor and short_factor");
    // HF: factor = max_position_embeddings / original_max_position_embeddings unless given.
    const float f = rs.contains("factor") ? static_cast<float>(factor) : static_cast<float>(c->n_ctx_train) / orig;
    r.attn_factor = attention_factor > 0.0 ? static_cast<float>(attention_factor) : longrope_attn_factor(f, orig);
  } else {
    return Error(path + ": unsupported " + k + " type '" + type + "' (supported: " + kHfTypes + ")");
  }
  if (r.n_ctx_orig == 0) r.n_ctx_orig = c->n_ctx_train;
  return Status::ok();
}

kernels::RopeParams rope_params(const ModelConfig& c, int32_t n_ctx) {
  const RopeScaling& r = c.rope_scaling;
  kernels::RopeParams p;
  p.n_rot = c.n_rot;
  p.freq_base = c.rope_theta;
  p.freq_scale = r.type == RopeScalingType::kNone ? 1.0f : r.freq_scale;
  p.ext_factor = r.yarn_ext_factor >= 0.0f ? r.yarn_ext_factor : (r.type == RopeScalingType::kYarn ? 1.0f : 0.0f);
  // llama_context: YaRN's attention factor, divided by the (1 + 0.1 ln factor) the kernel applies.
  float attn = 1.0f;
  if (p.ext_factor != 0.0f) {
    const float factor = 1.0f / p.freq_scale;
    attn = r.yarn_log_mul != 0.0f ? get_mscale(factor, 1.0f) / get_mscale(factor, r.yarn_log_mul) : get_mscale(factor, 1.0f);
    attn *= 1.0f / (1.0f + 0.1f * std::log(factor));
  }
  p.attn_factor = attn * r.attn_factor;
  const int32_t orig = r.n_ctx_orig > 0 ? r.n_ctx_orig : c.n_ctx_train;
  kernels::rope_corr_dims(c.n_rot, orig, c.rope_theta, r.yarn_beta_fast, r.yarn_beta_slow, p.corr_dims);
  const std::vector<float>& ff = !r.freq_factors.empty() ? r.freq_factors : n_ctx > orig ? r.long_factors : r.short_factors;
  p.freq_factors = ff.empty() ? nullptr : ff.data();
  return p;
}

std::string rope_scaling_summary(const ModelConfig& c) {
  const RopeScaling& r = c.rope_scaling;
  char buf[256];
  // Llama 3 scaling is unscaled RoPE type-wise, with frequency divisors.
  std::string s = r.type == RopeScalingType::kNone && !r.freq_factors.empty() ? "frequency factors" : rope_scaling_name(r.type);
  if (r.type == RopeScalingType::kLinear || r.type == RopeScalingType::kYarn) {
    std::snprintf(buf, sizeof buf, " factor %g", 1.0 / r.freq_scale);
    s += buf;
  }
  if (r.type == RopeScalingType::kYarn || r.type == RopeScalingType::kLongRope || !r.freq_factors.empty()) {
    std::snprintf(buf, sizeof buf, " n_ctx_orig %d", r.n_ctx_orig);
    s += buf;
  }
  if (r.attn_factor != 1.0f) {
    std::snprintf(buf, sizeof buf, " attn_factor %g", r.attn_factor);
    s += buf;
  }
  if (r.type == RopeScalingType::kYarn) {
    std::snprintf(buf, sizeof buf, " beta_fast %g beta_slow %g", r.yarn_beta_fast, r.yarn_beta_slow);
    s += buf;
    if (r.yarn_ext_factor >= 0.f) s += " ext_factor " + std::to_string(r.yarn_ext_factor);
    if (r.yarn_log_mul != 0.f) s += " log_mul " + std::to_string(r.yarn_log_mul);
  }
  if (!r.freq_factors.empty()) s += " (rope_freqs[" + std::to_string(r.freq_factors.size()) + "], Llama 3 style)";
  if (!r.long_factors.empty()) s += " + long/short factors[" + std::to_string(r.long_factors.size()) + "]";
  if (c.n_rot != c.head_dim) s += "; partial rotary " + std::to_string(c.n_rot) + " of " + std::to_string(c.head_dim) + " dims";
  return s;
}

std::vector<std::pair<std::string, io::GgufValue>> rope_scaling_gguf_kv(const RopeScaling& r, const std::string& p) {
  std::vector<std::pair<std::string, io::GgufValue>> kv;
  if (r.type == RopeScalingType::kNone && r.freq_factors.empty()) return kv;
  // Llama 3 (type none + rope_freqs) gets no type key, as llama.cpp's converter writes it.
  if (r.type != RopeScalingType::kNone) kv.push_back({p + "rope.scaling.type", io::GgufValue::str(rope_scaling_name(r.type))});
  if (r.freq_scale != 1.0f) kv.push_back({p + "rope.scaling.factor", io::GgufValue::f32(1.0f / r.freq_scale)});
  if (r.n_ctx_orig > 0) kv.push_back({p + "rope.scaling.original_context_length", io::GgufValue::u32(r.n_ctx_orig)});
  if (r.attn_factor != 1.0f) kv.push_back({p + "rope.scaling.attn_factor", io::GgufValue::f32(r.attn_factor)});
  if (r.type == RopeScalingType::kYarn) {
    if (r.yarn_ext_factor >= 0.f) kv.push_back({p + "rope.scaling.yarn_ext_factor", io::GgufValue::f32(r.yarn_ext_factor)});
    if (r.yarn_beta_fast != 32.f) kv.push_back({p + "rope.scaling.yarn_beta_fast", io::GgufValue::f32(r.yarn_beta_fast)});
    if (r.yarn_beta_slow != 1.f) kv.push_back({p + "rope.scaling.yarn_beta_slow", io::GgufValue::f32(r.yarn_beta_slow)});
    if (r.yarn_log_mul != 0.f) kv.push_back({p + "rope.scaling.yarn_log_multiplier", io::GgufValue::f32(r.yarn_log_mul)});
  }
  return kv;
}

std::vector<std::pair<std::string, std::vector<float>>> rope_scaling_gguf_tensors(const RopeScaling& r) {
  std::vector<std::pair<std::string, std::vector<float>>> t;
  if (!r.freq_factors.empty()) t.push_back({"rope_freqs.weight", r.freq_factors});
  if (!r.long_factors.empty()) t.push_back({"rope_factors_long.weight", r.long_factors});
  if (!r.short_factors.empty()) t.push_back({"rope_factors_short.weight", r.short_factors});
  return t;
}

}  // namespace nuri::model
