// apps/nuri/cmd_run_ttc.cc — the strategy path of `nuri run` (see run_ttc.h): prints the chosen
// answer on stdout; with --verbose also every candidate, the votes and the cost.
#include <cstdio>
#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "cli_common.h"
#include "nuri/engine.h"
#include "run_ttc.h"
#include "ttc/strategy.h"
#include "tokenizer/tokenizer.h"

namespace nuri::cli {

int run_with_strategy(const runtime::LoadedModel& lm, const std::string& prompt_text, const RunTtcOptions& opt) {
  auto fail = [](const std::string& m) {
    std::fprintf(stderr, "nuri run: %s\n", m.c_str());
    return 1;
  };
  auto kind = ttc::parse_strategy(opt.strategy);
  if (!kind) return fail("unknown strategy '" + opt.strategy + "' (greedy, self-consistency, best-of-n, beam)");
  auto rule = ttc::parse_stop_rule(opt.stop_rule);
  if (!rule) return fail("unknown stop rule '" + opt.stop_rule + "' (leader, beta, dirichlet)");
  std::string text = prompt_text;
  if (opt.chat) {
    const chat::ModelChatInfo info = chat_info(lm);
    auto tmpl = chat::template_for_model(info);
    if (!tmpl.ok()) return fail(tmpl.error());
    chat::ChatInputs in;
    in.messages = nlohmann::ordered_json::array({{{"role", "user"}, {"content", prompt_text}}});
    in.bos_token = info.bos_token;
    in.eos_token = info.eos_token;
    auto applied = tmpl->apply(in);
    if (!applied.ok()) return fail("chat template: " + applied.error());
    text = *applied;
  }
  std::vector<int32_t> ids = lm.tokenizer.encode(text, true, true);
  if (ids.empty()) return fail("the prompt is empty");

  std::unique_ptr<ttc::Extractor> extractor;
  auto runner = std::make_shared<ttc::PythonRunner>();
  if (opt.extract == "python") {
    extractor = std::make_unique<ttc::PythonExtractor>(runner);
  } else if (opt.extract != "text") {
    auto e = ttc::make_extractor(opt.extract);
    if (!e.ok()) return fail(e.error() + " or text");
    extractor = std::move(*e);
  }
  std::vector<ttc::TestCase> tests;
  for (const auto& t : opt.tests) {
    const size_t at = t.find("=>");
    if (at == std::string::npos) return fail("--test wants STDIN=>EXPECTED, got '" + t + "'");
    auto unescape = [](std::string s) {
      std::string o;
      for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && s[i + 1] == 'n') o += '\n', ++i;
        else o += s[i];
      }
      return o;
    };
    tests.push_back({unescape(t.substr(0, at)), unescape(t.substr(at + 2))});
  }
  std::unique_ptr<ttc::Verifier> verifier;
  std::string v = opt.verify;
  if (v == "auto") v = !tests.empty() || opt.extract == "python" ? "execution" : "none";
  if (v == "execution") verifier = std::make_unique<ttc::ExecutionVerifier>(runner, tests);
  else if (v == "steps") verifier = std::make_unique<ttc::ArithmeticStepVerifier>();
  else if (v != "none" && v != "logprob") return fail("unknown verifier '" + opt.verify + "' (auto, none, logprob, execution, steps)");

  ttc::StrategyParams p;
  p.kind = *kind;
  p.budget.max_samples = opt.samples;
  p.budget.max_tokens = opt.max_total_tokens;
  p.budget.max_wall_s = opt.max_wall_s;
  p.adaptive = opt.adaptive;
  p.stop_rule = *rule;
  p.threshold = opt.threshold;
  p.sampling = opt.sampling;
  p.max_tokens = opt.n_predict;
  p.beam_width = opt.beam_width;
  p.expand = opt.expand;
  engine::EngineParams ep;
  ep.n_parallel = *kind == ttc::StrategyKind::kBeam ? std::max(1, opt.beam_width * opt.expand)
                  : *kind == ttc::StrategyKind::kGreedy ? 1
                                                        : std::clamp(opt.samples, 1, 64);
  ep.n_ctx = static_cast<int32_t>(ids.size()) + opt.n_predict + 1;
  const int32_t train = lm.model->config().n_ctx_train;
  if (train > 0 && ep.n_ctx > train) ep.n_ctx = std::max<int32_t>(train, static_cast<int32_t>(ids.size()) + 2);
  p.max_tokens = std::min<int32_t>(p.max_tokens, ep.n_ctx - static_cast<int32_t>(ids.size()));
  ep.n_threads = opt.threads;
  ep.cache_type_k = opt.cache_type_k;
  ep.cache_type_v = opt.cache_type_v;
  auto eng = engine::Engine::create(lm.model, lm.tokenizer, ep);
  if (!eng.ok()) return fail(eng.error());
  auto r = ttc::run_strategy(**eng, ids, p, extractor.get(), verifier.get());
  if (!r.ok()) return fail(r.error());
  // stdout: the answer (or, when nothing could be extracted, the chosen text).
  std::printf("%s\n", r->answer.empty() ? r->text().c_str() : r->answer.c_str());
  if (opt.verbose) {
    std::printf("--- %s: %d samples, %lld tokens, %.2f s, stopped: %s\n", ttc::strategy_name(r->kind), r->samples_used,
                static_cast<long long>(r->tokens), r->wall_s, r->stop_reason.c_str());
    std::printf("votes:");
    for (const auto& a : r->vote.ranked) std::printf("  %s: %d (mean logprob %.3f)", a.answer.c_str(), a.votes, a.mean_logprob);
    if (r->vote.abstained) std::printf("  [no answer / not voting: %d]", r->vote.abstained);
    std::printf("\n");
    for (size_t i = 0; i < r->candidates.size(); ++i) {
      const auto& c = r->candidates[i];
      std::printf("--- candidate %zu%s: answer %s, %d tokens, mean logprob %.3f", i, static_cast<int>(i) == r->chosen ? " (chosen)" : "",
                  c.answer ? c.answer->c_str() : "-", c.n_tokens, c.mean_logprob());
      if (c.score) std::printf(", score %.3f", *c.score);
      std::printf("\n%s\n", c.text.c_str());
    }
  }
  return 0;
}

}  // namespace nuri::cli
