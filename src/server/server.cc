// server/server.cc — HTTP routes, authentication, streaming bridge to the engine, metrics.
#include "server/server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>

#include "base/log.h"
#include "chat/tool_calls.h"
#include "server/api.h"
#include "server/conn_watch.h"
#include "server/response.h"
#include "server/structured.h"
#include "server/ttc_ext.h"
#include "tokenizer/tokenizer.h"

namespace nuri::server {

using json = nlohmann::ordered_json;
using namespace std::chrono_literals;

struct Server::Impl {
  ModelPool* pool;
  ServerOptions opts;
  httplib::Server http;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_id{1};
  uint64_t id_salt = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  std::mutex metrics_mu;
  std::map<std::pair<std::string, int>, uint64_t> http_counts;  // (route, status) -> count

  void routes();
  void send_error(httplib::Response& res, const ApiError& e) {
    res.status = e.status;
    res.set_content(error_body(e), "application/json");
  }
  void handle_generate(Endpoint ep, const httplib::Request& req, httplib::Response& res);
  std::string metrics_text();
  std::string new_id(const char* prefix) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%s-%08llx%08llx", prefix, static_cast<unsigned long long>(id_salt & 0xffffffffu),
                  static_cast<unsigned long long>(next_id.fetch_add(1)));
    return buf;
  }
};

Server::Server(ModelPool* pool, ServerOptions opts) : impl_(std::make_unique<Impl>()) {
  impl_->pool = pool;
  impl_->opts = std::move(opts);
  impl_->id_salt = std::random_device{}();
  impl_->routes();
}

Server::~Server() { stop(); }

Result<int> Server::bind() {
  auto& o = impl_->opts;
  int port = o.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(o.host);
    if (port < 0) return Error("cannot listen on " + o.host + " (any port)");
  } else if (!impl_->http.bind_to_port(o.host, port)) {
    return Error("cannot listen on " + o.host + ":" + std::to_string(port) + " (in use, or not an address of this machine)");
  }
  return port;
}

Status Server::run() {
  if (!impl_->http.listen_after_bind() && !impl_->stopping.load()) return Error("the HTTP server stopped unexpectedly");
  return Status::ok();
}

void Server::stop() {
  if (!impl_) return;
  impl_->stopping.store(true);
  impl_->http.stop();
}

void Server::Impl::routes() {
  int slots = 0;
  for (const auto& m : pool->states()) slots += m.loaded ? m.n_parallel : 4;
  const int n_threads = opts.http_threads > 0 ? opts.http_threads : std::min(1024, slots * 2 + 80);
  http.new_task_queue = [n_threads] { return new httplib::ThreadPool(static_cast<size_t>(n_threads)); };
  http.set_payload_max_length(opts.max_body_bytes);
  http.set_keep_alive_timeout(5);
  http.set_read_timeout(30);
  http.set_write_timeout(30);

  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (opts.api_key.empty() || req.path.rfind("/v1/", 0) != 0) return httplib::Server::HandlerResponse::Unhandled;
    const std::string auth = req.get_header_value("Authorization");
    const std::string want = "Bearer " + opts.api_key;
    if (!constant_time_equal(auth, want)) {
      send_error(res, ApiError{401, auth.empty() ? "missing API key: send 'Authorization: Bearer KEY'" : "incorrect API key provided",
                               "invalid_request_error", "", "invalid_api_key"});
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e;
    e.status = res.status;
    if (res.status == 404) {
      e.message = "unknown request URL: " + req.method + " " + req.path;
      e.code = "unknown_url";
    } else if (res.status == 413) {
      e.message = "request body is larger than " + std::to_string(opts.max_body_bytes) + " bytes";
    } else {
      e.message = "HTTP error " + std::to_string(res.status);
      if (res.status >= 500) e.type = "server_error";
    }
    res.set_content(error_body(e), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  http.set_exception_handler([this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      if (ep) std::rethrow_exception(ep);
    } catch (const std::exception& ex) {
      what = std::string("internal error: ") + ex.what();
    } catch (...) {
    }
    NURI_LOG_ERROR("serve: %s", what.c_str());
    send_error(res, ApiError{500, what, "server_error", "", ""});
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    std::string route = req.path;
    if (route != "/v1/chat/completions" && route != "/v1/completions" && route != "/v1/models" && route != "/health" &&
        route != "/metrics")
      route = "other";
    std::lock_guard lk(metrics_mu);
    ++http_counts[{route, res.status}];
  });

  http.Get("/health", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", "application/json");
  });
  http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_text(), "text/plain; version=0.0.4");
  });
  http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    json data = json::array();
    for (const ModelState& st : pool->states()) {
      json meta = {{"loaded", st.loaded}, {"memory_bytes", st.bytes}};
      if (st.loaded) {
        meta["n_ctx"] = st.n_ctx;
        meta["n_vocab"] = st.n_vocab;
        meta["n_parallel"] = st.n_parallel;
      }
      data.push_back({{"id", st.id}, {"object", "model"}, {"created", 0}, {"owned_by", "nuri"}, {"meta", meta}});
    }
    json body = {{"object", "list"}, {"data", data}};
    res.set_content(dump_json(body), "application/json");
  });
  http.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_generate(Endpoint::kChat, req, res);
  });
  http.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_generate(Endpoint::kCompletion, req, res);
  });
}

