// server/server.h — OpenAI-compatible HTTP server over the engine (nuri serve).
// Purpose: POST /v1/chat/completions and /v1/completions (JSON or SSE streaming), GET /v1/models,
//   GET /health, GET /metrics (Prometheus text). Each HTTP request becomes one engine request of
//   the model its `model` field names (server/model_pool.h: loaded on demand, idle ones unloaded
//   under a memory cap); each model's engine batches its requests. A client that disconnects
//   (mid-stream, or while waiting for a non-streaming reply) cancels its request. `n` above the
//   engine's slots queues the extra choices. /metrics has totals and per-model gauges.
// Non-goals: TLS, the Responses/Assistants APIs. With `tools`, replies are parsed
//   by the template family's tool-call parser (chat/tool_calls.h) into OpenAI tool_calls.
// Invariants: every error is `{"error": {"message", "type", "param", "code"}}` with a 4xx/5xx
//   status (400 bad request, 401 bad API key, 404 unknown route or model, 503 queue full or no
//   memory for the model, 507 model larger than the cap); no request
//   body can crash or hang the server; the engine never sees HTTP.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "nuri/engine.h"
#include "server/model_pool.h"

namespace nuri::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;               // 0: any free port (see bind())
  std::string api_key;           // empty: no authentication
  std::chrono::milliseconds model_wait{120000};  // how long a request waits for memory for its model
  int http_threads = 0;          // 0: enough for every slot and queued request
  size_t max_body_bytes = 8 << 20;
  // Requests whose tokens do not fit the context: 400 with the counts (kError), or the engine's
  // shift / truncate policy keeping the system message's tokens (chat) or BOS + keep.
  engine::ContextOverflow overflow = engine::ContextOverflow::kError;
  int32_t keep = 0;
};

class Server {
 public:
  // `pool` outlives the server.
  Server(ModelPool* pool, ServerOptions opts);
  ~Server();
  // Binds the listening socket; returns the port (the chosen one when opts.port == 0).
  Result<int> bind();
  // Serves until stop() (from another thread or a signal handler thread).
  Status run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace nuri::server
