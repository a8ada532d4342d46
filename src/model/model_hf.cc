// Binding a Hugging Face checkpoint (config.json + safetensors) to the model's roles.
// HF Llama-family q/k weights use the rotate-half pairing, i.e. NeoX-style RoPE, so they are
// used as they are with RopeStyle::kNeox (no permutation at load).
#include <algorithm>
#include <climits>
#include <cstring>

#include "kernels/ref/quant.h"
#include "model/arch_table.h"
#include "model/bind_roles.h"
#include "model/model.h"
#include "model/rope_scaling.h"

namespace nuri::model {

Result<ModelConfig> config_from_hf(const nlohmann::json& j, const std::string& path) {
  ModelConfig c;
  if (!j.is_object()) return Error(path + ": expected a JSON object");
  // Typed reads: a key of the wrong type is treated as absent (never an exception).
  auto geti = [&](const char* k, int64_t def) -> int64_t {
    // Saturated to int32 so that a hostile value cannot wrap around; validate_config bounds it.
    if (j.contains(k) && j[k].is_number_integer())
      return std::clamp<int64_t>(j[k].is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(j[k].get<uint64_t>(), INT32_MAX))
                                                           : j[k].get<int64_t>(),
                                 INT32_MIN, INT32_MAX);
    return def;
  };
  auto getf = [&](const char* k, double def) -> double {
    if (j.contains(k) && j[k].is_number()) return j[k].get<double>();
    return def;
  };
  auto getb = [&](const char* k, bool def) -> bool {
    if (j.contains(k) && j[k].is_boolean()) return j[k].get<bool>();
    return def;
  };
  auto gets = [&](const char* k) -> std::string {
    if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
    return "";
  };
  std::string mt = gets("model_type");
  auto arch = arch_from_hf(mt);
  if (!arch) return Error(path + ": unsupported model_type '" + mt + "' (supported: " + supported_hf_model_types() + ")");
  c.arch = *arch;
  c.arch_str = arch_name(c.arch);
  c.n_embd = static_cast<int32_t>(geti("hidden_size", 0));
  c.n_layer = static_cast<int32_t>(geti("num_hidden_layers", 0));
  c.n_head = static_cast<int32_t>(geti("num_attention_heads", 0));
  c.n_vocab = static_cast<int32_t>(geti("vocab_size", 0));
  if (c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_vocab <= 0)
    return Error(path + ": hidden_size, num_hidden_layers, num_attention_heads and vocab_size are required");
  c.n_head_kv = static_cast<int32_t>(geti("num_key_value_heads", c.n_head));
  if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv) return Error(path + ": bad num_key_value_heads");
  c.head_dim = static_cast<int32_t>(geti("head_dim", c.n_embd / c.n_head));
  if (c.head_dim <= 0 || c.head_dim > kernels::kMaxHeadDim || c.head_dim % 2) return Error(path + ": unsupported head_dim");
  c.n_ff = static_cast<int32_t>(geti("intermediate_size", 0));
  c.n_expert = static_cast<int32_t>(geti("num_experts", geti("num_local_experts", 0)));
  c.n_expert_used = static_cast<int32_t>(geti("num_experts_per_tok", 0));
  c.n_ff_exp = static_cast<int32_t>(geti("moe_intermediate_size", c.n_ff));
  c.moe_norm_topk = getb("norm_topk_prob", true);
  c.n_ctx_train = static_cast<int32_t>(geti("max_position_embeddings", 4096));
  c.n_rot = c.head_dim;
  c.rope_theta = static_cast<float>(getf("rope_theta", 10000.0));
  c.norm_eps = static_cast<float>(getf("rms_norm_eps", 1e-6));
  c.tied_embeddings = getb("tie_word_embeddings", false);
  c.rope_style = kernels::RopeStyle::kNeox;
  c.qkv_bias = arch_info(c.arch).qkv_bias || getb("attention_bias", false);
  c.qk_norm = arch_info(c.arch).qk_norm;
  if (getb("use_sliding_window", false) && geti("sliding_window", 0) > 0)
    c.sliding_window = static_cast<int32_t>(geti("sliding_window", 0));
  if (c.n_expert == 0 && c.n_ff <= 0) return Error(path + ": intermediate_size is required");
  NURI_TRY(rope_scaling_from_hf(j, path, &c));  // partial_rotary_factor (n_rot) and rope_scaling
  NURI_TRY(validate_config(c, path));
  return c;
}

class HfBinder {
 public:
  HfBinder(Model* m, const io::Safetensors& st, const std::string& dir) : m_(m), st_(st), dir_(dir) {}