namespace {

// The generation of one HTTP request, shared by the handler and the streaming provider.
struct Job {
  ModelPool::Lease model;  // pins the model (and its engine) until the response is sent
  ApiRequest req;
  std::shared_ptr<engine::RequestHandle> handle;
  std::unique_ptr<Generation> gen;
};

// Prompt tokens a context shift or truncation keeps: for chat, the tokens of the system message
// (the common prefix of the prompt and the system turn rendered alone); else BOS + keep.
int32_t keep_tokens(ServedModel& sm, const tokenizer::Tokenizer& tok, const ApiRequest& r, const std::vector<int32_t>& ids,
                    bool chat_request, int32_t keep) {
  const bool bos = !ids.empty() && ids[0] == tok.bos_id();
  const int32_t base = keep < 0 ? -1 : keep + (bos ? 1 : 0);
  if (!chat_request || base < 0 || !r.messages.is_array() || r.messages.empty() || !r.messages[0].is_object() ||
      r.messages[0].value("role", "") != "system")
    return base;
  chat::ChatInputs in;
  in.messages = nlohmann::ordered_json::array({r.messages[0]});
  in.add_generation_prompt = false;
  in.bos_token = sm.bos;
  in.eos_token = sm.eos;
  Result<std::string> text = Error("unset");
  {
    std::lock_guard lk(sm.tmpl_mu);
    text = sm.tmpl.apply(in);
  }
  if (!text.ok()) return base;
  const std::vector<int32_t> sys = tok.encode(*text, /*add_special=*/true, /*parse_special=*/true);
  size_t n = 0;
  while (n < sys.size() && n < ids.size() && sys[n] == ids[n]) ++n;
  return std::max(base, static_cast<int32_t>(n));
}

}  // namespace

