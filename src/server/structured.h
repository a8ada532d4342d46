// server/structured.h — the grammar a chat/completion request's output must follow.
// Purpose: turn `grammar` (GBNF), `response_format` (json_object / json_schema) and tool_choice
//   "required" / a named function (the tool-call grammar of the model family's own syntax, over
//   the tools' parameter schemas, chat/tool_calls.h) into one compiled grammar::Grammar for the
//   engine request.
// Non-goals: parsing the output (response.cc does, through chat::parse_tool_calls).
// Invariants: a bad grammar, a schema with an unsupported keyword, or a tool whose parameters
//   cannot be compiled gives an ApiError (HTTP 400) whose message names the problem and whose
//   param names the field; never throws.
#pragma once

#include <memory>

#include "chat/tool_calls.h"
#include "server/api.h"

namespace nuri::grammar {
class Grammar;
}

namespace nuri::server {

// *out stays null when the request asks for no constraint. False with *err on bad input.
bool build_request_grammar(const ApiRequest& r, const chat::ToolCallSyntax& reply_syntax,
                           std::shared_ptr<const grammar::Grammar>* out, ApiError* err);

}  // namespace nuri::server
