// chat/chat_template.h — apply a model's chat template to OpenAI-style messages.
// Purpose: find a model's template (GGUF `tokenizer.chat_template`, HF tokenizer_config.json or
//   chat_template.jinja) and render it the way Hugging Face's apply_chat_template does: variables
//   messages, add_generation_prompt, bos_token, eos_token, tools (only when given) and any extra
//   keys (e.g. enable_thinking). Models without a template get a built-in ChatML template.
// Non-goals: tokenizing the prompt; parsing tool calls out of model output (chat/tool_calls.h).
// Invariants: the output is exactly the rendered text (nothing added or trimmed); errors are
//   returned as Status with the template's error message, never thrown.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "io/gguf.h"

#include "base/status.h"
#include "chat/jinja/jinja.h"

namespace nuri::chat {

struct ChatInputs {
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  std::optional<nlohmann::ordered_json> tools;  // nullopt: `tools` is undefined in the template
  bool add_generation_prompt = true;
  std::string bos_token;
  std::string eos_token;
  nlohmann::ordered_json extra_context = nlohmann::ordered_json::object();  // more template variables
  std::optional<std::tm> now;  // clock for strftime_now(); nullopt = current local time
};

class ChatTemplate {
 public:
  static Result<ChatTemplate> from_source(std::string source);
  static ChatTemplate chatml();  // the built-in fallback

  Result<std::string> apply(const ChatInputs& in) const;
  const std::string& source() const { return source_; }

 private:
  std::string source_;
  jinja::Template tmpl_;
};

// What a model file says about chat formatting.
struct ModelChatInfo {
  std::string template_source;  // empty when the model has none
  std::string bos_token;
  std::string eos_token;
};

// `path` is a .gguf file, a tokenizer_config.json, or a HF model directory (chat_template.jinja
// and/or tokenizer_config.json). `name` selects a named template ("tool_use"); empty = default.
Result<ModelChatInfo> load_model_chat_info(const std::string& path, const std::string& name = "");
Result<ModelChatInfo> load_gguf_chat_info(const std::string& path, const std::string& name = "");
// The same from a GGUF file already open (the runtime's loaded model: no second read).
Result<ModelChatInfo> chat_info_from_gguf(const io::GgufFile& gguf, const std::string& name = "");
Result<ModelChatInfo> parse_tokenizer_config(const nlohmann::ordered_json& config, const std::string& name = "");

// The model's template, or ChatML when it has none.
Result<ChatTemplate> template_for_model(const ModelChatInfo& info);

}  // namespace nuri::chat
