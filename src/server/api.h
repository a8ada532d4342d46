// server/api.h — OpenAI request parsing and validation, and the OpenAI error shape.
// Purpose: turn the body of POST /v1/chat/completions or /v1/completions into a checked
//   ApiRequest, or an ApiError that becomes `{"error": {"message", "type", "param", "code"}}`
//   with an HTTP status. Pure functions: no engine, no sockets (unit-testable and fuzzable).
// Non-goals: images/audio parts, `best_of`, `suffix`. (tools and tool_choice are checked here;
//   parsing calls out of the output is chat/tool_calls.h, applied by response.cc.)
// Invariants: never throws; any byte string gives either a request whose every field is in
//   range or an error with status 400; unknown fields are ignored, known fields of the wrong
//   type or out of range are refused naming the field (`param`).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "nuri/sampling.h"

namespace nuri::server {

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty: null
  std::string code;   // empty: null
};

// {"error": {...}} as JSON text.
std::string error_body(const ApiError& e);

// Compares a client's credential with the expected one in time that depends only on the lengths,
// never on where the first difference is (an API-key check must not leak a prefix by timing).
bool constant_time_equal(std::string_view got, std::string_view want);

enum class Endpoint { kChat, kCompletion };

struct ApiRequest {
  Endpoint endpoint = Endpoint::kChat;
  std::string model;
  // Chat: messages with every `content` flattened to a string (text parts joined).
  nlohmann::ordered_json messages = nlohmann::ordered_json::array();
  std::optional<nlohmann::ordered_json> tools;
  // tool_choice: "auto" (default), "none" (tools left out of the prompt, output not parsed),
  // "required" (at least one call), or "function" with tool_choice_name (that tool's call).
  std::string tool_choice = "auto";
  std::string tool_choice_name;
  bool parallel_tool_calls = true;
  // Structured output: response_format {"type": "json_object"} (any JSON value; an optional
  // "schema" as llama.cpp accepts) or {"type": "json_schema", "json_schema": {"schema": ...}},
  // or the `grammar` extension (GBNF text). At most one of them; none with tool_choice
  // "required"/named (that output is the tool-call grammar). Compiled by structured.h.
  std::string response_format = "text";  // "text", "json_object", "json_schema"
  std::optional<nlohmann::ordered_json> json_schema;
  std::string grammar;
  // Completion: the prompt as text, or as token ids.
  std::string prompt;
  std::vector<int32_t> prompt_tokens;
  bool prompt_is_tokens = false;
  bool echo = false;  // completion: prepend the prompt to the text

  int32_t max_tokens = -1;  // -1: not given
  float temperature = sampling::kApiDefaultTemperature;
  float top_p = 1.0f;
  int32_t top_k = 0;
  float min_p = 0.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  float repeat_penalty = 1.0f;  // extension (llama.cpp name: repeat_penalty)
  std::optional<uint64_t> seed;
  std::vector<std::string> stop;
  int32_t n = 1;
  bool stream = false;
  bool include_usage = false;
  std::vector<std::pair<int32_t, float>> logit_bias;
  int32_t top_logprobs = -1;  // -1: no logprobs (chat: logprobs=true gives 0 + top_logprobs)
  bool ignore_eos = false;    // extension
};

// Most nesting levels of arrays/objects accepted in a request body.
inline constexpr int kMaxJsonDepth = 64;
// Longest stop sequence accepted (bytes).
inline constexpr size_t kMaxStopBytes = 256;

// Parses and validates a request body. On failure fills *err and returns false.
bool parse_request(Endpoint ep, std::string_view body, ApiRequest* out, ApiError* err);

// Parses JSON text defensively (size and nesting checked first, no exceptions). Returns false
// with a message for malformed input.
bool parse_json(std::string_view body, nlohmann::ordered_json* out, std::string* message);

}  // namespace nuri::server
