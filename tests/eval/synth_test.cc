// Tests of the synthetic-data generator (eval/synth): determinism, answers verified
// independently (Python executes every (b) program), hand-computed parsing cases.
#include "eval/synth/synth.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "test_util.h"

namespace sy = nuri::eval::synth;

namespace {

bool same(const sy::SynthSample& a, const sy::SynthSample& b) {
  return a.kind == b.kind && a.difficulty == b.difficulty && a.task == b.task && a.user == b.user &&
         a.assistant == b.assistant && a.answer == b.answer;
}

}  // namespace

TEST(SynthRng, MatchesPublishedSplitMix64Sequence) {
  // SplitMix64 from state 0: the reference sequence published with the algorithm (Vigna).
  sy::Rng r(0);
  EXPECT_EQ(r.next(), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(r.next(), 0x6e789e6aa1b965f4ULL);
  EXPECT_EQ(r.next(), 0x06c45d188009454fULL);
}

TEST(Synth, DeterministicAndPrefixStable) {
  for (auto kind : {sy::Kind::kArith, sy::Kind::kAction, sy::Kind::kChat, sy::Kind::kAll}) {
    auto a = sy::generate(42, 200, kind);
    auto b = sy::generate(42, 200, kind);
    auto c = sy::generate(42, 50, kind);
    ASSERT_EQ(a.size(), 200u);
    for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(same(a[i], b[i])) << i;
    for (size_t i = 0; i < c.size(); ++i) EXPECT_TRUE(same(a[i], c[i])) << i;
    auto d = sy::generate(43, 200, kind);
    int differ = 0;
    for (size_t i = 0; i < a.size(); ++i) differ += !same(a[i], d[i]);
    EXPECT_GT(differ, kind == sy::Kind::kChat ? 20 : 150) << sy::kind_name(kind);
  }
}

TEST(Synth, ArithmeticLevelsBalancedAndEveryStepRight) {
  auto v = sy::generate(7, 4000, sy::Kind::kArith);
  std::map<int, int> per_level;
  std::set<std::string> tasks;
  for (const auto& s : v) {
    ++per_level[s.difficulty];
    tasks.insert(s.task);
    EXPECT_EQ(sy::check_reasoning_a(s), "") << s.user << "\n" << s.assistant;
    // difficulty == number of reasoning lines before "Answer:"
    int lines = 0;
    for (char c : s.assistant) lines += c == '\n';
    EXPECT_EQ(lines, s.difficulty) << s.assistant;
    EXPECT_TRUE(sy::check_answer_a(s.assistant, s));
    EXPECT_LT(s.assistant.size(), 400u);
  }
  for (int d = 1; d <= 4; ++d) EXPECT_EQ(per_level[d], 1000);
  EXPECT_EQ(tasks, (std::set<std::string>{"compare", "expr", "story", "units"}));
}

TEST(Synth, CheckReasoningCatchesAWrongStep) {
  sy::SynthSample s{sy::Kind::kArith, 2, "expr", "What is (2 + 3) x 4?", "2 + 3 = 5\n5 x 4 = 21\nAnswer: 21", "21"};
  EXPECT_NE(sy::check_reasoning_a(s), "");
  s.assistant = "2 + 3 = 5\n5 x 4 = 20\nAnswer: 20";
  s.answer = "20";
  EXPECT_EQ(sy::check_reasoning_a(s), "");
}

TEST(Synth, AnswerExtraction) {
  sy::SynthSample s;
  s.answer = "1234";
  EXPECT_TRUE(sy::check_answer_a("12 x 100 = 1200\n1200 + 34 = 1234\nAnswer: 1234", s));
  EXPECT_TRUE(sy::check_answer_a("Answer: 1,234", s));
  EXPECT_TRUE(sy::check_answer_a("Answer: 7\nno wait\nAnswer: 1234", s));  // the last one counts
  EXPECT_FALSE(sy::check_answer_a("Answer: 1234\nAnswer: 12", s));
  EXPECT_FALSE(sy::check_answer_a("the answer is 1234", s));
  EXPECT_FALSE(sy::check_answer_a("Answer: ", s));
  EXPECT_EQ(sy::extract_answer_a("Answer: -5").value_or("?"), "-5");
  EXPECT_EQ(sy::extract_answer_a("Answer:42.").value_or("?"), "42");
}

TEST(Synth, PythonBlockExtraction) {
  EXPECT_EQ(sy::extract_python_block("```python\nprint(1)\n```").value_or("?"), "print(1)\n");
  EXPECT_EQ(sy::extract_python_block("Here:\n```python\nx = 2\nprint(x)\n```\nDone.").value_or("?"),
            "x = 2\nprint(x)\n");
  EXPECT_EQ(sy::extract_python_block("```\nprint(3)\n```").value_or("?"), "print(3)\n");
  EXPECT_EQ(sy::extract_python_block("```python\nprint(4)").value_or("?"), "print(4)");  // cut off
  EXPECT_FALSE(sy::extract_python_block("print(1)").has_value());
  EXPECT_FALSE(sy::extract_python_block("```python\n```").has_value());
}

TEST(Synth, ActionSamplesCoverAllTasksAndHaveOneBlock) {
  auto v = sy::generate(11, 3000, sy::Kind::kAction);
  std::set<std::string> tasks;
  for (const auto& s : v) {
    tasks.insert(s.task);
    auto code = sy::extract_python_block(s.assistant);
    ASSERT_TRUE(code.has_value()) << s.assistant;
    EXPECT_EQ(s.assistant, "```python\n" + *code + "```");
    EXPECT_FALSE(s.answer.empty()) << s.user;
  }
  EXPECT_GE(tasks.size(), 22u);  // 21 families, gcd/lcm and list max/min/sum split
}

// Every (b) program, executed by Python, prints exactly the sample's answer.
TEST(Synth, ActionProgramsPrintTheirAnswersInPython) {
  if (!nuri::test::path_exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 not found";
  auto v = sy::generate(2024, 300, sy::Kind::kAction);
  std::string dir = ::testing::TempDir();
  std::string in = dir + "/synth_b.jsonl";
  {
    std::ofstream f(in);
    for (const auto& s : v) f << nlohmann::json{{"code", *sy::extract_python_block(s.assistant)}}.dump() << "\n";
  }
  std::string script =
      "import sys, json, io, contextlib\n"
      "for line in open(sys.argv[1]):\n"
      "    buf = io.StringIO()\n"
      "    with contextlib.redirect_stdout(buf):\n"
      "        exec(json.loads(line)['code'], {})\n"
      "    print(json.dumps(buf.getvalue()))\n";
  std::string py = dir + "/run_b.py";
  std::ofstream(py) << script;
  auto r = nuri::test::run_cmd("/usr/bin/python3 " + nuri::test::shell_quote(py) + " " + nuri::test::shell_quote(in));
  ASSERT_EQ(r.exit_code, 0);
  std::istringstream out(r.out);
  std::string line;
  size_t i = 0;
  while (std::getline(out, line) && i < v.size()) {
    std::string printed = nlohmann::json::parse(line).get<std::string>();
    EXPECT_EQ(printed, v[i].answer + "\n") << v[i].user;
    ++i;
  }
  EXPECT_EQ(i, v.size());
}

// Date answers checked against std::chrono's calendar (an implementation independent of the
// generator's) plus hand-known facts: 2024-01-01 was a Monday, 2000-01-01 a Saturday.
TEST(Synth, DateAnswersMatchStdChrono) {
  using namespace std::chrono;
  auto parse = [](const std::string& iso) {
    return sys_days(year_month_day(year(std::stoi(iso.substr(0, 4))), month(std::stoi(iso.substr(5, 2))),
                                   day(std::stoi(iso.substr(8, 2)))));
  };
  auto dates_in = [](const std::string& text) {
    std::vector<std::string> out;
    for (size_t i = 0; i + 10 <= text.size(); ++i)
      if (std::isdigit(static_cast<unsigned char>(text[i])) && text[i + 4] == '-' && text[i + 7] == '-')
        out.push_back(text.substr(i, 10)), i += 9;
    return out;
  };
  static const char* kNames[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  EXPECT_STREQ(kNames[weekday(parse("2024-01-01")).c_encoding()], "Monday");
  EXPECT_STREQ(kNames[weekday(parse("2000-01-01")).c_encoding()], "Saturday");
  EXPECT_EQ((parse("2024-07-15") - parse("2024-03-01")).count(), 31 + 30 + 31 + 30 + 14);
  auto v = sy::generate(5, 3000, sy::Kind::kAction);
  int checked = 0;
  for (const auto& s : v) {
    auto d = dates_in(s.user);
    if (s.task == "weekday") {
      ASSERT_EQ(d.size(), 1u) << s.user;
      EXPECT_EQ(s.answer, kNames[weekday(parse(d[0])).c_encoding()]) << s.user;
      ++checked;
    } else if (s.task == "days_between") {
      ASSERT_EQ(d.size(), 2u) << s.user;
      EXPECT_EQ(std::stoll(s.answer), (parse(d[1]) - parse(d[0])).count()) << s.user;
      ++checked;
    }
  }
  EXPECT_GT(checked, 100);
}

TEST(Synth, ChatTurnsAreFixedRepliesAndRenderAsChatML) {
  auto v = sy::generate(3, 60, sy::Kind::kChat);
  std::set<std::string> tasks;
  for (const auto& s : v) {
    tasks.insert(s.assistant);  // 30 fixed replies, each reached once per 30 indices
    EXPECT_FALSE(s.assistant.empty());
    EXPECT_TRUE(s.answer.empty());
  }
  EXPECT_EQ(tasks.size(), 30u);
  std::string a = "Hi!";
  EXPECT_EQ(sy::render_chatml("Hello", &a), "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n");
  EXPECT_EQ(sy::render_chatml("Hello", nullptr), "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n");
}

TEST(Synth, NuriSynthCommandWritesJsonl) {
  std::string out = ::testing::TempDir() + "/synth_cmd.jsonl";
  auto r = nuri::test::run_cmd(std::string(NURI_BINARY) + " synth --seed 9 --n 12 --kind all -o " +
                               nuri::test::shell_quote(out) + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  auto lib = sy::generate(9, 12, sy::Kind::kAll);
  std::ifstream f(out);
  std::string line;
  size_t i = 0;
  while (std::getline(f, line)) {
    auto j = nlohmann::json::parse(line);
    ASSERT_LT(i, lib.size());
    EXPECT_EQ(j["user"], lib[i].user);
    EXPECT_EQ(j["answer"], lib[i].answer);
    EXPECT_EQ(j["text"], sy::render_chatml(lib[i].user, &lib[i].assistant));
    ++i;
  }
  EXPECT_EQ(i, 12u);
}
