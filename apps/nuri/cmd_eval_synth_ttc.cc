// apps/nuri/cmd_eval_synth_ttc.cc — the strategy path of `nuri eval-synth` (see eval_synth_ttc.h).
// Problems run concurrently on one engine: slots / batch problems at a time, each drawing its
// samples as engine requests with n choices (one prefill of the prompt per batch).
#include <atomic>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sys/resource.h>
#include <thread>

#include "base/mmap.h"
#include "base/timer.h"
#include "eval_synth_ttc.h"
#include "nuri/engine.h"
#include "ttc/extract.h"
#include "ttc/plot.h"
#include "ttc/strategy.h"

namespace nuri::cli {

namespace {

namespace synth = eval::synth;

struct Outcome {
  ttc::StrategyResult res;
  bool correct = false;
  bool plain_correct = false;  // the unfiltered majority vote's answer
  std::string error;
};

struct RunSpec {
  std::string label;  // "greedy", "self-consistency", "self-consistency adaptive"
  ttc::StrategyParams params;
  bool verify = false;
};

// CPU seconds of this process and its reaped children (the sandboxed programs).
double cpu_seconds() {
  double s = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage ru{};
    getrusage(who, &ru);
    s += ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + 1e-6 * (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  }
  return s;
}

bool is_correct(const synth::SynthSample& s, const std::optional<std::string>& answer) {
  if (!answer) return false;
  if (s.kind == synth::Kind::kArith) return ttc::normalize_answer(*answer) == ttc::normalize_answer(s.answer);
  return *answer == s.answer;
}

std::vector<Outcome> run_all(engine::Engine& eng, const std::vector<synth::SynthSample>& samples,
                             const std::vector<std::vector<int32_t>>& prompts, const ttc::StrategyParams& params,
                             const ttc::Extractor& ex_a, const ttc::Extractor& ex_b,
                             const std::shared_ptr<ttc::PythonRunner>& runner, bool verify, int workers,
                             const std::string& label, double* wall_s, double* cpu_s) {
  const double cpu0 = cpu_seconds();
  std::vector<Outcome> out(samples.size());
  std::atomic<size_t> next{0}, done{0};
  Timer t;
  std::mutex print_mu;
  auto work = [&] {
    while (true) {
      const size_t i = next++;
      if (i >= samples.size()) return;
      const ttc::Extractor& ex = samples[i].kind == synth::Kind::kArith ? ex_a : ex_b;
      // Verifiers never see the expected answer: (a) recomputes the steps, (b) runs the program
      // and checks that its data literals come from the request.
      std::unique_ptr<ttc::Verifier> verifier;
      if (verify && samples[i].kind == synth::Kind::kArith) verifier = std::make_unique<ttc::ArithmeticStepVerifier>();
      else if (verify) verifier = std::make_unique<ttc::GroundedCodeVerifier>(runner, samples[i].user);
      auto r = ttc::run_strategy(eng, prompts[i], params, &ex, verifier.get());
      if (r.ok()) {
        out[i].res = std::move(*r);
        out[i].correct = is_correct(samples[i], out[i].res.candidates.empty() ? std::nullopt
                                                                               : std::optional<std::string>(out[i].res.answer));
        if (out[i].res.answer.empty()) out[i].correct = false;
        const auto* pw = out[i].res.plain_vote.winner();
        out[i].plain_correct = pw ? is_correct(samples[i], pw->answer) : out[i].correct;
      } else {
        out[i].error = r.error();
      }
      const size_t d = ++done;
      if (d % 25 == 0 || d == samples.size()) {
        std::lock_guard lk(print_mu);
        std::fprintf(stderr, "\rnuri eval-synth: %s %zu/%zu done (%.0f s)   ", label.c_str(), d, samples.size(), t.seconds());
      }
    }
  };
  std::vector<std::thread> th;
  for (int w = 0; w < workers; ++w) th.emplace_back(work);
  for (auto& x : th) x.join();
  std::fprintf(stderr, "\n");
  *wall_s = t.seconds();
  *cpu_s = cpu_seconds() - cpu0;
  return out;
}

struct Summary {
  double acc_a = 0, acc_b = 0, plain_a = 0, plain_b = 0, mean_used = 0, wall = 0, cpu = 0;
  int64_t tokens = 0;
};

Summary print_block(const runtime::LoadedModel& lm, uint64_t seed, const std::vector<synth::SynthSample>& samples,
                    const std::vector<Outcome>& outs, const RunSpec& spec, double wall, double cpu) {
  std::map<int, std::pair<int, int>> arith;
  int b_ok = 0, b_total = 0, b_none = 0, errors = 0, pa = 0, pb = 0, na = 0;
  int64_t tokens = 0, used = 0;
  for (size_t i = 0; i < samples.size(); ++i) {
    const Outcome& o = outs[i];
    if (!o.error.empty()) ++errors;
    tokens += o.res.tokens;
    used += o.res.samples_used;
    if (samples[i].kind == synth::Kind::kArith) {
      auto& a = arith[samples[i].difficulty];
      a.first += o.correct;
      a.second += 1;
      pa += o.plain_correct;
      ++na;
    } else {
      ++b_total;
      b_ok += o.correct;
      pb += o.plain_correct;
      b_none += o.res.answer.empty();
    }
  }
  Summary s;
  s.wall = wall;
  s.cpu = cpu;
  s.plain_a = na ? 100.0 * pa / na : 0;
  s.plain_b = b_total ? 100.0 * pb / b_total : 0;
  s.tokens = tokens;
  s.mean_used = samples.empty() ? 0 : static_cast<double>(used) / samples.size();
  std::printf("model: %s   seed: %llu   %zu problems, %lld tokens generated in %.1f s (%.0f tok/s)\n", lm.name.c_str(),
              static_cast<unsigned long long>(seed), samples.size(), static_cast<long long>(tokens), wall,
              tokens / std::max(wall, 1e-9));
  if (!arith.empty()) {
    int c = 0, t = 0;
    std::printf("(a) arithmetic, %s:\n", spec.label.c_str());
    for (const auto& [d, ct] : arith) {
      std::printf("  difficulty %d: %4d / %4d  %5.1f %%\n", d, ct.first, ct.second, 100.0 * ct.first / ct.second);
      c += ct.first;
      t += ct.second;
    }
    std::printf("  overall:      %4d / %4d  %5.1f %%\n", c, t, 100.0 * c / t);
    s.acc_a = 100.0 * c / t;
  }
  if (b_total > 0) {
    std::printf("(b) text-to-action, executed: %4d / %4d  %5.1f %%  (%d without a voted output)\n", b_ok, b_total,
                100.0 * b_ok / b_total, b_none);
    s.acc_b = 100.0 * b_ok / b_total;
  }
  std::string name = ttc::strategy_name(spec.params.kind);
  if (spec.params.adaptive)
    name += std::string(" adaptive (") + ttc::stop_rule_name(spec.params.stop_rule) + " " +
            std::to_string(spec.params.threshold).substr(0, 4) + ")";
  const int n = spec.params.kind == ttc::StrategyKind::kGreedy ? 1 : spec.params.budget.max_samples;
  std::printf("strategy: %s, samples: %d (mean used %.2f), wall: %.1f s\n", name.c_str(), n, s.mean_used, wall);
  std::printf("  cpu: %.1f s (nuri + sandboxed programs)", cpu);
  if (spec.verify && spec.params.kind == ttc::StrategyKind::kSelfConsistency)
    std::printf("; verified vote; plain vote without the verifier: (a) %.1f %%, (b) %.1f %%", s.plain_a, s.plain_b);
  std::printf("\n");
  if (errors > 0) std::printf("  %d problems failed (first error: see stderr)\n", errors);
  for (const auto& o : outs)
    if (!o.error.empty()) {
      std::fprintf(stderr, "nuri eval-synth: %s\n", o.error.c_str());
      break;
    }
  std::fflush(stdout);
  return s;
}

// Accuracy of a majority vote over k samples, averaged over the n/k disjoint groups of k.
double group_accuracy(const synth::SynthSample& s, const std::vector<ttc::Candidate>& c, int k, bool verified) {
  const int groups = static_cast<int>(c.size()) / k;
  if (groups == 0) return 0;
  int ok = 0;
  for (int g = 0; g < groups; ++g) {
    std::vector<ttc::Candidate> sub(c.begin() + g * k, c.begin() + (g + 1) * k);
    ttc::Vote v = verified ? ttc::verified_vote(sub) : ttc::majority_vote(sub);
    ok += v.winner() && is_correct(s, v.winner()->answer);
  }
  return static_cast<double>(ok) / groups;
}

void print_curve(const std::vector<synth::SynthSample>& samples, const std::vector<Outcome>& outs, int max_k,
                 const std::string& plot_path, bool verified) {
  std::vector<int> ks;
  for (int k = 1; k <= max_k; k *= 2) ks.push_back(k);
  // columns: a1..a4, a all, b
  std::vector<std::string> cols = {"(a) d1", "(a) d2", "(a) d3", "(a) d4", "(a) all", "(b)"};
  std::vector<std::vector<double>> acc(ks.size(), std::vector<double>(cols.size(), 0));
  std::vector<int> count(cols.size(), 0);
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto& s = samples[i];
    std::vector<int> in;
    if (s.kind == synth::Kind::kArith) in = {std::clamp(s.difficulty, 1, 4) - 1, 4};
    else if (s.kind == synth::Kind::kAction) in = {5};
    for (int col : in) ++count[col];
    for (size_t ki = 0; ki < ks.size(); ++ki) {
      const double a = group_accuracy(s, outs[i].res.candidates, ks[ki], verified);
      for (int col : in) acc[ki][col] += a;
    }
  }
  std::printf("accuracy vs samples (%s vote over k samples; mean over the %d/k disjoint groups):\n",
              verified ? "verified" : "plain", max_k);
  std::printf("  %4s", "k");
  for (size_t c = 0; c < cols.size(); ++c)
    if (count[c]) std::printf("  %8s", cols[c].c_str());
  std::printf("\n");
  std::vector<ttc::PlotSeries> series;
  for (size_t c = 0; c < cols.size(); ++c)
    if (count[c]) series.push_back({cols[c], {}, c == 4});
  for (size_t ki = 0; ki < ks.size(); ++ki) {
    std::printf("  %4d", ks[ki]);
    size_t si = 0;
    for (size_t c = 0; c < cols.size(); ++c) {
      if (!count[c]) continue;
      const double v = 100.0 * acc[ki][c] / count[c];
      std::printf("  %7.1f%%", v);
      series[si++].points.push_back({static_cast<double>(ks[ki]), v});
    }
    std::printf("\n");
  }
  if (!plot_path.empty()) {
    ttc::PlotSpec spec;
    spec.title = "nuri-tiny on eval-synth: accuracy vs samples (self-consistency)";
    spec.x_label = "samples per problem (majority vote)";
    spec.y_label = "accuracy (%)";
    if (auto st = write_file(plot_path, ttc::svg_line_chart(spec, series)); !st.is_ok())
      std::fprintf(stderr, "nuri eval-synth: %s\n", st.message().c_str());
    else
      std::fprintf(stderr, "nuri eval-synth: wrote %s\n", plot_path.c_str());
  }
}

}  // namespace

