// nuri serve [-m FILE] [--host H] [--port P] [--parallel N] [--ctx N] [--api-key KEY]
// OpenAI-compatible HTTP server with continuous batching. Logs go to stderr; the one line
// "nuri serve: listening on http://HOST:PORT" tells scripts the port (useful with --port 0).
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "base/log.h"
#include "cli_common.h"
#include "command.h"
#include "chat/chat_template.h"
#include "nuri/engine.h"
#include "runtime/loaded_model.h"
#include "server/server.h"

namespace {

int run_serve(int argc, char** argv) {
  CLI::App app{"Serve a model over an OpenAI-compatible HTTP API (chat/completions, completions, models).",
               "nuri serve"};
  std::string model_path, alias;
  nuri::server::ServerOptions so;
  nuri::engine::EngineParams ep;
  bool verbose = false;
  app.add_option("-m,--model", model_path, "GGUF file or Hugging Face directory (default: the built-in nuri-tiny model)");
  app.add_option("--host", so.host, "address to listen on (default 127.0.0.1)");
  app.add_option("--port", so.port, "port (default 8080; 0 = any free port)")->check(CLI::Range(0, 65535));
  app.add_option("--parallel", ep.n_parallel, "sequences decoded at once (slots; default 4)")->check(CLI::Range(1, 256));
  app.add_option("-c,--ctx", ep.n_ctx, "context positions per slot (default: the model's, at most 4096)")->check(CLI::Range(0, 1 << 20));
  app.add_option("--api-key", so.api_key, "require 'Authorization: Bearer KEY' on /v1/* (default: $NURI_API_KEY or none)");
  app.add_option("--queue", ep.max_queue, "requests that may wait for a slot before 503 (default 64)")->check(CLI::Range(0, 1 << 20));
  app.add_option("--batch", ep.n_batch, "most tokens per engine step (default 512)")->check(CLI::Range(1, 1 << 16));
  app.add_option("-t,--threads", ep.n_threads, "forward threads (default: physical cores)")->check(CLI::Range(0, 1024));
  app.add_option("--http-threads", so.http_threads, "HTTP worker threads (default: 2 x parallel + 80)")->check(CLI::Range(0, 4096));
  app.add_option("--alias", alias, "model id to report (default: the file name)");
  app.add_flag("-v,--verbose", verbose, "more logs on stderr");
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
  auto lm = nuri::cli::load_model_or_default("serve", model_path);
  if (!lm) return 1;
  const auto& tok = lm->tokenizer;
  const nuri::chat::ModelChatInfo info = nuri::cli::chat_info(*lm);
  auto tmpl = nuri::chat::template_for_model(info);
  if (!tmpl.ok()) {
    std::fprintf(stderr, "nuri serve: %s: chat template: %s\n", lm->model->path().c_str(), tmpl.error().c_str());
    return 1;
  }
  if (lm->chat_template.empty())
    std::fprintf(stderr, "nuri serve: %s has no chat template; /v1/chat/completions uses ChatML\n", lm->name.c_str());
  auto engine = nuri::engine::Engine::create(lm->model, tok, ep);
  if (!engine.ok()) {
    std::fprintf(stderr, "nuri serve: %s\n", engine.error().c_str());
    return 1;
  }
  so.model_id = alias.empty() ? lm->name : alias;

  nuri::server::Server server(engine->get(), std::move(tmpl).value(), info.bos_token, info.eos_token, so);
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
  std::fprintf(stderr, "nuri serve: %s, %d slots x %d positions, listening on http://%s:%d\n", so.model_id.c_str(),
               (*engine)->n_parallel(), (*engine)->n_ctx(), so.host.c_str(), *port);
  std::fflush(stderr);
  auto st = server.run();
  // Wake the waiter if the server ended on its own.
  ::kill(::getpid(), SIGTERM);
  waiter.join();
  (*engine)->shutdown();
  if (!st.is_ok()) {
    std::fprintf(stderr, "nuri serve: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}

}  // namespace

NURI_COMMAND("serve", "OpenAI-compatible HTTP server with continuous batching", run_serve);
