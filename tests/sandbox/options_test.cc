// tests/sandbox/options_test.cc — bad options give one line and exit 125; exec failures give
// 126/127; a missing layer is refused unless --allow-weaker (and then reported); the library's
// policy validation. SbRun under the asan preset too (the nuri binary is then ASan/UBSan-built).
#include <atomic>
#include <thread>

#include "nuri/sandbox.h"
#include "sandbox_test_util.h"

namespace nuri::sandbox_test {
namespace {

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST(SandboxOptions, BadOptionsGiveOneLineAndExit125) {
  const std::string nuri = nuri::test::nuri_binary();
  const std::vector<std::vector<std::string>> cases = {
      {"--time-limit", "-1", "--", "/bin/true"},
      {"--time-limit", "abc", "--", "/bin/true"},
      {"--time-limit", "0", "--", "/bin/true"},
      {"--time-limit", "nan", "--", "/bin/true"},
      {"--time-limit", "1e999", "--", "/bin/true"},
      {"--cpu-limit", "-3", "--", "/bin/true"},
      {"--memory-limit", "-5", "--", "/bin/true"},
      {"--memory-limit", "12MiB", "--", "/bin/true"},
      {"--memory-limit", "", "--", "/bin/true"},
      {"--max-procs", "-1", "--", "/bin/true"},
      {"--max-procs", "1.5", "--", "/bin/true"},
      {"--max-procs", "0x10", "--", "/bin/true"},
      {"--max-file-size", "-1", "--", "/bin/true"},
      {"--max-output", "ten", "--", "/bin/true"},
      {"--max-open-files", "2", "--", "/bin/true"},
      {"--net", "host", "--", "/bin/true"},
      {"--ro", "/nonexistent/nuri/path", "--", "/bin/true"},
      {"--rw", "/nonexistent/nuri/path", "--", "/bin/true"},
      {"--ro", "/", "--", "/bin/true"},
      {"--env", "=x", "--", "/bin/true"},
      {"--bogus-flag", "--", "/bin/true"},
      {"-x", "--", "/bin/true"},
      {"--time-limit"},
      {"--"},
      {},
      {"--report"},
  };
  for (const auto& c : cases) {
    std::vector<std::string> argv = {nuri, "sandbox"};
    argv.insert(argv.end(), c.begin(), c.end());
    std::string shown;
    for (const auto& a : c) shown += "'" + a + "' ";
    SCOPED_TRACE(shown);
    SbRun r = run_argv(argv);
    EXPECT_EQ(r.status, 125) << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_NE(r.err.find("nuri sandbox:"), std::string::npos) << r.err;
    EXPECT_TRUE(r.out.empty());
  }
}

TEST(SandboxOptions, ExecFailuresAre126And127) {
  SbRun nf = sandbox({}, {"no-such-program-nuri"});
  EXPECT_EQ(nf.status, 127) << nf.err;
  SbRun nf2 = sandbox({}, {"/usr/bin/no-such-program-nuri"});
  EXPECT_EQ(nf2.status, 127) << nf2.err;
  // The project checkout is not visible inside, even though the file exists on the host.
  SbRun hidden = sandbox({}, {std::string(NURI_SOURCE_DIR) + "/CMakeLists.txt"});
  EXPECT_EQ(hidden.status, 127) << hidden.err;
  SbRun ne = sandbox({}, {"/etc/passwd"});  // exists, not executable
  EXPECT_EQ(ne.status, 126) << ne.err;
  SbRun dir = sandbox({}, {"/usr"});
  EXPECT_EQ(dir.status, 126) << dir.err;
  ASSERT_TRUE(ne.report.is_object());
  EXPECT_EQ(ne.report["exit_code"].get<int>(), 126);
}

TEST(SandboxOptions, ExitStatusesOfTheProgram) {
  EXPECT_EQ(sandbox({}, sh("exit 42")).status, 42);
  SbRun sig = sandbox({}, sh("kill -TERM $$"));
  EXPECT_EQ(sig.status, 128 + 15);
  EXPECT_EQ(sig.report["signal"].get<int>(), 15);
  SbRun to = sandbox({"--time-limit", "0.5"}, sh("sleep 5"));
  EXPECT_EQ(to.status, 124);
  EXPECT_TRUE(to.report["timed_out"].get<bool>());
  // --report - puts the JSON on stderr after the program's own output.
  SbRun dash = run_argv({nuri::test::nuri_binary(), "sandbox", "--report", "-", "--", "/bin/sh", "-c", "echo out; echo err >&2"});
  EXPECT_EQ(dash.out, "out\n");
  ASSERT_EQ(dash.err.rfind("err\n{", 0), 0u) << dash.err;
  auto j = nlohmann::json::parse(dash.err.substr(4), nullptr, false);
  EXPECT_TRUE(j.is_object());
}

TEST(SandboxOptions, MissingLayerIsRefusedUnlessAllowWeaker) {
  for (const std::string layer : {"landlock", "seccomp", "userns"}) {
    SCOPED_TRACE(layer);
    const std::vector<std::string> env = {"NURI_SANDBOX_SIMULATE_MISSING=" + layer};
    SbRun refused = sandbox({}, sh("echo ran"), "", env);
    EXPECT_EQ(refused.status, 125);
    EXPECT_EQ(count_lines(refused.err), 1) << refused.err;
    EXPECT_NE(refused.err.find(layer == "userns" ? "user-namespace" : layer), std::string::npos) << refused.err;
    EXPECT_TRUE(refused.out.empty());
    SbRun weaker = sandbox({"--allow-weaker"}, sh("echo ran"), "", env);
    EXPECT_EQ(weaker.status, 0) << weaker.err;
    EXPECT_EQ(weaker.out, "ran\n");
    ASSERT_TRUE(weaker.report.is_object());
    std::string expect = layer == "userns" ? "user namespace" : layer;
    bool listed = false;
    for (const auto& x : weaker.report["not_enforced"]) listed |= x.get<std::string>() == expect;
    EXPECT_TRUE(listed) << weaker.report.dump();
  }
}

TEST(SandboxOptions, LibraryValidatesPolicy) {
  nuri::sandbox::SandboxPolicy p;
  EXPECT_TRUE(nuri::sandbox::validate_policy(p).is_ok());
  p.wall_time_s = -1;
  EXPECT_FALSE(nuri::sandbox::validate_policy(p).is_ok());
  p = {};
  p.max_procs = 0;
  EXPECT_FALSE(nuri::sandbox::validate_policy(p).is_ok());
  p = {};
  p.ro_paths = {"relative/does/not/exist"};
  EXPECT_FALSE(nuri::sandbox::validate_policy(p).is_ok());
  p = {};
  p.rw_paths = {"/proc/self"};
  EXPECT_FALSE(nuri::sandbox::validate_policy(p).is_ok());
  // The library entry point, with stdin from a string.
  p = {};
  auto r = nuri::sandbox::run_sandboxed({"/bin/cat"}, p, "through the library\n");
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->stdout_data, "through the library\n");
  EXPECT_EQ(r->shell_status(), 0);
  EXPECT_FALSE(r->layers.namespaces.empty());
}

// If nuri itself is killed (SIGKILL, nothing to clean up), the sandbox dies with it.
TEST(SandboxOptions, KillingNuriKillsTheSandbox) {
  const std::string token = "nuri-kill-test-" + std::to_string(::getpid());
  std::vector<std::string> argv = {nuri::test::nuri_binary(), "sandbox", "--time-limit", "60", "--", "/bin/sh", "-c",
                                   "(setsid sh -c 'sleep 60; : " + token + "' &); sleep 60; : " + token};
  std::vector<char*> av;
  for (auto& a : argv) av.push_back(a.data());
  av.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::execv(av[0], av.data());
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  bool started = false;
  for (int i = 0; i < 100 && !started; ++i) {
    ::usleep(50000);
    started = processes_with(token).size() >= 2;  // the program and its daemon
  }
  ASSERT_TRUE(started);
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    ::usleep(20000);
    gone = processes_with(token).empty();
  }
  EXPECT_TRUE(gone) << "sandboxed processes outlived nuri";
}

// The agent calls the library from a multi-threaded process: runs from several threads at once
// (the child after clone must not depend on the parent's other threads).
TEST(SandboxOptions, LibraryRunsFromManyThreadsAtOnce) {
  std::atomic<int> ok{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&ok, t] {
      for (int i = 0; i < 3; ++i) {
        nuri::sandbox::SandboxPolicy p;
        std::string word = "t" + std::to_string(t) + "i" + std::to_string(i);
        auto r = nuri::sandbox::run_sandboxed({"/bin/sh", "-c", "id -u; cat"}, p, word);
        if (r.ok() && r->stdout_data == "1000\n" + word && r->shell_status() == 0) ++ok;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok.load(), 12);
}

}  // namespace
}  // namespace nuri::sandbox_test
