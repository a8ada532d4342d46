// nuri sandbox — run a program under the kernel-enforced sandbox (include/nuri/sandbox.h).
// Exit status: the program's own; 124 wall-clock limit; 128+N killed by signal N; 125 an error
// of nuri's own (bad option, a layer that cannot be set up); 126 cannot execute; 127 not found.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "command.h"
#include "nuri/sandbox.h"

namespace {

constexpr int kErrorExit = 125;

const char kUsage[] =
    "usage: nuri sandbox [--time-limit SEC] [--cpu-limit SEC] [--memory-limit MiB] [--max-procs N]\n"
    "                    [--max-file-size MiB] [--max-open-files N] [--max-output KiB]\n"
    "                    [--net none|loopback] [--ro PATH]... [--rw PATH]... [--env NAME[=VALUE]]...\n"
    "                    [--report FILE|-] [--allow-weaker] -- PROGRAM [ARGS...]\n"
    "       nuri sandbox --probe     (what this kernel can enforce)\n"
    "defaults: 10 s wall, no cpu limit, 512 MiB memory, 64 processes, 64 MiB file size,\n"
    "          256 open files, 1024 KiB output per stream, network none\n"
    "exit: program's own; 124 wall-clock limit; 128+N signal N; 125 nuri error; 126 cannot execute;\n"
    "      127 not found\n";

int usage_error(const std::string& msg) {
  std::fprintf(stderr, "nuri sandbox: %s (see nuri sandbox --help)\n", msg.c_str());
  return kErrorExit;
}

// A finite, non-negative decimal number; the whole string must parse.
bool parse_number(const std::string& s, double* out) {
  if (s.empty() || s[0] == '-' || s[0] == '+' || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  errno = 0;
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end == s.c_str() || *end != '\0' || !std::isfinite(v) || v < 0) return false;
  if (s.find_first_of("xXpPnN") != std::string::npos) return false;  // hex floats, nan, inf
  *out = v;
  return true;
}

bool write_all(int fd, const std::string& data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return true;
}

int cmd_probe() {
  auto k = nuri::sandbox::probe_kernel();
  std::printf("user namespaces: %s\n", k.user_namespaces ? "yes" : "no");
  std::printf("landlock abi:    %d\n", k.landlock_abi);
  std::printf("seccomp filter:  %s\n", k.seccomp ? "yes" : "no");
  std::printf("cgroup:          %s\n", k.cgroup.empty() ? "none writable" : k.cgroup.c_str());
  return 0;
}

int cmd_sandbox(int argc, char** argv) {
  nuri::sandbox::SandboxPolicy policy;
  std::string report_path;
  std::vector<std::string> program;
  int i = 1;
  for (; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--") {
      ++i;
      break;
    }
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--probe") return cmd_probe();
    if (arg == "--allow-weaker") {
      policy.allow_weaker = true;
      continue;
    }
    if (arg.empty() || arg[0] != '-') break;  // the program, without a "--"
    std::string name = arg, value;
    bool has_value = false;
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    static const char* const kValued[] = {"--time-limit", "--cpu-limit", "--memory-limit", "--max-procs",
                                          "--max-file-size", "--max-open-files", "--max-output", "--net",
                                          "--ro", "--rw", "--env", "--report"};
    bool known = false;
    for (const char* k : kValued) known |= name == k;
    if (!known) return usage_error("unknown option '" + arg + "'");
    if (!has_value) {
      if (i + 1 >= argc) return usage_error("option " + name + " needs a value");
      value = argv[++i];
    }
    double num = 0;
    auto need_number = [&](bool integer, double min_exclusive_zero) -> bool {
      if (!parse_number(value, &num)) return false;
      if (integer && num != std::floor(num)) return false;
      if (min_exclusive_zero > 0 && num <= 0) return false;
      return true;
    };
    if (name == "--time-limit") {
      if (!need_number(false, 1) || num > 7 * 24 * 3600) return usage_error("--time-limit: expected seconds > 0, got '" + value + "'");
      policy.wall_time_s = num;
    } else if (name == "--cpu-limit") {
      if (!need_number(false, 1) || num > 7 * 24 * 3600) return usage_error("--cpu-limit: expected seconds > 0, got '" + value + "'");
      policy.cpu_time_s = num;
    } else if (name == "--memory-limit") {
      if (!need_number(false, 1) || num < 1 || num > (1 << 24)) return usage_error("--memory-limit: expected MiB >= 1, got '" + value + "'");
      policy.memory_bytes = static_cast<uint64_t>(num * 1048576.0);
    } else if (name == "--max-procs") {
      if (!need_number(true, 1) || num > 1 << 20) return usage_error("--max-procs: expected a whole number >= 1, got '" + value + "'");
      policy.max_procs = static_cast<uint32_t>(num);
    } else if (name == "--max-file-size") {
      if (!need_number(false, 0) || num > (1 << 24)) return usage_error("--max-file-size: expected MiB >= 0, got '" + value + "'");
      policy.max_file_size_bytes = static_cast<uint64_t>(num * 1048576.0);
    } else if (name == "--max-open-files") {
      if (!need_number(true, 1) || num < 3 || num > 1 << 20) return usage_error("--max-open-files: expected a whole number >= 3, got '" + value + "'");
      policy.max_open_files = static_cast<uint32_t>(num);
    } else if (name == "--max-output") {
      if (!need_number(false, 1) || num > (1 << 22)) return usage_error("--max-output: expected KiB > 0, got '" + value + "'");
      policy.max_output_bytes = static_cast<uint64_t>(std::max(1.0, num * 1024.0));
    } else if (name == "--net") {
      if (value == "none") policy.network = nuri::sandbox::Network::kNone;
      else if (value == "loopback") policy.network = nuri::sandbox::Network::kLoopback;
      else return usage_error("--net: expected none or loopback, got '" + value + "'");
    } else if (name == "--ro") {
      policy.ro_paths.push_back(value);
    } else if (name == "--rw") {
      policy.rw_paths.push_back(value);
    } else if (name == "--env") {
      policy.env.push_back(value);
    } else if (name == "--report") {
      if (value.empty()) return usage_error("--report: expected a file or -");
      report_path = value;
    }
  }
  for (; i < argc; ++i) program.push_back(argv[i]);
  if (program.empty() || program[0].empty()) return usage_error("no program given");
  if (auto st = nuri::sandbox::validate_policy(policy); !st.is_ok()) return usage_error(st.message());

