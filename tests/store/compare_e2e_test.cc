// `nuri compare` end to end on shared models (small --n): the report directory holds a markdown
// table, JSON whose numbers match a separate `nuri eval-synth` run and the files' sizes, and an
// SVG that is well-formed XML (Python's parser) and renders to a PNG with rsvg-convert.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "test_util.h"

namespace {

namespace fs = std::filesystem;
using nuri::test::nuri_binary;
using nuri::test::run_cmd;
using nuri::test::shell_quote;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Compare, WritesReportForSharedModels) {
  NURI_REQUIRE_SHARED();
  const fs::path out = fs::path(::testing::TempDir()) / ("nuri_compare_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const std::string models = nuri::test::shared_dir() + "/models";
  const std::string tiny = std::string(NURI_SOURCE_DIR) + "/models/nuri-tiny.gguf";
  const std::string common = " --n 3 --seed 424242 --max-tokens 48 -t 2";
  // Two shared models by NURI_MODELS stem, and nuri-tiny (which solves some problems) by path.
  auto r = run_cmd("NURI_MODELS=" + shell_quote(models) + " " + nuri_binary() +
                   " compare -m stories260K-Q8_0 -m stories260K-F16 -m " + shell_quote(tiny) + common +
                   " --bench-prompt 32 --bench-gen 8 --bench-runs 1 -o " + shell_quote(out.string()) + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  const auto j = nlohmann::json::parse(slurp(out / "report.json"));
  ASSERT_EQ(j["models"].size(), 3u);
  EXPECT_EQ(j["eval"], "synth");
  const std::vector<std::string> files = {models + "/stories260K-Q8_0.gguf", models + "/stories260K-F16.gguf", tiny};
  for (size_t i = 0; i < 3; ++i) {
    const auto& m = j["models"][i];
    EXPECT_EQ(m["path"], files[i]);
    EXPECT_EQ(m["file_bytes"].get<uint64_t>(), fs::file_size(files[i]));
    EXPECT_EQ(m["tasks"]["arith"]["total"], 3);
    EXPECT_EQ(m["tasks"]["action"]["total"], 3);
    EXPECT_GT(m["decode_tok_s"].get<double>(), 0);
    EXPECT_GT(m["prefill_tok_s"].get<double>(), 0);
    EXPECT_GT(m["peak_rss_mib_bench"].get<double>(), 1);
    EXPECT_GT(m["peak_rss_mib_eval"].get<double>(), 1);
  }
  // The same eval run on its own gives the same count.
  auto e = run_cmd(nuri_binary() + " eval-synth -m " + shell_quote(tiny) + common + " 2>/dev/null");
  ASSERT_EQ(e.exit_code, 0);
  const auto k = e.out.find("overall:");
  ASSERT_NE(k, std::string::npos) << e.out;
  EXPECT_EQ(j["models"][2]["tasks"]["arith"]["correct"].get<int>(), std::stoi(e.out.substr(k + 8)));
  const auto b = e.out.find("(b) text-to-action, executed:");
  ASSERT_NE(b, std::string::npos) << e.out;
  EXPECT_EQ(j["models"][2]["tasks"]["action"]["correct"].get<int>(), std::stoi(e.out.substr(b + 29)));

  const std::string md = slurp(out / "report.md");
  EXPECT_EQ(r.out, md);
  EXPECT_NE(md.find("| stories260K-F16 | 587.2 KiB |"), std::string::npos) << md;
  EXPECT_NE(md.find("| arith | action |"), std::string::npos) << md;

  const std::string svg = (out / "chart.svg").string(), png = (out / "chart.png").string();
  auto x = run_cmd("/usr/bin/python3 -c 'import sys, xml.etree.ElementTree as E; t = E.parse(sys.argv[1]); "
                   "print(sum(1 for e in t.iter() if e.tag.endswith(\"rect\")))' " + shell_quote(svg));
  ASSERT_EQ(x.exit_code, 0) << "chart.svg is not well-formed XML";
  EXPECT_EQ(x.out, "13\n");  // background + 3 models x 2 tasks + 3 speed bars + 3 legend swatches
  if (!nuri::test::path_exists("/usr/bin/rsvg-convert")) GTEST_SKIP() << "rsvg-convert not installed (scripts/setup.sh)";
  auto c = run_cmd("/usr/bin/rsvg-convert " + shell_quote(svg) + " -o " + shell_quote(png) + " 2>&1");
  ASSERT_EQ(c.exit_code, 0) << c.out;
  const std::string p = slurp(png);
  ASSERT_GT(p.size(), 1000u);
  EXPECT_EQ(p.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  fs::remove_all(out);
}

// --eval humaneval on two shared models: the report has the task, the counts equal a separate
// `nuri eval` run, every problem's program ran (tiny models score ~0; the mechanism is what counts),
// and the chart renders.
TEST(Compare, PublicBenchmark) {
  NURI_REQUIRE_SHARED();
  const fs::path out = fs::path(::testing::TempDir()) / ("nuri_compare_he_" + std::to_string(::getpid()));
  fs::remove_all(out);
  const std::string models = nuri::test::shared_dir() + "/models";
  const std::string a = models + "/stories260K-Q8_0.gguf", b = models + "/tiny-mixtral-moe-8x-spm-Q4_K_M.gguf";
  auto r = run_cmd(nuri_binary() + " compare -m " + shell_quote(a) + " -m " + shell_quote(b) +
                   " --eval humaneval --n 3 --max-tokens 24 -t 2 --bench-prompt 16 --bench-gen 4 --bench-runs 1 -o " +
                   shell_quote(out.string()) + " 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0);
  const auto j = nlohmann::json::parse(slurp(out / "report.json"));
  EXPECT_EQ(j["eval"], "humaneval");
  ASSERT_EQ(j["models"].size(), 2u);
  for (const auto& m : j["models"]) {
    EXPECT_EQ(m["tasks"]["humaneval"]["total"], 3) << m.dump();
    EXPECT_EQ(m["tasks"].size(), 1u);
  }
  EXPECT_NE(slurp(out / "report.md").find("| humaneval |"), std::string::npos);
  // The per-problem lines of the second model: every program ran to an exit status.
  std::ifstream lines(out / "eval-1.jsonl");
  std::string line;
  int n = 0, correct = 0;
  while (std::getline(lines, line)) {
    const auto row = nlohmann::json::parse(line);
    EXPECT_EQ(row["kind"], "humaneval");
    EXPECT_EQ(row["got"].get<std::string>().rfind("exit ", 0), 0u) << row.dump();
    correct += row["correct"].get<bool>();
    ++n;
  }
  EXPECT_EQ(n, 3);
  // The first reply is the model's greedy text on the chat-rendered question (as `nuri run` gives it).
  std::ifstream again(out / "eval-1.jsonl");
  ASSERT_TRUE(std::getline(again, line));
  const auto first = nlohmann::json::parse(line);
  const nlohmann::json msgs = nlohmann::json::array({{{"role", "user"}, {"content", first["user"]}}});
  const auto rendered = run_cmd(nuri_binary() + " template -m " + shell_quote(b) + " --messages " + shell_quote(msgs.dump()));
  ASSERT_EQ(rendered.exit_code, 0);
  auto ran = run_cmd(nuri_binary() + " run -m " + shell_quote(b) + " -n 24 --no-echo -t 2 -p " + shell_quote(rendered.out) + " 2>/dev/null");
  ASSERT_EQ(ran.exit_code, 0);
  if (!ran.out.empty() && ran.out.back() == '\n') ran.out.pop_back();
  EXPECT_EQ(first["reply"].get<std::string>(), ran.out);
  auto e = run_cmd(nuri_binary() + " eval humaneval -m " + shell_quote(b) + " --n 3 --max-tokens 24 -t 2 2>/dev/null");
  ASSERT_EQ(e.exit_code, 0);
  EXPECT_NE(e.out.find("humaneval"), std::string::npos) << e.out;
  EXPECT_NE(e.out.find(": " + std::to_string(correct) + " / 3 "), std::string::npos) << e.out;
  EXPECT_EQ(j["models"][1]["tasks"]["humaneval"]["correct"].get<int>(), correct);
  if (nuri::test::path_exists("/usr/bin/rsvg-convert")) {
    const std::string png = (out / "chart.png").string();
    auto c = run_cmd("/usr/bin/rsvg-convert " + shell_quote((out / "chart.svg").string()) + " -o " + shell_quote(png) + " 2>&1");
    EXPECT_EQ(c.exit_code, 0) << c.out;
    EXPECT_EQ(slurp(png).substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  }
  fs::remove_all(out);
}

TEST(Compare, ClearErrors) {
  auto r = run_cmd(nuri_binary() + " compare -m a -m b --eval squad 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("unknown eval 'squad'"), std::string::npos) << r.out;
  r = run_cmd(nuri_binary() + " eval gsm8k -m a --data /nonexistent/test.jsonl 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("/nonexistent/test.jsonl"), std::string::npos) << r.out;
  r = run_cmd("NURI_MODELS= " + nuri_binary() + " compare -m no-such-model -o /nonexistent/x 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("no-such-model"), std::string::npos) << r.out;
  EXPECT_FALSE(nuri::test::path_exists("/nonexistent/x"));
}

}  // namespace
