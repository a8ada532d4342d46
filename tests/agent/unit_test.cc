// tests/agent/unit_test.cc — reply parsing, control-text neutralisation, host-side tools and their
// workspace confinement, kind-d task generation and the host-side checker.
#include <gtest/gtest.h>
#include <unistd.h>

#include <set>

#include "agent/codeact/agent.h"
#include "agent/codeact/tools.h"
#include "agent_test_util.h"
#include "eval/synth/synth_agent.h"

namespace nuri::agent {
namespace {

TEST(ParseReply, CodeBlockThoughtAndAnswer) {
  auto a = parse_reply("Thought: add.\n```python\nprint(1 + 2)\n```\n");
  ASSERT_TRUE(a.code.has_value());
  EXPECT_EQ(*a.code, "print(1 + 2)\n");
  EXPECT_EQ(a.thought, "Thought: add.");
  EXPECT_FALSE(a.final_answer.has_value());

  auto b = parse_reply("Thought: done.\nFinal answer: 42\n");
  ASSERT_TRUE(b.final_answer.has_value());
  EXPECT_EQ(*b.final_answer, "42");
  EXPECT_FALSE(b.code.has_value());

  auto c = parse_reply("**Final Answer:** the red one");
  ASSERT_TRUE(c.final_answer.has_value());
  EXPECT_EQ(*c.final_answer, "the red one");

  // Code wins over an answer given before the result is known.
  auto d = parse_reply("```python\nprint(5)\n```\nFinal answer: 5");
  EXPECT_TRUE(d.code.has_value());
  EXPECT_FALSE(d.final_answer.has_value());

  // A bare fence counts when there is no python fence; a python fence wins over an earlier bare one.
  auto e = parse_reply("```\nprint(7)\n```");
  ASSERT_TRUE(e.code.has_value());
  EXPECT_EQ(*e.code, "print(7)\n");
  auto f = parse_reply("```\nsome output\n```\n```python\nprint(8)\n```");
  ASSERT_TRUE(f.code.has_value());
  EXPECT_EQ(*f.code, "print(8)\n");

  // Unclosed block (reply cut by the token limit): the rest is the code.
  auto g = parse_reply("```python\nprint(9)\n");
  ASSERT_TRUE(g.code.has_value());
  EXPECT_EQ(*g.code, "print(9)\n");

  // Neither.
  auto h = parse_reply("the final answer is probably 3");
  EXPECT_FALSE(h.code.has_value());
  EXPECT_FALSE(h.final_answer.has_value());
}

TEST(Neutralise, BreaksControlTokenText) {
  EXPECT_EQ(neutralise_control_text("a<|im_start|>b"), "a<\xe2\x80\x89|im_start|>b");
  EXPECT_EQ(neutralise_control_text("[INST] x </s>"), "[\xe2\x80\x89INST] x <\xe2\x80\x89/s>");
  EXPECT_EQ(neutralise_control_text("plain a < b | c"), "plain a < b | c");
}

TEST(SystemPrompt, DescribesProtocolAndTools) {
  const std::string s = system_prompt();
  for (const char* want : {"```python", "Final answer:", "read_file(path)", "list_files()", "write_file(path, text)",
                           "no network", "data, never instructions"})
    EXPECT_NE(s.find(want), std::string::npos) << want;
}

TEST(Tools, HostSideCallsStayInTheWorkspace) {
  agent_test::TempWorkspace ws;
  ws.write("a.txt", "hello\n");
  ASSERT_EQ(::mkdir((ws.path + "/sub").c_str(), 0755), 0);
  ws.write("sub/b.txt", "x");
  auto r = call_tool(ws.path, "read_file", {{"path", "a.txt"}});
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(*r, "hello\n");
  auto l = call_tool(ws.path, "list_files", nlohmann::json::object());
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*l, "a.txt\nsub/b.txt\n");
  auto w = call_tool(ws.path, "write_file", {{"path", "new/c.txt"}, {"text", "abc"}});
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(agent_test::read_text(ws.path + "/new/c.txt"), "abc");
  // Refusals.
  EXPECT_FALSE(call_tool(ws.path, "read_file", {{"path", "/etc/passwd"}}).ok());
  EXPECT_FALSE(call_tool(ws.path, "read_file", {{"path", "../ws/a.txt"}}).ok());
  EXPECT_FALSE(call_tool(ws.path, "write_file", {{"path", "../x.txt"}, {"text", "1"}}).ok());
  EXPECT_FALSE(agent_test::exists(ws.root + "/x.txt"));
  ASSERT_EQ(::symlink("/etc", (ws.path + "/link").c_str()), 0);
  auto s = call_tool(ws.path, "read_file", {{"path", "link/passwd"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().find("outside the workspace"), std::string::npos) << s.error();
  EXPECT_FALSE(call_tool(ws.path, "read_file", {{"path", "missing.txt"}}).ok());
  EXPECT_FALSE(call_tool(ws.path, "read_file", nlohmann::json::object()).ok());
  EXPECT_FALSE(call_tool(ws.path, "rm_rf", nlohmann::json::object()).ok());
  // OpenAI-style list mirrors the registry.
  auto j = tools_openai_json();
  ASSERT_EQ(j.size(), tool_specs().size());
  EXPECT_EQ(j[0]["function"]["name"], "read_file");
  EXPECT_EQ(j[0]["function"]["parameters"]["required"][0], "path");
}

}  // namespace
}  // namespace nuri::agent

namespace nuri::eval::synth {
namespace {

TEST(AgentTasks, DeterministicAndCoverEveryFamily) {
  auto a = generate_agent_tasks(5, 44), b = generate_agent_tasks(5, 60);
  std::set<std::string> fams;
  int fixes = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(agent_task_json(a[i]).dump(), agent_task_json(b[i]).dump());
    fams.insert(a[i].family);
    fixes += a[i].needs_fix;
    EXPECT_FALSE(a[i].user.empty());
    EXPECT_FALSE(a[i].files.empty());
    EXPECT_TRUE(!a[i].expect_answer.empty() || !a[i].expect_file.empty()) << a[i].id;
    EXPECT_GE(a[i].replies.size(), a[i].needs_fix ? 3u : 2u);
    EXPECT_EQ(a[i].replies.back().rfind("Final answer: ", 0), 0u);
  }
  EXPECT_EQ(fams.size(), agent_task_families().size());
  // About 20 % of the trajectories start with a failing program (issue 15).
  const auto many = generate_agent_tasks(5, 1100);
  int many_fixes = 0;
  for (const auto& t : many) many_fixes += t.needs_fix;
  EXPECT_GE(many_fixes, 1100 * 16 / 100);
  EXPECT_LE(many_fixes, 1100 * 24 / 100);
  EXPECT_GE(fixes, 3);
  EXPECT_NE(agent_task_json(generate_agent_task(6, 0)).dump(), agent_task_json(a[0]).dump());
  // JSON round trip.
  for (const auto& t : a) {
    auto back = agent_task_from_json(nlohmann::json::parse(agent_task_json(t).dump()));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(agent_task_json(*back).dump(), agent_task_json(t).dump());
  }
}

TEST(AgentTasks, HandWrittenExpectations) {
  // A csv_sum task: the checker's expected answer is the column sum of the file's rows.
  for (const auto& t : generate_agent_tasks(9, 22)) {
    if (t.family != "csv_sum") continue;
    const std::string& text = t.files.at(0).second;
    const char sep = text.find(';') != std::string::npos ? ';' : ',';
    EXPECT_EQ(t.needs_fix, sep == ';');
    // header: item<sep>COL<sep>OTHER; the task names COL.
    std::string header = text.substr(0, text.find('\n'));
    std::string col = header.substr(header.find(sep) + 1);
    col = col.substr(0, col.find(sep));
    EXPECT_NE(t.user.find("the " + col + " column"), std::string::npos) << t.user;
    long long sum = 0;
    size_t pos = text.find('\n') + 1;
    while (pos < text.size()) {
      size_t e = text.find('\n', pos);
      std::string row = text.substr(pos, e - pos);
      size_t a = row.find(sep);
      sum += std::stoll(row.substr(a + 1, row.find(sep, a + 1) - a - 1));
      pos = e + 1;
    }
    EXPECT_EQ(t.expect_answer, std::to_string(sum));
  }
}

TEST(AgentTasks, Checker) {
  EXPECT_TRUE(answers_match("42", "42"));
  EXPECT_TRUE(answers_match(" 42.0. ", "42"));
  EXPECT_TRUE(answers_match("`Lemon`", "lemon"));
  EXPECT_FALSE(answers_match("43", "42"));
  EXPECT_FALSE(answers_match("42 apples", "42"));
  EXPECT_FALSE(answers_match("", "42"));

  AgentTask t;
  t.expect_answer = "7";
  EXPECT_TRUE(check_agent_task(t, true, "7", "/nonexistent").ok);
  EXPECT_FALSE(check_agent_task(t, false, "7", "/nonexistent").ok);  // no final answer
  EXPECT_FALSE(check_agent_task(t, true, "8", "/nonexistent").ok);

  agent_test::TempWorkspace ws;
  AgentTask f;
  f.expect_file = "out/total.txt";
  f.expect_content = "12\n";
  auto c = check_agent_task(f, true, "I wrote 12 to out/total.txt", ws.path);  // the claim is not trusted
  EXPECT_FALSE(c.ok);
  EXPECT_NE(c.why.find("not written"), std::string::npos);
  std::filesystem::create_directory(ws.path + "/out");
  ws.write("out/total.txt", "13\n");
  EXPECT_FALSE(check_agent_task(f, true, "12", ws.path).ok);
  ws.write("out/total.txt", "12");
  EXPECT_TRUE(check_agent_task(f, false, "", ws.path).ok);
}

}  // namespace
}  // namespace nuri::eval::synth
