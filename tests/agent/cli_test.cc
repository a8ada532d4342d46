// tests/agent/cli_test.cc — `nuri agent` end to end: scripted replies through the real sandbox,
// --json / --transcript output, exit codes, kind-d task files replayed and checked on the host,
// and one run with the default model.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "agent_test_util.h"
#include "test_util.h"

namespace {

using nuri::test::run_cmd;
using nuri::test::shell_quote;

std::string write_replies(const nuri::agent_test::TempWorkspace& ws, const std::vector<std::string>& replies) {
  const std::string p = ws.root + "/replies.jsonl";
  std::ofstream out(p);
  for (const auto& r : replies) out << nlohmann::json(r).dump() << "\n";
  return p;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

TEST(AgentCli, ScriptedRunJsonAndTranscript) {
  nuri::agent_test::TempWorkspace ws;
  ws.write("data.csv", "name,qty\na,3\nb,4\n");
  auto replies = write_replies(
      ws, {"Thought: look.\n```python\nprint(read_file('data.csv'))\n```",
           "Thought: sum.\n```python\nimport csv\nprint(sum(int(r['qty']) for r in csv.DictReader(open('data.csv'))))\n```",
           "Final answer: 7"});
  const std::string tr = ws.root + "/t.jsonl";
  auto r = run_cmd(nuri::test::nuri_binary() + " agent --scripted " + replies + " --workspace " + ws.path +
                   " --json --transcript " + tr + " " + shell_quote("Sum qty in data.csv") + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["answer"], "7");
  EXPECT_EQ(j["steps"], 3);
  EXPECT_EQ(j["success"], true);
  ASSERT_EQ(j["transcript"].size(), 7u);
  EXPECT_EQ(j["transcript"][1]["content"], "Sum qty in data.csv");
  EXPECT_NE(j["transcript"][3]["content"].get<std::string>().find("name,qty\na,3\nb,4"), std::string::npos);
  EXPECT_NE(j["transcript"][5]["content"].get<std::string>().find("stdout:\n7"), std::string::npos);
  auto tl = lines_of(nuri::agent_test::read_text(tr));
  ASSERT_EQ(tl.size(), 7u);
  for (size_t i = 0; i < tl.size(); ++i) {
    auto m = nlohmann::json::parse(tl[i]);
    EXPECT_EQ(m["index"], i);
    EXPECT_EQ(m["role"], j["transcript"][i]["role"]);
    EXPECT_EQ(m["content"], j["transcript"][i]["content"]);
  }
}

TEST(AgentCli, PlainOutputProgressAndExitCodes) {
  nuri::agent_test::TempWorkspace ws;
  auto replies = write_replies(ws, {"```python\nprint(6 * 7)\n```", "Final answer: 42"});
  const std::string err = ws.root + "/err.txt";
  auto r = run_cmd(nuri::test::nuri_binary() + " agent --scripted " + replies + " --workspace " + ws.path +
                   " 'what is 6*7' 2>" + err);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "42\n");
  const std::string e = nuri::agent_test::read_text(err);
  EXPECT_NE(e.find("[agent] step 1: code: print(6 * 7) -> exit 0, 1 stdout lines"), std::string::npos) << e;
  EXPECT_NE(e.find("[agent] step 2: final answer -> 42"), std::string::npos) << e;

  auto none = write_replies(ws, {"```python\nprint(1)\n```", "```python\nprint(2)\n```"});
  r = run_cmd(nuri::test::nuri_binary() + " agent --scripted " + none + " --workspace " + ws.path +
              " --max-steps 2 x 2>" + err);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(nuri::agent_test::read_text(err).find("no final answer (stopped: max_steps)"), std::string::npos);

  r = run_cmd(nuri::test::nuri_binary() + " agent 2>" + err);
  EXPECT_EQ(r.exit_code, 1);
  auto msg = nuri::agent_test::read_text(err);
  EXPECT_EQ(std::count(msg.begin(), msg.end(), '\n'), 1) << msg;
  r = run_cmd(nuri::test::nuri_binary() + " agent --tasks /nonexistent/t.jsonl 2>" + err);
  EXPECT_EQ(r.exit_code, 1);
}

TEST(AgentCli, KindDTasksReplayAndCheckOnTheHost) {
  nuri::agent_test::TempWorkspace ws;
  const std::string tasks = ws.root + "/d.jsonl";
  auto g = run_cmd(nuri::test::nuri_binary() + " synth --kind d --seed 11 --n 33 -o " + tasks + " 2>/dev/null");
  ASSERT_EQ(g.exit_code, 0);
  int n_fix = 0, n = 0;
  for (const auto& l : lines_of(nuri::agent_test::read_text(tasks))) {
    auto t = nlohmann::json::parse(l);
    n_fix += t["needs_fix"].get<bool>();
    ++n;
  }
  ASSERT_EQ(n, 33);
  EXPECT_GE(n_fix, 2);  // the fix path is exercised (about 20 % of tasks need it)
  auto r = run_cmd(nuri::test::nuri_binary() + " agent --tasks " + tasks + " --replay --json --workspace " + ws.path +
                   " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto out = lines_of(r.out);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), "agent tasks: 33/33 solved (" + std::to_string(n_fix) + " of them after fixing a failed program)");
  int rows = 0;
  for (const auto& l : out) {
    if (l.empty() || l[0] != '{') continue;
    auto j = nlohmann::json::parse(l);
    EXPECT_TRUE(j["success"].get<bool>()) << l;
    EXPECT_EQ(j["fixed_error"], j["needs_fix"]) << l;
    ++rows;
  }
  EXPECT_EQ(rows, 33);

  // A wrong reference answer is caught by the host-side checker (the claim is not trusted).
  std::string text = nuri::agent_test::read_text(tasks);
  auto first = nlohmann::json::parse(lines_of(text)[0]);
  auto& rep = first["replies"];
  rep[rep.size() - 1] = "Final answer: 999999";
  std::ofstream(ws.root + "/bad.jsonl") << first.dump() << "\n";
  r = run_cmd(nuri::test::nuri_binary() + " agent --tasks " + ws.root + "/bad.jsonl --replay --workspace " + ws.path +
              " 2>/dev/null");
  EXPECT_NE(r.out.find("agent tasks: 0/1 solved"), std::string::npos) << r.out;
}

TEST(AgentCli, DefaultModelRunsInSeconds) {
  nuri::agent_test::TempWorkspace ws;
  ws.write("nums.txt", "3\n4\n5\n");
  auto r = run_cmd(nuri::test::nuri_binary() + " agent --workspace " + ws.path +
                   " --max-steps 2 --json 'What is the sum of the numbers in nums.txt?' 2>/dev/null");
  ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 2) << r.exit_code << " " << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_GE(j["steps"].get<int>(), 1);
  EXPECT_GE(j["transcript"].size(), 3u);
  EXPECT_EQ(j["transcript"][2]["role"], "assistant");
}

}  // namespace
