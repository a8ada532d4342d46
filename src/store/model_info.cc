#include "store/model_info.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "base/mmap.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "store/store.h"

namespace nuri::store {
namespace {

void finish_dtypes(ModelInfo& mi, const std::map<std::string, uint64_t>& bytes) {
  mi.dtype_bytes.assign(bytes.begin(), bytes.end());
  std::sort(mi.dtype_bytes.begin(), mi.dtype_bytes.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [_, n] : mi.dtype_bytes) mi.weight_bytes += n;
  if (mi.quant.empty() && !mi.dtype_bytes.empty()) mi.quant = mi.dtype_bytes[0].first;
}

int64_t json_int(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

Result<ModelInfo> model_info(const std::string& path) {
  ModelInfo mi;
  if (is_directory(path)) {
    mi.format = "safetensors";
    NURI_ASSIGN_OR_RETURN(auto cfg, io::read_json_file(path + "/config.json"));
    if (cfg.contains("model_type") && cfg["model_type"].is_string()) mi.arch = cfg["model_type"].get<std::string>();
    // Multimodal configs keep the language model's numbers in text_config.
    const nlohmann::json& t = cfg.contains("text_config") && cfg["text_config"].is_object() ? cfg["text_config"] : cfg;
    mi.n_ctx_train = json_int(t, "max_position_embeddings");
    mi.n_layer = json_int(t, "num_hidden_layers");
    mi.n_embd = json_int(t, "hidden_size");
    mi.n_head = json_int(t, "num_attention_heads");
    mi.n_head_kv = json_int(t, "num_key_value_heads");
    mi.n_vocab = json_int(t, "vocab_size");
    NURI_ASSIGN_OR_RETURN(auto st, io::Safetensors::open(path));
    std::map<std::string, uint64_t> bytes;
    for (const auto& ti : st.tensors()) {
      uint64_t n = 1;
      for (uint64_t d : ti.shape) n *= d;
      mi.n_params += n;
      bytes[std::string(dtype_name(ti.dtype))] += ti.n_bytes;
    }
    if (auto tc = io::read_json_file(path + "/tokenizer_config.json"); tc.ok())
      mi.has_chat_template = tc->contains("chat_template");
    finish_dtypes(mi, bytes);
    return mi;
  }
  mi.format = "gguf";
  NURI_ASSIGN_OR_RETURN(auto g, io::GgufFile::open(path));
  mi.arch = g.architecture();
  auto key = [&](const char* k) { return mi.arch + "." + k; };
  mi.n_ctx_train = g.get_int(key("context_length")).value_or(0);
  mi.n_layer = g.get_int(key("block_count")).value_or(0);
  mi.n_embd = g.get_int(key("embedding_length")).value_or(0);
  mi.n_head = g.get_int(key("attention.head_count")).value_or(0);
  mi.n_head_kv = g.get_int(key("attention.head_count_kv")).value_or(mi.n_head);
  if (const io::GgufValue* v = g.find("tokenizer.ggml.tokens"); v && v->as_array())
    mi.n_vocab = static_cast<int64_t>(v->as_array()->items.size());
  mi.has_chat_template = g.find("tokenizer.chat_template") != nullptr;
  std::map<std::string, uint64_t> bytes;
  for (const auto& t : g.tensors()) {
    mi.n_params += t.n_elements;
    bytes[std::string(dtype_name(t.dtype))] += t.n_bytes;
  }
  const auto slash = path.find_last_of('/');
  mi.quant = quant_from_name(slash == std::string::npos ? path : path.substr(slash + 1));
  finish_dtypes(mi, bytes);
  return mi;
}

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string human_count(uint64_t n) {
  char buf[32];
  if (n >= 1000000000ull) std::snprintf(buf, sizeof(buf), "%.2fB", n / 1e9);
  else if (n >= 1000000ull) std::snprintf(buf, sizeof(buf), "%.1fM", n / 1e6);
  else if (n >= 1000ull) std::snprintf(buf, sizeof(buf), "%.0fK", n / 1e3);
  else std::snprintf(buf, sizeof(buf), "%llu", static_cast<unsigned long long>(n));
  return buf;
}

}  // namespace nuri::store
