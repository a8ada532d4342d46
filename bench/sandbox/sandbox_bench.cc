// sandbox_bench — median start-to-exit time of a program run directly and under `nuri sandbox`.
//
// usage: sandbox_bench [--runs N] [--nuri PATH]
// For /bin/true and /usr/bin/python3 -c 'print(1)': N runs each (default 100), interleaved
// (direct, sandboxed, direct, ...) so machine noise hits both alike; prints median, p10, p90
// and the median added by the sandbox. Output goes to /dev/null; exit statuses are checked.
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
  std::printf("%-24s %10s %10s %10s %10s %10s %10s %12s\n", "program", "direct", "p10", "p90", "sandboxed",
              "p10", "p90", "added (ms)");
  for (const Case& c : cases) {
    std::vector<std::string> sb = {nuri, "sandbox", "--"};
    sb.insert(sb.end(), c.argv.begin(), c.argv.end());
    run_once(c.argv);  // warm the page cache
    run_once(sb);
    std::vector<double> direct, sandboxed;
    for (int i = 0; i < runs; ++i) {
      direct.push_back(run_once(c.argv));
      sandboxed.push_back(run_once(sb));
    }
    double d = pct(direct, 0.5), s = pct(sandboxed, 0.5);
    std::printf("%-24s %10.2f %10.2f %10.2f %10.2f %10.2f %10.2f %12.2f\n", c.name, d, pct(direct, 0.1),
                pct(direct, 0.9), s, pct(sandboxed, 0.1), pct(sandboxed, 0.9), s - d);
  }
  std::printf("(milliseconds, median of %d runs each, start-to-exit)\n", runs);
  return 0;
}
