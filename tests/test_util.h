// tests/test_util.h — helpers shared by nuri's tests: where ../shared is, running the nuri binary.
#pragma once

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace nuri::test {

inline bool path_exists(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0;
}

// ../shared from the repository root. Tests that need it skip with a clear message when it is
// absent (a checkout without the data); in CI it is always there.
inline std::string shared_dir() { return NURI_SHARED_DIR; }
inline bool have_shared() { return path_exists(shared_dir() + "/models"); }
#define NURI_REQUIRE_SHARED()                                                                \
  do {                                                                                       \
    if (!::nuri::test::have_shared()) GTEST_SKIP() << "../shared not found at " NURI_SHARED_DIR; \
  } while (0)

inline std::string nuri_binary() { return NURI_BINARY; }

struct CmdResult {
  int exit_code = -1;
  std::string out;  // stdout
};

// Runs a shell command line, captures stdout; stderr goes where the caller's 2> says.
inline CmdResult run_cmd(const std::string& cmdline) {
  CmdResult r;
  FILE* p = ::popen(cmdline.c_str(), "r");
  if (!p) return r;
  std::array<char, 65536> buf{};
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

// Single-quote a string for /bin/sh.
inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) {
    if (c == '\'') q += "'\\''";
    else q += c;
  }
  return q + "'";
}

}  // namespace nuri::test
