// server/response.cc — OpenAI response shapes (see response.h).
#include "server/response.h"

#include <cctype>

#include <ctime>

namespace nuri::server {

using json = nlohmann::ordered_json;
using engine::Event;
using engine::FinishReason;

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

namespace {
// A token piece as a valid-UTF-8 string (partial UTF-8 replaced) plus its raw bytes.
std::string safe_text(const std::string& s) { return json(s).dump(-1, ' ', false, json::error_handler_t::replace); }
json piece_json(const std::string& s) { return json::parse(safe_text(s)); }
json bytes_json(const std::string& s) {
  json b = json::array();
  for (unsigned char ch : s) b.push_back(static_cast<int>(ch));
  return b;
}
}  // namespace

Generation::Generation(const ApiRequest& req, const tokenizer::Tokenizer& tok, std::string id, std::string model,
                       int32_t n_prompt_tokens, std::string echo_text)
    : req_(req),
      tok_(tok),
      id_(std::move(id)),
      model_(std::move(model)),
      created_(static_cast<int64_t>(std::time(nullptr))),
      n_prompt_(n_prompt_tokens),
      echo_(std::move(echo_text)),
      choices_(req.n) {
  for (auto& c : choices_) {
    c.text = echo_;
    c.offset = echo_.size();
  }
  // `data: {` + the chunk's fixed fields + `"choices":[{"index":`, in chunk_base()'s order.
  std::string base = dump_json(chunk_base());
  base.pop_back();  // the closing brace
  fast_prefix_ = "data: " + base + ",\"choices\":[{\"index\":";
}

std::string Generation::finish_name(FinishReason r) {
  switch (r) {
    case FinishReason::kLength: return "length";
    case FinishReason::kError: return "error";
    default: return "stop";
  }
}

std::string Generation::sse(const json& j) { return "data: " + dump_json(j) + "\n\n"; }

json Generation::chunk_base() const {
  json j = json::object();
  j["id"] = id_;
  j["object"] = req_.endpoint == Endpoint::kChat ? "chat.completion.chunk" : "text_completion";
  j["created"] = created_;
  j["model"] = model_;
  j["system_fingerprint"] = "nuri";
  return j;
}

int32_t Generation::completion_tokens() const {
  int32_t n = 0;
  for (const auto& c : choices_) n += c.n_gen;
  return n;
}

bool Generation::any_error(std::string* message) const {
  for (const auto& c : choices_)
    if (c.finish == FinishReason::kError) {
      *message = c.error;
      return true;
    }
  return false;
}

json Generation::usage() const {
  json u = json::object();
  u["prompt_tokens"] = n_prompt_;
  u["completion_tokens"] = completion_tokens();
  u["total_tokens"] = n_prompt_ + completion_tokens();
  return u;
}

json Generation::event_logprobs(const Event& ev, Choice& c) {
  if (req_.top_logprobs < 0 || ev.kind != Event::Kind::kToken) return nullptr;
  if (req_.endpoint == Endpoint::kChat) {
    json item = json::object();
    item["token"] = piece_json(ev.piece);
    item["logprob"] = ev.logprob;
    item["bytes"] = bytes_json(ev.piece);
    json top = json::array();
    for (const auto& t : ev.top) {
      const std::string p = tok_.token_to_piece(t.token, false);
      top.push_back({{"token", piece_json(p)}, {"logprob", t.logprob}, {"bytes", bytes_json(p)}});
    }
    item["top_logprobs"] = std::move(top);
    return json{{"content", json::array({std::move(item)})}};
  }
  json top_plain = json::object();
  for (const auto& t : ev.top) top_plain[piece_json(tok_.token_to_piece(t.token, false)).get<std::string>()] = t.logprob;
  json lp = json::object();
  lp["tokens"] = json::array({piece_json(ev.piece)});
  lp["token_logprobs"] = json::array({ev.logprob});
  lp["top_logprobs"] = json::array({std::move(top_plain)});
  lp["text_offset"] = json::array({c.offset});
  return lp;
}

void Generation::add_logprobs(const Event& ev, Choice& c) {
  json lp = event_logprobs(ev, c);
  if (lp.is_null()) return;
  if (req_.endpoint == Endpoint::kChat) {
    c.lp_content.push_back(lp["content"][0]);
  } else {
    c.lp_tokens.push_back(lp["tokens"][0]);
    c.lp_token_logprobs.push_back(lp["token_logprobs"][0]);
    c.lp_top.push_back(lp["top_logprobs"][0]);
    c.lp_offsets.push_back(lp["text_offset"][0]);
  }
}

void Generation::on_event(const Event& ev) {
  if (ev.choice < 0 || ev.choice >= static_cast<int32_t>(choices_.size())) return;
  Choice& c = choices_[ev.choice];
  if (ev.kind == Event::Kind::kToken) {
    add_logprobs(ev, c);
    c.text += ev.text;
    c.offset += ev.piece.size();
    return;
  }
  c.text += ev.text;
  c.finish = ev.finish;
  c.error = ev.error;
  c.n_gen = ev.n_generated;
  ++n_done_;
}

std::string Generation::final_body() const {
  json j = json::object();
  j["id"] = id_;
  j["object"] = req_.endpoint == Endpoint::kChat ? "chat.completion" : "text_completion";
  j["created"] = created_;
  j["model"] = model_;
  j["system_fingerprint"] = "nuri";
  json choices = json::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    json ch = json::object();
    ch["index"] = i;
    std::string finish = finish_name(c.finish);
    if (req_.endpoint == Endpoint::kChat && parse_tools_) {
      chat::ParsedOutput p = chat::parse_tool_calls(syntax_, c.text, tools_);
      drop_cut_call(c.finish, &p);
      json msg = {{"role", "assistant"}};
      const json fields = chat::to_openai_fields(p, id_ + "_" + std::to_string(i));
      for (const auto& [k, v] : fields.items()) msg[k] = v;
      ch["message"] = std::move(msg);
      ch["logprobs"] = req_.top_logprobs >= 0 ? json{{"content", c.lp_content}} : json(nullptr);
      // Cut by max_tokens or the context: "length" even with complete calls before the cut.
      if (!p.tool_calls.empty() && c.finish == FinishReason::kStop) finish = "tool_calls";
    } else if (req_.endpoint == Endpoint::kChat) {
      ch["message"] = {{"role", "assistant"}, {"content", c.text}};
      ch["logprobs"] = req_.top_logprobs >= 0 ? json{{"content", c.lp_content}} : json(nullptr);
    } else {
      ch["text"] = c.text;
      ch["logprobs"] = req_.top_logprobs >= 0 ? json{{"tokens", c.lp_tokens},
                                                     {"token_logprobs", c.lp_token_logprobs},
                                                     {"top_logprobs", c.lp_top},
                                                     {"text_offset", c.lp_offsets}}
                                              : json(nullptr);
    }
    ch["finish_reason"] = finish;
    choices.push_back(std::move(ch));
  }
  j["choices"] = std::move(choices);
  j["usage"] = usage();
  return dump_json(j);
}

