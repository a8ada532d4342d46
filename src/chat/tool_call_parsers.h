// chat/tool_call_parsers.h — the per-family parsers behind parse_tool_calls (internal to chat).
// Purpose: one entry point per file family: JSON-bodied calls (tool_call_json.cc) and
//   XML/literal-bodied calls (tool_call_xml.cc); parse_calls dispatches on the syntax kind.
// Invariants: text that does not parse as a call is appended to out->content unchanged;
//   out->content is trimmed of surrounding whitespace at the end.
#pragma once

#include <string_view>
#include <vector>

#include "chat/tool_call_util.h"

namespace nuri::chat::detail {

// Parses `text` (reasoning already removed) into out->content and out->tool_calls.
void parse_calls(const ToolCallSyntax& syn, std::string_view text, const json& tools, ParsedOutput* out);
void parse_json_family(const ToolCallSyntax& syn, std::string_view text, const json& tools, ParsedOutput* out);
void parse_xml_family(const ToolCallSyntax& syn, std::string_view text, const json& tools, ParsedOutput* out);

// Markers whose appearance starts a call (for streaming hold-back).
std::vector<std::string_view> start_markers(const ToolCallSyntax& syn);
// True when the family's calls may start without a marker and `text` begins like one
// (Llama 3 bare JSON, Functionary v3.2 recipient line).
bool starts_with_call(const ToolCallSyntax& syn, std::string_view text);

// Body parser: fills calls from the text between one open and close marker; false = not a call.
using BodyParser = bool (*)(const ToolCallSyntax& syn, std::string_view body, const json& tools,
                            std::vector<ToolCall>* calls);
// Walks text for open..close blocks (close "" = to the end); bodies that fail stay content.
void scan_blocks(const ToolCallSyntax& syn, std::string_view text, std::string_view open, std::string_view close,
                 BodyParser body, const json& tools, ParsedOutput* out);

}  // namespace nuri::chat::detail
