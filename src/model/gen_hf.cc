// Random-weight models written as Hugging Face directories (nuri gen --format safetensors).
#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>

#include "base/mmap.h"
#include "io/safetensors.h"
#include "kernels/ref/quant.h"
#include "model/gen_plan.h"

namespace nuri::model {
namespace {

// GGUF name -> HF name for the dense/attention roles.
std::string hf_name(const std::string& g) {
  static const std::pair<const char*, const char*> kMap[] = {
      {"attn_norm.weight", "input_layernorm.weight"},   {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_k.weight", "self_attn.k_proj.weight"},     {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_output.weight", "self_attn.o_proj.weight"}, {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.bias", "self_attn.k_proj.bias"},         {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_q_norm.weight", "self_attn.q_norm.weight"}, {"attn_k_norm.weight", "self_attn.k_norm.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"}, {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},          {"ffn_down.weight", "mlp.down_proj.weight"},
      {"ffn_gate_inp.weight", "mlp.gate.weight"},
  };
  if (g == "token_embd.weight") return "model.embed_tokens.weight";
  if (g == "output_norm.weight") return "model.norm.weight";
  if (g == "output.weight") return "lm_head.weight";
  const auto dot = g.find('.', 4);
  const std::string layer = g.substr(4, dot - 4), rest = g.substr(dot + 1);
  for (const auto& [a, b] : kMap)
    if (rest == a) return "model.layers." + layer + "." + b;
  return "";
}

std::string encode(const float* v, size_t n, DType dt) {
  const size_t es = dtype_info(dt).type_size;
  std::string out(n * es, '\0');
  kernels::ref::quantize_row(dt, v, out.data(), static_cast<int64_t>(n));
  return out;
}

// A Hugging Face tokenizer.json (+ tokenizer_config.json) for a byte-level BPE GGUF vocabulary.
// The pre-tokenizer is HF's ByteLevel with its GPT-2 regex: exact for `gpt-2`-style vocabularies,
// an approximation for vocabularies whose GGUF names another pre-tokenizer.
Status write_hf_tokenizer(const GenSpec& spec, const io::GgufFile& vocab, const std::string& dir) {
  if (vocab.get_string("tokenizer.ggml.model").value_or("") != "gpt2") return Status::ok();  // SPM etc.: not written
  auto tokens = vocab.get_string_array("tokenizer.ggml.tokens");
  auto merges = vocab.get_string_array("tokenizer.ggml.merges");
  auto types = vocab.get_int_array("tokenizer.ggml.token_type");
  if (!tokens || !merges) return Error(vocab.path() + ": byte-level BPE vocabulary without tokens or merges");
  nlohmann::ordered_json v = nlohmann::ordered_json::object();
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (size_t i = 0; i < tokens->size(); ++i) {
    const int64_t type = types && i < types->size() ? (*types)[i] : 1;
    if (type == 3 || type == 4)
      added.push_back({{"id", i}, {"content", (*tokens)[i]}, {"single_word", false}, {"lstrip", false},
                       {"rstrip", false}, {"normalized", type == 4}, {"special", type == 3}});
    v[(*tokens)[i]] = i;
  }
  nlohmann::ordered_json tj = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
      {"post_processor", nullptr},
      {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
      {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                 {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                 {"vocab", v}, {"merges", *merges}}}};
  NURI_TRY(write_file(dir + "/tokenizer.json", tj.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  nlohmann::ordered_json cfg = {{"add_bos_token", spec.add_bos}, {"add_eos_token", spec.add_eos}};
  auto tok_at = [&](const char* key) -> std::string {
    auto id = vocab.get_uint(key);
    return id && *id < tokens->size() ? (*tokens)[*id] : "";
  };
  if (auto b = tok_at("tokenizer.ggml.bos_token_id"); !b.empty()) cfg["bos_token"] = b;
  if (auto e = tok_at("tokenizer.ggml.eos_token_id"); !e.empty()) cfg["eos_token"] = e;
  if (auto t = vocab.get_string("tokenizer.chat_template")) cfg["chat_template"] = *t;
  return write_file(dir + "/tokenizer_config.json", cfg.dump(2) + "\n");
}

}  // namespace

Status gen_hf(const GenSpec& spec, const io::GgufFile& vocab, const std::string& out_dir) {
  auto tokens = vocab.get_string_array("tokenizer.ggml.tokens");
  if (!tokens) return Error(vocab.path() + ": no tokenizer.ggml.tokens");
  GenSpec s = spec;
  std::string dt = s.dtype;
  for (auto& ch : dt) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const DType out_dt = dt == "f16" ? DType::kF16 : dt == "bf16" ? DType::kBF16 : DType::kF32;
  if (dt != "f32" && dt != "f16" && dt != "bf16") return Error("--format safetensors supports f32, f16 and bf16");
  NURI_ASSIGN_OR_RETURN(GenPlan g, make_plan(s, tokens->size()));
  ::mkdir(out_dir.c_str(), 0755);
  const GenShape* sh = g.sh;
  std::vector<io::SafetensorOut> outs;
  for (const auto& t : g.tensors) {
    std::vector<float> v = plan_values(t, spec.seed);
    const uint64_t row = t.shape.back();
    const bool is_q = t.name.find("attn_q.weight") != std::string::npos;
    const bool is_k = t.name.find("attn_k.weight") != std::string::npos;
    if (g.arch == "llama" && (is_q || is_k)) {
      // GGUF interleaved pairs -> HF rotate-half order: hf row j*half + i = gguf row 2i + j.
      const int n_head = is_q ? sh->n_head : sh->n_head_kv, hd = sh->head_dim, half = hd / 2;
      std::vector<float> p(v.size());
      for (int h = 0; h < n_head; ++h)
        for (int i = 0; i < half; ++i)
          for (int j = 0; j < 2; ++j)
            std::memcpy(&p[(static_cast<size_t>(h) * hd + j * half + i) * row],
                        &v[(static_cast<size_t>(h) * hd + 2 * i + j) * row], row * sizeof(float));
      v.swap(p);
    }
    const DType tdt = t.shape.size() == 1 ? DType::kF32 : out_dt;
    if (t.shape.size() == 3) {  // experts: one tensor per expert
      const char* proj = t.name.find("gate_exps") != std::string::npos ? "gate_proj"
                         : t.name.find("up_exps") != std::string::npos ? "up_proj" : "down_proj";
      const std::string layer = t.name.substr(4, t.name.find('.', 4) - 4);
      const size_t per = t.shape[1] * t.shape[2];
      for (uint64_t e = 0; e < t.shape[0]; ++e)
        outs.push_back({"model.layers." + layer + ".mlp.experts." + std::to_string(e) + "." + proj + ".weight", tdt,
                        {t.shape[1], t.shape[2]}, encode(&v[e * per], per, tdt)});
      continue;
    }
    const std::string name = hf_name(t.name);
    if (name.empty()) return Error("gen: no Hugging Face name for tensor '" + t.name + "'");
    outs.push_back({name, tdt, t.shape, encode(v.data(), v.size(), tdt)});
  }
  NURI_TRY(io::write_safetensors(out_dir + "/model.safetensors", outs, {{"format", "pt"}}));
  NURI_TRY(write_hf_tokenizer(spec, vocab, out_dir));
  nlohmann::ordered_json cfg;
  const char* model_type = g.arch == "qwen3moe" ? "qwen3_moe" : g.arch.c_str();
  cfg["architectures"] = {g.arch == "llama" ? "LlamaForCausalLM" : g.arch == "qwen2" ? "Qwen2ForCausalLM"
                          : g.arch == "qwen3" ? "Qwen3ForCausalLM" : "Qwen3MoeForCausalLM"};
  cfg["model_type"] = model_type;
  cfg["hidden_size"] = sh->n_embd;
  cfg["intermediate_size"] = sh->n_ff;
  cfg["num_hidden_layers"] = g.n_layer;
  cfg["num_attention_heads"] = sh->n_head;
  cfg["num_key_value_heads"] = sh->n_head_kv;
  cfg["head_dim"] = sh->head_dim;
  cfg["rms_norm_eps"] = 1e-6;
  cfg["rope_theta"] = sh->rope_theta;
  if (g.n_rot != sh->head_dim) cfg["partial_rotary_factor"] = static_cast<double>(g.n_rot) / sh->head_dim;
  if (spec.rope_scaling != "none") {
    // HF's rope_scaling for the same angles as the GGUF (model/rope_scaling.h reads it back).
    const float F = spec.rope_factor;
    nlohmann::ordered_json rs = {{"rope_type", spec.rope_scaling}, {"factor", F}};
    if (spec.rope_scaling != "linear") rs["original_max_position_embeddings"] = spec.rope_orig_ctx;
    if (spec.rope_scaling == "llama3") {
      rs["low_freq_factor"] = 1.0;
      rs["high_freq_factor"] = 4.0;
    }
    if (spec.rope_scaling == "longrope") {
      rs["long_factor"] = g.rope.long_factors;
      rs["short_factor"] = g.rope.short_factors;
    }
    // HF's attention_factor is the whole cos/sin scale: for YaRN the GGUF attn_factor times
    // YaRN's own 0.1 ln(factor) + 1.
    if (spec.rope_attn_factor > 0.f)
      rs["attention_factor"] = spec.rope_scaling == "yarn" && F > 1.f ? spec.rope_attn_factor * (0.1f * std::log(F) + 1.f)
                                                                      : spec.rope_attn_factor;
    cfg["rope_scaling"] = rs;
  }
  cfg["vocab_size"] = tokens->size();
  cfg["max_position_embeddings"] = sh->n_ctx;
  cfg["tie_word_embeddings"] = sh->tied;
  if (g.moe) {
    cfg["num_experts"] = sh->n_expert;
    cfg["num_local_experts"] = sh->n_expert;
    cfg["num_experts_per_tok"] = sh->n_expert_used;
    cfg["moe_intermediate_size"] = sh->n_ff_exp;
    cfg["norm_topk_prob"] = true;
  }
  cfg["torch_dtype"] = dt == "f16" ? "float16" : dt == "bf16" ? "bfloat16" : "float32";
  return write_file(out_dir + "/config.json", cfg.dump(2) + "\n");
}

}  // namespace nuri::model
