// server/response.h — OpenAI response bodies built from engine events.
// Purpose: one Generation per HTTP request collects the engine's events of all choices and
//   renders either SSE chunks (`data: {...}\n\n`, ending with `data: [DONE]\n\n`) as they come,
//   or the final non-streaming body, in the chat.completion / text_completion shapes.
// Non-goals: sockets, engine control (server.cc does both).
// Invariants: every JSON text is valid UTF-8 (invalid bytes from a model are replaced); usage
//   counts equal the engine's token counts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "chat/tool_calls.h"
#include "nuri/engine.h"
#include "server/api.h"
#include "tokenizer/tokenizer.h"

namespace nuri::server {

class Generation {
 public:
  Generation(const ApiRequest& req, const tokenizer::Tokenizer& tok, std::string id, std::string model,
             int32_t n_prompt_tokens, std::string echo_text);

  // Chat with tools: parse each choice's text with this family's parser; the message gets
  // OpenAI `tool_calls` and finish_reason "tool_calls" when it holds calls. Streaming holds
  // back text from the first call marker and sends the calls as tool_calls deltas at the end.
  void set_tool_parsing(chat::ToolCallSyntax syntax, nlohmann::ordered_json tools);

  // Streaming: the SSE text to send for this event (may be empty).
  std::string on_event_sse(const engine::Event& ev);
  // Streaming: after every choice is done: usage chunk (if asked) and `data: [DONE]`.
  std::string final_sse();
  // Non-streaming: accumulate; then render the whole body.
  void on_event(const engine::Event& ev);
  std::string final_body() const;

  bool all_done() const { return n_done_ == static_cast<int32_t>(choices_.size()); }
  int32_t completion_tokens() const;
  bool any_error(std::string* message) const;

 private:
  struct Choice {
    std::string text;
    engine::FinishReason finish = engine::FinishReason::kNone;
    std::string error;
    int32_t n_gen = 0;
    bool started = false;  // streaming: role delta sent
    nlohmann::ordered_json lp_content = nlohmann::ordered_json::array();  // chat logprobs
    nlohmann::ordered_json lp_tokens = nlohmann::ordered_json::array();   // completion logprobs
    nlohmann::ordered_json lp_token_logprobs = nlohmann::ordered_json::array();
    nlohmann::ordered_json lp_top = nlohmann::ordered_json::array();
    nlohmann::ordered_json lp_offsets = nlohmann::ordered_json::array();
    size_t offset = 0;  // text_offset of the next token
    size_t sent = 0;    // tool parsing, streaming: bytes of text already sent as content
  };
  std::string tool_sse(const engine::Event& ev, Choice& c);
  void drop_cut_call(engine::FinishReason finish, chat::ParsedOutput* p) const;
  bool parse_tools_ = false;
  chat::ToolCallSyntax syntax_;
  nlohmann::ordered_json tools_;
  nlohmann::ordered_json chunk_base() const;
  nlohmann::ordered_json usage() const;
  // Logprobs of one token event, in this endpoint's shape (as a one-token piece).
  nlohmann::ordered_json event_logprobs(const engine::Event& ev, Choice& c);
  void add_logprobs(const engine::Event& ev, Choice& c);
  static std::string finish_name(engine::FinishReason r);
  static std::string sse(const nlohmann::ordered_json& j);

  const ApiRequest& req_;
  const tokenizer::Tokenizer& tok_;
  std::string id_, model_;
  int64_t created_;
  int32_t n_prompt_;
  std::string echo_;
  std::string fast_prefix_;  // SSE token chunks start with this
  std::vector<Choice> choices_;
  int32_t n_done_ = 0;
};

// Dumps JSON, replacing invalid UTF-8.
std::string dump_json(const nlohmann::ordered_json& j);

}  // namespace nuri::server
