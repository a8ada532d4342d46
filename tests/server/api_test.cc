// Request parsing and validation of the OpenAI API (server/api.h): typed fields, ranges, the
// error shape, and a fuzz loop over malformed bodies (every input gives a request or a clean 400).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include <nlohmann/json.hpp>

#include "server/api.h"

namespace nuri::server {
namespace {

using json = nlohmann::json;

ApiRequest parse_ok(Endpoint ep, const std::string& body) {
  ApiRequest r;
  ApiError e;
  EXPECT_TRUE(parse_request(ep, body, &r, &e)) << body << " -> " << e.message;
  return r;
}

ApiError parse_err(Endpoint ep, const std::string& body) {
  ApiRequest r;
  ApiError e;
  EXPECT_FALSE(parse_request(ep, body, &r, &e)) << body;
  EXPECT_EQ(e.status, 400);
  EXPECT_FALSE(e.message.empty());
  return e;
}

const char* kMsgs = R"("messages":[{"role":"user","content":"hi"}])";

TEST(ServerApi, ChatFields) {
  ApiRequest r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs +
      R"(,"model":"m","max_tokens":7,"temperature":0.5,"top_p":0.9,"top_k":5,"min_p":0.1,"seed":42,
         "stop":["a","b"],"n":2,"stream":true,"stream_options":{"include_usage":true},
         "presence_penalty":0.5,"frequency_penalty":-0.5,"logit_bias":{"12":3,"7":-100},
         "logprobs":true,"top_logprobs":4,"unknown_field":{"x":[1,2]}})");
  EXPECT_EQ(r.model, "m");
  EXPECT_EQ(r.max_tokens, 7);
  EXPECT_FLOAT_EQ(r.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.top_p, 0.9f);
  EXPECT_EQ(r.top_k, 5);
  EXPECT_FLOAT_EQ(r.min_p, 0.1f);
  ASSERT_TRUE(r.seed.has_value());
  EXPECT_EQ(*r.seed, 42u);
  EXPECT_EQ(r.stop, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.n, 2);
  EXPECT_TRUE(r.stream);
  EXPECT_TRUE(r.include_usage);
  EXPECT_FLOAT_EQ(r.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(r.frequency_penalty, -0.5f);
  ASSERT_EQ(r.logit_bias.size(), 2u);
  EXPECT_EQ(r.logit_bias[0].first, 12);
  EXPECT_FLOAT_EQ(r.logit_bias[0].second, 3.f);
  EXPECT_EQ(r.logit_bias[1].first, 7);
  EXPECT_TRUE(std::isinf(r.logit_bias[1].second) && r.logit_bias[1].second < 0);  // -100 bans
  EXPECT_EQ(r.top_logprobs, 4);
  ASSERT_EQ(r.messages.size(), 1u);
  EXPECT_EQ(r.messages[0]["content"], "hi");
}

TEST(ServerApi, Defaults) {
  ApiRequest r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + "}");
  EXPECT_EQ(r.max_tokens, -1);
  EXPECT_FLOAT_EQ(r.temperature, 1.f);
  EXPECT_EQ(r.n, 1);
  EXPECT_FALSE(r.stream);
  EXPECT_FALSE(r.seed.has_value());
  EXPECT_EQ(r.top_logprobs, -1);
  // null means absent, as OpenAI clients send it.
  r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + R"(,"max_tokens":null,"stop":null,"seed":null,"n":null})");
  EXPECT_EQ(r.max_tokens, -1);
  EXPECT_EQ(r.n, 1);
}

TEST(ServerApi, MaxCompletionTokensWins) {
  ApiRequest r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + R"(,"max_tokens":7,"max_completion_tokens":9})");
  EXPECT_EQ(r.max_tokens, 9);
  r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + R"(,"max_tokens":12.0})");  // integral float
  EXPECT_EQ(r.max_tokens, 12);
}