void Server::Impl::handle_generate(Endpoint ep, const httplib::Request& hreq, httplib::Response& res) {
  auto job = std::make_shared<Job>();
  ApiError err;
  if (!parse_request(ep, hreq.body, &job->req, &err)) return send_error(res, err);
  std::optional<TtcExtension> ttc_ext;  // "nuri": {"strategy": ...} (server/ttc_ext.h)
  if (!parse_ttc_extension(hreq.body, &ttc_ext, &err)) return send_error(res, err);
  ApiRequest& r = job->req;
  // The model: by name (404 with the list when unknown), loaded on demand.
  const int mi = pool->find(r.model);
  if (mi < 0) {
    std::string names;
    for (size_t i = 0; i < pool->size(); ++i) names += (i ? ", " : "") + pool->entry(i).id;
    return send_error(res, ApiError{404, "the model '" + r.model + "' does not exist; this server has: " + names,
                                    "invalid_request_error", "model", "model_not_found"});
  }
  {
    int status = 500;
    auto lease = pool->acquire(static_cast<size_t>(mi), opts.model_wait, &status);
    if (!lease.ok())
      return send_error(res, ApiError{status, lease.error(), status == 500 ? "server_error" : "server_error", "model",
                                      status == 503 ? "model_busy" : status == 507 ? "insufficient_memory" : "model_load_failed"});
    job->model = std::move(lease).value();
  }
  ServedModel& sm = *job->model;
  engine::Engine* engine = sm.engine.get();
  const std::string& model_id = job->model.id();
  const auto& tok = engine->tokenizer();

  // Prompt tokens.
  std::vector<int32_t> ids;
  std::string echo_text;
  if (ep == Endpoint::kChat) {
    chat::ChatInputs in;
    in.messages = r.messages;
    in.tools = r.tool_choice == "none" ? std::nullopt : r.tools;
    if (in.tools && sm.tool_syntax.kind == chat::ToolCallKind::kNone) {
      // The template ignores tools: describe them in the system message (Hermes-style calls).
      in.messages = chat::messages_with_tools_prompt(in.messages, *in.tools);
      in.tools.reset();
    }
    in.add_generation_prompt = true;
    in.bos_token = sm.bos;
    in.eos_token = sm.eos;
    Result<std::string> text = Error("unset");
    {
      std::lock_guard lk(sm.tmpl_mu);
      text = sm.tmpl.apply(in);
    }
    if (!text.ok()) return send_error(res, ApiError{400, "the chat template failed on these messages: " + text.error(),
                                                    "invalid_request_error", "messages", "template_error"});
    ids = tok.encode(*text, /*add_special=*/true, /*parse_special=*/true);
    if (ids.size() >= 2 && ids[0] == tok.bos_id() && ids[1] == tok.bos_id()) ids.erase(ids.begin());
  } else if (r.prompt_is_tokens) {
    ids = r.prompt_tokens;
    for (int32_t t : ids)
      if (t >= engine->n_vocab())
        return send_error(res, ApiError{400, "prompt token id " + std::to_string(t) + " is outside the vocabulary (" +
                                                 std::to_string(engine->n_vocab()) + " tokens)",
                                        "invalid_request_error", "prompt", "invalid_value"});
    if (r.echo) echo_text = tok.decode(ids);
  } else {
    ids = tok.encode(r.prompt, /*add_special=*/true, /*parse_special=*/true);
    if (r.echo) echo_text = r.prompt;
  }
  if (ids.empty()) {
    if (tok.bos_id() >= 0) ids.push_back(tok.bos_id());
    else if (tok.eos_id() >= 0) ids.push_back(tok.eos_id());
    else return send_error(res, ApiError{400, "the prompt is empty", "invalid_request_error", "prompt", "invalid_value"});
  }
  const char* prompt_param = ep == Endpoint::kChat ? "messages" : "prompt";
  const int64_t n_ctx = engine->n_ctx();
  const bool fixed_ctx = opts.overflow == engine::ContextOverflow::kError;
  if (fixed_ctx && static_cast<int64_t>(ids.size()) >= n_ctx)
    return send_error(res, ApiError{400, "this model's maximum context length is " + std::to_string(n_ctx) +
                                             " tokens, but the prompt has " + std::to_string(ids.size()) + " tokens",
                                    "invalid_request_error", prompt_param, "context_length_exceeded"});
  if (fixed_ctx && r.max_tokens > 0 && static_cast<int64_t>(ids.size()) + r.max_tokens > n_ctx)
    return send_error(res, ApiError{400, "this model's maximum context length is " + std::to_string(n_ctx) +
                                             " tokens, but you requested " + std::to_string(ids.size() + r.max_tokens) +
                                             " tokens (" + std::to_string(ids.size()) + " in the prompt, " +
                                             std::to_string(r.max_tokens) + " for the completion)",
                                    "invalid_request_error", "max_tokens", "context_length_exceeded"});
  std::shared_ptr<const grammar::Grammar> grammar;
  if (!build_request_grammar(r, sm.reply_syntax, &grammar, &err)) return send_error(res, err);
  if (ttc_ext) {
    if (grammar)
      return send_error(res, ApiError{400, "the \"nuri\" strategy extension does not combine with 'grammar', a JSON "
                                           "'response_format' or a forced tool_choice",
                                      "invalid_request_error", "nuri", "invalid_value"});
    std::string body;
    if (!run_ttc_request(*engine, ep, r, ids, *ttc_ext, new_id(ep == Endpoint::kChat ? "chatcmpl" : "cmpl"), model_id,
                         &body, &err))
      return send_error(res, err);
    res.set_content(body, "application/json");
    return;
  }
  engine::Request er;
  er.overflow = opts.overflow;
  if (!fixed_ctx) er.n_keep = keep_tokens(sm, tok, r, ids, ep == Endpoint::kChat, opts.keep);
  er.prompt = std::move(ids);
  er.n_choices = r.n;
  er.max_tokens = r.max_tokens;
  er.stop = r.stop;
  er.top_logprobs = r.top_logprobs;
  er.ignore_eos = r.ignore_eos;
  er.continuation = r.echo;
  er.grammar = std::move(grammar);
  sampling::SamplerParams& sp = er.sampling;
  sp.temperature = r.temperature;
  sp.top_k = r.top_k;
  sp.top_p = r.top_p;
  sp.min_p = r.min_p;
  sp.typical_p = 1.0f;
  sp.repeat_penalty = r.repeat_penalty;
  sp.frequency_penalty = r.frequency_penalty;
  sp.presence_penalty = r.presence_penalty;
  sp.logit_bias = r.logit_bias;
  if (r.seed) {
    sp.seed = *r.seed;
  } else {
    std::random_device rd;
    sp.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }
  engine::SubmitResult sr = engine->submit(std::move(er));
  if (sr.code == engine::SubmitCode::kQueueFull)
    return send_error(res, ApiError{503, sr.message, "server_error", "", "server_busy"});
  if (sr.code == engine::SubmitCode::kShutdown)
    return send_error(res, ApiError{503, sr.message, "server_error", "", "shutting_down"});
  if (sr.code != engine::SubmitCode::kOk)
    return send_error(res, ApiError{400, sr.message, "invalid_request_error", "", "invalid_value"});
  job->handle = sr.handle;
  const int32_t n_prompt = sr.handle->n_prompt_tokens();  // after a truncation or shift policy dropped tokens
  job->gen = std::make_unique<Generation>(job->req, tok, new_id(ep == Endpoint::kChat ? "chatcmpl" : "cmpl"),
                                          model_id, n_prompt, echo_text);
  if (ep == Endpoint::kChat && r.tools && r.tool_choice != "none") job->gen->set_tool_parsing(sm.reply_syntax, *r.tools);

  // The client's socket: a client that goes away cancels its request (its slots are free at the
  // engine's next step). Checked every ~10 ms while waiting.
  const int fd = find_connection_fd(hreq.remote_addr, hreq.remote_port, hreq.local_addr, hreq.local_port);
  if (!r.stream) {
    engine::Event ev;
    auto checked = std::chrono::steady_clock::now();
    while (!job->gen->all_done()) {
      if (stopping.load()) job->handle->cancel();
      if (job->handle->next(&ev, 10ms)) job->gen->on_event(ev);
      const auto now = std::chrono::steady_clock::now();
      if (now - checked >= 10ms && !job->handle->cancelled()) {
        checked = now;
        if (peer_closed(fd)) job->handle->cancel();
      }
    }
    std::string message;
    if (job->gen->any_error(&message))
      return send_error(res, ApiError{500, "generation failed: " + message, "server_error", "", ""});
    res.set_content(job->gen->final_body(), "application/json");
    return;
  }

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [this, job, fd](size_t, httplib::DataSink& sink) {
        engine::Event ev;
        while (true) {
          if (stopping.load()) {
            job->handle->cancel();
            return false;
          }
          if (!job->handle->next(&ev, 20ms)) {
            if ((sink.is_writable && !sink.is_writable()) || peer_closed(fd)) {
              job->handle->cancel();
              return false;
            }
            continue;
          }
          // Drain whatever else is ready: one write for several tokens when this thread lags.
          std::string out = job->gen->on_event_sse(ev);
          while (!job->gen->all_done() && job->handle->next(&ev, 0ms)) out += job->gen->on_event_sse(ev);
          const bool done = job->gen->all_done();
          if (done) out += job->gen->final_sse();
          if (!out.empty() && !sink.write(out.data(), out.size())) {
            job->handle->cancel();  // the client went away: free its slots now
            return false;
          }
          if (done) {
            sink.done();
            return true;
          }
        }
      },
      [job](bool) {
        if (!job->handle->finished()) job->handle->cancel();
      });
}

