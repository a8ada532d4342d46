// nuri eval TASK [-m MODEL] [--n N] [--data PATH] [--max-tokens N] [--json OUT.jsonl]
// Accuracy of a model on a public benchmark (src/eval/bench): gsm8k (last number of the reply),
// mbpp / humaneval (the reply's code + the tests run in nuri's sandbox), bfcl (the reply's tool
// calls, parsed with the template family's parser, against the possible answers). Greedy replies
// through the engine, every problem batched. `nuri compare --eval TASK` runs this per model.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "base/log.h"
#include "base/mmap.h"
#include "base/timer.h"
#include "chat/chat_template.h"
#include "chat/tool_calls.h"
#include "cli_common.h"
#include "command.h"
#include "eval/bench/bench.h"
#include "nuri/engine.h"
#include "nuri/sandbox.h"

namespace {

namespace bench = nuri::eval::bench;
using ojson = nlohmann::ordered_json;

// $NURI_EVAL_DIR, else the first shared/eval folder above the working directory or the binary.
std::string find_eval_dir() {
  if (const char* e = std::getenv("NURI_EVAL_DIR"); e && *e) return e;
  std::vector<std::string> starts;
  if (char* cwd = ::getcwd(nullptr, 0)) {
    starts.push_back(cwd);
    std::free(cwd);
  }
  char buf[4096];
  const ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) starts.emplace_back(buf, static_cast<size_t>(n));
  for (std::string dir : starts) {
    for (int i = 0; i < 8 && !dir.empty(); ++i) {
      for (const char* rel : {"/shared/eval", "/../shared/eval"})
        if (nuri::is_directory(dir + rel)) return dir + rel;
      const auto k = dir.find_last_of('/');
      if (k == std::string::npos || k == 0) break;
      dir = dir.substr(0, k);
    }
  }
  return "";
}

