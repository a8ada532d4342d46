// Fuzz validation of structured output (issue 14 acceptance): a random-weight model (tiny-qwen3moe,
// qwen2's 151,936-token byte-level vocabulary) picks arbitrary allowed tokens — a fuzzer for the
// matcher — under the 50 JSON schemas of tests/grammar/schemas/ (every supported keyword) and the
// GBNF grammars of tests/grammar/gbnf/, 5 seeds each (NURI_GRAMMAR_FUZZ_SEEDS overrides; the
// `slow` entry runs 20). Sampling at temperature 1 over the whole allowed set (no top-k/top-p),
// through the engine (several requests batched, as the server runs them).
// Checked outside the code under test by tests/grammar/fuzz_check.py: every output parses and
// validates against its schema with python3-jsonschema, every GBNF output is accepted by an
// independent backtracking recogniser, and bounded schemas/grammars always end with finish stop.
// Unbounded schemas (strings without maxLength, free keys) get a logit bias towards '"', '}' and
// ']' so that their outputs end too (random weights would otherwise write strings forever).
// Tool calls: for every template of ../shared/templates whose family has a call syntax, the
// tool-call grammar (tool_choice "required") constrains the same random model; the output must
// parse back (chat::parse_tool_calls) into calls of the given tools with no content left, whose
// arguments validate against the tool's parameters (python3-jsonschema).
// Also: `nuri run` exits 1 naming the problem for a malformed grammar / unsupported schema keyword.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/mmap.h"
#include "chat/chat_template.h"
#include "chat/tool_calls.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "nuri/engine.h"
#include "runtime/loaded_model.h"
#include "test_util.h"

namespace nuri::grammar {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string model_path() { return test::shared_dir() + "/models/tiny-qwen3moe-8x-qwen2vocab-Q4_K_M.gguf"; }

std::vector<std::string> files_in(const std::string& dir, const std::string& ext) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ext) out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

struct Job {
  std::string kind, file;
  uint64_t seed = 0;
  std::shared_ptr<engine::RequestHandle> handle;
  std::string text;
  engine::FinishReason finish = engine::FinishReason::kNone;
  int32_t n_gen = 0;
};

// A request that samples the model's raw distribution (temperature 1, every filter off): random
// weights then pick arbitrary allowed tokens, a fuzzer for the grammar matcher.
engine::Request raw_request(const std::vector<int32_t>& prompt, uint64_t seed) {
  engine::Request r;
  r.prompt = prompt;
  r.max_tokens = 400;
  r.sampling.temperature = 1.0f;
  r.sampling.top_k = 0;
  r.sampling.top_p = 1.0f;
  r.sampling.min_p = 0.0f;
  r.sampling.typical_p = 1.0f;
  r.sampling.seed = seed;
  return r;
}