std::string Generation::on_event_sse(const Event& ev) {
  if (ev.choice < 0 || ev.choice >= static_cast<int32_t>(choices_.size())) return "";
  Choice& c = choices_[ev.choice];
  const bool chat = req_.endpoint == Endpoint::kChat;
  if (chat && parse_tools_) return tool_sse(ev, c);
  std::string out;
  auto emit = [&](const std::string& text, json logprobs, json finish) {
    json j = chunk_base();
    json ch = json::object();
    ch["index"] = ev.choice;
    if (chat) {
      json delta = json::object();
      if (!c.started) delta["role"] = "assistant";
      if (!text.empty() || !c.started || !logprobs.is_null()) delta["content"] = text;
      ch["delta"] = std::move(delta);
    } else {
      ch["text"] = (!c.started ? echo_ : std::string()) + text;
    }
    ch["logprobs"] = std::move(logprobs);
    ch["finish_reason"] = std::move(finish);
    c.started = true;
    j["choices"] = json::array({std::move(ch)});
    if (req_.include_usage) j["usage"] = nullptr;
    out += sse(j);
  };
  if (ev.kind == Event::Kind::kToken && c.started && req_.top_logprobs < 0) {
    // Hot path (one per token and client): the chunk from a prebuilt prefix, no JSON tree.
    c.offset += ev.piece.size();
    c.text += ev.text;
    if (ev.text.empty()) return out;
    out.reserve(fast_prefix_.size() + ev.text.size() + 96);
    out += fast_prefix_;
    out += std::to_string(ev.choice);
    out += chat ? ",\"delta\":{\"content\":" : ",\"text\":";
    out += dump_json(json(ev.text));
    out += chat ? "},\"logprobs\":null,\"finish_reason\":null}]" : ",\"logprobs\":null,\"finish_reason\":null}]";
    out += req_.include_usage ? ",\"usage\":null}\n\n" : "}\n\n";
    return out;
  }
  if (ev.kind == Event::Kind::kToken) {
    json lp = event_logprobs(ev, c);
    c.offset += ev.piece.size();
    c.text += ev.text;
    if (!ev.text.empty() || !lp.is_null() || !c.started) emit(ev.text, std::move(lp), nullptr);
    return out;
  }
  c.finish = ev.finish;
  c.error = ev.error;
  c.n_gen = ev.n_generated;
  ++n_done_;
  if (ev.finish == FinishReason::kError) {
    ApiError e{500, "generation failed: " + ev.error, "server_error", "", ""};
    return "data: " + error_body(e) + "\n\n";
  }
  if (!ev.text.empty() || !c.started) emit(ev.text, nullptr, nullptr);
  c.text += ev.text;
  json j = chunk_base();
  json ch = json::object();
  ch["index"] = ev.choice;
  if (chat) ch["delta"] = json::object();
  else ch["text"] = "";
  ch["logprobs"] = nullptr;
  ch["finish_reason"] = finish_name(ev.finish);
  j["choices"] = json::array({std::move(ch)});
  if (req_.include_usage) j["usage"] = nullptr;
  out += sse(j);
  return out;
}

