// server/api.cc — request parsing and validation (see api.h).
#include "server/api.h"

#include "chat/tool_calls.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace nuri::server {

using json = nlohmann::ordered_json;

bool constant_time_equal(std::string_view got, std::string_view want) {
  // Every byte of `got` is visited once whatever it holds; a length mismatch is folded into the
  // same accumulator instead of returning early.
  volatile unsigned char diff = got.size() == want.size() ? 0 : 1;
  for (size_t i = 0; i < got.size(); ++i) {
    const unsigned char w = want.empty() ? 0 : static_cast<unsigned char>(want[i % want.size()]);
    diff = diff | static_cast<unsigned char>(static_cast<unsigned char>(got[i]) ^ w);
  }
  return diff == 0;
}

std::string error_body(const ApiError& e) {
  json err = json::object();
  err["message"] = e.message;
  err["type"] = e.type;
  err["param"] = e.param.empty() ? json(nullptr) : json(e.param);
  err["code"] = e.code.empty() ? json(nullptr) : json(e.code);
  json body = json::object();
  body["error"] = std::move(err);
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

bool parse_json(std::string_view body, json* out, std::string* message) {
  // Nesting depth outside strings, before the parser sees it.
  int depth = 0;
  bool in_str = false, esc = false;
  for (char ch : body) {
    if (in_str) {
      if (esc) esc = false;
      else if (ch == '\\') esc = true;
      else if (ch == '"') in_str = false;
      continue;
    }
    if (ch == '"') in_str = true;
    else if (ch == '[' || ch == '{') {
      if (++depth > kMaxJsonDepth) {
        *message = "request body nests arrays/objects deeper than " + std::to_string(kMaxJsonDepth) + " levels";
        return false;
      }
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
  }
  try {
    *out = json::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  } catch (...) {
    *message = "request body is not valid JSON";
    return false;
  }
  if (out->is_discarded()) {
    *message = "request body is not valid JSON (or not valid UTF-8)";
    return false;
  }
  return true;
}

namespace {

struct Checker {
  const json& body;
  ApiError* err;
  bool ok = true;

  bool fail(const std::string& param, const std::string& msg) {
    if (ok) {
      err->status = 400;
      err->param = param;
      err->message = msg;
      err->code = "invalid_value";
      ok = false;
    }
    return false;
  }
  // A present, non-null field.
  const json* get(const char* name) const {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) return nullptr;
    return &*it;
  }
  void boolean(const char* name, bool* v) {
    const json* j = get(name);
    if (!j) return;
    if (!j->is_boolean()) {
      fail(name, std::string("'") + name + "' must be a boolean");
      return;
    }
    *v = j->get<bool>();
  }
  void number(const char* name, float* v, double lo, double hi) {
    const json* j = get(name);
    if (!j) return;
    if (!j->is_number()) {
      fail(name, std::string("'") + name + "' must be a number");
      return;
    }
    const double d = j->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) {
      fail(name, std::string("'") + name + "' must be between " + fmt(lo) + " and " + fmt(hi));
      return;
    }
    *v = static_cast<float>(d);
  }
  // An integer (a float with an integral value is accepted) within [lo, hi].
  bool integer_value(const json& j, const std::string& name, int64_t lo, int64_t hi, int64_t* v) {
    if (j.is_number_integer() && !j.is_number_unsigned()) {
      const int64_t x = j.get<int64_t>();
      if (x < lo || x > hi) return fail(name, "'" + name + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      *v = x;
      return true;
    }
    if (j.is_number_unsigned()) {
      const uint64_t x = j.get<uint64_t>();
      if (x > static_cast<uint64_t>(hi) || (lo > 0 && x < static_cast<uint64_t>(lo))) return fail(name, "'" + name + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi));
      *v = static_cast<int64_t>(x);
      return true;
    }
    if (j.is_number_float()) {
      const double d = j.get<double>();
      if (!std::isfinite(d) || d != std::floor(d) || d < static_cast<double>(lo) || d > static_cast<double>(hi))
        return fail(name, "'" + name + "' must be an integer between " + std::to_string(lo) + " and " + std::to_string(hi));
      *v = static_cast<int64_t>(d);
      return true;
    }
    return fail(name, "'" + name + "' must be an integer");
  }
  void integer(const char* name, int32_t* v, int64_t lo, int64_t hi) {
    const json* j = get(name);
    if (!j) return;
    int64_t x = 0;
    if (integer_value(*j, name, lo, hi, &x)) *v = static_cast<int32_t>(x);
  }
  static std::string fmt(double d) {
    char buf[32];
    std::snprintf(buf, sizeof(buf), "%g", d);
    return buf;
  }
};

// Content of a message: a string, null, or an array of parts ({"type":"text","text":...}).
bool flatten_content(const json& content, std::string* out, std::string* why) {
  if (content.is_null()) return true;
  if (content.is_string()) {
    *out = content.get<std::string>();
    return true;
  }
  if (!content.is_array()) {
    *why = "must be a string, an array of content parts, or null";
    return false;
  }
  for (const auto& part : content) {
    if (part.is_string()) {
      *out += part.get<std::string>();
      continue;
    }
    if (!part.is_object()) {
      *why = "parts must be objects";
      return false;
    }
    auto type = part.find("type");
    if (type == part.end() || !type->is_string()) {
      *why = "parts need a string 'type'";
      return false;
    }
    if (*type != "text") {
      *why = "part type '" + type->get<std::string>() + "' is not supported (only 'text')";
      return false;
    }
    auto text = part.find("text");
    if (text == part.end() || !text->is_string()) {
      *why = "text parts need a string 'text'";
      return false;
    }
    *out += text->get<std::string>();
  }
  return true;
}

bool parse_messages(Checker& c, const json& msgs, json* out) {
  if (!msgs.is_array()) return c.fail("messages", "'messages' must be an array");
  if (msgs.empty()) return c.fail("messages", "'messages' must not be empty");
  for (size_t i = 0; i < msgs.size(); ++i) {
    const std::string param = "messages[" + std::to_string(i) + "]";
    const json& m = msgs[i];
    if (!m.is_object()) return c.fail(param, "'" + param + "' must be an object");
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return c.fail(param + ".role", "'" + param + ".role' must be a string");
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant" && r != "tool" && r != "developer" && r != "function")
      return c.fail(param + ".role", "'" + param + ".role' must be one of system, developer, user, assistant, tool");
    json msg = m;  // keeps tool_calls, name, tool_call_id, ...
    if (r == "developer") msg["role"] = "system";
    auto content = m.find("content");
    std::string text, why;
    if (content == m.end()) {
      if (r != "assistant") return c.fail(param + ".content", "'" + param + ".content' is required");
      msg["content"] = "";
    } else {
      if (!flatten_content(*content, &text, &why)) return c.fail(param + ".content", "'" + param + ".content' " + why);
      msg["content"] = text;
    }
    out->push_back(std::move(msg));
  }
  return true;
}

bool parse_prompt(Checker& c, const json* p, ApiRequest* out) {
  if (!p) return c.fail("prompt", "'prompt' is required");
  if (p->is_string()) {
    out->prompt = p->get<std::string>();
    return true;
  }
  if (!p->is_array()) return c.fail("prompt", "'prompt' must be a string, an array of token ids, or an array of one string");
  if (p->size() == 1 && (*p)[0].is_string()) {
    out->prompt = (*p)[0].get<std::string>();
    return true;
  }
  if (p->size() == 1 && (*p)[0].is_array()) p = &(*p)[0];  // [[ids]]
  if (p->empty()) return c.fail("prompt", "'prompt' must not be an empty array");
  for (const auto& t : *p) {
    if (t.is_string()) return c.fail("prompt", "only one prompt per request is supported");
    int64_t id = 0;
    if (!c.integer_value(t, "prompt", 0, std::numeric_limits<int32_t>::max(), &id)) return false;
    out->prompt_tokens.push_back(static_cast<int32_t>(id));
  }
  out->prompt_is_tokens = true;
  return true;
}

// tools (checked with chat::validate_tools), tool_choice and parallel_tool_calls.
bool parse_tools(Checker& c, ApiRequest* out) {
  if (out->tools) {
    if (Status st = chat::validate_tools(*out->tools); !st) return c.fail("tools", "invalid 'tools': " + st.message());
  }
  if (const json* tc = c.get("tool_choice")) {
    if (tc->is_string()) {
      const std::string v = tc->get<std::string>();
      if (v != "auto" && v != "none" && v != "required")
        return c.fail("tool_choice", "'tool_choice' must be \"auto\", \"none\", \"required\" or "
                                     "{\"type\": \"function\", \"function\": {\"name\": ...}}");
      out->tool_choice = v;
    } else if (tc->is_object()) {
      auto f = tc->find("function");
      auto type = tc->find("type");
      if ((type != tc->end() && *type != "function") || f == tc->end() || !f->is_object() || !f->contains("name") ||
          !(*f)["name"].is_string())
        return c.fail("tool_choice", "'tool_choice' object must be {\"type\": \"function\", \"function\": {\"name\": ...}}");
      out->tool_choice = "function";
      out->tool_choice_name = (*f)["name"].get<std::string>();
    } else {
      return c.fail("tool_choice", "'tool_choice' must be a string or an object");
    }
    if ((out->tool_choice == "required" || out->tool_choice == "function") && !out->tools)
      return c.fail("tool_choice", "'tool_choice' \"" + out->tool_choice + "\" needs a non-empty 'tools' array");
    if (out->tool_choice == "function") {
      bool found = false;
      for (const auto& t : *out->tools) found = found || t["function"]["name"] == out->tool_choice_name;
      if (!found) return c.fail("tool_choice", "'tool_choice' names function '" + out->tool_choice_name + "', which is not in 'tools'");
    }
  }
  if (const json* p = c.get("parallel_tool_calls")) {
    if (!p->is_boolean()) return c.fail("parallel_tool_calls", "'parallel_tool_calls' must be a boolean");
    out->parallel_tool_calls = p->get<bool>();
  }
  return true;
}

// response_format and the `grammar` extension.
bool parse_structured(Checker& c, ApiRequest* out) {
  if (const json* g = c.get("grammar")) {
    if (!g->is_string()) return c.fail("grammar", "'grammar' must be a string of GBNF rules");
    out->grammar = g->get<std::string>();
  }
  if (const json* rf = c.get("response_format")) {
    const char* shape = "'response_format' must be {\"type\": \"text\"}, {\"type\": \"json_object\"} or "
                        "{\"type\": \"json_schema\", \"json_schema\": {\"name\": ..., \"schema\": {...}}}";
    if (!rf->is_object() || !rf->contains("type") || !(*rf)["type"].is_string()) return c.fail("response_format", shape);
    const std::string type = (*rf)["type"].get<std::string>();
    if (type == "json_schema") {
      auto js = rf->find("json_schema");
      if (js == rf->end() || !js->is_object()) return c.fail("response_format", shape);
      auto sc = js->find("schema");
      if (sc == js->end() || !(sc->is_object() || sc->is_boolean()))
        return c.fail("response_format", "'response_format.json_schema.schema' must be a JSON Schema object");
      auto strict = js->find("strict");
      if (strict != js->end() && !strict->is_null() && !strict->is_boolean())
        return c.fail("response_format", "'response_format.json_schema.strict' must be a boolean");
      out->json_schema = *sc;
    } else if (type == "json_object") {
      auto sc = rf->find("schema");  // llama.cpp's extension
      if (sc != rf->end() && !sc->is_null()) {
        if (!(sc->is_object() || sc->is_boolean())) return c.fail("response_format", "'response_format.schema' must be a JSON Schema object");
        out->json_schema = *sc;
      }
    } else if (type != "text") {
      return c.fail("response_format", shape);
    }
    out->response_format = type;
  }
  if (!out->grammar.empty() && out->response_format != "text")
    return c.fail("grammar", "give either 'grammar' or a JSON 'response_format', not both");
  const bool forced_calls = out->tool_choice == "required" || out->tool_choice == "function";
  if (forced_calls && (!out->grammar.empty() || out->response_format != "text"))
    return c.fail(out->grammar.empty() ? "response_format" : "grammar",
                  "tool_choice \"" + out->tool_choice + "\" constrains the output to tool calls; it does not combine with '" +
                      (out->grammar.empty() ? "response_format" : "grammar") + "'");
  return true;
}

}  // namespace

