// nuri agent — the code-acting agent: the model writes Python, nuri runs it in the sandbox with
// the workspace as the only writable path, feeds the result back, and repeats until a final
// answer (src/agent/codeact/agent.h). `--tasks FILE.jsonl` runs a task file (e.g. `nuri synth
// --kind d`) with a host-side checker per task; `--scripted`/`--replay` drive the loop with
// fixed replies instead of a model.
// Exit status: 0 answered (tasks mode: ran), 2 stopped without an answer, 1 error.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "agent/codeact/agent.h"
#include "agent/codeact/engine_model.h"
#include "base/log.h"
#include "base/mmap.h"
#include "cli_common.h"
#include "command.h"
#include "eval/synth/synth_agent.h"

namespace {

namespace fs = std::filesystem;
namespace ag = nuri::agent;
namespace sy = nuri::eval::synth;
using nlohmann::ordered_json;

constexpr uid_t kSandboxUid = 65534;  // the host uid sandboxed programs run as

int fail(const std::string& msg) {
  std::fprintf(stderr, "nuri agent: %s\n", msg.c_str());
  return 1;
}

// A directory nuri creates for the agent: owned by the sandbox uid (or world-writable where nuri
// may not chown) so the sandboxed program can write there.
bool make_agent_dir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return false;
  if (::chown(p.c_str(), kSandboxUid, kSandboxUid) != 0) ::chmod(p.c_str(), 0777);
  return true;
}

nuri::Result<std::string> make_temp_dir(const std::string& parent) {
  std::string tmpl = parent + "/nuri-agent-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) return nuri::Error("cannot create a workspace under " + parent);
  if (::chown(tmpl.c_str(), kSandboxUid, kSandboxUid) != 0) ::chmod(tmpl.c_str(), 0777);
  return tmpl;
}

void warn_if_not_writable(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return;
  bool ok = (st.st_uid == kSandboxUid && (st.st_mode & S_IWUSR)) || (st.st_mode & S_IWOTH) ||
            (st.st_gid == kSandboxUid && (st.st_mode & S_IWGRP));
  if (!ok)
    std::fprintf(stderr,
                 "nuri agent: warning: programs run as host uid %u and cannot write to %s (chmod o+w or chown it)\n",
                 kSandboxUid, dir.c_str());
}

nuri::Status write_task_files(const sy::AgentTask& t, const std::string& ws) {
  for (const auto& [rel, content] : t.files) {
    fs::path p = fs::path(ws) / rel;
    for (fs::path d = p.parent_path(); d != fs::path(ws) && !fs::exists(d); d = d.parent_path()) make_agent_dir(d);
    std::ofstream out(p, std::ios::binary);
    if (!out || !out.write(content.data(), static_cast<std::streamsize>(content.size())))
      return nuri::Error("cannot write task file " + p.string());
  }
  return nuri::Status::ok();
}

ordered_json transcript_json(const ag::AgentResult& r) {
  ordered_json a = ordered_json::array();
  for (const auto& m : r.transcript) a.push_back({{"role", m.role}, {"content", m.content}});
  return a;
}

