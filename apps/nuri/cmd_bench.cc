// nuri bench -m FILE [-p 512] [-n 128] [-t THREADS] [-r RUNS] [--parallel N | --depth 0,8192,...] | nuri bench --bandwidth
// Prefill and decode speed through the public API (nuri::Generator, medians of runs), decode as a fraction of the memory-bandwidth limit
// (bytes of weights read per token / measured read bandwidth), peak RSS. With --parallel N: N
// samples of the same prompt through the engine (one prefill, a shared paged KV), aggregate
// decode tokens/s against the single stream, and the KV bytes the N samples hold. With --depth
// D1,D2,...: decode speed after D tokens of context (llama-bench's -d) and the KV bytes there. Human lines on
// stdout, then one JSON line with the same numbers (bench/compare.sh reads it).
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/thread_pool.h"
#include "base/timer.h"
#include "bench_bandwidth.h"
#include "cache_type_options.h"
#include "cli_common.h"
#include "command.h"
#include "kernels/cpu/cpu.h"
#include "kernels/profile.h"
#include "model/context.h"
#include "nuri/engine.h"
#include "nuri/nuri.h"
#include "runtime/api_impl.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

long peak_rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

// Bytes of weights one decode step reads: every matmul weight (experts: the used fraction).
double weight_bytes_per_token(const nuri::model::Model& m) {
  const auto& w = m.weights();
  const auto& c = m.config();
  auto bytes = [](const nuri::kernels::WeightView& v) {
    return v.empty() ? 0.0 : static_cast<double>(v.row_bytes) * static_cast<double>(v.n_out);
  };
  double total = bytes(w.output);
  for (const auto& L : w.layers) {
    total += bytes(L.wq) + bytes(L.wk) + bytes(L.wv) + bytes(L.wo) + bytes(L.w_gate) + bytes(L.w_up) +
             bytes(L.w_down) + bytes(L.gate_inp);
    if (c.n_expert > 0) {
      const double frac = static_cast<double>(c.n_expert_used) / c.n_expert;
      total += frac * (bytes(L.gate_exps) + bytes(L.up_exps) + bytes(L.down_exps));
    }
  }
  return total;
}

int argmax(const float* x, int n) {
  return static_cast<int>(std::max_element(x, x + n) - x);
}

struct ParallelResult {
  double decode_tok_s = 0;  // aggregate over the samples
  nuri::engine::EngineStats stats;
};

// n samples (temperature 0.8, seeds s + i) of one prompt as one engine request: the prompt is
// prefilled once and its KV blocks shared. Decode time runs from the step that gave every sample
// its first token to the last token; the first tokens (from the prompt's logits) are not counted.
nuri::Result<ParallelResult> bench_parallel(const nuri::runtime::LoadedModel& lm, const std::vector<int32_t>& ids,
                                            int n, int n_gen, int threads, int runs) {
  nuri::engine::EngineParams ep;
  ep.n_parallel = n;
  ep.n_ctx = static_cast<int32_t>(ids.size()) + n_gen + 16;
  ep.n_threads = threads;
  ep.prefix_reuse = false;  // every run prefills its prompt
  NURI_ASSIGN_OR_RETURN(auto eng, nuri::engine::Engine::create(lm.model, lm.tokenizer, ep));
  ParallelResult res;
  std::vector<double> tg;
  for (int r = 0; r < runs; ++r) {
    nuri::engine::Request req;
    req.prompt = ids;
    req.n_choices = n;
    req.max_tokens = n_gen;
    req.ignore_eos = true;
    req.sampling.temperature = 0.8f;
    req.sampling.seed = 1234 + r;
    auto sub = eng->submit(std::move(req));
    if (!sub.handle) return nuri::Error(sub.message);
    std::vector<int> got(n, 0);
    int first = 0, done = 0;
    int64_t counted = 0;
    nuri::Timer t;
    double t_first = 0;
    nuri::engine::Event ev;
    while (done < n) {
      if (!sub.handle->next(&ev, std::chrono::milliseconds(1000))) continue;
      if (ev.kind == nuri::engine::Event::Kind::kDone) {
        if (ev.finish == nuri::engine::FinishReason::kError) return nuri::Error(ev.error);
        ++done;
        continue;
      }
      if (got[ev.choice]++ == 0) {
        if (++first == n) t_first = t.seconds();
      } else {
        ++counted;
      }
    }
    const double dt = t.seconds() - t_first;
    if (counted > 0 && dt > 0) tg.push_back(static_cast<double>(counted) / dt);
    std::fprintf(stderr, "parallel run %d: %d samples, decode %.2f tok/s aggregate\n", r, n, tg.empty() ? 0.0 : tg.back());
  }
  res.decode_tok_s = median(tg);
  res.stats = eng->stats();
  return res;
}