std::string Server::Impl::metrics_text() {
  // Totals over the loaded engines, plus the counters of engines already unloaded.
  const std::vector<ModelState> models = pool->states();
  engine::EngineStats s;
  for (const auto& m : models)
    if (m.loaded) add_stats(s, m.stats);
  const engine::EngineStats r = pool->retired();
  s.requests_submitted += r.requests_submitted;
  s.requests_finished += r.requests_finished;
  s.requests_cancelled += r.requests_cancelled;
  s.requests_rejected += r.requests_rejected;
  s.prompt_tokens += r.prompt_tokens;
  s.prompt_tokens_cached += r.prompt_tokens_cached;
  s.generated_tokens += r.generated_tokens;
  s.steps += r.steps;
  std::string o;
  auto metric = [&](const char* name, const char* type, const char* help, double v) {
    char buf[512];
    std::snprintf(buf, sizeof(buf), "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, v);
    o += buf;
  };
  metric("nuri_requests_total", "counter", "Generation requests accepted by the engine.", s.requests_submitted);
  metric("nuri_requests_finished_total", "counter", "Generation requests finished (including cancelled).", s.requests_finished);
  metric("nuri_requests_cancelled_total", "counter", "Generation requests cancelled (client disconnected).", s.requests_cancelled);
  metric("nuri_requests_rejected_total", "counter", "Generation requests refused by the engine (queue full, invalid).", s.requests_rejected);
  metric("nuri_prompt_tokens_total", "counter", "Prompt tokens of admitted requests (tokens in).", s.prompt_tokens);
  metric("nuri_prompt_tokens_cached_total", "counter", "Prompt tokens reused from the prefix cache.", s.prompt_tokens_cached);
  metric("nuri_completion_tokens_total", "counter", "Generated tokens (tokens out).", s.generated_tokens);
  metric("nuri_engine_steps_total", "counter", "Batched forward passes.", s.steps);
  metric("nuri_queue_length", "gauge", "Requests waiting for a slot.", s.queue_length);
  metric("nuri_requests_active", "gauge", "Requests holding slots.", s.requests_active);
  metric("nuri_slots_total", "gauge", "Sequence slots (--parallel).", s.slots_total);
  metric("nuri_slots_busy", "gauge", "Slots held by requests.", s.slots_busy);
  metric("nuri_kv_cells_busy", "gauge", "KV positions held by busy slots.", static_cast<double>(s.kv_cells_busy));
  metric("nuri_kv_cells_cached", "gauge", "KV positions kept in unmapped blocks for prefix reuse.", static_cast<double>(s.kv_cells_cached));
  metric("nuri_kv_bytes_used", "gauge", "KV cache bytes held by running requests (shared blocks once).", static_cast<double>(s.kv_bytes_used));
  metric("nuri_kv_bytes_total", "gauge", "KV cache pool bytes.", static_cast<double>(s.kv_bytes_total));
  metric("nuri_kv_blocks_used", "gauge", "KV blocks mapped by running requests.", s.kv_blocks_used);
  metric("nuri_kv_blocks_shared", "gauge", "KV blocks mapped by more than one sequence.", s.kv_blocks_shared);
  metric("nuri_kv_blocks_cached", "gauge", "Unmapped KV blocks kept for prefix reuse.", s.kv_blocks_cached);
  metric("nuri_tokens_per_second", "gauge", "Generated tokens per second over the last 10 s.", s.tokens_per_second);
  metric("nuri_uptime_seconds", "gauge", "Seconds since the server started.",
         std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  // Per model: what it holds now (0 when not loaded).
  auto labelled = [&](const char* name, const char* type, const char* help, auto value) {
    o += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    for (const auto& m : models) {
      char buf[512];
      std::snprintf(buf, sizeof(buf), "%s{model=\"%s\"} %.17g\n", name, m.id.c_str(), static_cast<double>(value(m)));
      o += buf;
    }
  };
  labelled("nuri_model_loaded", "gauge", "1 when the model is loaded.", [](const ModelState& m) { return m.loaded ? 1 : 0; });
  labelled("nuri_model_leases", "gauge", "Requests holding the model.", [](const ModelState& m) { return m.leases; });
  labelled("nuri_model_memory_bytes", "gauge", "Memory estimate of the loaded model (weights + KV + compute).",
           [](const ModelState& m) { return m.bytes; });
  labelled("nuri_model_slots_total", "gauge", "Sequence slots of the model's engine.", [](const ModelState& m) { return m.stats.slots_total; });
  labelled("nuri_model_slots_busy", "gauge", "Slots held by requests of the model.", [](const ModelState& m) { return m.stats.slots_busy; });
  labelled("nuri_model_requests_active", "gauge", "Requests of the model holding slots.", [](const ModelState& m) { return m.stats.requests_active; });
  labelled("nuri_model_queue_length", "gauge", "Requests of the model waiting for a slot.", [](const ModelState& m) { return m.stats.queue_length; });
  labelled("nuri_model_kv_cells_busy", "gauge", "KV positions held by the model's busy slots.", [](const ModelState& m) { return m.stats.kv_cells_busy; });
  labelled("nuri_model_kv_blocks_used", "gauge", "KV blocks mapped by the model's running requests.", [](const ModelState& m) { return m.stats.kv_blocks_used; });
  labelled("nuri_model_kv_blocks_total", "gauge", "KV blocks of the model's pool.", [](const ModelState& m) { return m.stats.kv_blocks_total; });
  uint64_t in_use = 0;
  for (const auto& m : models) in_use += m.loaded ? m.bytes : 0;
  metric("nuri_models_loaded_bytes", "gauge", "Memory estimates of the loaded models, summed.", static_cast<double>(in_use));
  metric("nuri_memory_cap_bytes", "gauge", "The memory cap the models are loaded under (0: none).", static_cast<double>(pool->cap()));
  metric("nuri_model_loads_total", "counter", "Model loads.", static_cast<double>(pool->loads()));
  metric("nuri_model_unloads_total", "counter", "Models unloaded to make room for another.", static_cast<double>(pool->unloads()));
  o += "# HELP nuri_http_requests_total HTTP requests by route and status.\n# TYPE nuri_http_requests_total counter\n";
  std::lock_guard lk(metrics_mu);
  for (const auto& [key, n] : http_counts) {
    char buf[256];
    std::snprintf(buf, sizeof(buf), "nuri_http_requests_total{route=\"%s\",code=\"%d\"} %llu\n", key.first.c_str(), key.second,
                  static_cast<unsigned long long>(n));
    o += buf;
  }
  return o;
}

}  // namespace nuri::server
