// sandbox_bench — median start-to-exit time of a program run directly and sandboxed.
//
// usage: sandbox_bench [--runs N] [--nuri PATH]
// For /bin/true and /usr/bin/python3 -c 'print(1)': N runs each (default 100) of
//   direct    posix_spawn + waitpid of the program itself;
//   library   nuri::sandbox::run_sandboxed() in this process (what the code agent calls);
//   cli       `nuri sandbox -- PROGRAM` (adds the nuri binary's own start-up and exit).
// Runs are interleaved (direct, library, cli, direct, ...) so machine noise hits all alike;
// prints median, p10, p90 and the medians added over direct. Exit statuses are checked.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "nuri/sandbox.h"

extern char** environ;

namespace {

double run_once(const std::vector<std::string>& argv) {
  std::vector<char*> av;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid;
  if (posix_spawn(&pid, av[0], &fa, nullptr, av.data(), environ) != 0) {
    std::fprintf(stderr, "sandbox_bench: cannot start %s\n", av[0]);
    std::exit(1);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  auto t1 = std::chrono::steady_clock::now();
  posix_spawn_file_actions_destroy(&fa);
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
    std::fprintf(stderr, "sandbox_bench: %s exited with status %d\n", av[0], st);
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

double run_library(const std::vector<std::string>& argv) {
  nuri::sandbox::SandboxPolicy policy;
  auto t0 = std::chrono::steady_clock::now();
  auto r = nuri::sandbox::run_sandboxed(argv, policy, "");
  auto t1 = std::chrono::steady_clock::now();
  if (!r.ok() || r->shell_status() != 0) {
    std::fprintf(stderr, "sandbox_bench: sandboxed %s failed: %s\n", argv[0].c_str(),
                 r.ok() ? r->stderr_data.c_str() : r.error().c_str());
    std::exit(1);
  }
  return std::chrono::duration<double, std::milli>(t1 - t0).count();
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  double idx = p * (v.size() - 1);
  size_t lo = static_cast<size_t>(idx);
  size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - lo);
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 100;
  std::string nuri = NURI_BINARY;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::atoi(argv[++i]);
    else if (!std::strcmp(argv[i], "--nuri") && i + 1 < argc) nuri = argv[++i];
    else {
      std::fprintf(stderr, "usage: sandbox_bench [--runs N] [--nuri PATH]\n");
      return 2;
    }
  }
  struct Case {
    const char* name;
    std::vector<std::string> argv;
  };
  const Case cases[] = {{"/bin/true", {"/bin/true"}},
                        {"python3 -c 'print(1)'", {"/usr/bin/python3", "-c", "print(1)"}}};
  std::printf("%-24s %-8s %9s %9s %9s %12s\n", "program", "how", "median", "p10", "p90", "added (ms)");
  for (const Case& c : cases) {
    std::vector<std::string> cli = {nuri, "sandbox", "--"};
    cli.insert(cli.end(), c.argv.begin(), c.argv.end());
    run_once(c.argv);  // warm the page cache
    run_library(c.argv);
    run_once(cli);
    std::vector<double> direct, library, via_cli;
    for (int i = 0; i < runs; ++i) {
      direct.push_back(run_once(c.argv));
      library.push_back(run_library(c.argv));
      via_cli.push_back(run_once(cli));
    }
    const double d = pct(direct, 0.5);
    auto row = [&](const char* how, const std::vector<double>& v) {
      std::printf("%-24s %-8s %9.2f %9.2f %9.2f %12.2f\n", c.name, how, pct(v, 0.5), pct(v, 0.1), pct(v, 0.9),
                  pct(v, 0.5) - d);
    };
    row("direct", direct);
    row("library", library);
    row("cli", via_cli);
  }
  std::printf("(milliseconds, %d runs each, start-to-exit)\n", runs);
  return 0;
}