// --depth: "0,8192,32768" -> sorted, distinct depths; false (message printed) on a bad list.
bool parse_depths(const std::string& arg, std::vector<int>* out) {
  out->clear();
  size_t i = 0;
  while (i <= arg.size()) {
    const size_t j = std::min(arg.find(',', i), arg.size());
    const std::string item = arg.substr(i, j - i);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > (1 << 24)) {
      std::fprintf(stderr, "nuri bench: --depth takes a list of token counts like 0,8192,32768; got '%s'\n", arg.c_str());
      return false;
    }
    out->push_back(static_cast<int>(v));
    i = j + 1;
  }
  std::sort(out->begin(), out->end());
  out->erase(std::unique(out->begin(), out->end()), out->end());
  return true;
}

struct DepthResult {
  int depth = 0;
  double decode_tok_s = 0;  // median of the runs
  double kv_bytes = 0;      // K and V of depth positions
};

// llama-bench's -d: for each depth (ascending), the context is filled to `depth` tokens (untimed,
// in chunks of 512; each depth extends the previous one's prefill), then n_gen tokens are decoded
// one at a time and timed; the decoded positions are dropped again before the next run.
nuri::Result<std::vector<DepthResult>> bench_depths(const nuri::runtime::LoadedModel& lm, const std::vector<int32_t>& pattern,
                                                    const std::vector<int>& depths, int n_gen, int threads, int runs,
                                                    nuri::model::ContextParams cp) {
  const auto& cfg = lm.model->config();
  cp.n_ctx = depths.back() + n_gen + 16;
  cp.n_batch = 512;
  cp.n_threads = threads;
  NURI_ASSIGN_OR_RETURN(auto session, nuri::runtime::Session::create(lm.model, cp));
  auto& c = *session;
  const double kv_per_position = static_cast<double>(c.kv_bytes()) / cp.n_ctx;
  std::vector<DepthResult> out;
  std::vector<nuri::model::BatchToken> batch;
  batch.reserve(512);
  int filled = 0;
  int32_t next = pattern[0];
  for (int d : depths) {
    nuri::Timer tf;
    c.seq_truncate(0, filled);
    while (filled < d) {
      const int m = std::min(512, d - filled);
      batch.clear();
      for (int i = 0; i < m; ++i) {
        const int pos = filled + i;
        batch.push_back({pattern[pos % pattern.size()], pos, 0, pos + 1 == d});
      }
      if (auto st = c.decode(batch); !st.is_ok()) return nuri::Error(st.message());
      filled += m;
    }
    if (d > 0) next = argmax(c.logits(0), cfg.n_vocab);
    std::fprintf(stderr, "depth %d: context filled in %.1f s\n", d, tf.seconds());
    std::vector<double> tg;
    for (int r = 0; r < runs && n_gen > 0; ++r) {
      c.seq_truncate(0, d);
      int32_t tok = next;
      nuri::Timer t;
      for (int i = 0; i < n_gen; ++i) {
        batch.assign(1, {tok, d + i, 0, true});
        if (auto st = c.decode(batch); !st.is_ok()) return nuri::Error(st.message());
        tok = argmax(c.logits(0), cfg.n_vocab);
      }
      tg.push_back(n_gen / t.seconds());
      std::fprintf(stderr, "depth %d run %d: decode %.2f tok/s\n", d, r, tg.back());
    }
    c.seq_truncate(0, d);
    out.push_back({d, median(tg), kv_per_position * d});
  }
  return out;
}