std::string dump(const ordered_json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// The last line of the last successful program's stdout (replay verification).
std::string last_stdout_line(const ag::AgentResult& r) {
  for (auto it = r.records.rbegin(); it != r.records.rend(); ++it)
    if (it->executed && it->exec.exit_status == 0) {
      std::string s = it->exec.stdout_data;
      while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
      size_t nl = s.rfind('\n');
      return nl == std::string::npos ? s : s.substr(nl + 1);
    }
  return "";
}

struct Cli {
  std::string model_path, workspace, transcript_path, tasks_path, scripted_path;
  int max_steps = 8, threads = 0, n_ctx = 0, limit = 0;
  double timeout_s = 10, time_budget_s = 0;
  int64_t token_budget = 0;
  uint64_t memory_mib = 256, seed = 0;
  int32_t reply_tokens = 320;
  float temperature = nuri::sampling::kCliDefaultTemperature;
  bool json = false, replay = false, keep = false, verbose = false, allow_weaker = false;
  std::string task;
};

int run_tasks(Cli& c, ag::AgentModel* model, ag::AgentOptions opts) {
  std::ifstream in(c.tasks_path);
  if (!in) return fail("cannot open task file " + c.tasks_path);
  std::vector<sy::AgentTask> tasks;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded()) return fail(c.tasks_path + ":" + std::to_string(n) + ": not JSON");
    auto t = sy::agent_task_from_json(j);
    if (!t.ok()) return fail(c.tasks_path + ":" + std::to_string(n) + ": " + t.error());
    if (t->id.empty()) t->id = "task-" + std::to_string(n);
    if (c.replay && t->replies.empty()) return fail(c.tasks_path + ":" + std::to_string(n) + ": --replay needs \"replies\"");
    tasks.push_back(std::move(t).value());
    if (c.limit > 0 && static_cast<int>(tasks.size()) >= c.limit) break;
  }
  std::ofstream tr;
  if (!c.transcript_path.empty()) {
    tr.open(c.transcript_path);
    if (!tr) return fail("cannot write " + c.transcript_path);
  }
  const std::string parent = c.workspace.empty() ? (std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") : c.workspace;
  if (!c.workspace.empty() && !make_agent_dir(parent)) return fail("cannot create " + parent);
  int solved = 0, solved_fix = 0;
  std::map<std::string, std::pair<int, int>> fam;  // family -> solved, total
  for (size_t i = 0; i < tasks.size(); ++i) {
    const auto& t = tasks[i];
    auto ws = make_temp_dir(parent);
    if (!ws.ok()) return fail(ws.error());
    if (auto st = write_task_files(t, *ws); !st.is_ok()) return fail(st.message());
    std::unique_ptr<ag::ScriptedModel> script;
    ag::AgentModel* m = model;
    if (c.replay) {
      script = std::make_unique<ag::ScriptedModel>(t.replies);
      m = script.get();
    }
    if (auto* em = dynamic_cast<ag::EngineModel*>(m)) em->set_seed(c.seed + i * 1000);
    opts.workspace = *ws;
    auto r = ag::run_agent(*m, t.user, opts);
    if (!r.ok()) return fail(t.id + ": " + r.error());
    sy::TaskCheck chk = sy::check_agent_task(t, r->answered, r->answer, *ws);
    if (c.replay && chk.ok) {  // the reference trajectory must also be what Python computed
      if (t.needs_fix && r->failed_programs == 0) chk = {false, "needs_fix but no program failed"};
      else if (!t.expect_answer.empty() && !sy::answers_match(last_stdout_line(*r), t.expect_answer))
        chk = {false, "program printed '" + last_stdout_line(*r) + "', expected '" + t.expect_answer + "'"};
    }
    const bool fixed = chk.ok && r->failed_programs > 0;
    solved += chk.ok;
    solved_fix += fixed;
    auto& f = fam[t.family.empty() ? "-" : t.family];
    f.first += chk.ok;
    f.second += 1;
    if (tr.is_open())
      for (size_t k = 0; k < r->transcript.size(); ++k)
        tr << dump({{"task", t.id}, {"index", k}, {"role", r->transcript[k].role}, {"content", r->transcript[k].content}})
           << "\n";
    ordered_json row = {{"id", t.id},           {"task", t.family},          {"success", chk.ok},
                        {"answer", r->answer},  {"answered", r->answered},   {"steps", r->steps},
                        {"needs_fix", t.needs_fix}, {"fixed_error", fixed}, {"failed_programs", r->failed_programs},
                        {"stop", r->stop_reason}, {"why", chk.why}};
    if (c.json) std::printf("%s\n", dump(row).c_str());
    else std::printf("%s %s: %s (%d steps)%s\n", t.id.c_str(), t.family.c_str(), chk.ok ? "solved" : "FAILED",
                     r->steps, chk.ok ? "" : (" - " + chk.why).c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "[agent] task %zu/%zu %s: %s, %d steps, stop %s%s\n", i + 1, tasks.size(), t.id.c_str(),
                 chk.ok ? "solved" : "failed", r->steps, r->stop_reason.c_str(),
                 r->error.empty() ? "" : (" (" + r->error + ")").c_str());
    if (!c.keep) {
      std::error_code ec;
      fs::remove_all(*ws, ec);
    }
  }
  for (const auto& [name, sc] : fam)
    std::printf("family %s: %d/%d solved\n", name.c_str(), sc.first, sc.second);
  std::printf("agent tasks: %d/%zu solved (%d of them after fixing a failed program)\n", solved, tasks.size(),
              solved_fix);
  return 0;
}

