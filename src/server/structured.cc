// server/structured.cc — request grammars (see structured.h).
#include "server/structured.h"

#include "grammar/grammar.h"
#include "grammar/json_schema.h"

namespace nuri::server {

using json = nlohmann::ordered_json;

namespace {

bool fail(ApiError* err, const std::string& param, const std::string& msg) {
  *err = ApiError{400, msg, "invalid_request_error", param, "invalid_value"};
  return false;
}

Result<std::string> schema_gbnf(const json& schema) {
  return grammar::json_schema_to_gbnf(schema.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace

bool build_request_grammar(const ApiRequest& r, const chat::ToolCallSyntax& reply_syntax,
                           std::shared_ptr<const grammar::Grammar>* out, ApiError* err) {
  out->reset();
  std::string gbnf, param;
  if (r.endpoint == Endpoint::kChat && r.tools && (r.tool_choice == "required" || r.tool_choice == "function")) {
    chat::ToolGrammarOptions o;
    o.parallel = r.parallel_tool_calls;
    if (r.tool_choice == "function") o.only_function = r.tool_choice_name;
    o.raw_string_to_gbnf = [](const json& schema) {
      return grammar::json_schema_raw_string_gbnf(schema.dump(-1, ' ', false, json::error_handler_t::replace));
    };
    Result<std::string> g = chat::tool_call_grammar(reply_syntax, *r.tools, schema_gbnf, o);
    if (!g.ok()) return fail(err, "tools", "cannot constrain the output to tool calls: invalid 'tools': " + g.error());
    gbnf = std::move(*g);
    param = "tools";
  } else if (!r.grammar.empty()) {
    gbnf = r.grammar;
    param = "grammar";
  } else if (r.json_schema) {
    Result<std::string> g = schema_gbnf(*r.json_schema);
    if (!g.ok()) return fail(err, "response_format", "invalid 'response_format' schema: " + g.error());
    gbnf = std::move(*g);
    param = "response_format";
  } else if (r.response_format == "json_object") {
    gbnf = grammar::json_any_gbnf();
    param = "response_format";
  } else {
    return true;
  }
  auto g = grammar::Grammar::parse(gbnf);
  if (!g.ok()) {
    if (param == "grammar") return fail(err, param, "invalid 'grammar': " + g.error());
    return fail(err, param, "the grammar built from '" + param + "' does not compile (a bug): " + g.error());
  }
  *out = std::move(*g);
  return true;
}

}  // namespace nuri::server
