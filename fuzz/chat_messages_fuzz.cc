// libFuzzer target for chat messages from the outside: a chat request body (messages, tools) is
// parsed by the server's parser, then rendered through the built-in ChatML template and a
// tool-aware one, with the tools moved into the system message the way the server does for
// templates without tool support, and assistant contents run through the tool-call parsers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "chat/chat_template.h"
#include "chat/tool_calls.h"
#include "server/api.h"

namespace {

// A small tool-aware template in the style of published ones (written here, not copied).
const char* kToolTemplate =
    "{%- if tools %}{{ '<|system|>tools: ' }}{% for t in tools %}{{ t.function.name | tojson }}"
    "{% endfor %}{% endif %}"
    "{%- for m in messages %}<|{{ m.role }}|>"
    "{%- if m.content is string %}{{ m.content }}{% endif %}"
    "{%- if m.tool_calls %}{% for c in m.tool_calls %}<tool_call>{{ c.function | tojson }}</tool_call>"
    "{% endfor %}{% endif %}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  nuri::server::ApiRequest req;
  nuri::server::ApiError err;
  if (!nuri::server::parse_request(nuri::server::Endpoint::kChat, body, &req, &err)) return 0;
  static const nuri::chat::ChatTemplate chatml = nuri::chat::ChatTemplate::chatml();
  static const auto tool_tmpl = nuri::chat::ChatTemplate::from_source(kToolTemplate);
  if (!tool_tmpl.ok()) __builtin_trap();
  nuri::chat::ChatInputs in;
  in.messages = req.messages;
  in.tools = req.tools;
  in.now = std::tm{};
  auto a = tool_tmpl->apply(in);
  if (!a.ok() && a.error().empty()) __builtin_trap();
  if (req.tools) in.messages = nuri::chat::messages_with_tools_prompt(req.messages, *req.tools);
  in.tools.reset();
  auto b = chatml.apply(in);
  if (!b.ok() && b.error().empty()) __builtin_trap();
  static const auto syntax = nuri::chat::fallback_tool_call_syntax();
  for (const auto& m : req.messages)
    if (m.is_object() && m.contains("content") && m["content"].is_string())
      (void)nuri::chat::parse_tool_calls(syntax, m["content"].get<std::string>(), req.tools ? *req.tools : nullptr);
  return 0;
}