TEST(GrammarFuzz, RandomModelOutputsValidate) {
  NURI_REQUIRE_SHARED();
  const std::string src = NURI_SOURCE_DIR;
  int seeds = 5;
  if (const char* s = std::getenv("NURI_GRAMMAR_FUZZ_SEEDS")) seeds = std::max(1, std::atoi(s));
  auto lm = runtime::load_model(model_path());
  ASSERT_TRUE(lm.ok()) << lm.error();
  const auto& tok = lm->tokenizer;
  engine::EngineParams ep;
  ep.n_parallel = 8;
  ep.n_ctx = 512;
  ep.n_threads = 2;
  ep.max_queue = 100000;
  auto eng = engine::Engine::create(lm->model, tok, ep);
  ASSERT_TRUE(eng.ok()) << eng.error();
  const std::vector<int32_t> prompt = tok.encode("Output:", true, false);

  // Tokens that are exactly '"', '}' or ']' (the termination bias of unbounded schemas).
  std::vector<std::pair<int32_t, float>> end_bias;
  for (const char* p : {"\"", "}", "]"}) {
    std::vector<int32_t> ids = tok.encode(p, false, false);
    ASSERT_EQ(ids.size(), 1u) << p;
    end_bias.emplace_back(ids[0], 8.0f);
  }

  std::vector<Job> jobs;
  auto submit_all = [&](const std::string& kind, const std::string& file, const std::shared_ptr<const Grammar>& g, bool bias) {
    for (int s = 1; s <= seeds; ++s) {
      engine::Request r = raw_request(prompt, static_cast<uint64_t>(s) * 1000003u);
      if (bias) r.sampling.logit_bias = end_bias;
      r.grammar = g;
      engine::SubmitResult sr = (*eng)->submit(std::move(r));
      ASSERT_EQ(sr.code, engine::SubmitCode::kOk) << sr.message;
      Job j;
      j.kind = kind;
      j.file = file;
      j.seed = static_cast<uint64_t>(s);
      j.handle = sr.handle;
      jobs.push_back(std::move(j));
    }
  };
  const auto schemas = files_in(src + "/tests/grammar/schemas", ".json");
  const auto gbnfs = files_in(src + "/tests/grammar/gbnf", ".gbnf");
  EXPECT_EQ(schemas.size(), 50u);
  EXPECT_GE(gbnfs.size(), 10u);
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& f : schemas) {
    auto text = read_file(f);
    ASSERT_TRUE(text.ok()) << text.error();
    auto gbnf = json_schema_to_gbnf(*text);
    ASSERT_TRUE(gbnf.ok()) << f << ": " << gbnf.error();
    auto g = Grammar::parse(*gbnf);
    ASSERT_TRUE(g.ok()) << f << ": " << g.error() << "\n" << *gbnf;
    // u*: unbounded schemas (their outputs need the termination bias to end).
    submit_all("schema", f, *g, fs::path(f).filename().string()[0] == 'u');
  }
  for (const auto& f : gbnfs) {
    auto text = read_file(f);
    ASSERT_TRUE(text.ok()) << text.error();
    auto g = Grammar::parse(*text);
    ASSERT_TRUE(g.ok()) << f << ": " << g.error();
    submit_all("gbnf", f, *g, false);
  }
  int64_t tokens = 0;
  for (auto& j : jobs) {
    engine::Event ev;
    const auto deadline = std::chrono::steady_clock::now() + 300s;
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      if (!j.handle->next(&ev, 100ms)) continue;
      j.text += ev.text;
      if (ev.kind == engine::Event::Kind::kDone) {
        done = true;
        j.finish = ev.finish;
        j.n_gen = ev.n_generated;
        EXPECT_NE(ev.finish, engine::FinishReason::kError) << j.file << ": " << ev.error;
      }
    }
    ASSERT_TRUE(done) << j.file << " seed " << j.seed << " timed out";
    tokens += j.n_gen;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("grammar fuzz: %zu generations (%d seeds), %lld tokens in %.1f s\n", jobs.size(), seeds,
              static_cast<long long>(tokens), secs);

  const std::string results = ::testing::TempDir() + "grammar_fuzz_results_" + std::to_string(::getpid()) + ".jsonl";
  {
    std::ofstream out(results);
    for (const auto& j : jobs) {
      nlohmann::json line = {{"kind", j.kind}, {"file", j.file}, {"seed", j.seed}, {"text", j.text},
                             {"finish", engine::finish_reason_name(j.finish)}};
      out << line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
  }
  test::CmdResult r = test::run_cmd("/usr/bin/python3 " + test::shell_quote(src + "/tests/grammar/fuzz_check.py") + " " +
                                    test::shell_quote(results) + " 2>&1");
  std::printf("%s", r.out.c_str());
  EXPECT_EQ(r.exit_code, 0) << "fuzz_check.py found invalid outputs (see above); results kept in " << results;
  if (r.exit_code == 0) std::remove(results.c_str());
}

