// chat/jinja/jinja.h — a Jinja2 template engine that renders chat templates exactly like
// Hugging Face's apply_chat_template (Jinja2 3.x, ImmutableSandboxedEnvironment).
// Purpose: parse once, render many times with a JSON context. Configured as HF does:
//   trim_blocks, lstrip_blocks, loop controls (break/continue), `{% generation %}` rendered as its
//   body, `tojson` = json.dumps(ensure_ascii=False, ...), globals raise_exception and strftime_now.
// Non-goals: template inheritance/include/import (no loader), autoescape, async, recursive loops.
// Invariants: rendering never mutates the context; a failing template returns an error (never
//   aborts): Python-style "TypeError: ..." messages; recursion depth, loop steps and output size
//   are bounded so no template can hang or exhaust memory.
#pragma once

#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace nuri::chat::jinja {

struct Program;

struct RenderOptions {
  // Clock used by strftime_now(); nullopt means the current local time.
  std::optional<std::tm> now;
  // Caps below the built-in limits (0: the built-in one): statements + loop iterations, output
  // bytes. The fuzzer uses them so that no input can take long.
  int64_t max_steps = 0;
  size_t max_output = 0;
};

class Template {
 public:
  // Parses `source`; a syntax error (or an unknown filter/test outside an `if`) is an error here.
  static Result<Template> parse(std::string_view source);
  // Renders with the keys of `context` (a JSON object) as template variables.
  Result<std::string> render(const nlohmann::ordered_json& context, const RenderOptions& opt = {}) const;

 private:
  std::shared_ptr<const Program> program_;
};

// "YYYY-MM-DD HH:MM:SS" (or "YYYY-MM-DDTHH:MM:SS") to a broken-down time; nullopt if malformed.
std::optional<std::tm> parse_time(std::string_view s);

}  // namespace nuri::chat::jinja