  for (const std::string& path : policy.rw_paths) {
    // Unix permissions still apply inside: the program's host uid/gid is 65534.
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0) {
      bool writable = (st.st_mode & S_IWOTH) || (st.st_uid == 65534 && (st.st_mode & S_IWUSR)) ||
                      (st.st_gid == 65534 && (st.st_mode & S_IWGRP));
      if (!writable)
        std::fprintf(stderr, "nuri sandbox: warning: --rw %s is not writable by the sandbox's user (host uid 65534)\n",
                     path.c_str());
    }
  }
  auto result = nuri::sandbox::run_sandboxed_fd(program, policy, STDIN_FILENO);
  if (!result.ok()) {
    std::fprintf(stderr, "nuri sandbox: %s\n", result.error().c_str());
    return kErrorExit;
  }
  const nuri::sandbox::SandboxOutcome& o = *result;
  ::signal(SIGPIPE, SIG_IGN);
  write_all(STDOUT_FILENO, o.stdout_data);
  write_all(STDERR_FILENO, o.stderr_data);
  for (const std::string& layer : o.not_enforced) {
    if (layer != "cgroup")
      std::fprintf(stderr, "nuri sandbox: warning: %s not enforced (--allow-weaker)\n", layer.c_str());
  }
  if (!report_path.empty()) {
    std::string json = nuri::sandbox::report_json(o) + "\n";
    if (report_path == "-") {
      write_all(STDERR_FILENO, json);
    } else {
      std::ofstream f(report_path, std::ios::binary | std::ios::trunc);
      f << json;
      if (!f) {
        std::fprintf(stderr, "nuri sandbox: cannot write the report to %s\n", report_path.c_str());
        return kErrorExit;
      }
    }
  }
  return o.shell_status();
}

}  // namespace

NURI_COMMAND("sandbox", "run a program in the kernel-enforced sandbox (namespaces, Landlock, seccomp, limits)",
             cmd_sandbox);
