// chat/tool_call_util.h — helpers shared by the tool-call parsers (internal to chat).
// Purpose: find the end of a JSON value inside text, read Python/Gemma-style literals, type an
//   XML parameter value by its schema, normalise the many JSON shapes a call object takes.
// Non-goals: a full Python parser (only literals: str, int, float, bool, None, list, tuple, dict).
// Invariants: nothing throws; every function reports failure by its return value.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/tool_calls.h"

namespace nuri::chat::detail {

using json = nlohmann::ordered_json;

inline constexpr size_t kNpos = std::string_view::npos;

size_t skip_ws(std::string_view s, size_t pos);
std::string_view trim(std::string_view s);

// End (exclusive) of the JSON value that starts at s[pos] (no leading whitespace), or kNpos.
size_t scan_json(std::string_view s, size_t pos);
// Skips whitespace, reads one JSON value, advances *pos past it. False (pos unchanged) if none.
bool read_json(std::string_view s, size_t* pos, json* out);
// The whole of `s` (trimmed) as JSON, or nullopt.
std::optional<json> parse_json_text(std::string_view s);

// Literal syntax beyond JSON: 'single' quotes, True/False/None, tuples, bare identifier keys,
// and (when string_delim is set) strings delimited by it (Gemma's <|"|>).
struct LiteralOptions {
  std::string_view string_delim;
  bool bare_keys = false;
};
// Reads one literal at s[*pos] (leading whitespace skipped) and advances *pos.
bool read_literal(std::string_view s, size_t* pos, json* out, const LiteralOptions& opt = {});
std::optional<json> parse_literal_text(std::string_view s, const LiteralOptions& opt = {});

// Schema of parameter `key` of tool `name` in an OpenAI tools array (nullptr if unknown).
const json* param_schema(const json& tools, std::string_view name, std::string_view key);
// An XML parameter's text as a JSON value: kept a string when the schema says string (or the
// text is no literal), else read as JSON or a Python literal.
json typed_value(std::string_view raw, const json* schema);

// {name, arguments|parameters} / {tool_name, parameters} / {function: {...}} / {NAME: {args}}.
bool call_from_object(const json& obj, ToolCall* out);
// Arguments that came as a JSON string holding JSON are decoded; anything else is kept.
json decode_arguments(const json& args);

// Position of the first occurrence of `needle` at or after pos, or kNpos.
inline size_t find(std::string_view s, std::string_view needle, size_t pos = 0) {
  return needle.empty() ? kNpos : s.find(needle, pos);
}
// Length of the longest suffix of `s` that is a proper prefix of `marker` (0 if none).
size_t partial_suffix(std::string_view s, std::string_view marker);

// Reasoning split: strips <think>..</think> (or the syntax's markers) into *reasoning.
std::string split_reasoning(const ToolCallSyntax& syn, std::string_view text, std::string* reasoning);

}  // namespace nuri::chat::detail
