// nuri inspect FILE [--tensors] [--json] — what is inside a GGUF (or safetensors) model file.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "command.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "model/rope_scaling.h"
#include "store/store.h"

namespace {

using nuri::io::GgufFile;
using nuri::io::GgufType;
using nuri::io::GgufValue;

nlohmann::ordered_json value_to_json(const GgufValue& v, bool full_arrays) {
  if (const auto* a = v.as_array()) {
    if (!full_arrays && a->items.size() > 16) {
      return {{"type", "array"}, {"elem_type", std::string(nuri::io::gguf_type_name(a->elem_type))},
              {"length", a->items.size()}};
    }
    auto arr = nlohmann::ordered_json::array();
    for (const auto& it : a->items) arr.push_back(value_to_json(it, full_arrays));
    return arr;
  }
  if (const auto* s = v.as_string()) return *s;
  if (auto b = v.as_bool()) return *b;
  if (v.is_float()) return *v.as_float();
  if (auto u = v.as_uint()) return *u;
  return *v.as_int();
}

std::string human_bytes(uint64_t b) {
  char buf[64];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", b / double(1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(buf, sizeof buf, "%.2f MiB", b / double(1ull << 20));
  else if (b >= (1ull << 10)) std::snprintf(buf, sizeof buf, "%.2f KiB", b / double(1ull << 10));
  else std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

std::string shape_str(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Hyper-parameters under "<arch>." with the names users know.
const std::vector<std::pair<const char*, const char*>> kHparams = {
    {"context_length", "n_ctx_train"},         {"embedding_length", "n_embd"},
    {"block_count", "n_layer"},                {"feed_forward_length", "n_ff"},
    {"attention.head_count", "n_head"},        {"attention.head_count_kv", "n_head_kv"},
    {"attention.key_length", "head_dim"},      {"rope.dimension_count", "n_rot"},
    {"rope.freq_base", "rope_theta"},          {"attention.layer_norm_rms_epsilon", "norm_eps"},
    {"expert_count", "n_expert"},              {"expert_used_count", "n_expert_used"},
    {"expert_feed_forward_length", "n_ff_exp"}, {"vocab_size", "n_vocab"},
    {"attention.sliding_window", "sliding_window"},
    {"rope.scaling.type", "rope_scaling"},     {"rope.scaling.factor", "rope_factor"},
    {"rope.scale_linear", "rope_scale_linear"}, {"rope.scaling.original_context_length", "n_ctx_orig"},
    {"rope.scaling.attn_factor", "rope_attn_factor"}, {"rope.scaling.yarn_ext_factor", "yarn_ext_factor"},
    {"rope.scaling.yarn_beta_fast", "yarn_beta_fast"}, {"rope.scaling.yarn_beta_slow", "yarn_beta_slow"},
    {"rope.scaling.yarn_log_multiplier", "yarn_log_mul"},
};

// The RoPE nuri will compute for a model file: scaling type, factor, original context, attention
// factor, frequency-factor tensors, partial rotary (model/rope_scaling.h). Empty when the
// architecture is not one nuri runs.
std::string rope_line(const GgufFile& f) {
  auto c = nuri::model::config_from_gguf(f);
  return c.ok() ? nuri::model::rope_scaling_summary(*c) : "";
}
std::string rope_line_hf(const std::string& dir) {
  auto j = nuri::io::read_json_file(dir + "/config.json");
  if (!j.ok()) return "";
  auto c = nuri::model::config_from_hf(*j, dir + "/config.json");
  return c.ok() ? nuri::model::rope_scaling_summary(*c) : "";
}

int inspect_gguf(const GgufFile& f, bool tensors, bool json) {
  const std::string arch = f.architecture();
  nlohmann::ordered_json j;
  j["file"] = f.path();
  j["format"] = "gguf";
  j["version"] = f.version();
  j["file_size"] = f.file_size();
  j["architecture"] = arch.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(arch);
  if (auto n = f.get_string("general.name")) j["name"] = *n;
  nlohmann::ordered_json hp = nlohmann::ordered_json::object();
  for (const auto& [suffix, label] : kHparams) {
    if (const GgufValue* v = f.find(arch + "." + suffix)) hp[label] = value_to_json(*v, false);
  }
  j["hparams"] = hp;
  if (std::string r = rope_line(f); !r.empty()) j["rope"] = r;

  nlohmann::ordered_json tok = nlohmann::ordered_json::object();
  if (auto m = f.get_string("tokenizer.ggml.model")) tok["model"] = *m;
  if (auto p = f.get_string("tokenizer.ggml.pre")) tok["pre"] = *p;
  if (const GgufValue* v = f.find("tokenizer.ggml.tokens"); v && v->as_array()) tok["n_vocab"] = v->as_array()->items.size();
  if (const GgufValue* v = f.find("tokenizer.ggml.merges"); v && v->as_array()) tok["n_merges"] = v->as_array()->items.size();
  for (const char* k : {"bos_token_id", "eos_token_id", "unknown_token_id", "padding_token_id", "eot_token_id"})
    if (auto id = f.get_int(std::string("tokenizer.ggml.") + k)) tok[k] = *id;
  for (const char* k : {"add_bos_token", "add_eos_token", "add_space_prefix"})
    if (auto b = f.get_bool(std::string("tokenizer.ggml.") + k)) tok[k] = *b;
  j["tokenizer"] = tok;
  auto tmpl = f.get_string("tokenizer.chat_template");
  j["chat_template"] = tmpl.has_value();
  if (tmpl) j["chat_template_bytes"] = tmpl->size();

  std::map<std::string, std::pair<uint64_t, uint64_t>> per_dtype;  // name -> (count, bytes)
  uint64_t total_bytes = 0, total_params = 0;
  for (const auto& t : f.tensors()) {
    auto& e = per_dtype[std::string(nuri::dtype_name(t.dtype))];
    e.first++;
    e.second += t.n_bytes;
    total_bytes += t.n_bytes;
    total_params += t.n_elements;
  }
  j["n_tensors"] = f.tensors().size();
  j["tensor_bytes"] = total_bytes;
  j["n_params"] = total_params;
  nlohmann::ordered_json pd = nlohmann::ordered_json::object();
  for (const auto& [name, cb] : per_dtype) pd[name] = {{"count", cb.first}, {"bytes", cb.second}};
  j["dtypes"] = pd;
  if (tensors) {
    auto arr = nlohmann::ordered_json::array();
    for (const auto& t : f.tensors())
      arr.push_back({{"name", t.name}, {"dtype", std::string(nuri::dtype_name(t.dtype))}, {"shape", t.shape()},
                     {"offset", t.offset}, {"bytes", t.n_bytes}});
    j["tensors"] = arr;
  }
  if (json) {
    if (tensors) {
      auto md = nlohmann::ordered_json::object();
      for (const auto& [k, v] : f.metadata()) md[k] = value_to_json(v, false);
      j["metadata"] = md;
    }
    std::printf("%s\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return 0;
  }

  std::printf("file:          %s (%s)\n", f.path().c_str(), human_bytes(f.file_size()).c_str());
  std::printf("format:        GGUF v%u, %zu metadata keys, alignment %u\n", f.version(), f.metadata().size(), f.alignment());
  std::printf("architecture:  %s\n", arch.empty() ? "(none: vocabulary-only or unknown)" : arch.c_str());
  if (auto n = f.get_string("general.name")) std::printf("name:          %s\n", n->c_str());
  if (!hp.empty()) {
    std::printf("hyper-parameters:\n");
    for (auto it = hp.begin(); it != hp.end(); ++it) std::printf("  %-14s %s\n", it.key().c_str(), it->dump().c_str());
  }
  if (j.contains("rope")) std::printf("rope:          %s\n", j["rope"].get<std::string>().c_str());
  std::printf("tokenizer:    ");
  if (tok.empty()) std::printf(" (none)");
  for (auto it = tok.begin(); it != tok.end(); ++it) std::printf(" %s=%s", it.key().c_str(), it->dump().c_str());
  std::printf("\nchat template: %s\n", tmpl ? ("yes (" + std::to_string(tmpl->size()) + " bytes)").c_str() : "no");
  std::printf("tensors:       %zu, %s, %llu parameters\n", f.tensors().size(), human_bytes(total_bytes).c_str(),
              static_cast<unsigned long long>(total_params));
  for (const auto& [name, cb] : per_dtype)
    std::printf("  %-6s %5llu tensors  %s\n", name.c_str(), static_cast<unsigned long long>(cb.first),
                human_bytes(cb.second).c_str());
  if (tensors) {
    std::printf("%-48s %-6s %-24s %12s %12s\n", "name", "dtype", "shape", "offset", "bytes");
    for (const auto& t : f.tensors())
      std::printf("%-48s %-6s %-24s %12llu %12zu\n", t.name.c_str(), std::string(nuri::dtype_name(t.dtype)).c_str(),
                  shape_str(t.shape()).c_str(), static_cast<unsigned long long>(t.offset), t.n_bytes);
  }
  return 0;
}

int inspect_safetensors(const std::string& path, bool tensors, bool json) {
  auto st = nuri::io::Safetensors::open(path);
  if (!st.ok()) {
    std::fprintf(stderr, "nuri inspect: %s\n", st.error().c_str());
    return 1;
  }
  uint64_t bytes = 0, params = 0;
  for (const auto& t : st->tensors()) {
    bytes += t.n_bytes;
    uint64_t n = 1;
    for (auto d : t.shape) n *= d;
    params += n;
  }
  nlohmann::ordered_json j = {{"file", path}, {"format", "safetensors"}, {"n_tensors", st->tensors().size()},
                              {"tensor_bytes", bytes}, {"n_params", params}};
  if (std::string r = rope_line_hf(path); !r.empty()) j["rope"] = r;
  if (tensors) {
    auto arr = nlohmann::ordered_json::array();
    for (const auto& t : st->tensors())
      arr.push_back({{"name", t.name}, {"dtype", std::string(nuri::dtype_name(t.dtype))}, {"shape", t.shape}});
    j["tensors"] = arr;
  }
  if (json) {
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("file:          %s\nformat:        safetensors\ntensors:       %zu, %s, %llu parameters\n", path.c_str(),
              st->tensors().size(), human_bytes(bytes).c_str(), static_cast<unsigned long long>(params));
  if (j.contains("rope")) std::printf("rope:          %s\n", j["rope"].get<std::string>().c_str());
  if (tensors)
    for (const auto& t : st->tensors())
      std::printf("%-48s %-6s %s\n", t.name.c_str(), std::string(nuri::dtype_name(t.dtype)).c_str(), shape_str(t.shape).c_str());
  return 0;
}

int run_inspect(int argc, char** argv) {
  CLI::App app{"Show what a model file holds: architecture, hyper-parameters, tokenizer, chat template, tensors.",
               "nuri inspect"};
  std::string file;
  bool tensors = false, json = false;
  app.add_option("FILE", file, "GGUF file, .safetensors file or Hugging Face model directory")->required();
  app.add_flag("--tensors", tensors, "list every tensor");
  app.add_flag("--json", json, "machine-readable JSON on stdout");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (auto p = nuri::store::resolve_model(file); p.ok()) file = *p;  // store names too
  const bool st = file.size() > 12 && file.compare(file.size() - 12, 12, ".safetensors") == 0;
  if (st || file.find("index.json") != std::string::npos) return inspect_safetensors(file, tensors, json);
  auto f = GgufFile::open(file);
  if (!f.ok()) {
    // A directory: try it as a Hugging Face model folder.
    if (f.error().find("not a regular file") != std::string::npos) return inspect_safetensors(file, tensors, json);
    std::fprintf(stderr, "nuri inspect: %s\n", f.error().c_str());
    return 1;
  }
  return inspect_gguf(*f, tensors, json);
}

}  // namespace

NURI_COMMAND("inspect", "show architecture, hyper-parameters, tokenizer and tensors of a model file", run_inspect);
