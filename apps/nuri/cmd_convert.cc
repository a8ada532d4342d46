// nuri convert HF_DIR -o OUT.gguf [--dtype q8_0] — Hugging Face checkpoint to GGUF.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "base/timer.h"
#include "command.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/gen.h"
#include "tokenizer/tokenizer.h"

namespace {

using nuri::io::GgufValue;
using KV = std::vector<std::pair<std::string, GgufValue>>;

// tokenizer.ggml.* metadata from a byte-level BPE tokenizer.json (+ tokenizer_config.json).
nuri::Result<KV> tokenizer_kv_from_hf(const std::string& dir, const std::string& pre) {
  auto tj = nuri::io::read_json_file(dir + "/tokenizer.json");
  if (!tj.ok()) return tj.status();
  const auto& j = *tj;
  if (!j.contains("model") || j["model"].value("type", "") != "BPE" || !j["model"].contains("vocab") ||
      !j["model"]["vocab"].is_object())
    return nuri::Error(dir + "/tokenizer.json: only byte-level BPE tokenizers convert (model.type BPE); use --vocab FILE.gguf");
  const auto& vocab = j["model"]["vocab"];
  size_t n = 0;
  for (auto it = vocab.begin(); it != vocab.end(); ++it)
    if (it->is_number_unsigned()) n = std::max<size_t>(n, it->get<size_t>() + 1);
  std::vector<std::pair<int64_t, nlohmann::json>> added;
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& a : j["added_tokens"])
      if (a.contains("id") && a["id"].is_number_unsigned()) n = std::max<size_t>(n, a["id"].get<size_t>() + 1);
  if (n == 0 || n > (1u << 24)) return nuri::Error(dir + "/tokenizer.json: empty or absurd vocabulary");
  std::vector<std::string> tokens(n);
  std::vector<int32_t> types(n, 1);
  std::vector<bool> seen(n, false);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it->is_number_unsigned()) continue;
    tokens[it->get<size_t>()] = it.key();
    seen[it->get<size_t>()] = true;
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& a : j["added_tokens"]) {
      if (!a.contains("id") || !a["id"].is_number_unsigned() || !a.contains("content")) continue;
      const size_t id = a["id"].get<size_t>();
      tokens[id] = a["content"].get<std::string>();
      types[id] = a.value("special", false) ? 3 : 4;
      seen[id] = true;
    }
  for (size_t i = 0; i < n; ++i)
    if (!seen[i]) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = 5;
    }
  std::vector<std::string> merges;
  if (j["model"].contains("merges") && j["model"]["merges"].is_array())
    for (const auto& m : j["model"]["merges"]) {
      if (m.is_string()) merges.push_back(m.get<std::string>());
      else if (m.is_array() && m.size() == 2) merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    }
  KV kv;
  kv.emplace_back("tokenizer.ggml.model", GgufValue::str("gpt2"));
  kv.emplace_back("tokenizer.ggml.pre", GgufValue::str(pre));
  kv.emplace_back("tokenizer.ggml.tokens", GgufValue::strings(tokens));
  kv.emplace_back("tokenizer.ggml.token_type", GgufValue::i32s(types));
  kv.emplace_back("tokenizer.ggml.merges", GgufValue::strings(merges));
  auto id_of = [&](const std::string& t) -> int64_t {
    for (size_t i = 0; i < n; ++i)
      if (tokens[i] == t) return static_cast<int64_t>(i);
    return -1;
  };
  auto cfg = nuri::io::read_json_file(dir + "/tokenizer_config.json");
  if (cfg.ok()) {
    auto tok_text = [&](const char* key) -> std::string {
      if (!cfg->contains(key)) return "";
      const auto& v = (*cfg)[key];
      if (v.is_string()) return v.get<std::string>();
      if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
      return "";
    };
    if (auto b = tok_text("bos_token"); !b.empty() && id_of(b) >= 0)
      kv.emplace_back("tokenizer.ggml.bos_token_id", GgufValue::u32(static_cast<uint32_t>(id_of(b))));
    if (auto e = tok_text("eos_token"); !e.empty() && id_of(e) >= 0)
      kv.emplace_back("tokenizer.ggml.eos_token_id", GgufValue::u32(static_cast<uint32_t>(id_of(e))));
    if (auto p = tok_text("pad_token"); !p.empty() && id_of(p) >= 0)
      kv.emplace_back("tokenizer.ggml.padding_token_id", GgufValue::u32(static_cast<uint32_t>(id_of(p))));
    if (cfg->contains("chat_template") && (*cfg)["chat_template"].is_string())
      kv.emplace_back("tokenizer.chat_template", GgufValue::str((*cfg)["chat_template"].get<std::string>()));
  }
  // BOS/EOS as the HF tokenizer adds them (post-processor, then tokenizer_config.json), so the
  // GGUF does not fall back to llama.cpp's defaults for the pre-tokenizer.
  auto hf_tok = nuri::tokenizer::Tokenizer::from_hf_json(dir + "/tokenizer.json");
  if (!hf_tok.ok()) return hf_tok.status();
  kv.emplace_back("tokenizer.ggml.add_bos_token", GgufValue::boolean(hf_tok->add_bos()));
  kv.emplace_back("tokenizer.ggml.add_eos_token", GgufValue::boolean(hf_tok->add_eos()));
  return kv;
}

int run_convert(int argc, char** argv) {
  CLI::App app{"Convert a Hugging Face checkpoint (config.json + safetensors + tokenizer.json) to GGUF.", "nuri convert"};
  std::string dir, out, dtype = "auto", vocab_path, pre = "gpt-2", name;
  app.add_option("DIR", dir, "Hugging Face model directory")->required();
  app.add_option("-o,--output", out, "output .gguf file")->required();
  app.add_option("--dtype", dtype, "auto (keep F32/F16/BF16), f32, f16, bf16, q8_0, q4_0, q5_0, q4_k, q5_k, q6_k");
  app.add_option("--vocab", vocab_path, "take tokenizer.* metadata from this GGUF instead of tokenizer.json");
  app.add_option("--name", name, "general.name of the model (default: the directory's name)");
  app.add_option("--pre", pre, "pre-tokenizer name for a tokenizer.json (gpt-2, qwen2, llama-bpe, ...; default gpt-2)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  KV kv;
  if (!vocab_path.empty()) {
    auto v = nuri::io::GgufFile::open(vocab_path);
    if (!v.ok()) {
      std::fprintf(stderr, "nuri convert: %s\n", v.error().c_str());
      return 1;
    }
    for (const auto& [k, val] : v->metadata())
      if (k.rfind("tokenizer.", 0) == 0) kv.emplace_back(k, val);
  } else {
    auto t = tokenizer_kv_from_hf(dir, pre);
    if (!t.ok()) {
      std::fprintf(stderr, "nuri convert: %s\n", t.error().c_str());
      return 1;
    }
    kv = std::move(t).value();
  }
  if (!name.empty()) kv.emplace_back("general.name", GgufValue::str(name));
  nuri::Timer timer;
  auto st = nuri::model::convert_hf_to_gguf(dir, dtype, kv, out);
  if (!st.is_ok()) {
    std::fprintf(stderr, "nuri convert: %s\n", st.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "nuri convert: wrote %s in %.1f s\n", out.c_str(), timer.seconds());
  return 0;
}

}  // namespace

NURI_COMMAND("convert", "convert a Hugging Face checkpoint directory to GGUF", run_convert);