// --profile: prefill then decode on a runtime::Session whose backend times every op
// (kernels/profile.h); the rest of each forward (residual adds, activation glue, KV views) is
// "graph"; sampling is the greedy argmax over the vocabulary.
bool bench_profile(const nuri::runtime::LoadedModel& lm, const std::vector<int32_t>& ids, int n_gen, int threads) {
  nuri::kernels::OpProfile prof;
  nuri::model::ContextParams cp;
  const int32_t P = static_cast<int32_t>(ids.size());
  cp.n_ctx = P + n_gen + 16;
  cp.n_batch = std::max<int32_t>(P, 1);
  cp.n_threads = threads;
  cp.profile = &prof;
  auto session = nuri::runtime::Session::create(lm.model, cp);
  if (!session.ok()) {
    std::fprintf(stderr, "nuri bench: %s\n", session.error().c_str());
    return false;
  }
  auto& c = **session;
  const int32_t V = lm.model->config().n_vocab;
  auto report = [&](const char* phase, int64_t tokens, double forward_s, double sample_s) {
    const double ops = prof.total_seconds(), total = forward_s + sample_s;
    std::printf("%s: %lld tokens, %.2f ms per token (%.1f tok/s)\n", phase, static_cast<long long>(tokens),
                1e3 * total / tokens, tokens / total);
    std::printf("  %-10s %8s %12s %8s %12s\n", "op", "calls", "us/token", "share", "of it sync");
    double sync = 0;
    for (int o = 0; o < static_cast<int>(nuri::kernels::Op::kCount); ++o) {
      const auto& e = prof.ops[o];
      if (e.calls == 0) continue;
      sync += e.sync_seconds;
      std::printf("  %-10s %8lld %12.1f %7.1f%% %11.1f%%\n", nuri::kernels::op_name(static_cast<nuri::kernels::Op>(o)),
                  static_cast<long long>(e.calls), 1e6 * e.seconds / tokens, 100 * e.seconds / total,
                  e.seconds > 0 ? 100 * e.sync_seconds / e.seconds : 0.0);
    }
    std::printf("  %-10s %8s %12.1f %7.1f%%\n", "graph", "", 1e6 * (forward_s - ops) / tokens, 100 * (forward_s - ops) / total);
    std::printf("  %-10s %8s %12.1f %7.1f%%\n", "sampling", "", 1e6 * sample_s / tokens, 100 * sample_s / total);
    std::printf("  thread sync (caller waiting for the other threads, inside the ops): %.1f us/token, %.1f%%\n",
                1e6 * sync / tokens, 100 * sync / total);
  };
  std::vector<nuri::model::BatchToken> batch;
  for (int32_t i = 0; i < P; ++i) batch.push_back({ids[i], i, 0, i + 1 == P});
  nuri::Timer t0;
  if (auto st = c.decode(batch); !st.is_ok()) {
    std::fprintf(stderr, "nuri bench: %s\n", st.message().c_str());
    return false;
  }
  const double pf = t0.seconds();
  nuri::Timer ts;
  int32_t next = argmax(c.logits(0), V);
  report("prefill", P, pf, ts.seconds());
  prof.clear();
  double fwd = 0, smp = 0;
  for (int i = 0; i < n_gen; ++i) {
    batch.assign(1, {next, P + i, 0, true});
    nuri::Timer tf;
    if (auto st = c.decode(batch); !st.is_ok()) {
      std::fprintf(stderr, "nuri bench: %s\n", st.message().c_str());
      return false;
    }
    fwd += tf.seconds();
    nuri::Timer tsm;
    next = argmax(c.logits(0), V);
    smp += tsm.seconds();
  }
  if (n_gen > 0) report("decode", n_gen, fwd, smp);
  return true;
}

