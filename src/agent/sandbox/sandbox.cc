// agent/sandbox/sandbox.cc — public entry points of the sandbox (include/nuri/sandbox.h).
#include "nuri/sandbox.h"

#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cctype>
#include <cstring>

#include "agent/sandbox/cgroup.h"
#include "agent/sandbox/landlock.h"
#include "agent/sandbox/seccomp_filter.h"
#include "agent/sandbox/supervisor.h"

namespace nuri::sandbox {

int SandboxOutcome::shell_status() const {
  if (timed_out) return 124;
  if (not_found) return 127;
  if (not_executable) return 126;
  if (signal > 0) return 128 + signal;
  return exit_code;
}

Status validate_policy(const SandboxPolicy& p) {
  if (!(p.wall_time_s > 0) || !std::isfinite(p.wall_time_s) || p.wall_time_s > 7 * 24 * 3600.0)
    return Error("time limit must be a positive number of seconds");
  if (!(p.cpu_time_s >= 0) || !std::isfinite(p.cpu_time_s) || p.cpu_time_s > 7 * 24 * 3600.0)
    return Error("cpu limit must be a non-negative number of seconds");
  if (p.memory_bytes < (1ull << 20)) return Error("memory limit must be at least 1 MiB");
  if (p.max_procs < 1) return Error("process limit must be at least 1");
  if (p.max_open_files < 3) return Error("open-files limit must be at least 3");
  if (p.max_output_bytes < 1) return Error("output limit must be at least 1 KiB");
  auto check_paths = [](const std::vector<std::string>& paths, const char* flag) -> Status {
    for (const std::string& path : paths) {
      if (path.empty()) return Error(std::string(flag) + ": empty path");
      char* real = ::realpath(path.c_str(), nullptr);
      if (real == nullptr) return Error(std::string(flag) + " " + path + ": " + std::strerror(errno));
      std::string r = real;
      std::free(real);
      if (r == "/") return Error(std::string(flag) + " " + path + ": granting the whole host file system is refused");
      if (r == "/proc" || r.rfind("/proc/", 0) == 0 || r == "/sys" || r.rfind("/sys/", 0) == 0 || r == "/dev" ||
          r.rfind("/dev/", 0) == 0)
        return Error(std::string(flag) + " " + path + ": /proc, /sys and /dev cannot be granted");
    }
    return Status::ok();
  };
  NURI_TRY(check_paths(p.ro_paths, "--ro"));
  NURI_TRY(check_paths(p.rw_paths, "--rw"));
  for (const std::string& e : p.env) {
    std::string name = e.substr(0, e.find('='));
    if (name.empty()) return Error("--env " + e + ": empty variable name");
    for (char c : name)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
        return Error("--env " + e + ": variable names are letters, digits and _");
  }
  return Status::ok();
}

Result<SandboxOutcome> run_sandboxed(const std::vector<std::string>& argv, const SandboxPolicy& policy,
                                     const std::string& stdin_data) {
  NURI_TRY(validate_policy(policy));
  return internal::supervise(argv, policy, -1, stdin_data);
}

Result<SandboxOutcome> run_sandboxed_fd(const std::vector<std::string>& argv, const SandboxPolicy& policy,
                                        int stdin_fd) {
  NURI_TRY(validate_policy(policy));
  return internal::supervise(argv, policy, stdin_fd, std::string());
}

KernelSupport probe_kernel() {
  KernelSupport k;
  k.landlock_abi = internal::landlock_abi();
  k.seccomp = internal::build_seccomp_filter().ok();
  k.cgroup = internal::probe_cgroup();
  // A user namespace: clone a child into one and let it exit at once.
  long pid = ::syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid == 0) ::_exit(0);
  if (pid > 0) {
    int st = 0;
    ::waitpid(static_cast<pid_t>(pid), &st, 0);
    k.user_namespaces = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  return k;
}

}  // namespace nuri::sandbox
