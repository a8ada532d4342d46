// Jinja engine tests: every snippet in data/jinja_cases.jsonl (rendered by Python Jinja2 as HF
// configures it, see gen_jinja_cases.py) must render identically or fail too; plus limits,
// clock, ChatML fallback and template discovery.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "chat/chat_template.h"
#include "chat/jinja/jinja.h"
#include "test_util.h"

namespace nuri::chat {
namespace {

using jinja::Template;

std::tm fixed_now() { return *jinja::parse_time("2026-01-02 03:04:05"); }

Result<std::string> render(const std::string& src, const nlohmann::ordered_json& ctx = nlohmann::ordered_json::object()) {
  NURI_ASSIGN_OR_RETURN(Template t, Template::parse(src));
  jinja::RenderOptions opt;
  opt.now = fixed_now();
  return t.render(ctx, opt);
}

TEST(Jinja, MatchesPythonJinja2OnSnippets) {
  std::ifstream f(std::string(NURI_SOURCE_DIR) + "/tests/chat/data/jinja_cases.jsonl");
  ASSERT_TRUE(f) << "missing tests/chat/data/jinja_cases.jsonl";
  std::string line;
  int total = 0, pass = 0;
  while (std::getline(f, line)) {
    auto c = nlohmann::ordered_json::parse(line);
    ++total;
    const std::string tmpl = c["template"];
    auto out = render(tmpl, c["context"]);
    if (c.contains("error")) {
      EXPECT_FALSE(out.ok()) << "template should fail (" << c["error"].get<std::string>() << "): " << tmpl;
      pass += !out.ok();
    } else {
      const std::string want = c["expected"];
      if (!out.ok()) {
        ADD_FAILURE() << "template failed: " << out.error() << "\n  template: " << tmpl;
      } else {
        EXPECT_EQ(*out, want) << "template: " << tmpl;
        pass += *out == want;
      }
    }
  }
  std::printf("jinja snippets: %d/%d match Python Jinja2\n", pass, total);
  EXPECT_GT(total, 100);
}

TEST(Jinja, HandWrittenSemantics) {
  // Values worked out by hand from Python/Jinja2 rules.
  EXPECT_EQ(*render("{{ [1, 'a', none, true, 1.0] }}"), "[1, 'a', None, True, 1.0]");
  EXPECT_EQ(*render("{{ {'b': 1, 'a': [2]} | tojson }}"), "{\"b\": 1, \"a\": [2]}");
  EXPECT_EQ(*render("{{ '한' | tojson }}"), "\"한\"");
  EXPECT_EQ(*render("{% for x in [1,2,3] %}{{ loop.index }}{% if not loop.last %},{% endif %}{% endfor %}"), "1,2,3");
  EXPECT_EQ(*render("{% set ns = namespace(n=0) %}{% for x in [1,2] %}{% set ns.n = ns.n + x %}{% endfor %}{{ ns.n }}"), "3");
  EXPECT_EQ(*render("{% set n = 0 %}{% for x in [1,2] %}{% set n = n + x %}{% endfor %}{{ n }}"), "0");
  EXPECT_EQ(*render("  {% if true %}\n  x\n  {% endif %}\n"), "  x\n");
  EXPECT_EQ(*render("{{ strftime_now('%d %b %Y') }}"), "02 Jan 2026");
  EXPECT_FALSE(render("{% set l = [] %}{{ l.append(1) }}").ok());
  auto err = render("{{ raise_exception('no system role') }}");
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().find("no system role"), std::string::npos);
}

TEST(Jinja, HostileTemplatesFailInsteadOfHanging) {
  EXPECT_FALSE(render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").ok());
  EXPECT_FALSE(render("{% for i in range(100001) %}{% endfor %}").ok());
  EXPECT_FALSE(render("{% for a in range(99999) %}{% for b in range(99999) %}{% endfor %}{% endfor %}").ok());
  EXPECT_FALSE(render("{{ 'x' * 1000000000 }}").ok());
  std::string deep(5000, '(');
  EXPECT_FALSE(render("{{ " + deep + " }}").ok());
  EXPECT_FALSE(render("{% if %}").ok());
  EXPECT_FALSE(render("{{ x.y.z }}").ok());
}

TEST(Jinja, ParseTime) {
  auto t = jinja::parse_time("2026-01-02 03:04:05");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->tm_year, 126);
  EXPECT_EQ(t->tm_wday, 5);  // a Friday
  EXPECT_EQ(t->tm_yday, 1);
  EXPECT_FALSE(jinja::parse_time("yesterday"));
}

TEST(ChatTemplate, ChatMlFallback) {
  ChatInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"Hi"}])");
  auto out = ChatTemplate::chatml().apply(in);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_EQ(*out, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  in.add_generation_prompt = false;
  EXPECT_EQ(*ChatTemplate::chatml().apply(in), "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n");
  ModelChatInfo none;
  auto t = template_for_model(none);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->source(), ChatTemplate::chatml().source());
}

TEST(ChatTemplate, ToolsAreUndefinedUnlessGiven) {
  auto t = ChatTemplate::from_source("{{ tools is defined }}|{{ bos_token }}|{{ extra }}");
  ASSERT_TRUE(t.ok());
  ChatInputs in;
  in.bos_token = "<s>";
  in.extra_context["extra"] = 7;
  EXPECT_EQ(*t->apply(in), "False|<s>|7");
  in.tools = nlohmann::ordered_json::array();
  EXPECT_EQ(*t->apply(in), "True|<s>|7");
}

TEST(ChatTemplate, TokenizerConfig) {
  auto cfg = nlohmann::ordered_json::parse(R"({
    "bos_token": {"content": "<|begin|>", "lstrip": false},
    "eos_token": "<|end|>",
    "chat_template": [{"name": "default", "template": "D"}, {"name": "tool_use", "template": "T"}]})");
  auto info = parse_tokenizer_config(cfg);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->template_source, "D");
  EXPECT_EQ(info->bos_token, "<|begin|>");
  EXPECT_EQ(info->eos_token, "<|end|>");
  EXPECT_EQ(parse_tokenizer_config(cfg, "tool_use")->template_source, "T");
  EXPECT_FALSE(parse_tokenizer_config(cfg, "missing").ok());
}

TEST(ChatTemplate, FromGguf) {
  NURI_REQUIRE_SHARED();
  auto info = load_model_chat_info(test::shared_dir() + "/models/tiny-qwen3moe-8x-qwen2vocab-Q4_K_M.gguf");
  ASSERT_TRUE(info.ok()) << info.error();
  EXPECT_NE(info->template_source.find("<|im_start|>"), std::string::npos);
  EXPECT_FALSE(info->eos_token.empty());
  auto t = template_for_model(*info);
  ASSERT_TRUE(t.ok()) << t.error();
  ChatInputs in;
  in.messages = nlohmann::ordered_json::parse(R"([{"role":"user","content":"Hi"}])");
  auto out = t->apply(in);
  ASSERT_TRUE(out.ok()) << out.error();
  EXPECT_NE(out->find("<|im_start|>user\nHi<|im_end|>\n"), std::string::npos);
  // A model without a template (stories260K) falls back to ChatML.
  auto plain = load_model_chat_info(test::shared_dir() + "/models/stories260K-F32.gguf");
  ASSERT_TRUE(plain.ok()) << plain.error();
  EXPECT_TRUE(plain->template_source.empty());
}

}  // namespace
}  // namespace nuri::chat
