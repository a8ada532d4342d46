// nuri run -m FILE -p PROMPT [-n N] [--temp T --top-k K --top-p P --seed S] [--no-echo]
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
#include "run_ttc.h"
#include "command.h"
#include "model/context.h"
#include "runtime/loaded_model.h"
#include "sampling/sampler.h"

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
  sp.temperature = 0.f;
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
    if (!nuri::cli::check_memory_fit("run", *resolved, &fp, ctx_auto, max_memory, &*facts)) return 1;
    fit_ctx = fp.n_ctx;
  }
  auto lm = nuri::cli::load_resolved("run", *resolved);
  if (!lm) return 1;
  if (!ttc.strategy.empty() || ttc.chat) {
    if (ttc.strategy.empty()) ttc.strategy = "greedy";
    ttc.verbose = verbose;
    ttc.n_predict = n_predict;
    ttc.threads = threads;
    ttc.sampling = sp;
    if (ttc.strategy != "greedy" && sp.temperature <= 0) ttc.sampling.temperature = 0.8f;  // sampling needs T > 0
    return nuri::cli::run_with_strategy(*lm, prompt, ttc);
  }
  const auto& tok = lm->tokenizer;
  std::vector<int32_t> ids = tok.encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  if (ids.empty()) {
    // An empty prompt without BOS gives the model nothing to condition on.
    if (tok.bos_id() >= 0) ids.push_back(tok.bos_id());
    else if (tok.eos_id() >= 0) ids.push_back(tok.eos_id());
    else {
      std::fprintf(stderr, "nuri run: empty prompt and the vocabulary has no BOS token\n");
      return 1;
    }
  }
  const auto& cfg = lm->model->config();
  nuri::model::ContextParams cp;
  cp.n_ctx = n_ctx > 0 ? n_ctx : static_cast<int32_t>(ids.size()) + n_predict;
  if (cp.n_ctx > cfg.n_ctx_train && n_ctx == 0) cp.n_ctx = std::max<int32_t>(cfg.n_ctx_train, ids.size() + 1);
  if (ctx_auto) cp.n_ctx = std::min<int32_t>(fit_ctx > 0 ? fit_ctx : cfg.n_ctx_train, static_cast<int32_t>(ids.size()) + n_predict);
  if (static_cast<int32_t>(ids.size()) >= cp.n_ctx) {
    std::fprintf(stderr, "nuri run: prompt has %zu tokens, context is %d\n", ids.size(), cp.n_ctx);
    return 1;
  }
  cp.n_threads = threads;
  cp.reference = reference;
  auto ctx = nuri::model::Context::create(lm->model, cp);
  if (!ctx.ok()) {
    std::fprintf(stderr, "nuri run: %s\n", ctx.error().c_str());
    return 1;
  }
  NURI_LOG_INFO("loaded %s in %.2f s", lm->model->path().c_str(), load_timer.seconds());

  if (!no_echo) {
    for (int32_t id : ids) std::fputs(tok.token_to_piece(id, /*render_special=*/true).c_str(), stdout);
    std::fflush(stdout);
  }
  nuri::sampling::Sampler sampler(cfg.n_vocab, sp);
  for (int32_t id : ids) sampler.accept(id);
  std::unique_ptr<nuri::grammar::Matcher> matcher;
  std::vector<uint32_t> mask;
  if (grammar) {
    nuri::Timer vocab_timer;
    auto gv = nuri::grammar::Vocab::from_tokenizer(tok);
    NURI_LOG_INFO("grammar: token trie of %d tokens in %.3f s", gv->n_vocab(), vocab_timer.seconds());
    mask.assign(std::max(nuri::grammar::mask_words(cfg.n_vocab), nuri::grammar::mask_words(gv->n_vocab())), 0u);
    matcher = std::make_unique<nuri::grammar::Matcher>(grammar, std::move(gv));
  }
  const char* finish = "length";

  std::vector<nuri::model::BatchToken> batch;
  for (size_t i = 0; i < ids.size(); ++i)
    batch.push_back({ids[i], static_cast<int32_t>(i), 0, i + 1 == ids.size()});
  nuri::Timer prefill_timer;
  if (auto st = (*ctx)->decode(batch); !st.is_ok()) {
    std::fprintf(stderr, "nuri run: %s\n", st.message().c_str());
    return 1;
  }
  const double prefill_s = prefill_timer.seconds();
  nuri::tokenizer::StreamDecoder stream(tok, /*render_special=*/false);
  if (!no_echo) stream.mark_continuation();
  nuri::Timer gen_timer;
  int n_gen = 0;
  int32_t pos = static_cast<int32_t>(ids.size());
  while (n_gen < n_predict) {
    const uint32_t* allowed = nullptr;
    if (matcher) {
      if (matcher->fill_mask(mask.data()) == 0) {
        if (!matcher->is_complete()) {
          std::fprintf(stderr, "\nnuri run: the grammar allows no token of this vocabulary here\n");
          return 1;
        }
        finish = "stop";
        break;
      }
      allowed = mask.data();
    }
    const int32_t next = sampler.sample((*ctx)->logits(0), allowed);
    if (matcher && !matcher->accept(next)) {
      std::fprintf(stderr, "\nnuri run: sampled token %d does not fit the grammar\n", next);
      return 1;
    }
    sampler.accept(next);
    if (tok.is_eog(next)) {
      finish = "stop";
      break;
    }
    std::string piece = stream.push(next);
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
    ++n_gen;
    if (matcher && matcher->is_complete() && !matcher->can_continue()) {
      finish = "stop";
      break;
    }
    if (n_gen == n_predict) break;
    if (pos >= cp.n_ctx) {
      std::fprintf(stderr, "\nnuri run: context full (%d tokens)\n", cp.n_ctx);
      break;
    }
    batch.assign(1, {next, pos++, 0, true});
    if (auto st = (*ctx)->decode(batch); !st.is_ok()) {
      std::fprintf(stderr, "\nnuri run: %s\n", st.message().c_str());
      return 1;
    }
  }
  std::string rest = stream.flush();
  std::fwrite(rest.data(), 1, rest.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
  const double gen_s = gen_timer.seconds();
  std::fprintf(stderr, "nuri: prompt %zu tokens in %.3f s (%.1f tok/s), generated %d tokens in %.3f s (%.1f tok/s), %d threads, finish %s\n",
               ids.size(), prefill_s, ids.size() / std::max(prefill_s, 1e-9), n_gen, gen_s,
               n_gen / std::max(gen_s, 1e-9), (*ctx)->n_threads(), finish);
  return 0;
}

}  // namespace

NURI_COMMAND("run", "generate text from a prompt (streams to stdout)", run_run);