TEST(GrammarFuzz, ToolCallGrammarsOfEveryFamilyParseBack) {
  NURI_REQUIRE_SHARED();
  const std::string src = NURI_SOURCE_DIR;
  using ojson = nlohmann::ordered_json;
  int seeds = 1;  // per template; the slow entry runs 4
  if (const char* s = std::getenv("NURI_GRAMMAR_FUZZ_SEEDS")) seeds = std::max(1, std::atoi(s) / 5);
  const ojson tools = ojson::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object",
      "properties": {"city": {"type": "string", "maxLength": 12}, "unit": {"enum": ["celsius", "fahrenheit"]},
                     "days": {"type": "integer", "minimum": 1, "maximum": 7}},
      "required": ["city", "days"], "additionalProperties": false}}},
    {"type": "function", "function": {"name": "set_flags", "parameters": {"type": "object",
      "properties": {"on": {"type": "boolean"}, "ids": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 99},
                     "maxItems": 3}, "note": {"type": ["string", "null"], "maxLength": 8}},
      "required": ["on"], "additionalProperties": false}}},
    {"type": "function", "function": {"name": "create_event", "parameters": {"type": "object",
      "properties": {"when": {"type": "object", "properties": {"day": {"type": "integer", "minimum": 1, "maximum": 31},
                                                               "all_day": {"type": "boolean"}},
                              "required": ["day"], "additionalProperties": false},
                     "guests": {"type": "array", "items": {"type": "string", "maxLength": 6}, "maxItems": 2},
                     "date": {"type": "string", "format": "date"},
                     "room": {"type": "string", "pattern": "^[A-Z][0-9]{2}(-[ab])?$"}},
      "required": ["when", "date", "room"], "additionalProperties": false}}}
  ])");
  std::map<std::string, ojson> schema_of;
  for (const auto& t : tools) schema_of[t["function"]["name"].get<std::string>()] = t["function"]["parameters"];
  const chat::SchemaToGbnf conv = [](const ojson& schema) { return json_schema_to_gbnf(schema.dump()); };

  auto lm = runtime::load_model(model_path());
  ASSERT_TRUE(lm.ok()) << lm.error();
  engine::EngineParams ep;
  ep.n_parallel = 8;
  ep.n_ctx = 512;
  ep.n_threads = 2;
  ep.max_queue = 100000;
  auto eng = engine::Engine::create(lm->model, lm->tokenizer, ep);
  ASSERT_TRUE(eng.ok()) << eng.error();
  const std::vector<int32_t> prompt = lm->tokenizer.encode("Call a tool:", true, false);

  struct Call {
    std::string file;
    chat::ToolCallSyntax syntax;
    uint64_t seed;
    std::shared_ptr<engine::RequestHandle> h;
  };
  std::vector<Call> calls;
  std::vector<std::string> families, no_grammar;
  for (const auto& f : files_in(test::shared_dir() + "/templates", ".jinja")) {
    auto text = read_file(f);
    ASSERT_TRUE(text.ok()) << text.error();
    auto tmpl = chat::ChatTemplate::from_source(*text);
    if (!tmpl.ok()) continue;
    const chat::ToolCallSyntax syn = chat::detect_tool_call_syntax(*tmpl);
    if (syn.kind == chat::ToolCallKind::kNone) continue;
    chat::ToolGrammarOptions opts;
    opts.raw_string_to_gbnf = [](const ojson& schema) { return json_schema_raw_string_gbnf(schema.dump()); };
    auto gbnf = chat::tool_call_grammar(syn, tools, conv, opts);
    if (!gbnf.ok()) {
      no_grammar.push_back(fs::path(f).filename().string() + " (" + syn.name + "): " + gbnf.error());
      continue;
    }
    auto g = Grammar::parse(*gbnf);
    ASSERT_TRUE(g.ok()) << f << ": " << g.error();
    families.push_back(syn.name);
    for (uint64_t seed = 1; seed <= static_cast<uint64_t>(seeds); ++seed) {
      engine::Request r = raw_request(prompt, seed * 7919u);
      r.grammar = *g;
      engine::SubmitResult sr = (*eng)->submit(std::move(r));
      ASSERT_EQ(sr.code, engine::SubmitCode::kOk) << sr.message;
      calls.push_back({f, syn, seed, sr.handle});
    }
  }
  for (const auto& m : no_grammar) std::printf("no tool-call grammar: %s\n", m.c_str());
  EXPECT_GE(families.size(), 50u) << "fewer templates than expected have a tool-call grammar";

  const std::string results = ::testing::TempDir() + "tool_call_fuzz_" + std::to_string(::getpid()) + ".jsonl";
  std::ofstream out(results);
  int parsed_ok = 0;
  for (auto& c : calls) {
    std::string text;
    engine::FinishReason finish = engine::FinishReason::kNone;
    engine::Event ev;
    const auto deadline = std::chrono::steady_clock::now() + 300s;
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      if (!c.h->next(&ev, 100ms)) continue;
      text += ev.text;
      if (ev.kind == engine::Event::Kind::kDone) {
        done = true;
        finish = ev.finish;
      }
    }
    const std::string where = fs::path(c.file).filename().string() + " (" + c.syntax.name + ") seed " + std::to_string(c.seed);
    ASSERT_TRUE(done) << where << " timed out";
    // One call of bounded arguments: the grammar's language is finite, the choice must stop.
    EXPECT_EQ(finish, engine::FinishReason::kStop) << where << ": " << text;
    chat::ParsedOutput p = chat::parse_tool_calls(c.syntax, text, tools);
    const bool one = p.tool_calls.size() == 1;
    EXPECT_TRUE(one) << where << ": " << p.tool_calls.size() << " calls parsed from: " << text;
    EXPECT_EQ(p.content.find_first_not_of(" \t\r\n"), std::string::npos) << where << ": content left: '" << p.content << "' from: " << text;
    for (const auto& call : p.tool_calls) {
      auto it = schema_of.find(call.name);
      EXPECT_NE(it, schema_of.end()) << where << ": unknown tool '" << call.name << "' from: " << text;
      if (it == schema_of.end()) continue;
      ojson line = {{"kind", "args"}, {"file", c.file}, {"tool", call.name}, {"schema", it->second}, {"seed", c.seed},
                    {"text", call.arguments.dump()}, {"finish", engine::finish_reason_name(finish)}};
      out << line.dump(-1, ' ', false, ojson::error_handler_t::replace) << "\n";
    }
    parsed_ok += one && p.content.find_first_not_of(" \t\r\n") == std::string::npos;
  }
  out.close();
  std::set<std::string> fams(families.begin(), families.end());
  std::printf("tool-call fuzz: %zu generations over %zu templates (%zu families), %d parsed back into exactly one call\n",
              calls.size(), families.size(), fams.size(), parsed_ok);
  test::CmdResult r = test::run_cmd("/usr/bin/python3 " + test::shell_quote(src + "/tests/grammar/fuzz_check.py") + " " +
                                    test::shell_quote(results) + " 2>&1");
  // Per-file lines are many (one per template and tool): print the totals and any failures.
  std::istringstream lines(r.out);
  for (std::string l; std::getline(lines, l);)
    if (l.rfind("args:", 0) == 0 || l.rfind("FAIL", 0) == 0) std::printf("%s\n", l.c_str());
  EXPECT_EQ(r.exit_code, 0) << "arguments that do not validate (see above); results in " << results;
  EXPECT_NE(r.out.find("args: "), std::string::npos) << r.out;
  if (r.exit_code == 0) std::remove(results.c_str());
}

