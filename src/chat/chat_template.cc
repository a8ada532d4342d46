// chat/chat_template.cc — template discovery and HF-compatible rendering context.
#include "chat/chat_template.h"

#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "base/mmap.h"
#include "io/gguf.h"

namespace nuri::chat {

namespace {

constexpr const char* kChatMl =
    "{%- if tools is defined and tools -%}\n"
    "{{- '<|im_start|>system\\n' -}}\n"
    "{%- if messages and messages[0]['role'] == 'system' -%}{{- messages[0]['content'] ~ '\\n\\n' -}}{%- endif -%}\n"
    "{{- '# Tools\\n\\nYou may call one or more functions. Available tools:\\n<tools>' -}}\n"
    "{%- for tool in tools -%}{{- '\\n' ~ (tool | tojson) -}}{%- endfor -%}\n"
    "{{- '\\n</tools>\\n\\nFor each call, return a JSON object inside <tool_call></tool_call> tags.<|im_end|>\\n' -}}\n"
    "{%- endif -%}\n"
    "{%- for message in messages -%}\n"
    "{%- if not (tools is defined and tools and loop.first and message['role'] == 'system') -%}\n"
    "{{- '<|im_start|>' ~ message['role'] ~ '\\n' -}}\n"
    "{%- if message['content'] is string -%}{{- message['content'] -}}\n"
    "{%- elif message['content'] is iterable -%}\n"
    "{%- for part in message['content'] -%}{%- if part['type'] == 'text' -%}{{- part['text'] -}}{%- endif -%}{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{%- if message['tool_calls'] is defined and message['tool_calls'] -%}\n"
    "{%- for call in message['tool_calls'] -%}\n"
    "{%- set fn = call['function'] if call['function'] is defined else call -%}\n"
    "{{- '\\n<tool_call>\\n{\"name\": \"' ~ fn['name'] ~ '\", \"arguments\": ' ~ "
    "(fn['arguments'] if fn['arguments'] is string else fn['arguments'] | tojson) ~ '}\\n</tool_call>' -}}\n"
    "{%- endfor -%}\n"
    "{%- endif -%}\n"
    "{{- '<|im_end|>\\n' -}}\n"
    "{%- endif -%}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}\n";

using ::nuri::is_directory;
using ::nuri::path_exists;
using ::nuri::read_file;

std::string token_text(const nlohmann::ordered_json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content") && j["content"].is_string()) return j["content"].get<std::string>();
  return "";
}

}  // namespace

Result<ChatTemplate> ChatTemplate::from_source(std::string source) {
  NURI_ASSIGN_OR_RETURN(jinja::Template t, jinja::Template::parse(source));
  ChatTemplate ct;
  ct.source_ = std::move(source);
  ct.tmpl_ = std::move(t);
  return ct;
}

ChatTemplate ChatTemplate::chatml() {
  auto r = from_source(kChatMl);
  if (!r.ok()) {
    std::fprintf(stderr, "nuri: built-in ChatML template does not parse: %s\n", r.error().c_str());
    std::abort();
  }
  return std::move(r).value();
}

Result<std::string> ChatTemplate::apply(const ChatInputs& in) const {
  if (!in.messages.is_array()) return Error("messages must be a JSON array");
  nlohmann::ordered_json ctx = nlohmann::ordered_json::object();
  ctx["messages"] = in.messages;
  if (in.tools) ctx["tools"] = *in.tools;
  ctx["add_generation_prompt"] = in.add_generation_prompt;
  ctx["bos_token"] = in.bos_token;
  ctx["eos_token"] = in.eos_token;
  if (in.extra_context.is_object())
    for (auto it = in.extra_context.begin(); it != in.extra_context.end(); ++it) ctx[it.key()] = it.value();
  jinja::RenderOptions opt;
  opt.now = in.now;
  return tmpl_.render(ctx, opt);
}

Result<ModelChatInfo> parse_tokenizer_config(const nlohmann::ordered_json& config, const std::string& name) {
  ModelChatInfo info;
  if (!config.is_object()) return Error("tokenizer_config.json: expected a JSON object");
  if (config.contains("bos_token")) info.bos_token = token_text(config["bos_token"]);
  if (config.contains("eos_token")) info.eos_token = token_text(config["eos_token"]);
  if (!config.contains("chat_template")) return info;
  const auto& ct = config["chat_template"];
  if (ct.is_string()) {
    if (!name.empty() && name != "default") return Error("tokenizer_config.json has no chat template named '" + name + "'");
    info.template_source = ct.get<std::string>();
  } else if (ct.is_array()) {
    std::string want = name.empty() ? "default" : name;
    for (const auto& e : ct) {
      if (e.is_object() && e.contains("name") && e["name"].is_string() && e["name"].get<std::string>() == want &&
          e.contains("template") && e["template"].is_string())
        info.template_source = e["template"].get<std::string>();
    }
    if (info.template_source.empty() && !name.empty())
      return Error("tokenizer_config.json has no chat template named '" + name + "'");
  } else if (!ct.is_null()) {
    return Error("tokenizer_config.json: chat_template must be a string or a list of {name, template}");
  }
  return info;
}

Result<ModelChatInfo> load_gguf_chat_info(const std::string& path, const std::string& name) {
  NURI_ASSIGN_OR_RETURN(io::GgufFile gguf, io::GgufFile::open(path));
  return chat_info_from_gguf(gguf, name);
}

Result<ModelChatInfo> chat_info_from_gguf(const io::GgufFile& gguf, const std::string& name) {
  const std::string& path = gguf.path();
  ModelChatInfo info;
  std::string key = name.empty() || name == "default" ? "tokenizer.chat_template" : "tokenizer.chat_template." + name;
  if (auto t = gguf.get_string(key)) info.template_source = *t;
  else if (!name.empty() && name != "default") return Error(path + ": no chat template named '" + name + "' (key " + key + ")");
  auto tokens = gguf.get_string_array("tokenizer.ggml.tokens");
  auto token = [&](const char* id_key) -> std::string {
    auto id = gguf.get_int(id_key);
    if (!tokens || !id || *id < 0 || *id >= static_cast<int64_t>(tokens->size())) return "";
    return (*tokens)[*id];
  };
  info.bos_token = token("tokenizer.ggml.bos_token_id");
  info.eos_token = token("tokenizer.ggml.eos_token_id");
  return info;
}

Result<ModelChatInfo> load_model_chat_info(const std::string& path, const std::string& name) {
  if (!path_exists(path)) return Error("model not found: " + path);
  if (is_directory(path)) {
    ModelChatInfo info;
    std::string cfg = path + "/tokenizer_config.json";
    if (path_exists(cfg)) {
      NURI_ASSIGN_OR_RETURN(std::string text, read_file(cfg));
      nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
      if (j.is_discarded()) return Error(cfg + ": invalid JSON");
      auto parsed = parse_tokenizer_config(j, name);
      if (!parsed.ok()) return parsed.status().with_context(cfg);
      info = std::move(parsed).value();
    }
    std::string jinja_file = path + "/chat_template.jinja";
    if ((name.empty() || name == "default") && path_exists(jinja_file)) {
      NURI_ASSIGN_OR_RETURN(info.template_source, read_file(jinja_file));
    }
    return info;
  }
  // A file: GGUF by magic, otherwise a tokenizer_config.json.
  char magic[4] = {0, 0, 0, 0};
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) return Error("cannot open " + path);
    f.read(magic, 4);
  }
  if (std::string(magic, 4) == "GGUF") return load_gguf_chat_info(path, name);
  NURI_ASSIGN_OR_RETURN(std::string text, read_file(path));
  nlohmann::ordered_json j = nlohmann::ordered_json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error(path + ": neither a GGUF file nor a JSON tokenizer config");
  auto r = parse_tokenizer_config(j, name);
  if (!r.ok()) return r.status().with_context(path);
  return r;
}

Result<ChatTemplate> template_for_model(const ModelChatInfo& info) {
  if (info.template_source.empty()) return ChatTemplate::chatml();
  return ChatTemplate::from_source(info.template_source);
}

}  // namespace nuri::chat