TEST(ServerApi, ContentPartsAndRoles) {
  ApiRequest r = parse_ok(Endpoint::kChat, R"({"messages":[
      {"role":"developer","content":"be brief"},
      {"role":"user","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
      {"role":"assistant","content":null,"tool_calls":[{"id":"1","type":"function","function":{"name":"f","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"1","content":"42"}]})");
  ASSERT_EQ(r.messages.size(), 4u);
  EXPECT_EQ(r.messages[0]["role"], "system");
  EXPECT_EQ(r.messages[1]["content"], "ab");
  EXPECT_EQ(r.messages[2]["content"], "");
  EXPECT_TRUE(r.messages[2].contains("tool_calls"));
  EXPECT_EQ(r.messages[3]["tool_call_id"], "1");
}

TEST(ServerApi, CompletionPrompts) {
  EXPECT_EQ(parse_ok(Endpoint::kCompletion, R"({"prompt":"abc"})").prompt, "abc");
  EXPECT_EQ(parse_ok(Endpoint::kCompletion, R"({"prompt":["abc"]})").prompt, "abc");
  ApiRequest r = parse_ok(Endpoint::kCompletion, R"({"prompt":[1,2,3],"logprobs":2,"echo":true})");
  EXPECT_TRUE(r.prompt_is_tokens);
  EXPECT_EQ(r.prompt_tokens, (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(r.top_logprobs, 2);
  EXPECT_TRUE(r.echo);
  EXPECT_EQ(parse_ok(Endpoint::kCompletion, R"({"prompt":[[4,5]]})").prompt_tokens, (std::vector<int32_t>{4, 5}));
  EXPECT_EQ(parse_err(Endpoint::kCompletion, R"({"prompt":["a","b"]})").param, "prompt");
  EXPECT_EQ(parse_err(Endpoint::kCompletion, R"({"prompt":[1,-2]})").param, "prompt");
  EXPECT_EQ(parse_err(Endpoint::kCompletion, R"({"prompt":[]})").param, "prompt");
  EXPECT_EQ(parse_err(Endpoint::kCompletion, R"({"prompt":5})").param, "prompt");
  EXPECT_EQ(parse_err(Endpoint::kCompletion, R"({"max_tokens":5})").param, "prompt");
}

TEST(ServerApi, WrongTypesAndRanges) {
  auto err_param = [](const std::string& extra) {
    return parse_err(Endpoint::kChat, std::string("{") + kMsgs + "," + extra + "}").param;
  };
  EXPECT_EQ(err_param(R"("n":0)"), "n");
  EXPECT_EQ(err_param(R"("n":-1)"), "n");
  EXPECT_EQ(err_param(R"("n":"2")"), "n");
  EXPECT_EQ(err_param(R"("max_tokens":0)"), "max_tokens");
  EXPECT_EQ(err_param(R"("max_tokens":1.5)"), "max_tokens");
  EXPECT_EQ(err_param(R"("max_tokens":"10")"), "max_tokens");
  parse_err(Endpoint::kChat, std::string("{") + kMsgs + R"(,"max_tokens":1e999})");  // overflows the parser: invalid JSON
  EXPECT_EQ(err_param(R"("max_tokens":123456789012345678901234567890)"), "max_tokens");
  EXPECT_EQ(err_param(R"("max_tokens":18446744073709551615)"), "max_tokens");
  EXPECT_EQ(err_param(R"("max_tokens":-9223372036854775808)"), "max_tokens");
  EXPECT_EQ(err_param(R"("temperature":2.5)"), "temperature");
  EXPECT_EQ(err_param(R"("temperature":-1e308)"), "temperature");
  EXPECT_EQ(err_param(R"("temperature":true)"), "temperature");
  EXPECT_EQ(err_param(R"("top_p":1.01)"), "top_p");
  EXPECT_EQ(err_param(R"("presence_penalty":3)"), "presence_penalty");
  EXPECT_EQ(err_param(R"("stop":5)"), "stop");
  EXPECT_EQ(err_param(R"("stop":["a",1])"), "stop");
  EXPECT_EQ(err_param(R"("stop":["1","2","3","4","5","6","7","8","9","10","11","12","13","14","15","16","17"])"), "stop");
  EXPECT_EQ(err_param("\"stop\":\"" + std::string(kMaxStopBytes + 1, 'x') + "\""), "stop");
  EXPECT_EQ(err_param("\"stop\":[\"a\",\"" + std::string(kMaxStopBytes + 1, 'x') + "\"]"), "stop");
  EXPECT_EQ(err_param(R"("stream":"yes")"), "stream");
  EXPECT_EQ(err_param(R"("stream_options":[])"), "stream_options");
  EXPECT_EQ(err_param(R"("stream_options":{"include_usage":1})"), "stream_options.include_usage");
  EXPECT_EQ(err_param(R"("seed":"x")"), "seed");
  EXPECT_EQ(err_param(R"("seed":1.5)"), "seed");
  EXPECT_EQ(err_param(R"("logit_bias":[1])"), "logit_bias");
  EXPECT_EQ(err_param(R"("logit_bias":{"x":1})"), "logit_bias");
  EXPECT_EQ(err_param(R"("logit_bias":{"99999999999":1})"), "logit_bias");
  EXPECT_EQ(err_param(R"("logit_bias":{"5":101})"), "logit_bias");
  EXPECT_EQ(err_param(R"("logit_bias":{"5":"1"})"), "logit_bias");
  EXPECT_EQ(err_param(R"("logprobs":"true")"), "logprobs");
  EXPECT_EQ(err_param(R"("logprobs":true,"top_logprobs":21)"), "top_logprobs");
  EXPECT_EQ(err_param(R"("top_logprobs":2)"), "top_logprobs");
  EXPECT_EQ(err_param(R"("model":5)"), "model");
  EXPECT_EQ(err_param(R"("tools":{})"), "tools");
  // The seed may be any 64-bit integer, negative ones included.
  ApiRequest r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + R"(,"seed":-1})");
  EXPECT_EQ(*r.seed, std::numeric_limits<uint64_t>::max());
}

TEST(ServerApi, BadMessages) {
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({})").param, "messages");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":"hi"})").param, "messages");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":[]})").param, "messages");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":[5]})").param, "messages[0]");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":[{"content":"x"}]})").param, "messages[0].role");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":[{"role":"wizard","content":"x"}]})").param, "messages[0].role");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":[{"role":"user"}]})").param, "messages[0].content");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":[{"role":"user","content":5}]})").param, "messages[0].content");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":[{"role":"user","content":[{"type":"image_url"}]}]})").param,
            "messages[0].content");
  EXPECT_EQ(parse_err(Endpoint::kChat, R"({"messages":[{"role":"user","content":[{"type":"text","text":3}]}]})").param,
            "messages[0].content");
}