  Status view_named(const std::string& name, std::vector<uint64_t> shape, kernels::WeightView* out, bool optional) {
    const io::SafetensorInfo* t = st_.tensor(name);
    if (!t) {
      if (optional) return Status::ok();
      return Error(dir_ + ": missing tensor '" + name + "' (model_type " + m_->config_.arch_str + ")");
    }
    if (t->shape != shape) return Error(dir_ + ": tensor '" + name + "' has an unexpected shape");
    if (t->dtype != DType::kF32 && t->dtype != DType::kF16 && t->dtype != DType::kBF16)
      return Error(dir_ + ": tensor '" + name + "' must be F32, F16 or BF16");
    out->dtype = t->dtype;
    out->data = t->data;
    out->n_in = static_cast<int64_t>(shape.back());
    out->n_out = static_cast<int64_t>(t->n_bytes / dtype_info(t->dtype).type_size / shape.back());
    out->row_bytes = shape.back() * dtype_info(t->dtype).type_size;
    m_->weight_bytes_ += t->n_bytes;
    return Status::ok();
  }
  Status view(Role r, int l, std::vector<uint64_t> shape, kernels::WeightView* out, bool optional = false) {
    return view_named(hf_tensor_name(r, l), std::move(shape), out, optional);
  }
  Status vec(Role r, int l, int64_t n, std::vector<float>* out, bool optional = false) {
    kernels::WeightView v;
    NURI_TRY(view(r, l, {static_cast<uint64_t>(n)}, &v, optional));
    if (v.empty()) return Status::ok();
    out->resize(n);
    kernels::ref::dequantize_row(v.dtype, v.data, out->data(), n);
    return Status::ok();
  }
  // Concatenates experts.E.<proj>.weight [rows, cols] for all E into one owned [n_expert * rows, cols].
  Status experts(int l, const char* proj, uint64_t rows, uint64_t cols, kernels::WeightView* out) {
    const int X = m_->config_.n_expert;
    std::vector<kernels::WeightView> parts(X);
    for (int e = 0; e < X; ++e) {
      const std::string name = "model.layers." + std::to_string(l) + ".mlp.experts." + std::to_string(e) + "." + proj + ".weight";
      NURI_TRY(view_named(name, {rows, cols}, &parts[e], false));
      if (parts[e].dtype != parts[0].dtype) return Error(dir_ + ": experts of layer " + std::to_string(l) + " mix dtypes");
    }
    const size_t bytes = parts[0].row_bytes * rows;
    std::vector<uint8_t> buf(bytes * X);
    for (int e = 0; e < X; ++e) std::memcpy(buf.data() + e * bytes, parts[e].data, bytes);
    *out = parts[0];
    out->n_out = static_cast<int64_t>(rows) * X;
    m_->owned_.push_back(std::move(buf));
    out->data = m_->owned_.back().data();
    return Status::ok();
  }

  Status bind() {
    RoleBinder b;
    b.view = [this](Role r, int l, std::vector<uint64_t> shape, kernels::WeightView* out, bool optional) -> Status {
      // HF stores experts one tensor per expert: stack them.
      if (r == Role::kGateExps) return experts(l, "gate_proj", shape[1], shape[2], out);
      if (r == Role::kUpExps) return experts(l, "up_proj", shape[1], shape[2], out);
      if (r == Role::kDownExps) return experts(l, "down_proj", shape[1], shape[2], out);
      return view(r, l, std::move(shape), out, optional);
    };
    b.vec = [this](Role r, int l, int64_t n, std::vector<float>* out, bool optional) { return vec(r, l, n, out, optional); };
    return bind_roles(m_->config_, m_->weights_, b, /*output_optional=*/m_->config_.tied_embeddings);
  }

 private:
  Model* m_;
  const io::Safetensors& st_;
  std::string dir_;
};

Result<std::shared_ptr<Model>> Model::load_hf(const std::string& dir) {
  NURI_ASSIGN_OR_RETURN(nlohmann::json cfg, io::read_json_file(dir + "/config.json"));
  auto m = std::make_shared<Model>();
  m->path_ = dir;
  NURI_ASSIGN_OR_RETURN(m->config_, config_from_hf(cfg, dir + "/config.json"));
  NURI_ASSIGN_OR_RETURN(io::Safetensors st, io::Safetensors::open(dir));
  m->st_ = std::make_shared<io::Safetensors>(std::move(st));
  HfBinder b(m.get(), *m->st_, dir);
  NURI_TRY(b.bind());
  return m;
}

}  // namespace nuri::model
