// nuri serve [-m MODEL]... [--models-dir DIR] [--host H] [--port P] [--parallel N] [--ctx N|auto]
//            [--max-memory BYTES|auto|off] [--api-key KEY]
// OpenAI-compatible HTTP server with continuous batching, over one model or several (the
// request's `model` picks one; loaded on demand, least recently used unloaded under the memory
// cap). Logs go to stderr; the one line "nuri serve: ... listening on http://HOST:PORT" tells
// scripts the port (useful with --port 0).
#include <dirent.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>

#include "base/log.h"
#include "base/mmap.h"
#include "cli_common.h"
#include "command.h"
#include "cache_type_options.h"
#include "context_policy.h"
#include "chat/chat_template.h"
#include "nuri/engine.h"
#include "runtime/loaded_model.h"
#include "runtime/memory_fit.h"
#include "server/server.h"

namespace {

std::string base_name(const std::string& p) {
  std::string s = p;
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  const auto k = s.find_last_of('/');
  return k == std::string::npos ? s : s.substr(k + 1);
}

// GGUF files and Hugging Face directories (config.json) directly in dir, sorted.
std::vector<std::string> models_in_dir(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.empty() || n[0] == '.') continue;
      const std::string p = dir + "/" + n;
      if ((n.size() > 5 && n.substr(n.size() - 5) == ".gguf" && !nuri::is_directory(p)) ||
          (nuri::is_directory(p) && nuri::path_exists(p + "/config.json")))
        out.push_back(p);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

int run_serve(int argc, char** argv) {
  CLI::App app{"Serve one or more models over an OpenAI-compatible HTTP API (chat/completions, completions, models).",
               "nuri serve"};
  std::vector<std::string> model_args;
  std::string models_dir, alias, ctx_arg, max_memory;
  nuri::server::ServerOptions so;
  nuri::engine::EngineParams ep;
  bool verbose = false;
  app.add_option("-m,--model", model_args,
                 "GGUF file, Hugging Face directory or store name; repeat to serve several (default: the built-in nuri-tiny model)");
  app.add_option("--models-dir", models_dir, "also serve every GGUF file and Hugging Face directory in DIR");
  app.add_option("--host", so.host, "address to listen on (default 127.0.0.1)");
  app.add_option("--port", so.port, "port (default 8080; 0 = any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--parallel", ep.n_parallel, "sequences decoded at once per model (slots; default 4)")->check(CLI::Range(1, 256));
  app.add_option("-c,--ctx", ctx_arg,
                 "context positions per slot, or 'auto': the most that fits in memory (default: the model's, at most 4096)");
  app.add_option("--max-memory", max_memory,
                 "memory cap for the loaded models (8G, 512M): a model that does not fit is refused at start (--ctx auto: "
                 "shrunk); with several models, the least recently used idle one is unloaded (default auto: MemAvailable; off: none)");
  app.add_option("--api-key", so.api_key, "require 'Authorization: Bearer KEY' on /v1/* (default: $NURI_API_KEY or none)");
  app.add_option("--queue", ep.max_queue, "requests that may wait for a slot before 503 (default 64)")->check(CLI::Range(0, 1 << 20));
  app.add_option("--batch", ep.n_batch, "most tokens per engine step (default 512)")->check(CLI::Range(1, 1 << 16));
  app.add_option("-t,--threads", ep.n_threads, "forward threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_option("--http-threads", so.http_threads, "HTTP worker threads (default: 2 x slots + 80)")->check(CLI::Range(0, 4096));
  app.add_option("--alias", alias, "model id to report when serving one model (default: the file name)");
  app.add_flag("-v,--verbose", verbose, "more logs on stderr");
  nuri::cli::ContextPolicyOptions policy;
  policy.add(app);  // shift/truncate keep a chat request's system message (or BOS + --keep)
  nuri::cli::CacheTypeOptions cache_types;
  cache_types.add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  // SIGINT/SIGTERM end the server cleanly (a waiter thread takes them); a closed socket must not
  // kill the process. Blocked before any thread starts, so every thread inherits the mask.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  if (!verbose) nuri::log::set_level(nuri::log::Level::kWarn);
  if (so.api_key.empty())
    if (const char* k = std::getenv("NURI_API_KEY"); k && *k) so.api_key = k;
  int32_t n_ctx = 0;
  if (!nuri::cli::parse_ctx_option("serve", ctx_arg, &n_ctx)) return 1;
  if (!policy.resolve("serve", &so.overflow)) return 1;
  so.keep = policy.keep;
  if (!cache_types.resolve("serve", &ep.cache_type_k, &ep.cache_type_v)) return 1;
  const bool ctx_auto = n_ctx < 0;
  const auto budget = nuri::cli::memory_budget("serve", max_memory);
  if (!budget) return 1;

  // The models: -m values (resolved now, so a typo fails at start), then --models-dir.
  std::vector<std::pair<std::string, std::string>> specs;  // (as given, resolved path)
  if (!models_dir.empty()) {
    if (!nuri::is_directory(models_dir)) {
      std::fprintf(stderr, "nuri serve: --models-dir %s is not a directory\n", models_dir.c_str());
      return 1;
    }
  }
  if (model_args.empty() && models_dir.empty()) model_args.push_back("");
  for (const auto& m : model_args) {
    auto r = nuri::cli::resolve_model_or_default("serve", m);
    if (!r) return 1;
    specs.emplace_back(m.empty() ? *r : m, *r);
  }
  if (!models_dir.empty()) {
    const auto found = models_in_dir(models_dir);
    if (found.empty() && model_args.empty()) {
      std::fprintf(stderr, "nuri serve: no GGUF files or model directories in %s\n", models_dir.c_str());
      return 1;
    }
    for (const auto& p : found) specs.emplace_back(p, p);
  }
  if (!alias.empty() && specs.size() > 1) {
    std::fprintf(stderr, "nuri serve: --alias names a single model; %zu are served\n", specs.size());
    return 1;
  }

  std::vector<nuri::server::ModelEntry> entries;
  std::set<std::string> ids;
  for (const auto& [given, path] : specs) {
    auto facts = nuri::runtime::read_model_facts(path);
    if (!facts.ok()) {
      std::fprintf(stderr, "nuri serve: %s: %s\n", given.c_str(), facts.error().c_str());
      return 1;
    }
    nuri::server::ModelEntry e;
    e.path = path;
    e.id = specs.size() == 1 && !alias.empty() ? alias : base_name(path);
    if (ids.count(e.id)) e.id = given;  // two files of the same name in different places
    if (ids.count(e.id)) continue;      // the same model twice
    ids.insert(e.id);
    std::string stem = base_name(path);
    if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".gguf") stem.resize(stem.size() - 5);
    e.names = {given, path, base_name(path), stem};
    const int32_t train = facts->config.n_ctx_train > 0 ? facts->config.n_ctx_train : 2048;
    nuri::runtime::FitParams fp;
    fp.n_ctx = n_ctx > 0 ? n_ctx : ctx_auto ? train : std::min<int32_t>(train, 4096);
    fp.n_seq = ep.n_parallel;
    fp.n_batch = ep.n_batch;
    fp.n_threads = ep.n_threads;
    fp.paged = true;
    cache_types.set_fit(&fp);
    if (!nuri::cli::check_memory_fit("serve", path, &fp, ctx_auto, max_memory, &*facts)) return 1;
    e.n_ctx = fp.n_ctx;
    e.bytes = nuri::runtime::estimate_memory(*facts, fp).total();
    entries.push_back(std::move(e));
  }

  auto loader = [ep](const nuri::server::ModelEntry& e) -> nuri::Result<std::unique_ptr<nuri::server::ServedModel>> {
    auto lm = nuri::runtime::load_model(e.path);
    if (!lm.ok()) return nuri::Error(lm.error());
    const nuri::chat::ModelChatInfo info = nuri::cli::chat_info(*lm);
    auto tmpl = nuri::chat::template_for_model(info);
    if (!tmpl.ok()) return nuri::Error("chat template: " + tmpl.error());
    if (lm->chat_template.empty()) NURI_LOG_INFO("serve: %s has no chat template; /v1/chat/completions uses ChatML", e.id.c_str());
    nuri::engine::EngineParams p = ep;
    p.n_ctx = e.n_ctx;
    auto engine = nuri::engine::Engine::create(lm->model, lm->tokenizer, p);
    if (!engine.ok()) return nuri::Error(engine.error());
    return std::make_unique<nuri::server::ServedModel>(std::move(engine).value(), std::move(tmpl).value(), info.bos_token,
                                                       info.eos_token);
  };
  nuri::server::ModelPool pool(std::move(entries), loader, *budget);
  // One model: loaded now (errors at start, as before). Several: on demand.
  if (pool.size() == 1) {
    if (auto st = pool.preload(0); !st.is_ok()) {
      std::fprintf(stderr, "nuri serve: %s\n", st.message().c_str());
      return 1;
    }
  }

  nuri::server::Server server(&pool, so);
  auto port = server.bind();
  if (!port.ok()) {
    std::fprintf(stderr, "nuri serve: %s\n", port.error().c_str());
    return 1;
  }
  std::thread waiter([&server, sigs] {
    int sig = 0;
    sigwait(&sigs, &sig);
    if (sig != 0) server.stop();
  });
  std::string what;
  if (pool.size() == 1) {
    const auto st = pool.states()[0];
    what = st.id + ", " + std::to_string(st.n_parallel) + " slots x " + std::to_string(st.n_ctx) + " positions";
  } else {
    what = std::to_string(pool.size()) + " models (";
    for (size_t i = 0; i < pool.size(); ++i) what += (i ? ", " : "") + pool.entry(i).id;
    what += ")";
    if (pool.cap() > 0) what += ", memory cap " + std::to_string(pool.cap() >> 20) + " MiB";
  }
  std::fprintf(stderr, "nuri serve: %s, listening on http://%s:%d\n", what.c_str(), so.host.c_str(), *port);
  std::fflush(stderr);
  auto st = server.run();
  // Wake the waiter if the server ended on its own.
  ::kill(::getpid(), SIGTERM);
  waiter.join();
  if (!st.is_ok()) {
    std::fprintf(stderr, "nuri serve: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

NURI_COMMAND("serve", "OpenAI-compatible HTTP server with continuous batching, one or several models", run_serve);
