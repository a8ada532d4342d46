// Tool-call round trip over the real templates of ../shared/templates: render a conversation whose
// last assistant message holds tool calls (nuri's Jinja2-identical engine), take the assistant's
// part (render without the message + generation prompt, render with it, take what differs), cut
// it where the model would stop (its end-of-turn token), parse it with the family detected from
// the template: the calls must equal the originals (name, arguments as JSON values) and nothing
// else may be left in content. kTable says, per template, what is expected; every template of
// the directory must be in it, and a template expected to pass must pass every case it renders.
// Grammar check: for families with a constraint grammar (tool_call_grammar, arguments from the
// grammar module's JSON Schema -> GBNF), the grammar built for the same tools must accept the
// template's own rendering of the calls, byte for byte (kGrammarExact lists where it must).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "chat/chat_template.h"
#include "chat/tool_calls.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "test_util.h"

namespace nuri::chat {
namespace {

using json = nlohmann::ordered_json;

enum class Expect {
  kPass,           // every case the template renders round-trips
  kNoCalls,        // the template drops tool calls from assistant messages: nothing to parse
  kTemplateError,  // the template fails on a tool-call conversation (in Jinja2 too)
};

struct Row {
  const char* file;
  const char* family;  // detected ToolCallSyntax::name
  Expect expect;
  const char* note;    // why not kPass / which cases the template itself cannot render
  bool string_args = false;  // the template wants `arguments` as a JSON string (OpenAI's wire form)
  const char* skip = "";     // cases the template cannot express (comma list), with the reason in note
};

// clang-format off
const Row kTable[] = {
  {"Apertus-8B-Instruct.jinja", "apertus", Expect::kPass, ""},
  {"Apriel-1.6-15b-Thinker-fixed.jinja", "tool-calls-tag", Expect::kPass, ""},
  {"Bielik-11B-v3.0-Instruct.jinja", "hermes", Expect::kPass, ""},
  {"ByteDance-Seed-OSS.jinja", "seed-oss", Expect::kPass, ""},
  {"Cohere2MoE.jinja", "command-r", Expect::kPass, ""},
  {"CohereForAI-c4ai-command-r-plus-tool_use.jinja", "none", Expect::kTemplateError,
   "template reads tool.parameter_definitions (Cohere's own tool shape), fails on OpenAI tools"},
  {"CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja", "command-r", Expect::kPass, ""},
  {"GLM-4.6.jinja", "glm", Expect::kPass, ""},
  {"GLM-4.7-Flash.jinja", "glm", Expect::kPass, ""},
  {"GigaChat3-10B-A1.8B.jinja", "gigachat", Expect::kPass, "renders only the first call",
   false, "parallel"},
  {"GigaChat3.1-10B-A1.8B.jinja", "gigachat", Expect::kPass, "renders only the first call",
   false, "parallel"},
  {"HuggingFaceTB-SmolLM3-3B.jinja", "none", Expect::kNoCalls, "template drops assistant tool_calls"},
  {"Kimi-K2-Instruct.jinja", "kimi-k2", Expect::kTemplateError,
   "template calls list.append, refused by the Jinja2 sandbox (HF fails too)"},
  {"Kimi-K2-Thinking.jinja", "kimi-k2", Expect::kTemplateError,
   "template calls list.append, refused by the Jinja2 sandbox (HF fails too)"},
  {"Kimi-K3.jinja", "kimi-k3", Expect::kPass, ""},
  {"LFM2-8B-A1B.jinja", "none", Expect::kNoCalls, "template drops assistant tool_calls"},
  {"LFM2.5-8B-A1B.jinja", "pythonic", Expect::kPass, ""},
  {"LFM2.5-Instruct.jinja", "none", Expect::kNoCalls, "template drops assistant tool_calls"},
  {"MiMo-VL.jinja", "hermes", Expect::kPass, ""},
  {"MiniMax-M1.jinja", "minimax-m1", Expect::kPass, ""},
  {"MiniMax-M2.jinja", "minimax-m2", Expect::kPass, ""},
  {"MiniMax-M3.jinja", "minimax-m3", Expect::kPass, ""},
  {"Mistral-Small-3.2-24B-Instruct-2506.jinja", "mistral", Expect::kPass, ""},
  {"NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja", "qwen3-coder", Expect::kPass, ""},
  {"NVIDIA-Nemotron-Nano-v2.jinja", "nemotron", Expect::kPass, ""},
  {"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja", "hermes", Expect::kPass, ""},
  {"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "hermes", Expect::kPass, ""},
  {"Qwen-QwQ-32B.jinja", "hermes", Expect::kPass, ""},
  {"Qwen-Qwen2.5-7B-Instruct.jinja", "hermes", Expect::kPass, ""},
  {"Qwen-Qwen3-0.6B.jinja", "hermes", Expect::kPass, ""},
  {"Qwen3-Coder.jinja", "qwen3-coder", Expect::kPass, ""},
  {"Qwen3.5-4B.jinja", "qwen3-coder", Expect::kPass, ""},
  {"Reka-Edge.jinja", "hermes", Expect::kPass, ""},
  {"Spark2.5.jinja", "glm", Expect::kPass, ""},
  {"StepFun3.5-Flash.jinja", "qwen3-coder", Expect::kPass, ""},
  {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", "deepseek", Expect::kNoCalls,
   "template drops assistant tool_calls when content is empty"},
  {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "deepseek-r1", Expect::kPass, ""},
  {"deepseek-ai-DeepSeek-V3.1.jinja", "deepseek", Expect::kPass, ""},
  {"deepseek-ai-DeepSeek-V3.2.jinja", "deepseek-dsml", Expect::kPass, ""},
  {"deepseek-ai-DeepSeek-V4-Flash-0731.jinja", "deepseek-dsml", Expect::kPass, ""},
  {"deepseek-ai-DeepSeek-V4.jinja", "deepseek-dsml", Expect::kPass, ""},
  {"fireworks-ai-llama-3-firefunction-v2.jinja", "none", Expect::kTemplateError,
   "template needs a `functions` variable (its own tool list), not `tools`"},
  {"google-gemma-2-2b-it.jinja", "none", Expect::kNoCalls, "no tool support in the template"},
  {"google-gemma-4-31B-it-interleaved.jinja", "gemma4", Expect::kPass, ""},
  {"google-gemma-4-31B-it.jinja", "gemma4", Expect::kPass, ""},
  {"ibm-granite-granite-3.3-2B-Instruct.jinja", "granite", Expect::kNoCalls, "template drops assistant tool_calls"},
  {"ibm-granite-granite-4.0.jinja", "hermes", Expect::kPass, ""},
  {"ibm-granite-granite-4.1.jinja", "hermes", Expect::kPass, ""},
  {"inclusionai-ling-3.0-flash.jinja", "glm", Expect::kPass, ""},
  {"llama-cpp-deepseek-r1.jinja", "deepseek-r1", Expect::kTemplateError,
   "template applies tojson to a generator (fails in Jinja2 too)"},
  {"llama-cpp-rwkv-world.jinja", "none", Expect::kNoCalls, "no tool support in the template"},
  {"meetkai-functionary-medium-v3.1.jinja", "functionary-v3.1", Expect::kPass, ""},
  {"meetkai-functionary-medium-v3.2.jinja", "functionary-v3.2", Expect::kPass, "", true},
  {"meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3", Expect::kPass,
   "template refuses parallel calls (raise_exception)", false, "parallel"},
  {"meta-llama-Llama-3.2-3B-Instruct.jinja", "llama3", Expect::kPass,
   "template refuses parallel calls (raise_exception)", false, "parallel"},
  {"meta-llama-Llama-3.3-70B-Instruct.jinja", "llama3", Expect::kPass,
   "template refuses parallel calls (raise_exception)", false, "parallel"},
  {"microsoft-Phi-3.5-mini-instruct.jinja", "none", Expect::kNoCalls, "no tool support in the template"},
  {"mistralai-Ministral-3-14B-Reasoning-2512.jinja", "mistral", Expect::kPass, ""},
  {"mistralai-Mistral-Nemo-Instruct-2407.jinja", "mistral", Expect::kPass, ""},
  {"moonshotai-Kimi-K2.jinja", "kimi-k2", Expect::kPass, ""},
  {"muse-glimmer.jinja", "glimmer", Expect::kPass,
   "each call is its own message ending in <|eom|> (a stop token): one call per reply", false, "parallel"},
  {"openai-gpt-oss-120b.jinja", "harmony", Expect::kPass, "renders only the first call", false, "parallel"},
  {"openbmb-MiniCPM5-1B.jinja", "minicpm", Expect::kPass, ""},
  {"poolside-Laguna-S-2.1.jinja", "glm", Expect::kPass, ""},
  {"poolside-Laguna-XS-2.1.jinja", "glm", Expect::kPass, ""},
  {"poolside-Laguna-XS.2.jinja", "glm", Expect::kPass, ""},
  {"tencent-Hy3.jinja", "hunyuan", Expect::kPass, ""},
  {"unsloth-Apriel-1.5.jinja", "tool-calls-tag", Expect::kPass, ""},
  {"unsloth-mistral-Devstral-Small-2507.jinja", "mistral", Expect::kPass, ""},
  {"upstage-Solar-Open-100B.jinja", "solar", Expect::kPass, ""},
};
// clang-format on

// Families whose constraint grammar must accept the template's own rendering of every case.
// Not listed: seed-oss and minicpm (the templates write objects as Python reprs and booleans as
// True/False; the grammar writes JSON, which the parser reads as well), qwen3-coder (booleans as
// Python True/False), pythonic, gemma4, minimax-m3 and kimi-k3 (no constraint grammar: their
// arguments are not JSON).
const std::string kGrammarExact[] = {"hermes", "apertus", "tool-calls-tag", "minimax-m1", "command-r", "nemotron",
                                     "gigachat", "llama3", "functionary-v3.1", "functionary-v3.2", "mistral",
                                     "deepseek", "deepseek-r1", "kimi-k2", "harmony", "solar", "glm", "hunyuan",
                                     "minimax-m2", "deepseek-dsml", "glimmer", "kimi-k3", "pythonic"};

json tools() {
  return json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "description": "Weather in a city",
      "parameters": {"type": "object", "properties": {
        "city": {"type": "string", "description": "City name"},
        "days": {"type": "integer", "description": "Days ahead"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Unit"},
        "hourly": {"type": "boolean", "description": "Hourly data"}},
      "required": ["city"]}}},
    {"type": "function", "function": {"name": "search", "description": "Search documents",
      "parameters": {"type": "object", "properties": {
        "query": {"type": "string", "description": "Query text"},
        "filters": {"type": "object", "description": "Filters"}},
      "required": ["query"]}}},
    {"type": "function", "function": {"name": "ping", "description": "Check the service",
      "parameters": {"type": "object", "properties": {}}}}
  ])");
}

