// Tool-call parsing units: hand-written model outputs (values written out by hand, not by the
// parser), reasoning split, plain text never taken for a call, streaming hold-back, OpenAI
// fields, tools validation, GBNF rule renaming, and the `nuri tool-calls` CLI.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "chat/tool_calls.h"
#include "test_util.h"

namespace nuri::chat {
namespace {

using json = nlohmann::ordered_json;

ToolCallSyntax syntax_of(const std::string& file) {
  std::ifstream f(test::shared_dir() + "/templates/" + file, std::ios::binary);
  std::string src((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto t = ChatTemplate::from_source(src);
  EXPECT_TRUE(t.ok()) << file;
  return detect_tool_call_syntax(*t);
}

TEST(ToolCalls, QwenReasoningContentAndCall) {
  NURI_REQUIRE_SHARED();
  ToolCallSyntax s = syntax_of("Qwen-Qwen3-0.6B.jinja");
  ParsedOutput p = parse_tool_calls(
      s, "<think>\nI should look it up.\n</think>\n\nLet me check.\n<tool_call>\n{\"name\": \"get_weather\", "
         "\"arguments\": {\"city\": \"Seoul\", \"days\": 3}}\n</tool_call>");
  EXPECT_EQ(p.reasoning_content, "I should look it up.");
  EXPECT_EQ(p.content, "Let me check.");
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].name, "get_weather");
  EXPECT_EQ(p.tool_calls[0].arguments, json::parse(R"({"city": "Seoul", "days": 3})"));
}

TEST(ToolCalls, PlainTextIsNeverACall) {
  NURI_REQUIRE_SHARED();
  const std::string text = "The answer is {\"x\": 1} and <b>bold</b> [1, 2] functions.";
  for (const char* f : {"Qwen-Qwen2.5-7B-Instruct.jinja", "Qwen3-Coder.jinja", "GLM-4.6.jinja", "MiniMax-M2.jinja",
                        "mistralai-Mistral-Nemo-Instruct-2407.jinja", "deepseek-ai-DeepSeek-V3.1.jinja",
                        "moonshotai-Kimi-K2.jinja", "google-gemma-4-31B-it.jinja", "LFM2.5-8B-A1B.jinja",
                        "meta-llama-Llama-3.1-8B-Instruct.jinja", "openai-gpt-oss-120b.jinja"}) {
    ParsedOutput p = parse_tool_calls(syntax_of(f), text);
    EXPECT_TRUE(p.tool_calls.empty()) << f;
    EXPECT_EQ(p.content, text) << f;
  }
}

TEST(ToolCalls, MalformedCallStaysContent) {
  NURI_REQUIRE_SHARED();
  ToolCallSyntax s = syntax_of("Qwen-Qwen2.5-7B-Instruct.jinja");
  const std::string text = "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": </tool_call>";
  ParsedOutput p = parse_tool_calls(s, text);
  EXPECT_TRUE(p.tool_calls.empty());
  EXPECT_EQ(p.content, text);
}

TEST(ToolCalls, XmlValuesTypedBySchema) {
  NURI_REQUIRE_SHARED();
  json tools = json::parse(R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
      "properties": {"code": {"type": "string"}, "n": {"type": "integer"}, "ok": {"type": "boolean"}}}}}])");
  ParsedOutput p = parse_tool_calls(syntax_of("Qwen3-Coder.jinja"),
                                    "<tool_call>\n<function=f>\n<parameter=code>\n42\n</parameter>\n<parameter=n>\n42\n"
                                    "</parameter>\n<parameter=ok>\nTrue\n</parameter>\n</function>\n</tool_call>",
                                    tools);
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].arguments, json::parse(R"({"code": "42", "n": 42, "ok": true})"));
}