int eval_synth_ttc(runtime::LoadedModel& lm, uint64_t seed, const std::vector<synth::SynthSample>& samples,
                   const std::vector<std::vector<int32_t>>& prompts, const EvalTtcOptions& opt) {
  auto kind = ttc::parse_strategy(opt.strategy);
  if (!kind) {
    std::fprintf(stderr, "nuri eval-synth: unknown strategy '%s' (greedy, self-consistency, best-of-n, beam)\n",
                 opt.strategy.c_str());
    return 1;
  }
  auto rule = ttc::parse_stop_rule(opt.stop_rule);
  if (!rule) {
    std::fprintf(stderr, "nuri eval-synth: unknown stop rule '%s' (leader, beta, dirichlet)\n", opt.stop_rule.c_str());
    return 1;
  }
  int32_t longest = 0;
  for (const auto& p : prompts) longest = std::max<int32_t>(longest, static_cast<int32_t>(p.size()));
  engine::EngineParams ep;
  ep.n_parallel = opt.slots;
  ep.n_ctx = longest + opt.max_tokens + 1;
  const int32_t train_ctx = lm.model->config().n_ctx_train;
  if (train_ctx > 0 && ep.n_ctx > train_ctx) ep.n_ctx = train_ctx;
  ep.n_threads = opt.threads;
  ep.max_queue = 4 * opt.slots;
  auto eng = engine::Engine::create(lm.model, lm.tokenizer, ep);
  if (!eng.ok()) {
    std::fprintf(stderr, "nuri eval-synth: %s\n", eng.error().c_str());
    return 1;
  }
  const int max_tokens = std::min(opt.max_tokens, ep.n_ctx - longest);
  auto ex_a = ttc::make_extractor("answer");
  auto runner = std::make_shared<ttc::PythonRunner>();
  ttc::PythonExtractor ex_b(runner);

  ttc::StrategyParams base;
  base.kind = *kind;
  base.budget.max_samples = opt.samples;
  base.batch = opt.batch;
  base.adaptive = opt.adaptive;
  base.stop_rule = *rule;
  base.threshold = opt.threshold;
  base.sampling = opt.sampling;
  base.max_tokens = max_tokens;
  std::vector<RunSpec> runs;
  bool verify = opt.verifier == "auto";
  if (opt.verifier != "auto" && opt.verifier != "none") {
    std::fprintf(stderr, "nuri eval-synth: unknown verifier '%s' (auto or none)\n", opt.verifier.c_str());
    return 1;
  }
  auto greedy = base;
  greedy.kind = ttc::StrategyKind::kGreedy;
  greedy.adaptive = false;
  if (opt.compare) {
    runs.push_back({"greedy", greedy, false});
    auto fixed = base;
    fixed.adaptive = false;
    runs.push_back({ttc::strategy_name(base.kind), fixed, verify});
    auto adap = base;
    adap.adaptive = true;
    runs.push_back({std::string(ttc::strategy_name(base.kind)) + " adaptive", adap, verify});
  } else {
    runs.push_back({std::string(ttc::strategy_name(base.kind)) + (base.adaptive ? " adaptive" : ""), base,
                    verify && base.kind != ttc::StrategyKind::kGreedy});
  }
  std::vector<Summary> sums;
  bool curve_done = false;
  std::string lines;
  for (const auto& spec : runs) {
    int per = spec.params.kind == ttc::StrategyKind::kGreedy ? 1
              : spec.params.kind == ttc::StrategyKind::kBeam  ? spec.params.beam_width * spec.params.expand
              : spec.params.batch > 0                         ? spec.params.batch
              : spec.params.adaptive                          ? 2
                                                              : spec.params.budget.max_samples;
    per = std::clamp(per, 1, opt.slots);
    const int workers = std::max(1, opt.slots / per);
    double wall = 0, cpu = 0;
    auto outs = run_all(**eng, samples, prompts, spec.params, **ex_a, ex_b, runner, spec.verify, workers, spec.label,
                        &wall, &cpu);
    sums.push_back(print_block(lm, seed, samples, outs, spec, wall, cpu));
    if (opt.curve > 0 && opt.curve <= spec.params.budget.max_samples && !spec.params.adaptive &&
        spec.params.kind == ttc::StrategyKind::kSelfConsistency && !curve_done) {
      print_curve(samples, outs, opt.curve, "", false);
      if (spec.verify) print_curve(samples, outs, opt.curve, opt.plot, true);
      else if (!opt.plot.empty()) print_curve(samples, outs, opt.curve, opt.plot, false);
      curve_done = true;
    }
    if (!opt.json_out.empty())
      for (size_t i = 0; i < samples.size(); ++i) {
        nlohmann::json votes = nlohmann::json::array();
        for (const auto& v : outs[i].res.vote.ranked) votes.push_back({v.answer, v.votes});
        nlohmann::json row = {{"run", spec.label}, {"kind", synth::kind_name(samples[i].kind)},
                              {"difficulty", samples[i].difficulty}, {"task", samples[i].task},
                              {"expected", samples[i].answer}, {"got", outs[i].res.answer},
                              {"correct", outs[i].correct}, {"plain_correct", outs[i].plain_correct},
                              {"samples_used", outs[i].res.samples_used},
                              {"tokens", outs[i].res.tokens}, {"votes", votes}, {"reply", outs[i].res.text()}};
        lines += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      }
  }
  if (opt.compare && sums.size() == 3) {
    const Summary &g = sums[0], &f = sums[1], &a = sums[2];
    std::printf("compare: (a) %+.1f pts, (b) %+.1f pts over greedy (plain vote: %+.1f, %+.1f); wall %.2fx greedy, cpu %.2fx; "
                "adaptive: (a) %+.1f, (b) %+.1f pts vs fixed with %.0f %% of the samples, wall %.2fx greedy, cpu %.2fx\n",
                f.acc_a - g.acc_a, f.acc_b - g.acc_b, f.plain_a - g.acc_a, f.plain_b - g.acc_b,
                f.wall / std::max(g.wall, 1e-9), f.cpu / std::max(g.cpu, 1e-9), a.acc_a - f.acc_a, a.acc_b - f.acc_b,
                100.0 * a.mean_used / std::max(f.mean_used, 1e-9), a.wall / std::max(g.wall, 1e-9),
                a.cpu / std::max(g.cpu, 1e-9));
  }
  if (opt.curve > 0 && !curve_done) {
    auto cp = base;
    cp.kind = ttc::StrategyKind::kSelfConsistency;
    cp.adaptive = false;
    cp.budget.max_samples = opt.curve;
    cp.batch = std::min(opt.curve, opt.slots);
    double wall = 0, cpu = 0;
    auto outs = run_all(**eng, samples, prompts, cp, **ex_a, ex_b, runner, verify, std::max(1, opt.slots / cp.batch),
                        "curve", &wall, &cpu);
    std::fprintf(stderr, "nuri eval-synth: curve run (%d samples per problem) took %.1f s\n", opt.curve, wall);
    print_curve(samples, outs, opt.curve, "", false);
    if (verify) print_curve(samples, outs, opt.curve, opt.plot, true);
    else if (!opt.plot.empty()) print_curve(samples, outs, opt.curve, opt.plot, false);
  }
  if (auto ne = runner->not_enforced(); !ne.empty()) {
    std::fprintf(stderr, "nuri eval-synth: sandbox layers not enforced here:");
    for (const auto& s : ne) std::fprintf(stderr, " %s", s.c_str());
    std::fprintf(stderr, "\n");
  }
  if (!opt.json_out.empty()) (void)write_file(opt.json_out, lines);
  return 0;
}

}  // namespace nuri::cli