struct Case {
  const char* name;
  json calls;  // [[name, arguments], ...]
};

std::vector<Case> cases() {
  return {
      {"single", json::parse(R"([["get_weather", {"city": "Seoul"}]])")},
      {"parallel", json::parse(R"([["get_weather", {"city": "Paris", "days": 2, "unit": "celsius"}],
                                   ["search", {"query": "umbrellas"}]])")},
      {"nested", json::parse(R"([["search", {"query": "rain gear", "filters": {"tags": ["coat", "boots"],
                                  "limit": 5, "price": {"max": 99.5, "currency": "EUR"}, "in_stock": true}}]])")},
      {"unicode", json::parse(R"([["get_weather", {"city": "서울 Zürich \"東京\" ✓", "hourly": false}]])")},
      {"empty", json::parse(R"([["ping", {}]])")},
  };
}

// Where generation stops: the earliest end-of-turn marker any of the families uses.
const char* const kStops[] = {"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "</s>", "<|end|>", "<|END_OF_TURN_TOKEN|>",
                              "<｜end▁of▁sentence｜>", "<|call|>", "<seed:eos>", "[e~[", "<|end_of_text|>", "<turn|>",
                              "<|role_end|>", "</assistant>", "<|eot|>", "<|eom|>",
                              "<｜hy_eos:opensource｜>", "<end_of_sentence>", "<SPECIAL_12>", "<|end_of_msg|>",
                              "<|tool_response>", "<sep>", "<|user|>", "<|observation|>"};

