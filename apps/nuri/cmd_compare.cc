// nuri compare -m A -m B [...] [--eval synth|gsm8k|mbpp|humaneval|bfcl] [--n N] [--data PATH] [-o DIR]
// Runs the same eval (`nuri eval-synth`, or `nuri eval TASK` for the public benchmarks) and
// `nuri bench` on each model, each in its own child
// process of this binary (the code behind those commands, unchanged; a fresh process per model
// makes the peak-RSS numbers mean that model), and writes DIR/report.md, DIR/chart.svg and
// DIR/report.json (compare_report.h).
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "base/mmap.h"
#include "base/timer.h"
#include "command.h"
#include "compare_report.h"
#include "store/store.h"

namespace {

namespace fs = std::filesystem;

struct ChildResult {
  int exit_code = -1;
  std::string out;  // stdout
  double max_rss_mib = 0;
};

// Runs this binary with `args`; stdout captured, stderr passed through.
ChildResult run_self(const std::vector<std::string>& args) {
  ChildResult r;
  int fds[2];
  if (::pipe(fds) != 0) return r;
  std::vector<char*> argv;
  static char self[] = "/proc/self/exe";
  argv.push_back(self);
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 1);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  if (pid < 0) {
    ::close(fds[0]);
    return r;
  }
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fds[0], buf, sizeof(buf))) > 0) r.out.append(buf, n);
  ::close(fds[0]);
  int status = 0;
  struct rusage ru {};
  ::wait4(pid, &status, 0, &ru);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.max_rss_mib = ru.ru_maxrss / 1024.0;  // KiB on Linux
  return r;
}

uint64_t size_of(const std::string& path) {
  std::error_code ec;
  if (!fs::is_directory(path, ec)) return fs::file_size(path, ec);
  uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    std::error_code ec2;
    if (fs::is_regular_file(e.path(), ec2)) n += fs::file_size(e.path(), ec2);
  }
  return n;
}

const char* task_of_kind(const std::string& kind) {
  if (kind == "a") return "arith";
  if (kind == "b") return "action";
  for (const char* t : {"gsm8k", "mbpp", "humaneval", "bfcl"})
    if (kind == t) return t;
  return nullptr;
}

