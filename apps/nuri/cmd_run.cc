// nuri run -m FILE -p PROMPT [-n N] [--temp T --top-k K --top-p P --seed S] [--no-echo]
//   [--context-overflow error|shift|truncate | --context-shift] [--keep N]
//   [--grammar F.gbnf | --json-schema F.json | --json]
// Streams the prompt and the generated text to stdout (nothing else); logs, speed and the finish
// reason ("stop": end-of-generation token or the grammar complete, "length": -n or the context)
// to stderr. A grammar masks the sampler's candidates first; a bad grammar or schema exits 1.
// With --strategy S --samples N [--adaptive] [--chat]: prints the answer a src/ttc strategy
// chose (cmd_run_ttc.cc), with -v every candidate and the votes.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "base/log.h"
#include "base/mmap.h"
#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "base/timer.h"
#include "cli_common.h"
#include "command.h"
#include "cache_type_options.h"
#include "context_policy.h"
#include "nuri/nuri.h"
#include "run_ttc.h"
#include "runtime/api_impl.h"

namespace {

// --grammar / --json-schema / --json -> a compiled grammar (null: none given). Prints the error.
bool load_grammar(const std::string& gbnf_file, const std::string& schema_file, bool json_any,
                  std::shared_ptr<const nuri::grammar::Grammar>* out) {
  if (!gbnf_file.empty() + !schema_file.empty() + json_any > 1) {
    std::fprintf(stderr, "nuri run: give at most one of --grammar, --json-schema and --json\n");
    return false;
  }
  std::string gbnf, what;
  if (json_any) {
    gbnf = nuri::grammar::json_any_gbnf();
    what = "--json";
  } else if (!gbnf_file.empty() || !schema_file.empty()) {
    const std::string& file = gbnf_file.empty() ? schema_file : gbnf_file;
    what = (gbnf_file.empty() ? "--json-schema " : "--grammar ") + file;
    auto text = nuri::read_file(file);
    if (!text.ok()) {
      std::fprintf(stderr, "nuri run: %s: %s\n", what.c_str(), text.error().c_str());
      return false;
    }
    if (!schema_file.empty()) {
      auto g = nuri::grammar::json_schema_to_gbnf(*text);
      if (!g.ok()) {
        std::fprintf(stderr, "nuri run: %s: %s\n", what.c_str(), g.error().c_str());
        return false;
      }
      gbnf = std::move(*g);
    } else {
      gbnf = std::move(*text);
    }
  } else {
    return true;
  }
  auto g = nuri::grammar::Grammar::parse(gbnf);
  if (!g.ok()) {
    std::fprintf(stderr, "nuri run: %s: %s\n", what.c_str(), g.error().c_str());
    return false;
  }
  *out = std::move(*g);
  return true;
}

int run_run(int argc, char** argv) {
  CLI::App app{"Generate text from a prompt. Deterministic (greedy) unless --temp > 0.", "nuri run"};
  std::string model_path, prompt, ctx_arg, max_memory;
  int n_predict = 128, threads = 0;
  int32_t n_ctx = 0;
  nuri::sampling::SamplerParams sp;
  sp.temperature = nuri::sampling::kCliDefaultTemperature;
  bool no_echo = false, verbose = false, reference = false, json_any = false;
  std::string grammar_file, schema_file;
  app.add_option("-m,--model", model_path, "GGUF file or Hugging Face directory (default: the built-in nuri-tiny model)");
  app.add_option("-p,--prompt", prompt, "prompt text (may be empty)");
  app.add_option("-n,--n-predict", n_predict, "tokens to generate (default 128)")->check(CLI::Range(0, 1 << 20));
  app.add_option("--temp", sp.temperature, "temperature; 0 = greedy (default 0)")->check(CLI::Range(0.0, 100.0));
  app.add_option("--top-k", sp.top_k, "top-k (0 = off, default 40)")->check(CLI::Range(0, 1 << 24));
  app.add_option("--top-p", sp.top_p, "top-p (1 = off, default 0.95)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--min-p", sp.min_p, "min-p (0 = off, default 0.05)")->check(CLI::Range(0.0, 1.0));
  app.add_option("--repeat-penalty", sp.repeat_penalty, "repetition penalty (1 = off)")->check(CLI::Range(0.0, 10.0));
  app.add_option("--seed", sp.seed, "random seed for sampling (default 0)");
  app.add_option("-c,--ctx", ctx_arg, "context length, or 'auto': the most that fits in memory (default: prompt + n, at most the model's)");
  app.add_option("--max-memory", max_memory, "refuse (or with --ctx auto, shrink the context) when the estimate exceeds BYTES (8G, 512M; default auto: MemAvailable; off: no check)");
  app.add_option("-t,--threads", threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_flag("--no-echo", no_echo, "do not print the prompt");
  bool ignore_eos = false;
  app.add_flag("--ignore-eos", ignore_eos, "keep generating past end-of-generation tokens");
  nuri::cli::ContextPolicyOptions policy;
  policy.add(app);
  nuri::cli::CacheTypeOptions cache_types;
  cache_types.add(app);
  app.add_option("--grammar", grammar_file, "constrain the output to a GBNF grammar (llama.cpp syntax, start rule root)");
  app.add_option("--json-schema", schema_file, "constrain the output to JSON valid against this JSON Schema file");
  app.add_flag("--json", json_any, "constrain the output to one JSON value");
  app.add_flag("--reference", reference, "use the f32 reference forward (slow; for checking)");
  app.add_flag("-v,--verbose", verbose, "more logs on stderr (with --strategy: every candidate and the votes)");
  // Test-time compute (src/ttc, cmd_run_ttc.cc): --strategy answers through the engine.
  nuri::cli::RunTtcOptions ttc;
  app.add_option("--strategy", ttc.strategy, "greedy | self-consistency | best-of-n | beam: print the chosen answer");
  app.add_option("--samples", ttc.samples, "samples for the strategy (default 8)")->check(CLI::Range(1, 1024));
  app.add_flag("--adaptive", ttc.adaptive, "stop sampling once the answer is settled (--stop-rule)");
  app.add_option("--stop-rule", ttc.stop_rule, "leader | beta | dirichlet (default beta)");
  app.add_option("--threshold", ttc.threshold, "confidence for beta/dirichlet (default 0.95)")->check(CLI::Range(0.5, 1.0));
  app.add_option("--extract", ttc.extract, "answer | number | boxed | python | text (default answer)");
  app.add_option("--verify", ttc.verify, "auto | none | logprob | execution | steps (default auto)");
  app.add_option("--test", ttc.tests, "execution test STDIN=>EXPECTED (\\n for newlines); repeatable");
  app.add_option("--beam-width", ttc.beam_width, "beam: paths kept (default 4)")->check(CLI::Range(1, 64));
  app.add_option("--expand", ttc.expand, "beam: continuations per path and step (default 4)")->check(CLI::Range(1, 64));
  app.add_option("--max-total-tokens", ttc.max_total_tokens, "budget: generated tokens over all samples");
  app.add_option("--max-time", ttc.max_wall_s, "budget: seconds of wall time")->check(CLI::Range(0.0, 1e6));
  app.add_flag("--chat", ttc.chat, "wrap the prompt as a user turn in the model's chat template");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (!verbose) nuri::log::set_level(nuri::log::Level::kWarn);
  std::shared_ptr<const nuri::grammar::Grammar> grammar;
  if (!load_grammar(grammar_file, schema_file, json_any, &grammar)) return 1;
  if (grammar && (!ttc.strategy.empty() || ttc.chat)) {
    std::fprintf(stderr, "nuri run: --grammar/--json-schema/--json do not combine with --strategy or --chat\n");
    return 1;
  }
  if (!nuri::cli::parse_ctx_option("run", ctx_arg, &n_ctx)) return 1;
  nuri::engine::ContextOverflow overflow;
  if (!policy.resolve("run", &overflow)) return 1;
  nuri::GeneratorOptions go;
  if (!cache_types.resolve("run", &go.cache_type_k, &go.cache_type_v)) return 1;
  if (overflow != nuri::engine::ContextOverflow::kError && (!ttc.strategy.empty() || ttc.chat)) {
    std::fprintf(stderr, "nuri run: --context-overflow/--context-shift do not combine with --strategy or --chat\n");
    return 1;
  }
  const bool ctx_auto = n_ctx < 0;
  nuri::Timer load_timer;
  auto resolved = nuri::cli::resolve_model_or_default("run", model_path);
  if (!resolved) return 1;
  // Memory fit before loading: at --ctx, or at the most prompt + n can need (bytes + BOS/EOS).
  int32_t fit_ctx = 0;
  if (auto facts = nuri::runtime::read_model_facts(*resolved); facts.ok()) {
    const int32_t train = facts->config.n_ctx_train > 0 ? facts->config.n_ctx_train : 2048;
    nuri::runtime::FitParams fp;
    fp.n_ctx = n_ctx > 0 ? n_ctx : ctx_auto ? train : std::min<int32_t>(train, static_cast<int32_t>(prompt.size()) + 2 + n_predict);
    fp.n_seq = 1;
    fp.n_threads = threads;
    fp.paged = false;
    cache_types.set_fit(&fp);
    if (!nuri::cli::check_memory_fit("run", *resolved, &fp, ctx_auto, max_memory, &*facts)) return 1;
    fit_ctx = fp.n_ctx;
  }
  auto model = nuri::load(*resolved);
  if (!model.ok()) {
    std::fprintf(stderr, "nuri run: %s\n", model.error().c_str());
    return 1;
  }
  const nuri::runtime::LoadedModel& lm = (*model)->impl().lm;
  if (!ttc.strategy.empty() || ttc.chat) {
    if (ttc.strategy.empty()) ttc.strategy = "greedy";
    ttc.verbose = verbose;
    ttc.n_predict = n_predict;
    ttc.threads = threads;
    ttc.sampling = sp;
    ttc.cache_type_k = go.cache_type_k;
    ttc.cache_type_v = go.cache_type_v;
    if (ttc.strategy != "greedy" && sp.temperature <= 0) ttc.sampling.temperature = nuri::sampling::kStrategyDefaultTemperature;  // sampling needs T > 0
    return nuri::cli::run_with_strategy(lm, prompt, ttc);
  }
  std::vector<int32_t> ids = (*model)->tokenize(prompt);
  // Context: the prompt and n_predict tokens, within the model's training context unless --ctx.
  go.n_ctx = n_ctx;
  if (go.n_ctx <= 0) {
    const int32_t P = std::max<int32_t>(static_cast<int32_t>(ids.size()), 1);
    const int32_t train = (*model)->n_ctx_train();
    // --ctx auto: what the memory fit allows, at most what prompt + n need.
    go.n_ctx = ctx_auto ? std::max(8, std::min(fit_ctx > 0 ? fit_ctx : train, P + n_predict))
                        : nuri::context_for(**model, P, n_predict);
  }
  go.n_threads = threads;
  go.reference = reference;
  auto gen = nuri::Generator::create(*model, go);
  if (!gen.ok()) {
    std::fprintf(stderr, "nuri run: %s\n", gen.error().c_str());
    return 1;
  }
  NURI_LOG_INFO("loaded %s in %.2f s", (*model)->path().c_str(), load_timer.seconds());
  if (!no_echo) {
    for (int32_t id : ids) std::fputs((*model)->token_piece(id).c_str(), stdout);
    std::fflush(stdout);
  }
  nuri::GenerateOptions opt;
  opt.max_tokens = n_predict;
  opt.sampling = sp;
  opt.grammar = grammar;
  opt.continuation = !no_echo;
  opt.overflow = overflow;
  opt.ignore_eos = ignore_eos;
  opt.n_keep = policy.n_keep(!ids.empty() && ids[0] == lm.tokenizer.bos_id());
  opt.on_text = [](std::string_view text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    return true;
  };
  auto g = (*gen)->generate(ids, opt);
  if (!g.ok()) {
    std::fprintf(stderr, "\nnuri run: %s\n", g.error().c_str());
    return 1;
  }
  std::fputc('\n', stdout);
  std::fflush(stdout);
  if (g->finish_reason == "length" && static_cast<int32_t>(g->tokens.size()) < n_predict)
    std::fprintf(stderr, "nuri run: generation stopped at the end of the context (%d tokens; --context-shift goes on)\n",
                 (*gen)->n_ctx());
  if (g->n_prompt_dropped > 0)
    std::fprintf(stderr, "nuri run: dropped %d prompt tokens to fit the context of %d (%s)\n", g->n_prompt_dropped,
                 (*gen)->n_ctx(), nuri::engine::context_overflow_name(overflow));
  if (g->n_context_shifts > 0)
    std::fprintf(stderr, "nuri run: context shifted %d times (context %d tokens)\n", g->n_context_shifts, (*gen)->n_ctx());
  std::fprintf(stderr, "nuri: prompt %d tokens in %.3f s (%.1f tok/s), generated %zu tokens in %.3f s (%.1f tok/s), %d threads, finish %s\n",
               g->n_prompt_tokens, g->prefill_seconds, g->n_prompt_tokens / std::max(g->prefill_seconds, 1e-9),
               g->tokens.size(), g->decode_seconds, g->tokens.size() / std::max(g->decode_seconds, 1e-9), g->n_threads,
               g->finish_reason.c_str());
  return 0;
}

}  // namespace

NURI_COMMAND("run", "generate text from a prompt (streams to stdout)", run_run);
