// Hugging Face checkpoint -> GGUF (nuri convert): tensor renames through the arch table,
// q/k row permutation for the llama arch (HF rotate-half -> GGUF interleaved RoPE pairs),
// experts stacked into 3-D tensors, weights quantised with the reference quantiser.
#include <cstring>

#include "base/thread_pool.h"
#include "kernels/ref/quant.h"
#include "model/arch_table.h"
#include "model/gen.h"
#include "model/model.h"
#include "model/rope_scaling.h"

namespace nuri::model {
namespace {

// Rows [n_head * head_dim, n_in]: per head, new row 2i+j = old row j*(head_dim/2) + i.
std::vector<float> permute_rope_rows(const std::vector<float>& w, int n_head, int head_dim, int64_t n_in) {
  std::vector<float> out(w.size());
  const int half = head_dim / 2;
  for (int h = 0; h < n_head; ++h)
    for (int i = 0; i < half; ++i)
      for (int j = 0; j < 2; ++j) {
        const int64_t dst = static_cast<int64_t>(h) * head_dim + 2 * i + j;
        const int64_t src = static_cast<int64_t>(h) * head_dim + j * half + i;
        std::memcpy(&out[dst * n_in], &w[src * n_in], n_in * sizeof(float));
      }
  return out;
}

std::vector<float> to_f32(const kernels::WeightView& v) {
  std::vector<float> out(static_cast<size_t>(v.n_out) * v.n_in);
  for (int64_t r = 0; r < v.n_out; ++r) kernels::ref::dequantize_row(v.dtype, v.row(r), &out[r * v.n_in], v.n_in);
  return out;
}

}  // namespace

Status convert_hf_to_gguf(const std::string& hf_dir, const std::string& dtype_name_in,
                          const std::vector<std::pair<std::string, io::GgufValue>>& extra_kv,
                          const std::string& out_path) {
  NURI_ASSIGN_OR_RETURN(auto m, Model::load_hf(hf_dir));
  const ModelConfig& c = m->config();
  std::string dn = dtype_name_in;
  for (auto& ch : dn) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  std::optional<DType> target;
  if (dn != "auto") {
    target = dtype_from_name(dn);
    if (!target || !kernels::ref::can_quantize(*target) || *target == DType::kQ8_K || *target == DType::kQ8_1)
      return Error("unsupported --dtype '" + dtype_name_in + "'");
  }
  io::GgufWriter w;
  const std::string arch = c.arch_str;
  const std::string p = arch + ".";
  w.set("general.architecture", io::GgufValue::str(arch));
  auto slash = hf_dir.find_last_of('/');
  w.set("general.name", io::GgufValue::str(slash == std::string::npos ? hf_dir : hf_dir.substr(slash + 1)));
  w.set(p + "context_length", io::GgufValue::u32(c.n_ctx_train));
  w.set(p + "embedding_length", io::GgufValue::u32(c.n_embd));
  w.set(p + "block_count", io::GgufValue::u32(c.n_layer));
  w.set(p + "feed_forward_length", io::GgufValue::u32(c.n_ff));
  w.set(p + "attention.head_count", io::GgufValue::u32(c.n_head));
  w.set(p + "attention.head_count_kv", io::GgufValue::u32(c.n_head_kv));
  w.set(p + "attention.key_length", io::GgufValue::u32(c.head_dim));
  w.set(p + "attention.value_length", io::GgufValue::u32(c.head_dim));
  w.set(p + "rope.dimension_count", io::GgufValue::u32(c.n_rot));
  w.set(p + "rope.freq_base", io::GgufValue::f32(c.rope_theta));
  w.set(p + "attention.layer_norm_rms_epsilon", io::GgufValue::f32(c.norm_eps));
  if (c.n_expert > 0) {
    w.set(p + "expert_count", io::GgufValue::u32(c.n_expert));
    w.set(p + "expert_used_count", io::GgufValue::u32(c.n_expert_used));
    w.set(p + "expert_feed_forward_length", io::GgufValue::u32(c.n_ff_exp));
  }
  if (c.sliding_window > 0) w.set(p + "attention.sliding_window", io::GgufValue::u32(c.sliding_window));
  for (const auto& [k, v] : rope_scaling_gguf_kv(c.rope_scaling, p)) w.set(k, v);
  for (const auto& [name, v] : rope_scaling_gguf_tensors(c.rope_scaling))
    NURI_TRY(w.add_tensor(name, DType::kF32, {v.size()}, v.data(), v.size() * sizeof(float)));
  for (const auto& [k, v] : extra_kv) w.set(k, v);

  ThreadPool pool(ThreadPool::default_threads());
  auto add = [&](Role r, int layer, const kernels::WeightView& v, bool is_vector, bool permute, int n_head) -> Status {
    if (v.empty()) return Status::ok();
    std::vector<float> f = to_f32(v);
    if (permute) f = permute_rope_rows(f, n_head, c.head_dim, v.n_in);
    DType dt = is_vector ? DType::kF32 : (target ? *target : v.dtype);
    if (v.n_in % dtype_info(dt).block_size != 0) dt = DType::kF16;  // rows that do not fit the blocks
    const size_t rb = *row_size(dt, v.n_in);
    std::string bytes(rb * v.n_out, '\0');
    pool.parallel_for(v.n_out, [&](int64_t r0, int64_t r1, int) {
      for (int64_t r2 = r0; r2 < r1; ++r2) kernels::ref::quantize_row(dt, &f[r2 * v.n_in], &bytes[r2 * rb], v.n_in);
    });
    std::vector<uint64_t> shape = {static_cast<uint64_t>(v.n_out), static_cast<uint64_t>(v.n_in)};
    if (is_vector) shape = {static_cast<uint64_t>(v.n_in)};
    if (r == Role::kGateExps || r == Role::kUpExps || r == Role::kDownExps)
      shape = {static_cast<uint64_t>(c.n_expert), static_cast<uint64_t>(v.n_out / c.n_expert), static_cast<uint64_t>(v.n_in)};
    return w.add_tensor(gguf_tensor_name(r, layer), dt, shape, bytes.data(), bytes.size());
  };
  auto vec_view = [](const std::vector<float>& v) {
    kernels::WeightView wv;
    if (v.empty()) return wv;
    wv.dtype = DType::kF32;
    wv.data = reinterpret_cast<const uint8_t*>(v.data());
    wv.n_out = 1;
    wv.n_in = static_cast<int64_t>(v.size());
    wv.row_bytes = v.size() * 4;
    return wv;
  };
  const ModelWeights& W = m->weights();
  const bool llama_rope = c.arch == Arch::kLlama;  // GGUF llama uses interleaved RoPE pairs
  if (llama_rope && c.n_rot != c.head_dim)
    return Error(hf_dir + ": partial rotary dims (" + std::to_string(c.n_rot) + " of " + std::to_string(c.head_dim) +
                 ") with the llama architecture cannot be written as GGUF");
  NURI_TRY(add(Role::kTokEmbd, 0, W.tok_embd, false, false, 0));
  NURI_TRY(add(Role::kOutNorm, 0, vec_view(W.out_norm), true, false, 0));
  if (!c.tied_embeddings) NURI_TRY(add(Role::kOutput, 0, W.output, false, false, 0));
  for (int l = 0; l < c.n_layer; ++l) {
    const LayerWeights& L = W.layers[l];
    NURI_TRY(add(Role::kAttnNorm, l, vec_view(L.attn_norm), true, false, 0));
    NURI_TRY(add(Role::kWq, l, L.wq, false, llama_rope, c.n_head));
    NURI_TRY(add(Role::kWk, l, L.wk, false, llama_rope, c.n_head_kv));
    NURI_TRY(add(Role::kWv, l, L.wv, false, false, 0));
    NURI_TRY(add(Role::kWo, l, L.wo, false, false, 0));
    if (llama_rope && (!L.bq.empty() || !L.bk.empty()))
      return Error(hf_dir + ": q/k biases with the llama architecture are not supported");
    NURI_TRY(add(Role::kBq, l, vec_view(L.bq), true, false, 0));
    NURI_TRY(add(Role::kBk, l, vec_view(L.bk), true, false, 0));
    NURI_TRY(add(Role::kBv, l, vec_view(L.bv), true, false, 0));
    NURI_TRY(add(Role::kBo, l, vec_view(L.bo), true, false, 0));
    NURI_TRY(add(Role::kQNorm, l, vec_view(L.q_norm), true, false, 0));
    NURI_TRY(add(Role::kKNorm, l, vec_view(L.k_norm), true, false, 0));
    NURI_TRY(add(Role::kFfnNorm, l, vec_view(L.ffn_norm), true, false, 0));
    if (c.n_expert > 0) {
      NURI_TRY(add(Role::kGateInp, l, L.gate_inp, false, false, 0));
      NURI_TRY(add(Role::kGateExps, l, L.gate_exps, false, false, 0));
      NURI_TRY(add(Role::kUpExps, l, L.up_exps, false, false, 0));
      NURI_TRY(add(Role::kDownExps, l, L.down_exps, false, false, 0));
    } else {
      NURI_TRY(add(Role::kGate, l, L.w_gate, false, false, 0));
      NURI_TRY(add(Role::kUp, l, L.w_up, false, false, 0));
      NURI_TRY(add(Role::kDown, l, L.w_down, false, false, 0));
    }
  }
  return w.write(out_path);
}

}  // namespace nuri::model
