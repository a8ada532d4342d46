// tests/sandbox/sandbox_test_util.h — run `nuri sandbox` (or any program) with stdin, capture
// stdout/stderr/exit status and the --report JSON; helpers for host-side checks.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace nuri::sandbox_test {

struct SbRun {
  int status = -1;  // exit status as a shell sees it (128+N for a signal)
  std::string out, err;
  nlohmann::json report;  // null when no report was written
  double seconds = 0;
};

inline std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline void write_file(const std::string& path, const std::string& data, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << data;
  ::chmod(path.c_str(), mode);
}

inline std::string make_temp_dir(const std::string& tag) {
  std::string t = "/tmp/nuri-sbtest-" + tag + "-XXXXXX";
  std::vector<char> buf(t.begin(), t.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) return "";
  return buf.data();
}

inline void remove_tree(const std::string& path) {
  std::string cmd = "rm -rf " + nuri::test::shell_quote(path);
  (void)std::system(cmd.c_str());
}

// Runs argv with stdin `in` and extra environment entries; files under a private temp dir.
inline SbRun run_argv(const std::vector<std::string>& argv, const std::string& in = "",
                    const std::vector<std::string>& extra_env = {}) {
  SbRun r;
  std::string dir = make_temp_dir("run");
  std::string fin = dir + "/in", fout = dir + "/out", ferr = dir + "/err";
  write_file(fin, in);
  std::vector<char*> av;
  for (const auto& a : argv) av.push_back(const_cast<char*>(a.c_str()));
  av.push_back(nullptr);
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.push_back(*e);
  for (const auto& e : extra_env) envs.push_back(e);
  std::vector<char*> ev;
  for (auto& e : envs) ev.push_back(const_cast<char*>(e.c_str()));
  ev.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, fin.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, fout.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, ferr.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = -1;
  if (posix_spawn(&pid, av[0], &fa, nullptr, av.data(), ev.data()) == 0) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  posix_spawn_file_actions_destroy(&fa);
  r.out = read_file(fout);
  r.err = read_file(ferr);
  remove_tree(dir);
  return r;
}

// nuri sandbox [flags] --report FILE -- program...
inline SbRun sandbox(const std::vector<std::string>& flags, const std::vector<std::string>& program,
                   const std::string& in = "", const std::vector<std::string>& extra_env = {}) {
  std::string dir = make_temp_dir("report");
  std::string report = dir + "/report.json";
  std::vector<std::string> argv = {nuri::test::nuri_binary(), "sandbox", "--report", report};
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back("--");
  argv.insert(argv.end(), program.begin(), program.end());
  SbRun r = run_argv(argv, in, extra_env);
  std::string text = read_file(report);
  if (!text.empty()) r.report = nlohmann::json::parse(text, nullptr, false);
  remove_tree(dir);
  return r;
}

inline std::vector<std::string> py(const std::string& code) { return {"/usr/bin/python3", "-c", code}; }
inline std::vector<std::string> sh(const std::string& code) { return {"/bin/sh", "-c", code}; }

inline bool pid_alive(pid_t pid) {
  std::string st = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (st.empty()) return false;
  size_t p = st.rfind(')');
  return p != std::string::npos && p + 2 < st.size() && st[p + 2] != 'Z';
}

// Host processes whose command line contains `token` (a unique marker an attempt puts in argv).
inline std::vector<pid_t> processes_with(const std::string& token) {
  std::vector<pid_t> found;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return found;
  while (dirent* e = ::readdir(d)) {
    pid_t pid = std::atoi(e->d_name);
    if (pid <= 0 || pid == ::getpid()) continue;
    std::string cmd = read_file("/proc/" + std::to_string(pid) + "/cmdline");
    for (char& c : cmd)
      if (c == '\0') c = ' ';
    // nuri itself carries the token in its own argv while it runs; count only the rest.
    if (cmd.find(token) != std::string::npos && cmd.find(" sandbox ") == std::string::npos) found.push_back(pid);
  }
  ::closedir(d);
  return found;
}

}  // namespace nuri::sandbox_test