int run_compare(int argc, char** argv) {
  CLI::App app{"Run the same eval and benchmark on several models and write a report: report.md (table), "
               "chart.svg (bar chart), report.json.",
               "nuri compare"};
  std::vector<std::string> models;
  std::string eval = "synth", out_dir = "nuri-compare", data;
  int n = 50, max_tokens = 256, threads = 0, bench_prompt = 128, bench_gen = 32, bench_runs = 3;
  uint64_t seed = 987654321;
  app.add_option("-m,--model", models, "a model: path or store name (give -m once per model)")->required();
  app.add_option("--eval", eval,
                 "synth (held-out synthetic arithmetic + text-to-action), gsm8k, mbpp, humaneval (code run in the sandbox) "
                 "or bfcl (tool calls); default synth");
  app.add_option("--data", data, "dataset for gsm8k/mbpp/humaneval/bfcl (default: under $NURI_EVAL_DIR or ../shared/eval)");
  app.add_option("--n", n, "problems per task (default 50)")->check(CLI::Range(1, 100000));
  app.add_option("--seed", seed, "held-out seed for synth (default 987654321)");
  app.add_option("--max-tokens", max_tokens, "max reply tokens (default 256)")->check(CLI::Range(1, 8192));
  app.add_option("-t,--threads", threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_option("--bench-prompt", bench_prompt, "bench prompt tokens (default 128)")->check(CLI::Range(1, 1 << 16));
  app.add_option("--bench-gen", bench_gen, "bench decode tokens (default 32)")->check(CLI::Range(1, 1 << 16));
  app.add_option("--bench-runs", bench_runs, "bench runs, medians reported (default 3)")->check(CLI::Range(1, 100));
  app.add_option("-o,--out", out_dir, "report directory (default ./nuri-compare)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  const bool synth = eval == "synth";
  if (!synth && eval != "gsm8k" && eval != "mbpp" && eval != "humaneval" && eval != "bfcl") {
    std::fprintf(stderr, "nuri compare: unknown eval '%s' (synth, gsm8k, mbpp, humaneval, bfcl)\n", eval.c_str());
    return 1;
  }
  if (synth && !data.empty()) {
    std::fprintf(stderr, "nuri compare: --data is for gsm8k, mbpp, humaneval and bfcl (synth generates its problems)\n");
    return 1;
  }
  nuri::cli::CompareReport report;
  report.eval = eval;
  report.n = n;
  report.seed = seed;
  report.bench_prompt = bench_prompt;
  report.bench_gen = bench_gen;
  for (const auto& m : models) {  // every name must resolve before hours of work start
    auto p = nuri::store::resolve_model(m);
    if (!p.ok()) {
      std::fprintf(stderr, "nuri compare: %s\n", p.error().c_str());
      return 1;
    }
    nuri::cli::CompareRow row;
    row.name = m;
    row.path = *p;
    row.file_bytes = size_of(*p);
    report.rows.push_back(std::move(row));
  }
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) {
    std::fprintf(stderr, "nuri compare: cannot create %s: %s\n", out_dir.c_str(), ec.message().c_str());
    return 1;
  }
  const std::string th = std::to_string(threads);
  for (size_t i = 0; i < report.rows.size(); ++i) {
    auto& row = report.rows[i];
    std::fprintf(stderr, "nuri compare: [%zu/%zu] %s: eval %s (%d per task)\n", i + 1, report.rows.size(),
                 row.name.c_str(), eval.c_str(), n);
    const std::string jsonl = out_dir + "/eval-" + std::to_string(i) + ".jsonl";
    nuri::Timer t;
    std::vector<std::string> eargs =
        synth ? std::vector<std::string>{"eval-synth", "-m", row.path, "--n", std::to_string(n), "--seed", std::to_string(seed),
                                         "--max-tokens", std::to_string(max_tokens), "-t", th, "--json", jsonl}
              : std::vector<std::string>{"eval", eval, "-m", row.path, "--n", std::to_string(n), "--max-tokens",
                                         std::to_string(max_tokens), "-t", th, "--json", jsonl};
    if (!data.empty()) {
      eargs.push_back("--data");
      eargs.push_back(data);
    }
    auto e = run_self(eargs);
    row.eval_seconds = t.seconds();
    if (e.exit_code != 0) {
      std::fprintf(stderr, "nuri compare: %s failed on %s (exit %d)\n", eargs[0].c_str(), row.name.c_str(), e.exit_code);
      return 1;
    }
    row.peak_rss_mib_eval = e.max_rss_mib;
    std::ifstream in(jsonl);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.contains("kind")) continue;
      const char* task = task_of_kind(j["kind"].get<std::string>());
      if (!task) continue;
      auto& sc = row.tasks[task];
      sc.total += 1;
      sc.correct += j.value("correct", false) ? 1 : 0;
    }
    std::fprintf(stderr, "nuri compare: [%zu/%zu] %s: bench\n", i + 1, report.rows.size(), row.name.c_str());
    auto b = run_self({"bench", "-m", row.path, "-p", std::to_string(bench_prompt), "-n", std::to_string(bench_gen),
                       "-r", std::to_string(bench_runs), "-t", th, "--no-bandwidth"});
    if (b.exit_code != 0) {
      std::fprintf(stderr, "nuri compare: bench failed on %s (exit %d)\n", row.name.c_str(), b.exit_code);
      return 1;
    }
    // bench ends with one JSON line.
    std::istringstream lines(b.out);
    nlohmann::json bj;
    while (std::getline(lines, line))
      if (!line.empty() && line[0] == '{') bj = nlohmann::json::parse(line, nullptr, false);
    if (!bj.is_object()) {
      std::fprintf(stderr, "nuri compare: bench on %s printed no JSON line\n", row.name.c_str());
      return 1;
    }
    row.prefill_tok_s = bj.value("prefill_tok_s_median", 0.0);
    row.decode_tok_s = bj.value("decode_tok_s_median", 0.0);
    row.peak_rss_mib_bench = bj.value("peak_rss_mib", 0.0);
  }
  const std::string md = nuri::cli::report_markdown(report);
  for (const auto& [file, text] : std::vector<std::pair<std::string, std::string>>{
           {"report.md", md}, {"chart.svg", nuri::cli::report_svg(report)},
           {"report.json", nuri::cli::report_json(report).dump(2) + "\n"}}) {
    if (auto st = nuri::write_file(out_dir + "/" + file, text); !st.is_ok()) {
      std::fprintf(stderr, "nuri compare: %s\n", st.message().c_str());
      return 1;
    }
  }
  std::fputs(md.c_str(), stdout);
  std::fprintf(stderr, "nuri compare: wrote %s/report.md, chart.svg, report.json\n", out_dir.c_str());
  return 0;
}

}  // namespace

NURI_COMMAND("compare", "run the same eval and bench on several models; markdown + SVG + JSON report", run_compare);