void Generation::drop_cut_call(FinishReason finish, chat::ParsedOutput* p) const {
  // A reply cut by max_tokens or the context may end inside a call: that unfinished call is
  // markup, not content (the complete calls before it stay).
  if (finish != FinishReason::kLength) return;
  p->content.resize(chat::safe_content_prefix(syntax_, p->content));
  while (!p->content.empty() && std::isspace(static_cast<unsigned char>(p->content.back()))) p->content.pop_back();
}

void Generation::set_tool_parsing(chat::ToolCallSyntax syntax, json tools) {
  parse_tools_ = syntax.kind != chat::ToolCallKind::kNone;
  syntax_ = std::move(syntax);
  tools_ = std::move(tools);
}

// Streaming with tool parsing: content up to the first (possible) call marker goes out as it
// comes; the rest waits for the end, then reasoning, remaining content and the calls follow
// (each call: one delta with id, type and name, then one with its arguments).
std::string Generation::tool_sse(const Event& ev, Choice& c) {
  std::string out;
  auto chunk = [&](json delta, json finish) {
    json j = chunk_base();
    json ch = json::object();
    ch["index"] = ev.choice;
    if (!c.started) delta["role"] = "assistant";
    c.started = true;
    ch["delta"] = std::move(delta);
    ch["logprobs"] = nullptr;
    ch["finish_reason"] = std::move(finish);
    j["choices"] = json::array({std::move(ch)});
    if (req_.include_usage) j["usage"] = nullptr;
    out += sse(j);
  };
  c.text += ev.text;
  if (ev.kind == Event::Kind::kToken) {
    c.offset += ev.piece.size();
    const size_t safe = chat::safe_content_prefix(syntax_, c.text);
    if (safe > c.sent) {
      chunk(json{{"content", c.text.substr(c.sent, safe - c.sent)}}, nullptr);
      c.sent = safe;
    } else if (!c.started) {
      chunk(json{{"content", ""}}, nullptr);
    }
    return out;
  }
  c.finish = ev.finish;
  c.error = ev.error;
  c.n_gen = ev.n_generated;
  ++n_done_;
  if (ev.finish == FinishReason::kError) {
    ApiError e{500, "generation failed: " + ev.error, "server_error", "", ""};
    return "data: " + error_body(e) + "\n\n";
  }
  chat::ParsedOutput p = chat::parse_tool_calls(syntax_, c.text, tools_);
  drop_cut_call(ev.finish, &p);
  if (!p.reasoning_content.empty()) chunk(json{{"reasoning_content", p.reasoning_content}}, nullptr);
  // What of the parsed content has not gone out yet (the parser trims; the sent part is raw).
  std::string sent = c.text.substr(0, c.sent);
  size_t lead = sent.find_first_not_of(" \t\r\n");
  std::string sent_trim = lead == std::string::npos ? "" : sent.substr(lead);
  if (p.content.compare(0, sent_trim.size(), sent_trim) == 0 && p.content.size() > sent_trim.size())
    chunk(json{{"content", p.content.substr(sent_trim.size())}}, nullptr);
  json fields = chat::to_openai_fields(p, id_ + "_" + std::to_string(ev.choice));
  if (fields.contains("tool_calls")) {
    int idx = 0;
    for (const auto& call : fields["tool_calls"]) {
      chunk(json{{"tool_calls", json::array({{{"index", idx}, {"id", call["id"]}, {"type", "function"},
                                              {"function", {{"name", call["function"]["name"]}, {"arguments", ""}}}}})}},
            nullptr);
      chunk(json{{"tool_calls", json::array({{{"index", idx}, {"function", {{"arguments", call["function"]["arguments"]}}}}})}},
            nullptr);
      ++idx;
    }
  }
  if (!c.started) chunk(json{{"content", ""}}, nullptr);
  chunk(json::object(), !p.tool_calls.empty() && ev.finish == FinishReason::kStop ? json("tool_calls") : json(finish_name(ev.finish)));
  return out;
}

std::string Generation::final_sse() {
  std::string out;
  if (req_.include_usage) {
    json j = chunk_base();
    j["choices"] = json::array();
    j["usage"] = usage();
    out += sse(j);
  }
  out += "data: [DONE]\n\n";
  return out;
}

}  // namespace nuri::server
