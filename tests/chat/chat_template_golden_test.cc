// Chat-template golden: every case of ../shared/golden/chat-templates.jsonl (70 real templates x 5
// conversations, rendered by Python Jinja2 3.1.6 configured like HF apply_chat_template) must
// render to exactly `expected`, or fail where `error` is set. All cases go through the library;
// every 17th case also goes through `nuri template` (the acceptance interface).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <unistd.h>

#include "chat/chat_template.h"
#include "test_util.h"

namespace nuri::chat {
namespace {

constexpr const char* kNow = "2026-01-02 03:04:05";  // the clock the golden was rendered with

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Case {
  nlohmann::ordered_json j;
  std::string name() const { return j["template"].get<std::string>() + " / " + j["case"].get<std::string>(); }
  bool wants_error() const { return !j["error"].is_null(); }
};

std::vector<Case> load_cases() {
  std::vector<Case> cases;
  std::ifstream f(test::shared_dir() + "/golden/chat-templates.jsonl");
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) cases.push_back({nlohmann::ordered_json::parse(line)});
  return cases;
}

TEST(ChatTemplateGolden, AllCasesThroughLibrary) {
  NURI_REQUIRE_SHARED();
  auto cases = load_cases();
  ASSERT_EQ(cases.size(), 350u);
  int pass = 0;
  for (const auto& c : cases) {
    std::string src = slurp(test::shared_dir() + "/templates/" + c.j["template"].get<std::string>());
    ChatInputs in;
    in.messages = c.j["messages"];
    if (!c.j["tools"].is_null()) in.tools = c.j["tools"];
    in.add_generation_prompt = c.j["add_generation_prompt"];
    in.bos_token = c.j["bos_token"];
    in.eos_token = c.j["eos_token"];
    in.now = jinja::parse_time(kNow);
    auto t = ChatTemplate::from_source(src);
    Result<std::string> out = t.ok() ? t->apply(in) : Result<std::string>(t.status());
    if (c.wants_error()) {
      EXPECT_FALSE(out.ok()) << c.name() << ": expected an error like " << c.j["error"];
      pass += !out.ok();
    } else if (!out.ok()) {
      ADD_FAILURE() << c.name() << ": " << out.error();
    } else {
      EXPECT_EQ(*out, c.j["expected"].get<std::string>()) << c.name();
      pass += *out == c.j["expected"].get<std::string>();
    }
  }
  std::printf("chat templates (library): %d/%zu pass\n", pass, cases.size());
}

TEST(ChatTemplateGolden, SampleThroughCli) {
  NURI_REQUIRE_SHARED();
  auto cases = load_cases();
  char dir_tmpl[] = "/tmp/nuri_chat_golden_XXXXXX";
  ASSERT_NE(::mkdtemp(dir_tmpl), nullptr);
  const std::string dir = dir_tmpl;
  int pass = 0, run = 0;
  for (size_t i = 0; i < cases.size(); i += 17) {
    const Case& c = cases[i];
    ++run;
    const std::string msgs = dir + "/messages.json", tools = dir + "/tools.json", out = dir + "/out.txt";
    std::ofstream(msgs) << c.j["messages"].dump();
    std::string cmd = test::shell_quote(test::nuri_binary()) + " template --template-file " +
                      test::shell_quote(test::shared_dir() + "/templates/" + c.j["template"].get<std::string>()) +
                      " --messages " + test::shell_quote(msgs) + " --bos-token " +
                      test::shell_quote(c.j["bos_token"]) + " --eos-token " + test::shell_quote(c.j["eos_token"]) +
                      " --now " + test::shell_quote(kNow);
    if (!c.j["tools"].is_null()) {
      std::ofstream(tools) << c.j["tools"].dump();
      cmd += " --tools " + test::shell_quote(tools);
    }
    if (!c.j["add_generation_prompt"].get<bool>()) cmd += " --no-generation-prompt";
    auto r = test::run_cmd(cmd + " 2>" + test::shell_quote(dir + "/err.txt"));
    if (c.wants_error()) {
      EXPECT_EQ(r.exit_code, 1) << c.name();
      EXPECT_FALSE(slurp(dir + "/err.txt").empty()) << c.name() << ": no message on stderr";
      pass += r.exit_code == 1;
    } else {
      EXPECT_EQ(r.exit_code, 0) << c.name() << ": " << slurp(dir + "/err.txt");
      EXPECT_EQ(r.out, c.j["expected"].get<std::string>()) << c.name();
      pass += r.exit_code == 0 && r.out == c.j["expected"].get<std::string>();
    }
  }
  std::printf("chat templates (nuri template CLI): %d/%d pass\n", pass, run);
  EXPECT_GE(run, 20);
  std::system(("rm -rf " + test::shell_quote(dir)).c_str());
}

}  // namespace
}  // namespace nuri::chat