TEST(GrammarFuzz, CliBadGrammarOrSchemaExits1) {
  NURI_REQUIRE_SHARED();
  const std::string dir = ::testing::TempDir();
  const std::string bad_gbnf = dir + "bad_" + std::to_string(::getpid()) + ".gbnf";
  const std::string bad_schema = dir + "bad_" + std::to_string(::getpid()) + ".json";
  std::ofstream(bad_gbnf) << "root ::= \"a\" item\nitem ::= [a-z\n";
  std::ofstream(bad_schema) << R"({"type": "object", "properties": {"a": {"type": "string", "contentMediaType": "text/html"}}})";
  const std::string run = test::nuri_binary() + " run -m " + test::shell_quote(model_path()) + " -p x ";
  test::CmdResult a = test::run_cmd(run + "--grammar " + test::shell_quote(bad_gbnf) + " 2>&1");
  EXPECT_EQ(a.exit_code, 1) << a.out;
  EXPECT_NE(a.out.find("line 2, column"), std::string::npos) << a.out;
  test::CmdResult b = test::run_cmd(run + "--json-schema " + test::shell_quote(bad_schema) + " 2>&1");
  EXPECT_EQ(b.exit_code, 1) << b.out;
  EXPECT_NE(b.out.find("unsupported keyword 'contentMediaType'"), std::string::npos) << b.out;
  test::CmdResult c = test::run_cmd(run + "--json --grammar " + test::shell_quote(bad_gbnf) + " 2>&1");
  EXPECT_EQ(c.exit_code, 1) << c.out;
  // A good schema: the output validates (checked here by the JSON parser) and ends with stop.
  test::CmdResult d = test::run_cmd(run + "-n 200 --no-echo --temp 1 --top-k 0 --seed 3 --json-schema " +
                                    test::shell_quote(std::string(NURI_SOURCE_DIR) + "/tests/grammar/schemas/b21_object_required.json") +
                                    " 2>/dev/null");
  EXPECT_EQ(d.exit_code, 0);
  auto j = nlohmann::json::parse(d.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << d.out;
  EXPECT_TRUE(j.is_object() && j.contains("a") && j.contains("b")) << d.out;
  std::remove(bad_gbnf.c_str());
  std::remove(bad_schema.c_str());
}

}  // namespace
}  // namespace nuri::grammar
