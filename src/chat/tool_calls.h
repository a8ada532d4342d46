// chat/tool_calls.h — tool-call syntax of each chat-template family: detection, parsing of the
//   assistant's raw output, and a GBNF grammar that constrains output to the family's syntax.
// Purpose: the server and `nuri tool-calls` turn generated text into OpenAI-style
//   {content, reasoning_content, tool_calls[{id, name, arguments}]}. The family is detected from
//   the chat template's text (as llama.cpp's chat-format detection does): each family is a
//   ToolCallSyntax (a kind plus the marker strings its template uses).
// Non-goals: executing tools, validating arguments against the schema (the grammar does that at
//   generation time), incremental (token by token) parsing: streaming callers re-parse the text
//   so far and hold back anything after the first call marker.
// Invariants: parsing never throws and never fails: text that is not a well-formed call stays in
//   `content` (a model may write anything); arguments are JSON values (objects for well-formed
//   calls); the grammar builders return a GBNF grammar whose `root` rule accepts exactly the
//   family's call syntax, or an error naming the problem (unsupported family, bad schema).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "chat/chat_template.h"

namespace nuri::chat {

enum class ToolCallKind {
  kNone,           // template renders no tool calls: output is content only
  kJsonTagged,     // open + JSON call object(s) or array + close: Hermes/Qwen <tool_call>, Apriel,
                   //   Nemotron <TOOLCALL>, MiniMax-M1, Command-R actions, Apertus, GigaChat
  kLlama3Json,     // bare {"name": .., "parameters": ..} (or after <|python_tag|>)
  kFunctionaryV31, // <function=NAME>{json}</function>
  kFunctionaryV32, // >>>NAME\n{json}
  kMistral,        // [TOOL_CALLS]NAME[CALL_ID]id[ARGS]{json} or [TOOL_CALLS][{...}]
  kDeepSeek,       // <｜tool▁call▁begin｜>[function<｜tool▁sep｜>]NAME(<｜tool▁sep｜>|\n```json\n)JSON...
  kKimiK2,         // <|tool_call_begin|>functions.NAME:i<|tool_call_argument_begin|>{json}<|tool_call_end|>
  kHarmony,        // gpt-oss: to=functions.NAME<|channel|>commentary json<|message|>{json}<|call|>
  kSolar,          // <|tool_call:begin|>id<|tool_call:name|>NAME<|tool_call:args|>{json}<|tool_call:end|>
  kXmlFunction,    // <tool_call><function=NAME><parameter=K>V</parameter></function></tool_call>
  kArgKeyValue,    // GLM: <tool_call>NAME<arg_key>K</arg_key><arg_value>V</arg_value></tool_call>
  kXmlInvoke,      // <invoke name="NAME"><parameter name="K">V</parameter></invoke> (MiniMax-M2,
                   //   DeepSeek DSML, glimmer, MiniCPM)
  kMiniMaxM3,      // <invoke name="NAME"><K>V</K></invoke> with ]<]minimax[>[ separators
  kKimiK3,         // <|open|>call tool="NAME" ...<|sep|><|open|>argument key="K" type=".."<|sep|>V<|close|>argument<|sep|>
  kGemma4,         // <|tool_call>call:NAME{k:<|"|>str<|"|>,n:1}<tool_call|>
  kPythonic,       // <|tool_call_start|>[NAME(k='v', n=1)]<|tool_call_end|> (LFM2.5)
};

struct ToolCallSyntax {
  ToolCallKind kind = ToolCallKind::kNone;
  std::string name;         // family name for messages and reports ("hermes", "qwen3-coder", ...)
  std::string open;         // marker that starts the call block (per kind, see tool_calls.cc)
  std::string close;        // marker that ends it ("" = end of text)
  std::string call_open;    // per-call markers for kinds that have them
  std::string call_close;
  std::string param_open;   // per-parameter markers (XML kinds)
  std::string param_close;
  std::string think_open;   // reasoning markers ("" = the family has none)
  std::string think_close;
};

struct ToolCall {
  std::string id;  // as the model wrote it ("" = none; the server assigns one)
  std::string name;
  nlohmann::ordered_json arguments = nlohmann::ordered_json::object();
};

struct ParsedOutput {
  std::string content;            // text outside calls and reasoning
  std::string reasoning_content;  // text inside the think markers
  std::vector<ToolCall> tool_calls;
};

// Family of a chat template's source text (kNone when it renders no tool calls).
ToolCallSyntax detect_tool_call_syntax(std::string_view template_source);
// Same, also looking at what the template renders for a probe conversation with one tool call:
// finds markers that the source builds from variables (DeepSeek DSML, Hunyuan, Kimi-K3, ...).
ToolCallSyntax detect_tool_call_syntax(const ChatTemplate& tmpl);

// For templates that render no tools (kind kNone): the Hermes <tool_call> syntax, and the
// messages with the tools described in the system message (the first one, or a new one).
ToolCallSyntax fallback_tool_call_syntax();
nlohmann::ordered_json messages_with_tools_prompt(const nlohmann::ordered_json& messages,
                                                  const nlohmann::ordered_json& tools);

// Splits raw assistant output into content, reasoning and calls. `tools` is the request's OpenAI
// tools array (or null): parameter schemas decide how untyped XML values are read ("3" is the
// string "3" for a string parameter, the number 3 otherwise).
ParsedOutput parse_tool_calls(const ToolCallSyntax& syntax, std::string_view text,
                              const nlohmann::ordered_json& tools = nullptr);

// The OpenAI assistant-message fields for a parsed reply: {"content": text or null (null when
// empty and there are calls), "reasoning_content" (only when non-empty), "tool_calls": [{"id",
// "type": "function", "function": {"name", "arguments": JSON text}}] (only when there are calls)}.
// Calls without an id get "call_" + id_seed + "_" + index.
nlohmann::ordered_json to_openai_fields(const ParsedOutput& p, std::string_view id_seed);

// Streaming helper: length of the prefix of `text` that is certainly content (no call marker
// starts in it, not even partially at its end). Callers emit that much as content deltas.
size_t safe_content_prefix(const ToolCallSyntax& syntax, std::string_view text);

// JSON Schema -> complete GBNF grammar (with a `root` rule). Provided by the grammar module
// (chat sits below it); the builders rename its rules so several schemas fit one grammar.
using SchemaToGbnf = std::function<Result<std::string>(const nlohmann::ordered_json& schema)>;

struct ToolGrammarOptions {
  bool parallel = false;            // allow more than one call
  std::string only_function;        // named tool_choice: only this tool ("" = any tool)
  // Optional: a string schema with format/pattern -> GBNF of its raw characters (no quotes, no
  // '<'), for families that write string values raw (XML kinds). Unset: such values are free text.
  SchemaToGbnf raw_string_to_gbnf;
};

// GBNF whose root accepts one (or, with parallel, several) calls in the family's syntax, each
// naming one of `tools` with arguments matching its `parameters` schema.
Result<std::string> tool_call_grammar(const ToolCallSyntax& syntax, const nlohmann::ordered_json& tools,
                                      const SchemaToGbnf& schema_to_gbnf, const ToolGrammarOptions& opts = {});

// Checks the OpenAI tools array: each entry {"type": "function", "function": {"name", "parameters"?}},
// names unique and non-empty, parameters an object schema. The message names the bad entry.
Status validate_tools(const nlohmann::ordered_json& tools);

// Renames every rule of a GBNF grammar `g` to prefix + name (root becomes prefix + "root").
std::string prefix_gbnf_rules(std::string_view g, std::string_view prefix);

}  // namespace nuri::chat
