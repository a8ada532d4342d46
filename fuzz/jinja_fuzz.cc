// libFuzzer target for the Jinja engine: parse any template text and render it against a small
// chat context, with a step and output cap so no input can run long. Errors must carry a message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/jinja/jinja.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view src(reinterpret_cast<const char*>(data), size);
  auto t = nuri::chat::jinja::Template::parse(src);
  if (!t.ok()) {
    if (t.error().empty()) __builtin_trap();
    return 0;
  }
  static const nlohmann::ordered_json ctx = {
      {"messages", {{{"role", "system"}, {"content", "Be brief."}},
                    {{"role", "user"}, {"content", "Hi <b>&"}},
                    {{"role", "assistant"}, {"content", ""},
                     {"tool_calls", {{{"type", "function"}, {"function", {{"name", "f"}, {"arguments", {{"x", 1}}}}}}}}},
                    {{"role", "tool"}, {"content", "42"}}}},
      {"tools", {{{"type", "function"}, {"function", {{"name", "f"}, {"parameters", {{"type", "object"}}}}}}}},
      {"add_generation_prompt", true},
      {"bos_token", "<s>"},
      {"eos_token", "</s>"}};
  nuri::chat::jinja::RenderOptions opt;
  opt.now = std::tm{};
  opt.max_steps = 20000;
  opt.max_output = 1 << 16;
  auto r = t->render(ctx, opt);
  if (!r.ok() && r.error().empty()) __builtin_trap();
  return 0;
}
