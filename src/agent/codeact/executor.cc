// agent/codeact/executor.cc — one agent step's program in the sandbox: the step file, the tools
// module and the runner live in a fresh host temp dir granted read-only; the workspace is the
// only read-write grant; no network.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "agent/codeact/agent.h"
#include "agent/codeact/tools.h"
#include "nuri/sandbox.h"

namespace nuri::agent {

namespace fs = std::filesystem;

namespace {

Status write_text(const fs::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(text.data(), static_cast<std::streamsize>(text.size())))
    return Error("cannot write " + p.string());
  out.close();
  ::chmod(p.c_str(), 0644);
  return Status::ok();
}

// Removes the temp dir when the step ends.
struct TempDir {
  fs::path path;
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) fs::remove_all(path, ec);
  }
};

}  // namespace

Result<ExecResult> run_program(const std::string& code, const AgentOptions& options) {
  std::error_code ec;
  fs::path ws = fs::canonical(options.workspace, ec);
  if (ec || !fs::is_directory(ws)) return Error("workspace " + options.workspace + " is not a directory");
  const char* tmp_env = std::getenv("TMPDIR");
  std::string tmpl = std::string(tmp_env && *tmp_env ? tmp_env : "/tmp") + "/nuri-step-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return Error("cannot create a temp dir for the step (" + tmpl + ")");
  TempDir dir{fs::canonical(tmpl)};
  ::chmod(dir.path.c_str(), 0755);
  NURI_TRY(write_text(dir.path / "runner.py", step_runner_python()));
  NURI_TRY(write_text(dir.path / "nuri_tools.py", tools_python_module()));
  NURI_TRY(write_text(dir.path / "step.py", code));

  sandbox::SandboxPolicy policy;
  policy.wall_time_s = options.step_timeout_s;
  policy.memory_bytes = options.memory_mib << 20;
  policy.max_procs = 32;
  policy.max_file_size_bytes = 16ull << 20;
  policy.max_output_bytes = 256 << 10;
  policy.network = sandbox::Network::kNone;
  policy.ro_paths = {dir.path.string()};
  policy.rw_paths = {ws.string()};
  policy.env = {"PYTHONDONTWRITEBYTECODE=1", "PYTHONHASHSEED=0"};
  policy.allow_weaker = options.allow_weaker;
  auto out = sandbox::run_sandboxed(
      {options.python, "-B", (dir.path / "runner.py").string(), ws.string(), (dir.path / "step.py").string()}, policy,
      "");
  if (!out.ok()) return Error("sandbox: " + out.error());
  ExecResult r;
  r.exit_status = out->shell_status();
  r.timed_out = out->timed_out;
  r.memory_exceeded = out->memory_exceeded;
  r.signal = out->signal;
  r.stdout_data = std::move(out->stdout_data);
  r.stderr_data = std::move(out->stderr_data);
  r.wall_ms = out->wall_ms;
  // A MemoryError raised under the address-space limit (no memory cgroup) is the same verdict.
  if (!r.memory_exceeded && r.exit_status != 0 && r.stderr_data.find("MemoryError") != std::string::npos)
    r.memory_exceeded = true;
  if (r.timed_out) r.verdict = "timeout";
  else if (r.memory_exceeded) r.verdict = "memory";
  else if (r.signal != 0) r.verdict = "killed";
  else if (r.exit_status != 0) r.verdict = "error";
  else r.verdict = "ok";
  return r;
}

}  // namespace nuri::agent