int run_eval(int argc, char** argv) {
  CLI::App app{"Accuracy on a public benchmark: gsm8k, mbpp, humaneval (code run in the sandbox) or bfcl (tool calls).",
               "nuri eval"};
  std::string task_s, model_path, data, json_out;
  int n = 50, max_tokens = 512, parallel = 8, threads = 0;
  double timeout_s = 10;
  app.add_option("task", task_s, "gsm8k | mbpp | humaneval | bfcl")->required();
  app.add_option("-m,--model", model_path, "model (default: built-in nuri-tiny)");
  app.add_option("--n", n, "problems (default 50; 0 = all)")->check(CLI::Range(0, 1000000));
  app.add_option("--data", data,
                 "dataset file (bfcl: a BFCL version folder or one category file; default: under $NURI_EVAL_DIR or ../shared/eval)");
  app.add_option("--max-tokens", max_tokens, "max reply tokens (default 512)")->check(CLI::Range(1, 65536));
  app.add_option("--parallel", parallel, "sequences decoded together (default 8)")->check(CLI::Range(1, 256));
  app.add_option("-t,--threads", threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_option("--timeout", timeout_s, "seconds each program may run (mbpp, humaneval; default 10)")->check(CLI::Range(0.1, 600.0));
  app.add_option("--json", json_out, "write per-problem results as JSON lines to this file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  nuri::log::set_level(nuri::log::Level::kWarn);
  const auto task = bench::parse_task(task_s);
  if (!task) {
    std::fprintf(stderr, "nuri eval: unknown task '%s' (gsm8k, mbpp, humaneval, bfcl)\n", task_s.c_str());
    return 1;
  }
  if (data.empty()) {
    const std::string dir = find_eval_dir();
    if (dir.empty()) {
      std::fprintf(stderr, "nuri eval: no dataset given (--data PATH) and no shared/eval folder found (set NURI_EVAL_DIR)\n");
      return 1;
    }
    data = bench::default_data_path(*task, dir);
  }
  auto problems = bench::load(*task, data, n);
  if (!problems.ok()) {
    std::fprintf(stderr, "nuri eval: %s\n", problems.error().c_str());
    return 1;
  }
  if (problems->empty()) {
    std::fprintf(stderr, "nuri eval: %s holds no problems\n", data.c_str());
    return 1;
  }
  auto lm = nuri::cli::load_model_or_default("eval", model_path);
  if (!lm) return 1;
  const nuri::chat::ModelChatInfo info = nuri::cli::chat_info(*lm);
  auto tmpl = nuri::chat::template_for_model(info);
  if (!tmpl.ok()) {
    std::fprintf(stderr, "nuri eval: chat template: %s\n", tmpl.error().c_str());
    return 1;
  }
  const nuri::chat::ToolCallSyntax tool_syntax = nuri::chat::detect_tool_call_syntax(*tmpl);
  const nuri::chat::ToolCallSyntax reply_syntax =
      tool_syntax.kind == nuri::chat::ToolCallKind::kNone ? nuri::chat::fallback_tool_call_syntax() : tool_syntax;
  const auto& tok = lm->tokenizer;

  // Prompts, as the server renders a chat request.
  std::vector<std::vector<int32_t>> prompts;
  int32_t longest = 0;
  for (const auto& p : *problems) {
    nuri::chat::ChatInputs in;
    in.messages = p.messages.is_array() ? p.messages : ojson::array({{{"role", "user"}, {"content", p.user}}});
    if (p.tools.is_array()) {
      if (tool_syntax.kind == nuri::chat::ToolCallKind::kNone) in.messages = nuri::chat::messages_with_tools_prompt(in.messages, p.tools);
      else in.tools = p.tools;
    }
    in.bos_token = info.bos_token;
    in.eos_token = info.eos_token;
    auto text = tmpl->apply(in);
    if (!text.ok()) {
      std::fprintf(stderr, "nuri eval: %s: template: %s\n", p.id.c_str(), text.error().c_str());
      return 1;
    }
    auto ids = tok.encode(*text, true, true);
    if (ids.size() >= 2 && ids[0] == tok.bos_id() && ids[1] == tok.bos_id()) ids.erase(ids.begin());
    longest = std::max<int32_t>(longest, static_cast<int32_t>(ids.size()));
    prompts.push_back(std::move(ids));
  }
  nuri::engine::EngineParams ep;
  ep.n_parallel = parallel;
  ep.n_ctx = longest + max_tokens + 1;
  ep.n_threads = threads;
  ep.max_queue = static_cast<int32_t>(prompts.size()) + 1;
  auto engine = nuri::engine::Engine::create(lm->model, tok, ep);
  if (!engine.ok()) {
    std::fprintf(stderr, "nuri eval: %s\n", engine.error().c_str());
    return 1;
  }
  nuri::Timer timer;
  std::vector<std::shared_ptr<nuri::engine::RequestHandle>> handles;
  for (auto& ids : prompts) {
    nuri::engine::Request r;
    r.prompt = ids;
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0;
    auto s = (*engine)->submit(std::move(r));
    if (s.code != nuri::engine::SubmitCode::kOk) {
      std::fprintf(stderr, "nuri eval: %s\n", s.message.c_str());
      return 1;
    }
    handles.push_back(s.handle);
  }
  std::vector<std::string> replies(handles.size());
  size_t gen_tokens = 0;
  for (size_t i = 0; i < handles.size(); ++i) {
    nuri::engine::Event ev;
    while (true) {  // every request ends with exactly one done event (one choice)
      if (!handles[i]->next(&ev, std::chrono::milliseconds(100))) continue;
      replies[i] += ev.text;
      if (ev.kind == nuri::engine::Event::Kind::kDone) {
        gen_tokens += ev.n_generated;
        break;
      }
    }
    if ((i + 1) % 25 == 0 || i + 1 == handles.size())
      std::fprintf(stderr, "\rnuri eval: %zu/%zu replies (%.0f s)   ", i + 1, handles.size(), timer.seconds());
  }
  std::fprintf(stderr, "\n");
  const double gen_s = timer.seconds();

  nuri::sandbox::SandboxPolicy policy;
  policy.wall_time_s = timeout_s;
  policy.allow_weaker = true;
  bool warned = false;
  int correct = 0;
  std::string lines;
  for (size_t i = 0; i < problems->size(); ++i) {
    const bench::BenchProblem& p = (*problems)[i];
    const std::string& reply = replies[i];
    bool ok = false;
    ojson got;
    if (*task == bench::Task::kGsm8k) {
      ok = bench::check_gsm8k(reply, p);
      got = bench::last_number(reply).value_or("");
    } else if (*task == bench::Task::kBfcl) {
      const auto parsed = nuri::chat::parse_tool_calls(reply_syntax, reply, p.tools);
      std::vector<bench::Call> calls;
      got = ojson::array();
      for (const auto& c : parsed.tool_calls) {
        calls.push_back({c.name, nlohmann::json::parse(c.arguments.dump())});
        got.push_back({{"name", c.name}, {"arguments", c.arguments}});
      }
      ok = bench::check_bfcl(calls, p);
    } else {
      const std::string program = bench::code_program(reply, p);
      auto r = nuri::sandbox::run_sandboxed({"/usr/bin/python3", "-"}, policy, program);
      if (r.ok()) {
        if (!r->not_enforced.empty() && !warned) {
          std::fprintf(stderr, "nuri eval: sandbox layers not enforced here:");
          for (const auto& s : r->not_enforced) std::fprintf(stderr, " %s", s.c_str());
          std::fprintf(stderr, "\n");
          warned = true;
        }
        ok = r->exit_code == 0 && !r->timed_out;
        got = r->timed_out ? "timeout" : "exit " + std::to_string(r->exit_code);
      } else {
        got = "sandbox: " + r.error();
      }
    }
    correct += ok;
    if (!json_out.empty()) {
      ojson row = {{"kind", bench::task_name(*task)}, {"id", p.id}, {"correct", ok}, {"got", got}, {"reply", reply}};
      if (!p.messages.is_array()) row["user"] = p.user;
      if (*task == bench::Task::kGsm8k) row["expected"] = p.answer;
      if (*task == bench::Task::kBfcl) row["expected"] = ojson::parse(p.expected_calls.dump());
      lines += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
  }
  if (!json_out.empty())
    if (auto st = nuri::write_file(json_out, lines); !st.is_ok()) {
      std::fprintf(stderr, "nuri eval: %s\n", st.message().c_str());
      return 1;
    }
  const size_t total = problems->size();
  std::printf("model: %s   %s (%s): %d / %zu  %.1f %%   %zu tokens in %.1f s (%.0f tok/s)\n", lm->name.c_str(),
              bench::task_name(*task), data.c_str(), correct, total, 100.0 * correct / total, gen_tokens, gen_s,
              gen_tokens / std::max(gen_s, 1e-9));
  return 0;
}

}  // namespace

NURI_COMMAND("eval", "accuracy on gsm8k, mbpp, humaneval or bfcl (public benchmarks in ../shared/eval)", run_eval);