TEST(ToolCalls, HarmonyChannels) {
  NURI_REQUIRE_SHARED();
  ParsedOutput p = parse_tool_calls(syntax_of("openai-gpt-oss-120b.jinja"),
                                    "<|channel|>analysis<|message|>Need weather.<|end|><|start|>assistant<|channel|>"
                                    "commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Oslo\"}");
  EXPECT_EQ(p.reasoning_content, "Need weather.");
  ASSERT_EQ(p.tool_calls.size(), 1u);
  EXPECT_EQ(p.tool_calls[0].name, "get_weather");
  EXPECT_EQ(p.tool_calls[0].arguments, json::parse(R"({"city": "Oslo"})"));
}

TEST(ToolCalls, StreamingHoldsBackMarkers) {
  NURI_REQUIRE_SHARED();
  ToolCallSyntax s = syntax_of("Qwen-Qwen2.5-7B-Instruct.jinja");
  EXPECT_EQ(safe_content_prefix(s, "Hello"), 5u);
  EXPECT_EQ(safe_content_prefix(s, "Hello <tool"), 6u);   // "<tool" may become <tool_call>
  EXPECT_EQ(safe_content_prefix(s, "Hi <tool_call>{"), 3u);
  EXPECT_EQ(safe_content_prefix(s, "a < b"), 5u);
}

TEST(ToolCalls, OpenAiFields) {
  ParsedOutput p;
  p.tool_calls.push_back({"", "f", json::parse(R"({"a": [1, "é"]})")});
  json j = to_openai_fields(p, "x");
  EXPECT_TRUE(j["content"].is_null());
  EXPECT_EQ(j["tool_calls"][0]["id"], "call_x_0");
  EXPECT_EQ(j["tool_calls"][0]["type"], "function");
  EXPECT_EQ(j["tool_calls"][0]["function"]["arguments"], "{\"a\":[1,\"é\"]}");
}

TEST(ToolCalls, ValidateTools) {
  EXPECT_TRUE(validate_tools(json::parse(R"([{"type": "function", "function": {"name": "a"}}])")));
  Status s = validate_tools(json::parse(R"([{"type": "function", "function": {"name": "a", "parameters": 3}}])"));
  EXPECT_FALSE(s);
  EXPECT_NE(s.message().find("tools[0].function.parameters"), std::string::npos) << s.message();
  EXPECT_FALSE(validate_tools(json::parse(R"([{"function": {"name": "a"}}, {"function": {"name": "a"}}])")));
  EXPECT_FALSE(validate_tools(json::parse(R"([{"function": {"name": "has space"}}])")));
}

TEST(ToolCalls, PrefixGbnfRules) {
  EXPECT_EQ(prefix_gbnf_rules("root ::= item{2,3} \"a b\" [a-z] # c\nitem ::= \"x\"\n", "t0-"),
            "t0-root ::= t0-item{2,3} \"a b\" [a-z] \nt0-item ::= \"x\"\n");
}

TEST(ToolCalls, CliParsesStdin) {
  NURI_REQUIRE_SHARED();
  auto r = test::run_cmd("printf '%s' '<tool_call>\n{\"name\": \"f\", \"arguments\": {\"k\": 1}}\n</tool_call>' | " +
                         test::shell_quote(test::nuri_binary()) + " tool-calls --template-file " +
                         test::shell_quote(test::shared_dir() + "/templates/Qwen-Qwen2.5-7B-Instruct.jinja"));
  ASSERT_EQ(r.exit_code, 0);
  json j = json::parse(r.out);
  EXPECT_TRUE(j["content"].is_null());
  EXPECT_EQ(j["tool_calls"][0]["function"]["name"], "f");
  EXPECT_EQ(json::parse(j["tool_calls"][0]["function"]["arguments"].get<std::string>()), json::parse(R"({"k": 1})"));
  auto bad = test::run_cmd(test::shell_quote(test::nuri_binary()) + " tool-calls --template-file /nonexistent 2>&1");
  EXPECT_EQ(bad.exit_code, 1);
}

}  // namespace
}  // namespace nuri::chat
