// Binding GGUF tensors and metadata to the model's roles.
#include <sys/stat.h>

#include <algorithm>
#include <climits>

#include "kernels/ref/quant.h"
#include "model/arch_table.h"
#include "model/bind_roles.h"
#include "model/model.h"
#include "model/rope_scaling.h"

namespace nuri::model {

Result<ModelConfig> config_from_gguf(const io::GgufFile& f) {
  ModelConfig c;
  c.arch_str = f.architecture();
  if (c.arch_str.empty()) return Error(f.path() + ": no general.architecture (a vocabulary-only file?)");
  auto arch = arch_from_string(c.arch_str);
  if (!arch)
    return Error(f.path() + ": unsupported architecture '" + c.arch_str + "' (supported: " + supported_gguf_archs() + ")");
  c.arch = *arch;
  const std::string p = c.arch_str + ".";
  // Sizes are read saturated to int32 so that a hostile value cannot wrap around; validate_config
  // bounds them afterwards.
  auto u32 = [&](const std::string& key, uint64_t def) {
    return static_cast<int32_t>(std::min<uint64_t>(f.get_uint(key).value_or(def), INT32_MAX));
  };
  auto need = [&](const char* key, int32_t* out) -> Status {
    auto v = f.get_uint(p + key);
    if (!v || *v == 0 || *v > (1u << 30)) return Error(f.path() + ": missing or invalid '" + p + key + "'");
    *out = static_cast<int32_t>(*v);
    return Status::ok();
  };
  NURI_TRY(need("embedding_length", &c.n_embd));
  NURI_TRY(need("block_count", &c.n_layer));
  NURI_TRY(need("attention.head_count", &c.n_head));
  c.n_head_kv = u32(p + "attention.head_count_kv", c.n_head);
  if (c.n_head_kv <= 0 || c.n_head % c.n_head_kv != 0)
    return Error(f.path() + ": n_head " + std::to_string(c.n_head) + " is not a multiple of n_head_kv " +
                 std::to_string(c.n_head_kv));
  c.head_dim = u32(p + "attention.key_length", c.n_embd / c.n_head);
  c.n_ff = u32(p + "feed_forward_length", 0);
  c.n_expert = u32(p + "expert_count", 0);
  c.n_expert_used = u32(p + "expert_used_count", 0);
  c.n_ff_exp = u32(p + "expert_feed_forward_length", c.n_ff);
  c.n_ctx_train = u32(p + "context_length", 4096);
  c.n_rot = u32(p + "rope.dimension_count", c.head_dim);
  c.rope_theta = static_cast<float>(f.get_float(p + "rope.freq_base").value_or(10000.0));
  c.norm_eps = static_cast<float>(f.get_float(p + "attention.layer_norm_rms_epsilon").value_or(1e-5));
  c.sliding_window = u32(p + "attention.sliding_window", 0);
  const ArchInfo& info = arch_info(c.arch);
  c.rope_style = info.gguf_rope;
  c.qkv_bias = info.qkv_bias;
  c.qk_norm = info.qk_norm;
  if (c.n_expert == 0 && c.n_ff <= 0) return Error(f.path() + ": missing '" + p + "feed_forward_length'");
  if (c.n_rot >= 2 && c.n_rot <= c.head_dim && c.n_rot % 2 == 0)  // else validate_config names n_rot
    NURI_TRY(rope_scaling_from_gguf(f, p, &c));
  NURI_TRY(validate_config(c, f.path()));
  return c;
}

class GgufBinder {
 public:
  GgufBinder(Model* m, const io::GgufFile& f) : m_(m), f_(f) {}

  Status view(Role r, int layer, std::vector<uint64_t> shape, kernels::WeightView* out, bool optional = false) {
    const std::string name = gguf_tensor_name(r, layer);
    const io::GgufTensorInfo* t = f_.tensor(name);
    if (!t) {
      if (optional) return Status::ok();
      return Error(f_.path() + ": missing tensor '" + name + "' (architecture " + m_->config_.arch_str + ")");
    }
    if (t->shape() != shape) return Error(f_.path() + ": tensor '" + name + "' has shape " + shape_str(t->shape()) +
                                          ", expected " + shape_str(shape));
    if (!kernels::ref::can_dequantize(t->dtype))
      return Error(f_.path() + ": tensor '" + name + "' has dtype " + std::string(dtype_name(t->dtype)) +
                   ", which nuri cannot compute with yet");
    out->dtype = t->dtype;
    out->data = t->data;
    out->n_in = static_cast<int64_t>(t->row_len());
    out->n_out = static_cast<int64_t>(t->n_rows());
    out->row_bytes = *row_size(t->dtype, t->row_len());
    m_->weight_bytes_ += t->n_bytes;
    return Status::ok();
  }

  Status vec(Role r, int layer, int64_t n, std::vector<float>* out, bool optional = false) {
    kernels::WeightView v;
    NURI_TRY(view(r, layer, {static_cast<uint64_t>(n)}, &v, optional));
    if (v.empty()) return Status::ok();
    out->resize(n);
    kernels::ref::dequantize_row(v.dtype, v.data, out->data(), n);
    return Status::ok();
  }

  Status bind() {
    const io::GgufTensorInfo* emb = f_.tensor("token_embd.weight");
    if (!emb) return Error(f_.path() + ": missing tensor 'token_embd.weight' (architecture " + m_->config_.arch_str + ")");
    if (emb->ne.size() != 2) return Error(f_.path() + ": token_embd.weight must be 2-D");
    if (emb->ne[1] == 0 || emb->ne[1] > static_cast<uint64_t>(kMaxVocab))
      return Error(f_.path() + ": token_embd.weight has " + std::to_string(emb->ne[1]) + " rows (n_vocab); at most " +
                   std::to_string(kMaxVocab) + " are supported");
    m_->config_.n_vocab = static_cast<int32_t>(emb->ne[1]);
    RoleBinder b;
    b.view = [this](Role r, int l, std::vector<uint64_t> shape, kernels::WeightView* out, bool optional) {
      return view(r, l, std::move(shape), out, optional);
    };
    b.vec = [this](Role r, int l, int64_t n, std::vector<float>* out, bool optional) { return vec(r, l, n, out, optional); };
    return bind_roles(m_->config_, m_->weights_, b, /*output_optional=*/true);
  }

  static std::string shape_str(const std::vector<uint64_t>& s) {
    std::string r = "[";
    for (size_t i = 0; i < s.size(); ++i) r += (i ? ", " : "") + std::to_string(s[i]);
    return r + "]";
  }

 private:
  Model* m_;
  const io::GgufFile& f_;
};

Result<std::shared_ptr<Model>> Model::load_gguf(const std::string& path) {
  NURI_ASSIGN_OR_RETURN(io::GgufFile f, io::GgufFile::open(path));
  auto m = std::make_shared<Model>();
  m->path_ = path;
  m->gguf_ = std::make_shared<io::GgufFile>(std::move(f));
  NURI_ASSIGN_OR_RETURN(m->config_, config_from_gguf(*m->gguf_));
  GgufBinder b(m.get(), *m->gguf_);
  NURI_TRY(b.bind());
  return m;
}

Result<std::shared_ptr<Model>> Model::load(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return Error(path + ": no such file or directory");
  if (S_ISDIR(st.st_mode)) return load_hf(path);
  return load_gguf(path);
}

}  // namespace nuri::model
