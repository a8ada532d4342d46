// nuri perplexity -m FILE -f TEXT [-c 512] [--chunks N] [-t THREADS] [--json]
// Perplexity over a text file, computed as llama.cpp's `llama-perplexity` does: the whole text is
// tokenized (BOS added as the vocabulary says), cut into chunks of n_ctx tokens (a trailing
// partial chunk is dropped), each chunk evaluated from an empty context with its first token
// replaced by BOS (when the vocabulary adds one), and only the second half scored: the logits at
// positions n_ctx/2 .. n_ctx-2 predict the next token. PPL = exp(mean NLL); the running estimate
// after each chunk is printed as "[1]x,[2]y,...", then "Final estimate: PPL = p +/- e" with e the
// standard error of the mean NLL times p.
#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/mmap.h"
#include "base/timer.h"
#include "cache_type_options.h"
#include "cli_common.h"
#include "command.h"
#include "model/context.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace {

// -log softmax(logits)[target], in double.
double token_nll(const float* logits, int32_t n_vocab, int32_t target) {
  float mx = logits[0];
  for (int32_t i = 1; i < n_vocab; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
  return -(static_cast<double>(logits[target]) - mx - std::log(sum));
}

int run_perplexity(int argc, char** argv) {
  CLI::App app{"Perplexity of a model over a text file, chunked as llama.cpp's llama-perplexity.", "nuri perplexity"};
  std::string model_path, text_file;
  int32_t n_ctx = 512, n_batch = 512;
  int threads = 0, max_chunks = -1;
  bool json = false, verbose = false;
  app.add_option("-m,--model", model_path, "GGUF file, Hugging Face directory or store name (default: the built-in nuri-tiny model)");
  app.add_option("-f,--file", text_file, "text file to score")->required();
  app.add_option("-c,--ctx", n_ctx, "tokens per chunk (default 512); the second half of each is scored")
      ->check(CLI::Range(8, 1 << 20));
  app.add_option("-b,--batch", n_batch, "tokens per forward pass (default 512)")->check(CLI::Range(1, 1 << 16));
  app.add_option("--chunks", max_chunks, "score at most this many chunks (default: all)")->check(CLI::Range(1, 1 << 30));
  app.add_option("-t,--threads", threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_flag("--json", json, "also print one JSON line with the numbers");
  nuri::cli::CacheTypeOptions cache_types;
  cache_types.add(app);
  app.add_flag("-v,--verbose", verbose, "more logs on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (!verbose) nuri::log::set_level(nuri::log::Level::kWarn);
  auto text = nuri::read_file(text_file);
  if (!text.ok()) {
    std::fprintf(stderr, "nuri perplexity: %s\n", text.error().c_str());
    return 1;
  }
  auto lm = nuri::cli::load_model_or_default("perplexity", model_path);
  if (!lm) return 1;
  const auto& tok = lm->tokenizer;
  const int32_t n_vocab = lm->model->config().n_vocab;
  std::vector<int32_t> tokens = tok.encode(*text, /*add_special=*/true, /*parse_special=*/false);
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * static_cast<int64_t>(n_ctx)) {
    std::fprintf(stderr, "nuri perplexity: %s has %lld tokens; a context of %d needs at least %d (two chunks' worth, as llama.cpp)\n",
                 text_file.c_str(), static_cast<long long>(n_tokens), n_ctx, 2 * n_ctx);
    return 1;
  }
  int64_t n_chunk = n_tokens / n_ctx;
  if (max_chunks > 0) n_chunk = std::min<int64_t>(n_chunk, max_chunks);
  const bool add_bos = tok.add_bos() && tok.bos_id() >= 0;
  const int32_t first = n_ctx / 2;

  nuri::model::ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.n_batch = std::min(n_batch, n_ctx);
  cp.n_threads = threads;
  if (!nuri::kernels::parse_kv_type(cache_types.k.c_str(), &cp.k_type) ||
      !nuri::kernels::parse_kv_type(cache_types.v.c_str(), &cp.v_type)) {
    std::fprintf(stderr, "nuri perplexity: --cache-type-k/-v must be f16, q8_0 or q4_0\n");
    return 1;
  }
  auto session = nuri::runtime::Session::create(lm->model, cp);
  if (!session.ok()) {
    std::fprintf(stderr, "nuri perplexity: %s\n", session.error().c_str());
    return 1;
  }
  auto& s = **session;
  std::fprintf(stderr, "nuri perplexity: %lld tokens, %lld chunks of %d, scoring positions %d..%d of each, %d threads, "
               "KV cache K %s V %s\n", static_cast<long long>(n_tokens), static_cast<long long>(n_chunk), n_ctx, first,
               n_ctx - 2, s.n_threads(), cache_types.k.c_str(), cache_types.v.c_str());
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  std::vector<nuri::model::BatchToken> batch;
  batch.reserve(cp.n_batch);
  std::vector<double> running;
  nuri::Timer total;
  for (int64_t c = 0; c < n_chunk; ++c) {
    const int64_t start = c * n_ctx;
    s.seq_clear(0);
    nuri::Timer tc;
    for (int32_t b = 0; b < n_ctx; b += cp.n_batch) {
      const int32_t m = std::min(cp.n_batch, n_ctx - b);
      batch.clear();
      for (int32_t i = 0; i < m; ++i) {
        const int32_t pos = b + i;
        int32_t t = tokens[start + pos];
        if (pos == 0 && add_bos) t = tok.bos_id();
        batch.push_back({t, pos, 0, pos >= first && pos + 1 < n_ctx});
      }
      if (auto st = s.decode(batch); !st.is_ok()) {
        std::fprintf(stderr, "nuri perplexity: %s\n", st.message().c_str());
        return 1;
      }
      int32_t out = 0;
      for (int32_t i = 0; i < m; ++i) {
        if (!batch[i].logits) continue;
        const double v = token_nll(s.logits(out++), n_vocab, tokens[start + batch[i].pos + 1]);
        nll += v;
        nll2 += v * v;
        ++count;
      }
    }
    running.push_back(std::exp(nll / count));
    std::printf("[%lld]%.4f,", static_cast<long long>(c + 1), running.back());
    std::fflush(stdout);
    if (c == 0) std::fprintf(stderr, "nuri perplexity: %.2f s per chunk\n", tc.seconds());
  }
  std::printf("\n");
  const double mean = nll / count;
  const double ppl = std::exp(mean);
  double var = nll2 / count - mean * mean;
  const double err = var > 0 && count > 1 ? std::sqrt(var / (count - 1)) * ppl : 0.0;
  std::printf("Final estimate: PPL = %.4f +/- %.5f\n", ppl, err);
  std::fprintf(stderr, "nuri perplexity: %lld tokens scored in %.1f s\n", static_cast<long long>(count), total.seconds());
  if (json) {
    std::printf("{\"model\":\"%s\",\"file\":\"%s\",\"n_ctx\":%d,\"chunks\":%lld,\"tokens_scored\":%lld,\"ppl\":%.6f,"
                "\"ppl_stderr\":%.6f,\"mean_nll\":%.8f}\n",
                lm->name.c_str(), text_file.c_str(), n_ctx, static_cast<long long>(n_chunk), static_cast<long long>(count),
                ppl, err, mean);
  }
  return 0;
}

}  // namespace

NURI_COMMAND("perplexity", "perplexity over a text file, chunked as llama.cpp's llama-perplexity", run_perplexity);