int run_agent_cmd(int argc, char** argv) {
  CLI::App app{"Solve a task by writing Python that runs in nuri's sandbox, reading the result, and repeating "
               "until a final answer (exit 0: answered, 2: no answer, 1: error).",
               "nuri agent"};
  Cli c;
  app.add_option("task", c.task, "the task in plain words");
  app.add_option("-m,--model", c.model_path, "GGUF file or Hugging Face directory (default: built-in nuri-tiny)");
  app.add_option("--workspace", c.workspace,
                 "workspace directory, the only writable path (default: a new dir under $TMPDIR or /tmp); with "
                 "--tasks: where per-task workspaces are created");
  app.add_option("--max-steps", c.max_steps, "most model replies (default 8)")->check(CLI::Range(1, 1000));
  app.add_option("--timeout", c.timeout_s, "wall-clock limit per program in seconds (default 10)")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--memory", c.memory_mib, "memory limit per program in MiB (default 256)")->check(CLI::Range(16, 1 << 20));
  app.add_option("--token-budget", c.token_budget, "stop after this many prompt+reply tokens (default: none)");
  app.add_option("--time-budget", c.time_budget_s, "stop after this many seconds (default: none)");
  app.add_option("--reply-tokens", c.reply_tokens, "most tokens per reply (default 320)")->check(CLI::Range(16, 1 << 20));
  app.add_flag("--json", c.json, "print {\"answer\",\"steps\",\"success\",\"transcript\"} (tasks: one line per task)");
  app.add_option("--transcript", c.transcript_path, "write every message and observation as JSON lines");
  app.add_option("--tasks", c.tasks_path, "run a task file (JSON lines, e.g. from nuri synth --kind d) and check each");
  app.add_option("--limit", c.limit, "with --tasks: only the first N tasks");
  app.add_option("--scripted", c.scripted_path, "replay replies from a JSON lines file instead of a model");
  app.add_flag("--replay", c.replay, "with --tasks: replay each task's reference \"replies\" (verifies the task file)");
  app.add_flag("--keep", c.keep, "with --tasks: keep the per-task workspaces");
  app.add_option("--seed", c.seed, "sampling seed (runs are reproducible)");
  app.add_option("--temp", c.temperature, "temperature; 0 = greedy (default 0)")->check(CLI::Range(0.0, 100.0));
  app.add_option("-c,--ctx", c.n_ctx, "context length (default: the model's, at most 4096)");
  app.add_option("-t,--threads", c.threads, "threads (default: physical cores)");
  app.add_flag("--allow-weaker", c.allow_weaker, "run even if a sandbox layer cannot be set up (says which)");
  app.add_flag("-v,--verbose", c.verbose, "with --tasks: print every step on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (c.tasks_path.empty() && c.task.empty()) return fail("give a TASK or --tasks FILE (see nuri agent --help)");
  if (!c.tasks_path.empty() && !c.task.empty()) return fail("give either a TASK or --tasks FILE, not both");
  if (c.replay && c.tasks_path.empty()) return fail("--replay needs --tasks");
  nuri::log::set_level(nuri::log::Level::kWarn);

  std::unique_ptr<ag::AgentModel> model;
  if (!c.scripted_path.empty()) {
    auto s = ag::ScriptedModel::from_file(c.scripted_path);
    if (!s.ok()) return fail(s.error());
    model = std::move(s).value();
  } else if (!c.replay) {
    auto lm = nuri::cli::load_model_or_default("agent", c.model_path);
    if (!lm) return 1;
    auto info = nuri::cli::chat_info(*lm);
    auto tmpl = nuri::chat::template_for_model(info);
    if (!tmpl.ok()) return fail(tmpl.error());
    ag::EngineModelOptions eo;
    eo.sampling.temperature = c.temperature;
    eo.sampling.seed = c.seed;
    eo.n_ctx = c.n_ctx;
    eo.n_threads = c.threads;
    auto em = ag::EngineModel::create(lm->model, lm->tokenizer, std::move(tmpl).value(), info, lm->name, eo);
    if (!em.ok()) return fail(em.error());
    model = std::move(em).value();
  }

  ag::AgentOptions opts;
  opts.max_steps = c.max_steps;
  opts.step_timeout_s = c.timeout_s;
  opts.memory_mib = c.memory_mib;
  opts.max_total_tokens = c.token_budget;
  opts.max_wall_s = c.time_budget_s;
  opts.max_reply_tokens = c.reply_tokens;
  opts.allow_weaker = c.allow_weaker;
  const bool step_progress = c.tasks_path.empty() || c.verbose;
  if (step_progress)
    opts.on_step = [](int step, const std::string& what, const std::string& summary) {
      std::fprintf(stderr, "[agent] step %d: %s -> %s\n", step, what.c_str(), summary.c_str());
    };
  if (!c.tasks_path.empty()) return run_tasks(c, model.get(), opts);

  if (c.workspace.empty()) {
    auto ws = make_temp_dir(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp");
    if (!ws.ok()) return fail(ws.error());
    c.workspace = *ws;
  } else {
    std::error_code ec;
    if (!fs::exists(c.workspace, ec) && !make_agent_dir(c.workspace)) return fail("cannot create " + c.workspace);
    if (!fs::is_directory(c.workspace, ec)) return fail("workspace " + c.workspace + " is not a directory");
    warn_if_not_writable(c.workspace);
  }
  c.workspace = fs::canonical(c.workspace).string();
  std::fprintf(stderr, "[agent] model %s, workspace %s\n", model->name().c_str(), c.workspace.c_str());
  opts.workspace = c.workspace;
  auto r = ag::run_agent(*model, c.task, opts);
  if (!r.ok()) return fail(r.error());
  if (!c.transcript_path.empty()) {
    auto st = nuri::write_file(c.transcript_path, ag::transcript_jsonl(*r));
    if (!st.is_ok()) return fail(st.message());
  }
  if (c.json) {
    ordered_json j = {{"answer", r->answer},          {"steps", r->steps},         {"success", r->answered},
                      {"stop", r->stop_reason},       {"workspace", c.workspace}, {"failed_programs", r->failed_programs},
                      {"transcript", transcript_json(*r)}};
    if (!r->error.empty()) j["error"] = r->error;
    std::printf("%s\n", dump(j).c_str());
  } else if (r->answered) {
    std::printf("%s\n", r->answer.c_str());
  }
  if (!r->answered)
    std::fprintf(stderr, "nuri agent: no final answer (stopped: %s%s)\n", r->stop_reason.c_str(),
                 r->error.empty() ? "" : (", " + r->error).c_str());
  return r->answered ? 0 : 2;
}

}  // namespace

NURI_COMMAND("agent", "solve a task by writing Python and running it in the sandbox, step by step", run_agent_cmd);