std::string cut_at_stop(std::string s) {
  size_t cut = s.size();
  for (const char* st : kStops) cut = std::min(cut, s.find(st));
  return s.substr(0, cut);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Outcome {
  bool rendered = false;
  std::string reply;  // the assistant's part as the model would write it
  std::string error;  // template error, or the mismatch
  bool pass = false;
};

Outcome run_case(const ChatTemplate& t, const ToolCallSyntax& syn, const Row& row, const Case& c) {
  Outcome o;
  json msgs = json::array({{{"role", "user"}, {"content", "Plan my trip, please."}}});
  ChatInputs base;
  base.tools = tools();
  base.bos_token = "<s>";
  base.eos_token = "</s>";
  base.now = jinja::parse_time("2026-01-02 03:04:05");
  base.messages = msgs;
  base.add_generation_prompt = true;
  json calls = json::array();
  const char* ids[] = {"Ab3dE6gH9", "Zy8xW7vU6", "Qr5sT4uV3"};
  for (size_t i = 0; i < c.calls.size(); ++i) {
    json args = c.calls[i][1];
    calls.push_back({{"id", ids[i]},
                     {"type", "function"},
                     {"function", {{"name", c.calls[i][0]}, {"arguments", row.string_args ? json(args.dump()) : args}}}});
  }
  ChatInputs full = base;
  full.messages.push_back({{"role", "assistant"}, {"content", ""}, {"tool_calls", calls}});
  full.add_generation_prompt = false;
  auto a = t.apply(base);
  auto b = t.apply(full);
  if (!a.ok() || !b.ok()) {
    o.error = a.ok() ? b.error() : a.error();
    return o;
  }
  o.rendered = true;
  size_t common = 0;
  while (common < a->size() && common < b->size() && (*a)[common] == (*b)[common]) ++common;
  // The split never falls inside a markup tag: the model writes whole tags.
  size_t lt = common ? a->rfind('<', common - 1) : std::string::npos;
  size_t gt = common ? a->rfind('>', common - 1) : std::string::npos;
  if (lt != std::string::npos && lt < common && (gt == std::string::npos || gt < lt)) common = lt;
  std::string reply = cut_at_stop(b->substr(common));
  o.reply = reply;
  ParsedOutput p = parse_tool_calls(syn, reply, tools());
  std::ostringstream why;
  if (p.tool_calls.size() != c.calls.size()) {
    why << "got " << p.tool_calls.size() << " calls, want " << c.calls.size();
  } else {
    for (size_t i = 0; i < c.calls.size(); ++i) {
      if (p.tool_calls[i].name != c.calls[i][0]) why << "call " << i << " name " << p.tool_calls[i].name << "; ";
      // JSON values: object member order does not matter (some templates sort keys).
      if (nlohmann::json::parse(p.tool_calls[i].arguments.dump()) != nlohmann::json::parse(c.calls[i][1].dump()))
        why << "call " << i << " arguments " << p.tool_calls[i].arguments.dump() << "; ";
    }
  }
  if (!p.content.empty()) why << "content left: " << json(p.content).dump() << "; ";
  if (!p.reasoning_content.empty()) why << "reasoning left: " << json(p.reasoning_content).dump() << "; ";
  o.error = why.str();
  o.pass = o.error.empty();
  if (!o.pass) o.error += " | reply: " + json(reply).dump();
  return o;
}

Result<std::string> schema_gbnf(const json& schema) { return grammar::json_schema_to_gbnf(schema.dump()); }

std::shared_ptr<const grammar::Vocab> byte_vocab() {
  static std::shared_ptr<const grammar::Vocab> v = [] {
    std::vector<std::string> pieces;
    for (int b = 0; b < 256; ++b) pieces.push_back(std::string(1, static_cast<char>(b)));
    return grammar::Vocab::build(pieces, {});
  }();
  return v;
}

// The calls of a reply, from the first call marker to the end (what the grammar generates).
std::string calls_part(const ToolCallSyntax& syn, const std::string& reply) {
  size_t b = std::string::npos;
  for (const std::string* m : {&syn.open, &syn.call_open})
    if (!m->empty()) b = std::min(b, reply.find(*m));
  if (b == std::string::npos) b = reply.find_first_not_of(" \n");
  if (syn.kind == ToolCallKind::kHarmony || syn.kind == ToolCallKind::kFunctionaryV32) b = 0;
  std::string r = b == std::string::npos ? "" : reply.substr(b);
  while (!r.empty() && (r.back() == ' ' || r.back() == '\n')) r.pop_back();
  return r;
}

// "" when the family grammar accepts `text`, else why not.
std::string grammar_check(const ToolCallSyntax& syn, const std::string& text) {
  ToolGrammarOptions opt;
  opt.parallel = true;
  auto g = tool_call_grammar(syn, tools(), schema_gbnf, opt);
  if (!g.ok()) return "no grammar: " + g.error();
  auto gr = grammar::Grammar::parse(*g);
  if (!gr.ok()) return "grammar does not parse: " + gr.error() + "\n" + *g;
  grammar::Matcher m(*gr, byte_vocab());
  size_t ok = 0;
  while (ok < text.size() && m.accept_bytes(text.substr(ok, 1))) ++ok;
  auto q = [](const std::string& x) { return json(x).dump(-1, ' ', false, json::error_handler_t::replace); };
  if (ok < text.size())
    return "rejected at byte " + std::to_string(ok) + ": " + q(text.substr(ok > 60 ? ok - 60 : 0, std::min<size_t>(ok, 60))) +
           " | next " + q(text.substr(ok, 20));
  if (!m.is_complete()) return "accepted but incomplete";
  return "";
}

TEST(ToolCallRoundTrip, EveryTemplate) {
  NURI_REQUIRE_SHARED();
  const std::string dir = test::shared_dir() + "/templates";
  std::map<std::string, const Row*> rows;
  for (const Row& r : kTable) rows[r.file] = &r;
  int templates = 0, passing = 0, cases_pass = 0, cases_run = 0;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".jinja") files.push_back(e.path().filename().string());
  std::sort(files.begin(), files.end());
  std::printf("%-52s %-17s %s\n", "template", "family", "result");
  for (const std::string& f : files) {
    ++templates;
    auto it = rows.find(f);
    if (it == rows.end()) {
      ADD_FAILURE() << f << " is not in kTable";
      continue;
    }
    const Row& row = *it->second;
    std::string src = slurp(dir + "/" + f);
    auto t = ChatTemplate::from_source(src);
    ASSERT_TRUE(t.ok()) << f << ": " << t.error();
    ToolCallSyntax syn = detect_tool_call_syntax(*t);
    EXPECT_EQ(syn.name, row.family) << f;
    int rendered = 0, ok = 0, grammar_run = 0, grammar_ok = 0;
    std::string first_err, grammar_err;
    for (const Case& c : cases()) {
      if (std::string(row.skip).find(c.name) != std::string::npos) continue;
      Outcome o = run_case(*t, syn, row, c);
      rendered += o.rendered;
      ok += o.pass;
      if (!o.pass && first_err.empty()) first_err = std::string(c.name) + ": " + o.error;
      if (o.pass) {
        std::string g = grammar_check(syn, calls_part(syn, o.reply));
        bool exact = std::find(std::begin(kGrammarExact), std::end(kGrammarExact), std::string(syn.name)) !=
                     std::end(kGrammarExact);
        ++grammar_run;
        grammar_ok += g.empty();
        if (!g.empty() && grammar_err.empty()) grammar_err = std::string(c.name) + ": " + g;
        if (exact) {
          EXPECT_EQ(g, "") << f << " / " << c.name;
        }
      }
      if (row.expect == Expect::kPass) {
        ++cases_run;
        cases_pass += o.pass;
        EXPECT_TRUE(o.pass) << f << " / " << c.name << ": " << o.error;
      }
    }
    std::string result;
    if (row.expect == Expect::kPass) {
      result = ok == rendered && rendered > 0 ? "pass " + std::to_string(ok) + " cases" : "FAIL " + first_err;
      passing += ok == rendered && rendered > 0;
    } else if (row.expect == Expect::kTemplateError) {
      EXPECT_EQ(rendered, 0) << f << ": expected the template to fail";
      result = "not supported: " + std::string(row.note);
    } else {
      EXPECT_EQ(ok, 0) << f << ": expected no calls in the rendered text";
      result = "not supported: " + std::string(row.note);
    }
    if (row.skip[0]) result += std::string(" (skipped ") + row.skip + ": " + row.note + ")";
    if (grammar_run)
      result += "; grammar accepts " + std::to_string(grammar_ok) + "/" + std::to_string(grammar_run) +
                (grammar_err.empty() ? "" : " [" + grammar_err.substr(0, 300) + "]");
    std::printf("%-52s %-17s %s\n", f.c_str(), syn.name.c_str(), result.c_str());
  }
  std::printf("tool-call round trip: %d/%d templates pass (%d/%d cases); %zu table rows\n", passing, templates,
              cases_pass, cases_run, std::size(kTable));
  EXPECT_EQ(files.size(), std::size(kTable));
}

}  // namespace
}  // namespace nuri::chat
