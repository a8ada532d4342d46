// nuri eval-synth -m FILE [--n 500] [--seed S] — accuracy on held-out synthetic problems:
// (a) arithmetic with reasoning (greedy, the last "Answer: N" must equal the truth), per
// difficulty; (b) text-to-action: the reply's python block is executed in nuri's sandbox and its
// output must equal the truth. --strategy/--samples/--adaptive/--compare/--curve run the problems
// through src/ttc on the engine instead (cmd_eval_synth_ttc.cc).
#include <CLI/CLI.hpp>
#include <condition_variable>
#include <mutex>
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "base/log.h"
#include "base/mmap.h"
#include "base/timer.h"
#include "chat/chat_template.h"
#include "cli_common.h"
#include "eval_synth_ttc.h"
#include "command.h"
#include "eval/synth/synth.h"
#include "nuri/sandbox.h"
#include "runtime/loaded_model.h"
#include "nuri/engine.h"

namespace {

namespace synth = nuri::eval::synth;

struct Job {
  const synth::SynthSample* sample = nullptr;
  std::vector<int32_t> prompt;
  std::vector<int32_t> out;
  bool done = false;
};

// Greedy generation for many prompts at once through the engine (nuri/engine.h): every prompt is
// one request, up to `parallel` of them decode together, the rest wait in the engine's queue.
nuri::Status generate_all(nuri::runtime::LoadedModel& lm, std::vector<Job>& jobs, int parallel, int max_tokens,
                          int threads) {
  int32_t longest = 0;
  for (const auto& j : jobs) longest = std::max<int32_t>(longest, static_cast<int32_t>(j.prompt.size()));
  nuri::engine::EngineParams ep;
  ep.n_parallel = parallel;
  ep.n_ctx = longest + max_tokens + 1;
  ep.n_threads = threads;
  ep.max_queue = static_cast<int32_t>(jobs.size());
  std::mutex mu;  // outlives the engine, whose thread calls on_event
  std::condition_variable cv;
  size_t finished = 0;
  std::string error;
  NURI_ASSIGN_OR_RETURN(auto engine, nuri::engine::Engine::create(lm.model, lm.tokenizer, ep));
  std::vector<std::shared_ptr<nuri::engine::RequestHandle>> handles;
  for (size_t i = 0; i < jobs.size(); ++i) {
    nuri::engine::Request r;
    r.prompt = jobs[i].prompt;
    r.max_tokens = max_tokens;
    r.sampling.temperature = 0;  // greedy
    Job* job = &jobs[i];
    r.on_event = [&, job](const nuri::engine::Event& ev) {
      if (ev.kind == nuri::engine::Event::Kind::kToken) {
        if (!lm.tokenizer.is_eog(ev.token)) job->out.push_back(ev.token);
        return;
      }
      std::lock_guard<std::mutex> lock(mu);
      if (ev.finish == nuri::engine::FinishReason::kError && error.empty()) error = ev.error;
      job->done = true;
      ++finished;
      cv.notify_all();
    };
    auto sub = engine->submit(std::move(r));
    if (sub.code != nuri::engine::SubmitCode::kOk) return nuri::Error(sub.message);
    handles.push_back(std::move(sub.handle));
  }
  nuri::Timer t;
  std::unique_lock<std::mutex> lock(mu);
  size_t shown = 0;
  while (finished < jobs.size()) {
    cv.wait_for(lock, std::chrono::milliseconds(500));
    if (finished / 50 != shown / 50 || finished == jobs.size()) {
      shown = finished;
      std::fprintf(stderr, "\rnuri eval-synth: %zu/%zu done (%.0f s)   ", finished, jobs.size(), t.seconds());
    }
  }
  std::fprintf(stderr, "\n");
  if (!error.empty()) return nuri::Error(error);
  return nuri::Status::ok();
}

int run_eval_synth(int argc, char** argv) {
  CLI::App app{"Accuracy on held-out synthetic problems: (a) arithmetic with reasoning, (b) code executed in the sandbox.",
               "nuri eval-synth"};
  std::string model_path, kind_s = "ab", json_out;
  int n = 500, parallel = 8, max_tokens = 256, threads = 0;
  uint64_t seed = 987654321;  // never used for training data (training used generator seeds 1-3)
  app.add_option("-m,--model", model_path, "model (default: built-in nuri-tiny)");
  app.add_option("--n", n, "problems of each kind (default 500)")->check(CLI::Range(1, 100000));
  app.add_option("--seed", seed, "held-out seed (default 987654321)");
  app.add_option("--kinds", kind_s, "which kinds: a, b or ab (default ab)");
  app.add_option("--parallel", parallel, "sequences decoded together (default 8)")->check(CLI::Range(1, 256));
  app.add_option("--max-tokens", max_tokens, "max reply tokens (default 256)")->check(CLI::Range(1, 8192));
  app.add_option("-t,--threads", threads, "threads (default: physical cores)");
  app.add_option("--json", json_out, "write per-problem results as JSON lines to this file");
  // Test-time compute (src/ttc): any of these runs the problems through the engine.
  nuri::cli::EvalTtcOptions ttc;
  ttc.sampling.temperature = nuri::sampling::kStrategyDefaultTemperature;
  bool ttc_given = false;
  auto mark = [&](CLI::Option* o) { o->each([&](const std::string&) { ttc_given = true; }); };
  mark(app.add_option("--strategy", ttc.strategy, "greedy | self-consistency | best-of-n | beam (default greedy)"));
  mark(app.add_option("--samples", ttc.samples, "samples per problem (default 16)")->check(CLI::Range(1, 1024)));
  mark(app.add_flag("--adaptive", ttc.adaptive, "stop sampling early (see --stop-rule)"));
  mark(app.add_flag("--compare", ttc.compare, "run greedy, fixed and adaptive back to back on the same engine"));
  mark(app.add_option("--curve", ttc.curve, "also print accuracy vs 1, 2, 4, ... up to this many samples")
           ->check(CLI::Range(1, 1024)));
  app.add_option("--plot", ttc.plot, "write the --curve as an SVG plot to this file");
  app.add_option("--verifier", ttc.verifier,
                 "auto: vote among candidates whose (a) steps recompute / (b) program runs on the request's data; "
                 "none: plain vote (default auto)");
  app.add_option("--stop-rule", ttc.stop_rule, "adaptive rule: leader | beta | dirichlet (default beta)");
  app.add_option("--threshold", ttc.threshold, "confidence at which beta/dirichlet stop (default 0.95)")
      ->check(CLI::Range(0.5, 1.0));
  app.add_option("--batch", ttc.batch, "choices per engine request (default: all samples; adaptive: 2)")
      ->check(CLI::Range(0, 256));
  app.add_option("--slots", ttc.slots, "engine sequences for strategies (default 64)")->check(CLI::Range(1, 256));
  app.add_option("--temp", ttc.sampling.temperature, "sampling temperature for strategies (default 0.8)")
      ->check(CLI::Range(0.0, 10.0));
  app.add_option("--top-k", ttc.sampling.top_k, "top-k for strategies (default 40)");
  app.add_option("--top-p", ttc.sampling.top_p, "top-p for strategies (default 0.95)");
  app.add_option("--min-p", ttc.sampling.min_p, "min-p for strategies (default 0.05)");
  app.add_option("--sample-seed", ttc.sampling.seed, "sampling seed (default 0)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  nuri::log::set_level(nuri::log::Level::kWarn);
  if (seed >= 1 && seed <= 3) {
    // models/README.md: generator seeds 1 (a), 2 (b), 3 (c) made nuri-tiny's training corpus.
    std::fprintf(stderr, "nuri eval-synth: seeds 1-3 generated the training data of nuri-tiny; pick a held-out seed\n");
    return 1;
  }
  auto lm = nuri::cli::load_model_or_default("eval-synth", model_path);
  if (!lm) return 1;
  const nuri::chat::ModelChatInfo info = nuri::cli::chat_info(*lm);
  auto tmpl = nuri::chat::template_for_model(info);
  if (!tmpl.ok()) {
    std::fprintf(stderr, "nuri eval-synth: %s\n", tmpl.error().c_str());
    return 1;
  }
  std::vector<synth::SynthSample> samples;
  if (kind_s.find('a') != std::string::npos)
    for (auto& s : synth::generate(seed, n, synth::Kind::kArith)) samples.push_back(std::move(s));
  if (kind_s.find('b') != std::string::npos)
    for (auto& s : synth::generate(seed, n, synth::Kind::kAction)) samples.push_back(std::move(s));
  std::vector<Job> jobs(samples.size());
  for (size_t i = 0; i < samples.size(); ++i) {
    nuri::chat::ChatInputs in;
    in.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", samples[i].user}}});
    in.bos_token = info.bos_token;
    in.eos_token = info.eos_token;
    auto prompt = tmpl->apply(in);
    if (!prompt.ok()) {
      std::fprintf(stderr, "nuri eval-synth: template: %s\n", prompt.error().c_str());
      return 1;
    }
    jobs[i].sample = &samples[i];
    jobs[i].prompt = lm->tokenizer.encode(*prompt, true, true);
  }
  if (ttc_given || !ttc.plot.empty()) {
    std::vector<std::vector<int32_t>> prompts;
    for (const auto& j : jobs) prompts.push_back(j.prompt);
    ttc.max_tokens = max_tokens;
    ttc.threads = threads;
    ttc.json_out = json_out;
    return nuri::cli::eval_synth_ttc(*lm, seed, samples, prompts, ttc);
  }
  nuri::Timer timer;
  if (auto st = generate_all(*lm, jobs, parallel, max_tokens, threads); !st.is_ok()) {
    std::fprintf(stderr, "nuri eval-synth: %s\n", st.message().c_str());
    return 1;
  }
  const double gen_s = timer.seconds();
  std::map<int, std::pair<int, int>> arith;  // difficulty -> (correct, total)
  int b_ok = 0, b_total = 0, b_no_code = 0;
  size_t gen_tokens = 0;
  nuri::sandbox::SandboxPolicy policy;
  policy.wall_time_s = 5;
  policy.allow_weaker = true;
  bool warned = false;
  std::string lines;
  for (auto& j : jobs) {
    gen_tokens += j.out.size();
    const std::string text = lm->tokenizer.decode(j.out);
    bool ok = false;
    std::string got;
    if (j.sample->kind == synth::Kind::kArith) {
      ok = synth::check_answer_a(text, *j.sample);
      got = synth::extract_answer_a(text).value_or("");
      auto& a = arith[j.sample->difficulty];
      a.first += ok;
      a.second += 1;
    } else {
      ++b_total;
      auto code = synth::extract_python_block(text);
      if (!code) {
        ++b_no_code;
      } else {
        auto r = nuri::sandbox::run_sandboxed({"/usr/bin/python3", "-"}, policy, *code);
        if (r.ok()) {
          if (!r->not_enforced.empty() && !warned) {
            std::fprintf(stderr, "nuri eval-synth: sandbox layers not enforced here:");
            for (const auto& s : r->not_enforced) std::fprintf(stderr, " %s", s.c_str());
            std::fprintf(stderr, "\n");
            warned = true;
          }
          got = r->stdout_data;
          while (!got.empty() && (got.back() == '\n' || got.back() == '\r' || got.back() == ' ')) got.pop_back();
          ok = r->exit_code == 0 && got == j.sample->answer;
        }
      }
      b_ok += ok;
    }
    if (!json_out.empty()) {
      nlohmann::json row = {{"kind", synth::kind_name(j.sample->kind)}, {"difficulty", j.sample->difficulty},
                            {"task", j.sample->task}, {"user", j.sample->user}, {"expected", j.sample->answer},
                            {"got", got}, {"correct", ok}, {"reply", text}};
      lines += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    }
  }
  if (!json_out.empty()) (void)nuri::write_file(json_out, lines);
  std::printf("model: %s   seed: %llu   %zu problems, %zu tokens generated in %.1f s (%.0f tok/s)\n", lm->name.c_str(),
              static_cast<unsigned long long>(seed), jobs.size(), gen_tokens, gen_s, gen_tokens / std::max(gen_s, 1e-9));
  if (!arith.empty()) {
    int c = 0, t = 0;
    std::printf("(a) arithmetic, greedy:\n");
    for (const auto& [d, ct] : arith) {
      std::printf("  difficulty %d: %4d / %4d  %5.1f %%\n", d, ct.first, ct.second, 100.0 * ct.first / ct.second);
      c += ct.first;
      t += ct.second;
    }
    std::printf("  overall:      %4d / %4d  %5.1f %%\n", c, t, 100.0 * c / t);
  }
  if (b_total > 0)
    std::printf("(b) text-to-action, executed: %4d / %4d  %5.1f %%  (%d replies without a python block)\n", b_ok, b_total,
                100.0 * b_ok / b_total, b_no_code);
  return 0;
}

}  // namespace

NURI_COMMAND("eval-synth", "accuracy on held-out synthetic arithmetic and text-to-action problems", run_eval_synth);