bool parse_request(Endpoint ep, std::string_view body, ApiRequest* out, ApiError* err) {
  *out = ApiRequest{};
  out->endpoint = ep;
  json j;
  std::string msg;
  if (!parse_json(body, &j, &msg)) {
    *err = ApiError{400, msg, "invalid_request_error", "", "invalid_json"};
    return false;
  }
  if (!j.is_object()) {
    *err = ApiError{400, "request body must be a JSON object", "invalid_request_error", "", "invalid_json"};
    return false;
  }
  Checker c{j, err};
  try {
    if (const json* m = c.get("model")) {
      if (!m->is_string()) return c.fail("model", "'model' must be a string");
      out->model = m->get<std::string>();
    }
    if (ep == Endpoint::kChat) {
      const json* msgs = c.get("messages");
      if (!msgs) return c.fail("messages", "'messages' is required");
      if (!parse_messages(c, *msgs, &out->messages)) return false;
      if (const json* t = c.get("tools")) {
        if (!t->is_array()) return c.fail("tools", "'tools' must be an array");
        if (!t->empty()) out->tools = *t;
      }
      if (!parse_tools(c, out)) return false;
      if (!parse_structured(c, out)) return false;
    } else {
      if (!parse_prompt(c, c.get("prompt"), out)) return false;
      c.boolean("echo", &out->echo);
      if (!parse_structured(c, out)) return false;
    }
    // max_completion_tokens wins over the deprecated max_tokens.
    c.integer("max_tokens", &out->max_tokens, 1, 1 << 30);
    c.integer("max_completion_tokens", &out->max_tokens, 1, 1 << 30);
    c.number("temperature", &out->temperature, 0, 2);
    c.number("top_p", &out->top_p, 0, 1);
    c.integer("top_k", &out->top_k, 0, 1 << 24);
    c.number("min_p", &out->min_p, 0, 1);
    c.number("presence_penalty", &out->presence_penalty, -2, 2);
    c.number("frequency_penalty", &out->frequency_penalty, -2, 2);
    c.number("repeat_penalty", &out->repeat_penalty, 0, 10);
    c.integer("n", &out->n, 1, 128);
    c.boolean("stream", &out->stream);
    c.boolean("ignore_eos", &out->ignore_eos);
    if (!c.ok) return false;
    if (const json* s = c.get("seed")) {
      if (s->is_number_unsigned()) out->seed = s->get<uint64_t>();
      else if (s->is_number_integer()) out->seed = static_cast<uint64_t>(s->get<int64_t>());
      else if (s->is_number_float() && std::isfinite(s->get<double>()) && s->get<double>() == std::floor(s->get<double>()) &&
               std::fabs(s->get<double>()) < 9.2e18)
        out->seed = static_cast<uint64_t>(static_cast<int64_t>(s->get<double>()));
      else return c.fail("seed", "'seed' must be an integer");
    }
    if (const json* s = c.get("stop")) {
      // Each stop string is matched against held-back text every token: keep them short.
      auto add_stop = [&](const std::string& x) {
        if (x.size() > kMaxStopBytes)
          return c.fail("stop", "each 'stop' sequence must be at most " + std::to_string(kMaxStopBytes) + " bytes");
        if (!x.empty()) out->stop.push_back(x);
        return true;
      };
      if (s->is_string()) {
        if (!add_stop(s->get<std::string>())) return false;
      } else if (s->is_array()) {
        if (s->size() > 16) return c.fail("stop", "'stop' may hold at most 16 sequences");
        for (const auto& x : *s) {
          if (!x.is_string()) return c.fail("stop", "'stop' must be a string or an array of strings");
          if (!add_stop(x.get<std::string>())) return false;
        }
      } else {
        return c.fail("stop", "'stop' must be a string or an array of strings");
      }
    }
    if (const json* so = c.get("stream_options")) {
      if (!so->is_object()) return c.fail("stream_options", "'stream_options' must be an object");
      auto iu = so->find("include_usage");
      if (iu != so->end() && !iu->is_null()) {
        if (!iu->is_boolean()) return c.fail("stream_options.include_usage", "'stream_options.include_usage' must be a boolean");
        out->include_usage = iu->get<bool>();
      }
    }
    if (const json* lb = c.get("logit_bias")) {
      if (!lb->is_object()) return c.fail("logit_bias", "'logit_bias' must be an object mapping token ids to numbers");
      for (auto it = lb->begin(); it != lb->end(); ++it) {
        const std::string& key = it.key();
        char* end = nullptr;
        errno = 0;
        const long long id = key.empty() ? -1 : std::strtoll(key.c_str(), &end, 10);
        if (key.empty() || *end != 0 || errno != 0 || id < 0 || id > std::numeric_limits<int32_t>::max())
          return c.fail("logit_bias", "'logit_bias' keys must be token ids, got '" + key + "'");
        if (!it.value().is_number()) return c.fail("logit_bias", "'logit_bias' values must be numbers");
        const double b = it.value().get<double>();
        if (!std::isfinite(b) || b < -100 || b > 100) return c.fail("logit_bias", "'logit_bias' values must be between -100 and 100");
        // -100 bans the token outright, as OpenAI documents.
        out->logit_bias.emplace_back(static_cast<int32_t>(id), b <= -100 ? -std::numeric_limits<float>::infinity() : static_cast<float>(b));
      }
    }
    if (ep == Endpoint::kChat) {
      bool lp = false;
      c.boolean("logprobs", &lp);
      int32_t top = 0;
      c.integer("top_logprobs", &top, 0, 20);
      if (!c.ok) return false;
      if (c.get("top_logprobs") && !lp) return c.fail("top_logprobs", "'top_logprobs' needs 'logprobs': true");
      out->top_logprobs = lp ? top : -1;
    } else {
      int32_t lp = -1;
      c.integer("logprobs", &lp, 0, 20);
      out->top_logprobs = lp;
    }
  } catch (...) {
    // Defensive: every access above is type-checked first.
    return c.fail("", "request could not be read");
  }
  return c.ok;
}

}  // namespace nuri::server