TEST(ServerApi, MalformedJson) {
  for (const char* body : {"", " ", "{", "}", "[", "nul", "{\"messages\":", "{\"a\":1,}", "{'a':1}", "\"str\"", "[1,2]",
                                 "42", "null", "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]} trailing",
                                 "{\"a\":\"\\ud800\"}", "{\"a\":\"\\x41\"}", "{\"a\":01}", "{\"a\":NaN}", "{\"a\":Infinity}"}) {
    ApiError e = parse_err(Endpoint::kChat, body);
    EXPECT_TRUE(e.code == "invalid_json" || !e.param.empty()) << body;
  }
}

TEST(ServerApi, InvalidUtf8) {
  for (const std::string& bad : {std::string("\xff"), std::string("\xc3"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                                std::string("\xf8\x88\x80\x80\x80"), std::string("a\x80z")}) {
    const std::string body = std::string(R"({"messages":[{"role":"user","content":")") + bad + R"("}]})";
    EXPECT_EQ(parse_err(Endpoint::kChat, body).code, "invalid_json");
  }
  // Valid multi-byte UTF-8 passes through untouched.
  ApiRequest r = parse_ok(Endpoint::kChat, R"({"messages":[{"role":"user","content":"héllo 世界 🎉"}]})");
  EXPECT_EQ(r.messages[0]["content"], "héllo 世界 🎉");
}

TEST(ServerApi, DeepNesting) {
  const int n = 1'000'000;
  ApiError e = parse_err(Endpoint::kChat, std::string(n, '[') + std::string(n, ']'));
  EXPECT_NE(e.message.find("deeper"), std::string::npos);
  // Brackets inside strings do not count.
  ApiRequest r = parse_ok(Endpoint::kChat, std::string(R"({"messages":[{"role":"user","content":")") + std::string(1000, '[') + "\"}]}");
  EXPECT_EQ(r.messages[0]["content"].get<std::string>().size(), 1000u);
  // Exactly the limit parses (the unknown field is ignored); one more level does not.
  auto nested = [](int d) { return std::string(d, '[') + std::string(d, ']'); };
  parse_ok(Endpoint::kChat, std::string("{") + kMsgs + ",\"x\":" + nested(kMaxJsonDepth - 1) + "}");
  parse_err(Endpoint::kChat, std::string("{") + kMsgs + ",\"x\":" + nested(kMaxJsonDepth) + "}");
}

TEST(ServerApi, ErrorBodyShape) {
  json j = json::parse(error_body(ApiError{400, "bad \xff thing", "invalid_request_error", "", "c"}));
  ASSERT_TRUE(j.contains("error"));
  EXPECT_EQ(j["error"]["type"], "invalid_request_error");
  EXPECT_TRUE(j["error"]["param"].is_null());
  EXPECT_EQ(j["error"]["code"], "c");
  EXPECT_EQ(j["error"]["message"], "bad \xEF\xBF\xBD thing");  // invalid UTF-8 replaced, never thrown
}

// Mutates valid requests at random (byte flips, insertions, truncation, splices of nasty
// tokens): every result is either accepted with in-range fields or refused with a 400.
TEST(ServerApi, FuzzNeverCrashes) {
  const std::vector<std::string> seeds = {
      std::string("{") + kMsgs + R"(,"max_tokens":16,"temperature":0.7,"stop":["\n"],"n":2,"logit_bias":{"5":1}})",
      R"({"prompt":"Once upon a time","max_tokens":8,"logprobs":3,"stream":true,"stream_options":{"include_usage":true}})",
      R"({"prompt":[1,2,3],"seed":123,"top_p":0.5})",
  };
  const std::vector<std::string> nasty = {"\xff", "\\u0000", "\\ud800", "1e400", "-0", "99999999999999999999", "[[[[", "}}}}",
                                          "null", "true", "\"", "\\", ",", ":", "{\"a\":", "\x00"};
  std::mt19937_64 rng(12345);
  int accepted = 0, refused = 0;
  for (int it = 0; it < 30000; ++it) {
    std::string s = seeds[rng() % seeds.size()];
    const int n_mut = 1 + static_cast<int>(rng() % 4);
    for (int m = 0; m < n_mut && !s.empty(); ++m) {
      const size_t pos = rng() % s.size();
      switch (rng() % 5) {
        case 0: s[pos] = static_cast<char>(rng() & 0xff); break;
        case 1: s.insert(pos, 1, static_cast<char>(rng() & 0xff)); break;
        case 2: s.erase(pos, 1 + rng() % 8); break;
        case 3: s.insert(pos, nasty[rng() % nasty.size()]); break;
        case 4: s.resize(pos); break;
      }
    }
    const Endpoint ep = rng() % 2 ? Endpoint::kChat : Endpoint::kCompletion;
    ApiRequest r;
    ApiError e;
    if (parse_request(ep, s, &r, &e)) {
      ++accepted;
      EXPECT_GE(r.n, 1);
      EXPECT_TRUE(r.max_tokens == -1 || r.max_tokens >= 1);
      EXPECT_TRUE(r.temperature >= 0 && r.temperature <= 2);
      EXPECT_TRUE(r.top_p >= 0 && r.top_p <= 1);
      EXPECT_LE(r.top_logprobs, 20);
      // The parsed request re-serialises (valid UTF-8 everywhere).
      EXPECT_NO_THROW((void)r.messages.dump());
    } else {
      ++refused;
      EXPECT_EQ(e.status, 400);
      EXPECT_FALSE(e.message.empty());
      EXPECT_TRUE(json::accept(error_body(e)));
    }
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace nuri::server

namespace nuri::server {
namespace {

const char* kTool = R"({"type":"function","function":{"name":"get_weather","parameters":{"type":"object",
    "properties":{"city":{"type":"string"}},"required":["city"]}}})";

TEST(ServerApi, ToolChoice) {
  ApiRequest r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + ",\"tools\":[" + kTool + "]}");
  EXPECT_EQ(r.tool_choice, "auto");
  r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + ",\"tools\":[" + kTool + "],\"tool_choice\":\"required\"}");
  EXPECT_EQ(r.tool_choice, "required");
  r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + ",\"tools\":[" + kTool +
                                    R"(],"tool_choice":{"type":"function","function":{"name":"get_weather"}},
                                    "parallel_tool_calls":false})");
  EXPECT_EQ(r.tool_choice, "function");
  EXPECT_EQ(r.tool_choice_name, "get_weather");
  EXPECT_FALSE(r.parallel_tool_calls);
  r = parse_ok(Endpoint::kChat, std::string("{") + kMsgs + ",\"tool_choice\":\"none\"}");
  EXPECT_EQ(r.tool_choice, "none");
}

