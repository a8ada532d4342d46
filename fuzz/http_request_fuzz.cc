// libFuzzer target for the server's request-body parser (server/api.cc parse_request) on both
// endpoints: any body must parse or give an OpenAI-style error with a message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/api.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  for (auto ep : {nuri::server::Endpoint::kChat, nuri::server::Endpoint::kCompletion}) {
    nuri::server::ApiRequest req;
    nuri::server::ApiError err;
    if (!nuri::server::parse_request(ep, body, &req, &err) && err.message.empty()) __builtin_trap();
  }
  return 0;
}