int run_bench(int argc, char** argv) {
  CLI::App app{"Measure prefill and decode speed, and memory read bandwidth.", "nuri bench"};
  std::string model_path;
  int n_prompt = 512, n_gen = 128, threads = 0, runs = 3, parallel = 1;
  bool bandwidth_only = false, no_bandwidth = false;
  std::string depth_arg;
  app.add_option("-m,--model", model_path, "GGUF file, Hugging Face directory or store name");
  app.add_option("-p,--prompt-tokens", n_prompt, "prompt tokens to prefill (default 512)")->check(CLI::Range(1, 1 << 16));
  app.add_option("-n,--gen-tokens", n_gen, "tokens to decode (default 128)")->check(CLI::Range(0, 1 << 16));
  app.add_option("-t,--threads", threads, "threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_option("-r,--runs", runs, "runs; medians are reported (default 3)")->check(CLI::Range(1, 1000));
  app.add_option("--parallel", parallel, "also decode N samples of the prompt at once through the engine (default 1: off)")
      ->check(CLI::Range(1, 256));
  app.add_option("--depth", depth_arg,
                 "decode speed after N tokens of context, for each N of a list (0,8192,32768): the context is filled "
                 "untimed, then -n tokens are decoded (llama-bench's -d); reports tok/s and KV bytes per depth");
  app.add_flag("--bandwidth", bandwidth_only, "only measure memory read bandwidth");
  nuri::cli::CacheTypeOptions cache_types;
  cache_types.add(app);
  app.add_flag("--no-bandwidth", no_bandwidth, "skip the bandwidth measurement");
  bool profile = false;
  app.add_flag("--profile", profile, "time every op of the forward pass (matmul, attention, norms, RoPE, ...), the threads' sync and sampling, for prefill and decode");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (threads <= 0) threads = nuri::ThreadPool::default_threads();
  const char* target = nuri::kernels::cpu::target_name(nuri::kernels::cpu::active_target());
  if (bandwidth_only) {
    const nuri::cli::Bandwidth bw = nuri::cli::measure_read_bandwidth(threads);
    std::printf("memory read bandwidth: best %.1f GB/s, median %.1f GB/s (%zu runs over %.1f GiB, %d threads, %s loads)\n",
                bw.best_gb_s, bw.median_gb_s, bw.runs_gb_s.size(), bw.buffer_gib, threads, bw.loads);
    std::printf("{\"engine\":\"nuri\",\"threads\":%d,\"bandwidth_gb_s\":%.2f,\"bandwidth_median_gb_s\":%.2f,\"runs\":[",
                threads, bw.best_gb_s, bw.median_gb_s);
    for (size_t i = 0; i < bw.runs_gb_s.size(); ++i) std::printf("%s%.2f", i ? "," : "", bw.runs_gb_s[i]);
    std::printf("]}\n");
    return 0;
  }
  if (model_path.empty()) {
    std::fprintf(stderr, "nuri bench: give a model (-m FILE) or --bandwidth\n");
    return 1;
  }
  nuri::model::ContextParams kv_types;  // --cache-type-k/-v for the Session path (--depth)
  if (!nuri::kernels::parse_kv_type(cache_types.k.c_str(), &kv_types.k_type) ||
      !nuri::kernels::parse_kv_type(cache_types.v.c_str(), &kv_types.v_type)) {
    std::fprintf(stderr, "nuri bench: --cache-type-k/-v must be f16, q8_0 or q4_0\n");
    return 1;
  }
  auto loaded = nuri::load(model_path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "nuri bench: %s\n", loaded.error().c_str());
    return 1;
  }
  const std::shared_ptr<const nuri::Model> model = *loaded;
  const nuri::runtime::LoadedModel* lm = &model->impl().lm;
  // The anchor's prompt: a repeated sentence, cut to n_prompt tokens.
  std::string text;
  for (int i = 0; i < 400; ++i) text += "The quick brown fox jumps over the lazy dog. ";
  std::vector<int32_t> ids = lm->tokenizer.encode(text, /*add_special=*/true, /*parse_special=*/false);
  while (static_cast<int>(ids.size()) < n_prompt) ids.push_back(ids.empty() ? 0 : ids.back());
  ids.resize(n_prompt);

  if (profile) return bench_profile(*lm, ids, n_gen, threads) ? 0 : 1;
  if (!depth_arg.empty()) {
    std::vector<int> depths;
    if (!parse_depths(depth_arg, &depths)) return 1;
    if (parallel > 1) {
      std::fprintf(stderr, "nuri bench: --depth and --parallel measure different things; give one\n");
      return 1;
    }
    auto res = bench_depths(*lm, ids, depths, n_gen, threads, runs, kv_types);
    if (!res.ok()) {
      std::fprintf(stderr, "nuri bench: --depth: %s\n", res.error().c_str());
      return 1;
    }
    const double tg0 = res->front().decode_tok_s;
    std::printf("model: %s\n", lm->name.c_str());
    std::printf("threads: %d, kernels: %s, KV cache K %s V %s\n", threads, target, cache_types.k.c_str(), cache_types.v.c_str());
    for (const auto& r : *res)
      std::printf("decode %d tokens at depth %d: %.2f tok/s (median of %d)%s, KV %.2f MiB\n", n_gen, r.depth,
                  r.decode_tok_s, runs,
                  res->front().depth == 0 && r.depth > 0 && tg0 > 0
                      ? (" = " + std::to_string(static_cast<int>(100 * r.decode_tok_s / tg0 + 0.5)) + " % of depth 0").c_str()
                      : "",
                  r.kv_bytes / 1048576.0);
    std::printf("peak RSS: %.0f MiB\n", peak_rss_kib() / 1024.0);
    std::printf("{\"engine\":\"nuri\",\"model\":\"%s\",\"threads\":%d,\"kernels\":\"%s\",\"cache_type_k\":\"%s\","
                "\"cache_type_v\":\"%s\",\"gen_tokens\":%d,\"depths\":[",
                model_path.c_str(), threads, target, cache_types.k.c_str(), cache_types.v.c_str(), n_gen);
    for (size_t i = 0; i < res->size(); ++i)
      std::printf("%s{\"depth\":%d,\"decode_tok_s_median\":%.2f,\"kv_bytes\":%.0f}", i ? "," : "", (*res)[i].depth,
                  (*res)[i].decode_tok_s, (*res)[i].kv_bytes);
    std::printf("]}\n");
    return 0;
  }

  // Prefill and decode through the public API, as a program using nuri would: one Generator,
  // greedy, past end-of-generation tokens, the prompt recomputed every run (no prefix reuse).
  nuri::GeneratorOptions go;
  go.n_ctx = n_prompt + n_gen + 16;
  go.n_threads = threads;
  go.prefix_reuse = false;
  if (!cache_types.resolve("bench", &go.cache_type_k, &go.cache_type_v)) return 1;
  auto gen = nuri::Generator::create(model, go);
  if (!gen.ok()) {
    std::fprintf(stderr, "nuri bench: %s\n", gen.error().c_str());
    return 1;
  }
  nuri::GenerateOptions gopt;
  gopt.max_tokens = n_gen + 1;  // the first token ends the prefill; n_gen decode steps follow
  gopt.sampling.temperature = 0;
  gopt.ignore_eos = true;
  std::vector<double> pp, tg;
  for (int r = 0; r < runs; ++r) {
    auto g = (*gen)->generate(ids, gopt);
    if (!g.ok()) {
      std::fprintf(stderr, "nuri bench: %s\n", g.error().c_str());
      return 1;
    }
    pp.push_back(n_prompt / std::max(g->prefill_seconds, 1e-9));
    if (n_gen > 0) tg.push_back((static_cast<double>(g->tokens.size()) - 1) / std::max(g->decode_seconds, 1e-9));
    std::fprintf(stderr, "run %d: prefill %.2f tok/s, decode %.2f tok/s\n", r, pp.back(), tg.empty() ? 0.0 : tg.back());
  }
  const int64_t kv_bytes = (*gen)->engine().stats().kv_bytes_total;
  const double pp_med = median(pp), tg_med = median(tg);
  ParallelResult par;
  if (parallel > 1) {
    auto pr = bench_parallel(*lm, ids, parallel, n_gen, threads, runs);
    if (!pr.ok()) {
      std::fprintf(stderr, "nuri bench: --parallel: %s\n", pr.error().c_str());
      return 1;
    }
    par = std::move(pr).value();
  }
  const double wbytes = weight_bytes_per_token(*lm->model);
  const double rss_mib = peak_rss_kib() / 1024.0;  // before the bandwidth buffer
  const double bw = no_bandwidth ? 0.0 : nuri::cli::measure_read_bandwidth(threads).best_gb_s;
  const double limit = bw > 0 ? bw * 1e9 / wbytes : 0.0;  // tok/s if decode only streamed weights
  const double frac = limit > 0 ? tg_med / limit : 0.0;
  std::printf("model: %s (%.0f MiB of weights read per token)\n", lm->name.c_str(), wbytes / (1 << 20));
  std::printf("threads: %d, kernels: %s\n", threads, target);
  std::printf("prefill %d tokens: %.2f tok/s (median of %d)\n", n_prompt, pp_med, runs);
  std::printf("decode %d tokens: %.2f tok/s (median of %d)\n", n_gen, tg_med, runs);
  if (bw > 0)
    std::printf("memory read bandwidth: %.1f GB/s -> decode limit %.1f tok/s; decode at %.1f %% of it\n", bw, limit,
                100 * frac);
  std::printf("peak RSS: %.0f MiB (KV cache %.0f MiB)\n", rss_mib, kv_bytes / 1048576.0);
  const auto& ps = par.stats;
  if (parallel > 1) {
    std::printf("parallel %d samples: decode %.2f tok/s aggregate (median of %d), %.2fx the single stream\n", parallel,
                par.decode_tok_s, runs, tg_med > 0 ? par.decode_tok_s / tg_med : 0.0);
    const double block_mib = ps.kv_blocks_total > 0 ? static_cast<double>(ps.kv_bytes_total) / ps.kv_blocks_total / 1048576.0 : 0;
    std::printf("KV in use: %.2f MiB at peak for %d samples of %d+%d tokens (%d-position blocks of %.3f MiB; "
                "one sample alone: %.2f MiB)\n",
                ps.kv_bytes_peak / 1048576.0, parallel, n_prompt, n_gen, ps.kv_block_size, block_mib,
                block_mib * ((n_prompt + n_gen + ps.kv_block_size - 1) / std::max(1, ps.kv_block_size)));
  }
  std::printf(
      "{\"engine\":\"nuri\",\"model\":\"%s\",\"threads\":%d,\"kernels\":\"%s\",\"prefill_tok_s_median\":%.2f,"
      "\"decode_tok_s_median\":%.2f,\"bandwidth_gb_s\":%.2f,\"decode_bw_fraction\":%.4f,\"weight_mib_per_token\":%.1f,"
      "\"peak_rss_mib\":%.1f",
      model_path.c_str(), threads, target, pp_med, tg_med, bw, frac, wbytes / (1 << 20), rss_mib);
  if (parallel > 1)
    std::printf(",\"parallel\":%d,\"parallel_decode_tok_s_median\":%.2f,\"kv_bytes_peak\":%lld", parallel,
                par.decode_tok_s, static_cast<long long>(ps.kv_bytes_peak));
  std::printf("}\n");
  return 0;
}

}  // namespace

NURI_COMMAND("bench", "prefill/decode speed, memory bandwidth, peak RSS", run_bench);
