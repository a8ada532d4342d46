// eval/bench/bench.h: the loaders on the real files in ../shared/eval (answers and shapes as the
// datasets state them) and each scorer on hand-made correct and incorrect replies. Code problems
// run with /usr/bin/python3 (the dataset's own reference solutions must pass, broken ones must
// fail); bfcl replies go through the chat module's Hermes parser as a model's text would.
#include "eval/bench/bench.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <set>

#include "chat/tool_calls.h"
#include "test_util.h"

namespace nuri::eval::bench {
namespace {

std::string eval_dir() { return test::shared_dir() + "/eval"; }

// Runs a program with python3; its exit status.
int run_python(const std::string& program) {
  char path[] = "/tmp/nuri_bench_test_XXXXXX";
  const int fd = ::mkstemp(path);
  if (fd < 0) return -1;
  FILE* f = ::fdopen(fd, "w");
  std::fwrite(program.data(), 1, program.size(), f);
  std::fclose(f);
  const auto r = test::run_cmd("timeout 20 /usr/bin/python3 " + std::string(path) + " >/dev/null 2>&1");
  std::remove(path);
  return r.exit_code;
}

TEST(Bench, LastNumber) {
  EXPECT_EQ(last_number("She makes 9 * 2 = $18 every day."), "18");
  EXPECT_EQ(last_number("1,234 apples and -3.50 dollars"), "-3.5");
  EXPECT_EQ(last_number("total: 1,234,567."), "1234567");
  EXPECT_EQ(last_number("x = 007 and 2.0"), "2");
  EXPECT_EQ(last_number("lists 1,2,3"), "3");
  EXPECT_FALSE(last_number("no digits here").has_value());
}

TEST(Bench, Gsm8k) {
  NURI_REQUIRE_SHARED();
  auto ps = load(Task::kGsm8k, default_data_path(Task::kGsm8k, eval_dir()), 3);
  ASSERT_TRUE(ps.ok()) << ps.error();
  ASSERT_EQ(ps->size(), 3u);
  const BenchProblem& p = (*ps)[0];
  EXPECT_EQ(p.answer, "18");  // Janet's ducks: "#### 18"
  EXPECT_NE(p.user.find("Janet"), std::string::npos);
  EXPECT_TRUE(check_gsm8k("16 - 3 - 4 = 9 eggs, 9 * 2 = 18. The answer is 18.", p));
  EXPECT_TRUE(check_gsm8k("She makes $18.00", p));
  EXPECT_FALSE(check_gsm8k("She makes 18 dollars, wait, no: 20", p));
  EXPECT_FALSE(check_gsm8k("I don't know", p));
  auto all = load(Task::kGsm8k, default_data_path(Task::kGsm8k, eval_dir()), 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1319u);
}

TEST(Bench, Mbpp) {
  NURI_REQUIRE_SHARED();
  auto ps = load(Task::kMbpp, default_data_path(Task::kMbpp, eval_dir()), 2);
  ASSERT_TRUE(ps.ok()) << ps.error();
  const BenchProblem& p = (*ps)[0];
  EXPECT_NE(p.user.find("remove first and last occurrence"), std::string::npos) << p.user;
  EXPECT_NE(p.tests.find("assert remove_Occ(\"hello\",\"l\") == \"heo\""), std::string::npos);
  const std::string right =
      "Here you go:\n```python\ndef remove_Occ(s, ch):\n    i = s.find(ch)\n    if i >= 0: s = s[:i] + s[i+1:]\n"
      "    j = s.rfind(ch)\n    if j >= 0: s = s[:j] + s[j+1:]\n    return s\n```\nDone.";
  const std::string wrong = "```python\ndef remove_Occ(s, ch):\n    return s[1:-1]\n```";
  EXPECT_EQ(run_python(code_program(right, p)), 0);
  EXPECT_NE(run_python(code_program(wrong, p)), 0);
  EXPECT_NE(run_python(code_program("I cannot write code.", p)), 0);
}

TEST(Bench, HumanEval) {
  NURI_REQUIRE_SHARED();
  auto ps = load(Task::kHumanEval, default_data_path(Task::kHumanEval, eval_dir()), 0);
  ASSERT_TRUE(ps.ok()) << ps.error();
  ASSERT_EQ(ps->size(), 164u);  // read through the gzip layer
  const BenchProblem& p = (*ps)[0];
  EXPECT_EQ(p.id, "HumanEval/0");
  EXPECT_EQ(p.answer, "has_close_elements");
  const std::string body =
      "    for i, a in enumerate(numbers):\n        for j, b in enumerate(numbers):\n"
      "            if i != j and abs(a - b) < threshold:\n                return True\n    return False\n";
  // A completion of the body, and a whole function in a fenced block (the prompt's imports kept).
  EXPECT_EQ(run_python(code_program(body, p)), 0);
  const std::string whole = "```python\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n" + body + "```";
  EXPECT_EQ(run_python(code_program(whole, p)), 0);
  EXPECT_NE(run_python(code_program("    return False\n", p)), 0);
  EXPECT_NE(run_python(code_program("```python\ndef has_close_elements(numbers, threshold):\n    return True\n```", p)), 0);
}

std::vector<Call> parse_hermes(const std::string& text, const BenchProblem& p) {
  const auto parsed = chat::parse_tool_calls(chat::fallback_tool_call_syntax(), text, p.tools);
  std::vector<Call> calls;
  for (const auto& c : parsed.tool_calls) calls.push_back({c.name, nlohmann::json::parse(c.arguments.dump())});
  return calls;
}

TEST(Bench, Bfcl) {
  NURI_REQUIRE_SHARED();
  const std::string dir = default_data_path(Task::kBfcl, eval_dir());
  auto ps = load(Task::kBfcl, dir + "/BFCL_v3_simple.json", 1);
  ASSERT_TRUE(ps.ok()) << ps.error();
  const BenchProblem& p = (*ps)[0];
  EXPECT_EQ(p.id, "simple_0");
  ASSERT_TRUE(p.tools.is_array());
  EXPECT_EQ(p.tools[0]["function"]["name"], "calculate_triangle_area");
  EXPECT_EQ(p.tools[0]["function"]["parameters"]["type"], "object");  // BFCL's "dict"
  auto call = [&](const std::string& args) {
    return parse_hermes("<tool_call>\n{\"name\": \"calculate_triangle_area\", \"arguments\": " + args + "}\n</tool_call>", p);
  };
  EXPECT_TRUE(check_bfcl(call(R"({"base": 10, "height": 5})"), p));
  EXPECT_TRUE(check_bfcl(call(R"({"base": 10, "height": 5, "unit": "units"})"), p));
  EXPECT_TRUE(check_bfcl(call(R"({"base": 10.0, "height": 5})"), p));  // a number equal in value
  EXPECT_FALSE(check_bfcl(call(R"({"base": 11, "height": 5})"), p));
  EXPECT_FALSE(check_bfcl(call(R"({"base": 10})"), p));                       // a required argument missing
  EXPECT_FALSE(check_bfcl(call(R"({"base": 10, "height": 5, "color": "red"})"), p));  // an unexpected one
  EXPECT_FALSE(check_bfcl(call(R"({"base": 10, "height": 5, "unit": "cm"})"), p));
  EXPECT_FALSE(check_bfcl(parse_hermes("The area is 25.", p), p));
  EXPECT_FALSE(check_bfcl(parse_hermes(R"(<tool_call>{"name": "area", "arguments": {"base": 10, "height": 5}}</tool_call>)", p), p));

  auto par = load(Task::kBfcl, dir + "/BFCL_v3_parallel.json", 1);
  ASSERT_TRUE(par.ok()) << par.error();
  const BenchProblem& q = (*par)[0];  // Taylor Swift 20 min, Maroon 5 15 min
  const std::string a = R"(<tool_call>{"name": "spotify.play", "arguments": {"artist": "Taylor Swift", "duration": 20}}</tool_call>)";
  const std::string b = R"(<tool_call>{"name": "spotify.play", "arguments": {"artist": "Maroon 5", "duration": 15}}</tool_call>)";
  EXPECT_TRUE(check_bfcl(parse_hermes(a + "\n" + b, q), q));
  EXPECT_TRUE(check_bfcl(parse_hermes(b + "\n" + a, q), q));  // any order
  EXPECT_FALSE(check_bfcl(parse_hermes(a, q), q));             // one call short
  EXPECT_FALSE(check_bfcl(parse_hermes(a + "\n" + a, q), q));  // the same call twice

  // The version folder interleaves the categories.
  auto mixed = load(Task::kBfcl, dir, 8);
  ASSERT_TRUE(mixed.ok()) << mixed.error();
  ASSERT_EQ(mixed->size(), 8u);
  std::set<std::string> cats;
  for (const auto& m : *mixed) cats.insert(m.id.substr(0, m.id.rfind('_')));
  EXPECT_EQ(cats, (std::set<std::string>{"simple", "multiple", "parallel", "parallel_multiple"}));
}

TEST(Bench, ClearLoadErrors) {
  EXPECT_FALSE(load(Task::kGsm8k, "/nonexistent/test.jsonl", 3).ok());
  EXPECT_FALSE(parse_task("squad").has_value());
  EXPECT_EQ(parse_task("humaneval"), Task::kHumanEval);
}

}  // namespace
}  // namespace nuri::eval::bench
