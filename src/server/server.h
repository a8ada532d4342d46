// server/server.h — OpenAI-compatible HTTP server over the engine (nuri serve).
// Purpose: POST /v1/chat/completions and /v1/completions (JSON or SSE streaming), GET /v1/models,
//   GET /health, GET /metrics (Prometheus text). Each HTTP request becomes one engine request;
//   the engine batches all of them. A client that disconnects mid-stream cancels its request.
// Non-goals: TLS, multiple models, the Responses/Assistants APIs. With `tools`, replies are parsed
//   by the template family's tool-call parser (chat/tool_calls.h) into OpenAI tool_calls.
// Invariants: every error is `{"error": {"message", "type", "param", "code"}}` with a 4xx/5xx
//   status (400 bad request, 401 bad API key, 404 unknown route, 503 queue full); no request
//   body can crash or hang the server; the engine never sees HTTP.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "chat/chat_template.h"
#include "nuri/engine.h"

namespace nuri::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;               // 0: any free port (see bind())
  std::string api_key;           // empty: no authentication
  std::string model_id = "nuri";  // the id /v1/models reports and responses carry
  int http_threads = 0;          // 0: enough for every slot and queued request
  size_t max_body_bytes = 8 << 20;
};

class Server {
 public:
  Server(engine::Engine* engine, chat::ChatTemplate tmpl, std::string bos_token, std::string eos_token,
         ServerOptions opts);
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