TEST(ServerApi, BadTools) {
  auto e = parse_err(Endpoint::kChat, std::string("{") + kMsgs + ",\"tool_choice\":\"required\"}");
  EXPECT_EQ(e.param, "tool_choice");
  e = parse_err(Endpoint::kChat, std::string("{") + kMsgs + ",\"tools\":[" + kTool + "],\"tool_choice\":\"always\"}");
  EXPECT_EQ(e.param, "tool_choice");
  e = parse_err(Endpoint::kChat, std::string("{") + kMsgs + ",\"tools\":[" + kTool +
                                     R"(],"tool_choice":{"type":"function","function":{"name":"nope"}}})");
  EXPECT_NE(e.message.find("nope"), std::string::npos) << e.message;
  e = parse_err(Endpoint::kChat, std::string("{") + kMsgs +
                                     R"(,"tools":[{"type":"function","function":{"name":"f","parameters":"x"}}]})");
  EXPECT_EQ(e.param, "tools");
  EXPECT_NE(e.message.find("tools[0].function.parameters"), std::string::npos) << e.message;
  e = parse_err(Endpoint::kChat, std::string("{") + kMsgs + R"(,"tools":[{"type":"function"}]})");
  EXPECT_NE(e.message.find("tools[0].function"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace nuri::server

// Structured output: response_format / grammar parsing (api.cc) and the request grammar
// (structured.cc): the compiled grammar accepts what the request asks for and nothing else,
// and bad input is a 400 naming the field and the problem.
#include "grammar/grammar.h"
#include "server/structured.h"

namespace nuri::server {
namespace {

std::shared_ptr<const grammar::Grammar> grammar_of(const std::string& body, Endpoint ep = Endpoint::kChat) {
  ApiRequest r = parse_ok(ep, body);
  std::shared_ptr<const grammar::Grammar> g;
  ApiError e;
  EXPECT_TRUE(build_request_grammar(r, chat::fallback_tool_call_syntax(), &g, &e)) << body << " -> " << e.message;
  return g;
}

ApiError grammar_err(const std::string& body) {
  ApiRequest r;
  ApiError e;
  if (!parse_request(Endpoint::kChat, body, &r, &e)) return e;
  std::shared_ptr<const grammar::Grammar> g;
  EXPECT_FALSE(build_request_grammar(r, chat::fallback_tool_call_syntax(), &g, &e)) << body;
  EXPECT_EQ(e.status, 400);
  return e;
}

// Whether the grammar accepts exactly `text` (bytes), with no vocabulary involved.
bool accepts(const std::shared_ptr<const grammar::Grammar>& g, const std::string& text) {
  auto vocab = grammar::Vocab::build({"x"}, {});
  grammar::Matcher m(g, vocab);
  return m.accept_bytes(text) && m.is_complete();
}

std::string chat_with(const std::string& extra) { return std::string("{") + kMsgs + "," + extra + "}"; }

TEST(ServerStructured, ResponseFormatAndGrammar) {
  EXPECT_EQ(grammar_of(std::string("{") + kMsgs + "}"), nullptr);
  EXPECT_EQ(grammar_of(chat_with(R"("response_format":{"type":"text"})")), nullptr);
  auto any = grammar_of(chat_with(R"("response_format":{"type":"json_object"})"));
  ASSERT_NE(any, nullptr);
  EXPECT_TRUE(accepts(any, R"({"a": [1, true, null, "x"]})"));
  EXPECT_FALSE(accepts(any, R"({"a": )"));
  auto js = grammar_of(chat_with(R"("response_format":{"type":"json_schema","json_schema":{"name":"n","strict":true,
      "schema":{"type":"object","properties":{"n":{"type":"integer","minimum":1,"maximum":9}},"required":["n"],
      "additionalProperties":false}}})"));
  ASSERT_NE(js, nullptr);
  EXPECT_TRUE(accepts(js, R"({"n": 7})"));
  EXPECT_FALSE(accepts(js, R"({"n": 10})"));
  EXPECT_FALSE(accepts(js, R"({"m": 7})"));
  auto ext = grammar_of(chat_with(R"("grammar":"root ::= \"yes\" | \"no\"")"));
  ASSERT_NE(ext, nullptr);
  EXPECT_TRUE(accepts(ext, "yes"));
  EXPECT_FALSE(accepts(ext, "maybe"));
  // Completions take them too.
  auto comp = grammar_of(R"({"prompt":"p","response_format":{"type":"json_object","schema":{"type":"boolean"}}})",
                         Endpoint::kCompletion);
  ASSERT_NE(comp, nullptr);
  EXPECT_TRUE(accepts(comp, "false"));
  EXPECT_FALSE(accepts(comp, "1"));
}

TEST(ServerStructured, ForcedToolCallsUseTheFamilySyntax) {
  const std::string tools = std::string("\"tools\":[") + kTool + "]";
  auto req = grammar_of(chat_with(tools + R"(,"tool_choice":"required")"));
  ASSERT_NE(req, nullptr);
  EXPECT_TRUE(accepts(req, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>"));
  EXPECT_FALSE(accepts(req, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>"));  // city is required
  EXPECT_FALSE(accepts(req, "It is sunny."));
  // auto and none: no constraint.
  EXPECT_EQ(grammar_of(chat_with(tools)), nullptr);
  EXPECT_EQ(grammar_of(chat_with(tools + R"(,"tool_choice":"none")")), nullptr);
  // Named: only that function.
  const std::string two = std::string("\"tools\":[") + kTool +
                          R"(,{"type":"function","function":{"name":"noop","parameters":{"type":"object","properties":{}}}}])";
  auto named = grammar_of(chat_with(two + R"(,"tool_choice":{"type":"function","function":{"name":"noop"}})"));
  ASSERT_NE(named, nullptr);
  EXPECT_TRUE(accepts(named, "<tool_call>\n{\"name\": \"noop\", \"arguments\": {}}\n</tool_call>"));
  EXPECT_FALSE(accepts(named, "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>"));
}

TEST(ServerStructured, BadInputNamesTheProblem) {
  ApiError e = grammar_err(chat_with(R"("grammar":"root ::= \"a\" (")"));
  EXPECT_EQ(e.param, "grammar");
  EXPECT_NE(e.message.find("line 1, column"), std::string::npos) << e.message;
  e = grammar_err(chat_with(R"("grammar":"root ::= root \"a\"")"));
  EXPECT_NE(e.message.find("left recursion"), std::string::npos) << e.message;
  e = grammar_err(chat_with(R"("response_format":{"type":"json_schema","json_schema":{"schema":{"type":"object","minProperties":2}}})"));
  EXPECT_EQ(e.param, "response_format");
  EXPECT_NE(e.message.find("unsupported keyword 'minProperties'"), std::string::npos) << e.message;
  e = grammar_err(chat_with(R"("response_format":{"type":"json_schema"})"));
  EXPECT_EQ(e.param, "response_format");
  e = grammar_err(chat_with(R"("response_format":{"type":"xml"})"));
  EXPECT_EQ(e.param, "response_format");
  e = grammar_err(chat_with(R"("grammar":"root ::= \"a\"","response_format":{"type":"json_object"})"));
  EXPECT_EQ(e.param, "grammar");
  // A tool whose parameters use an unsupported keyword, or a type that does not exist.
  e = grammar_err(chat_with(R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object",
      "properties":{"x":{"type":"string","contentEncoding":"base64"}}}}}],"tool_choice":"required")"));
  EXPECT_EQ(e.param, "tools");
  EXPECT_NE(e.message.find("contentEncoding"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("'f'"), std::string::npos) << e.message;
  e = grammar_err(chat_with(R"("tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object",
      "properties":{"x":{"type":"strnig"}}}}}],"tool_choice":"required")"));
  EXPECT_NE(e.message.find("strnig"), std::string::npos) << e.message;
  e = grammar_err(chat_with(std::string("\"tools\":[") + kTool + R"(],"tool_choice":"required","response_format":{"type":"json_object"})"));
  EXPECT_EQ(e.param, "response_format");
}

}  // namespace
}  // namespace nuri::server

TEST(ServerApi, ConstantTimeKeyCompare) {
  using nuri::server::constant_time_equal;
  EXPECT_TRUE(constant_time_equal("Bearer sk-123", "Bearer sk-123"));
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_FALSE(constant_time_equal("Bearer sk-124", "Bearer sk-123"));  // last byte
  EXPECT_FALSE(constant_time_equal("Xearer sk-123", "Bearer sk-123"));  // first byte
  EXPECT_FALSE(constant_time_equal("Bearer sk-12", "Bearer sk-123"));   // a prefix
  EXPECT_FALSE(constant_time_equal("Bearer sk-1234", "Bearer sk-123"));  // longer
  EXPECT_FALSE(constant_time_equal("", "Bearer sk-123"));
  EXPECT_FALSE(constant_time_equal("Bearer ", ""));
  // A repetition of the key is not the key (the comparison wraps over `want` internally).
  EXPECT_FALSE(constant_time_equal("abcabc", "abc"));
}
