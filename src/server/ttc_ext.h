// server/ttc_ext.h — the `"nuri"` request extension: test-time compute strategies on the server.
// Purpose: `/v1/chat/completions` and `/v1/completions` accept
//   "nuri": {"strategy": "self_consistency" | "best_of_n" | "beam" | "greedy", "samples": 16,
//            "adaptive": true, "stop_rule": "beta", "threshold": 0.95, "extract": "answer",
//            "max_total_tokens": N, "max_time": S, "beam_width": 4, "expand": 4}
//   (the official clients send it with `extra_body`). The response's single choice is the chosen
//   candidate (the voted answer's most likely text) and a `nuri` object reports the answer, the
//   votes, samples used, tokens and time. Without the field nothing changes.
// Non-goals: streaming a strategy (refused with 400), per-request verifier code.
// Invariants: a malformed extension is a 400 naming `nuri.<field>`; never throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "nuri/engine.h"
#include "server/api.h"
#include "ttc/strategy.h"

namespace nuri::server {

struct TtcExtension {
  ttc::StrategyParams params;
  std::string extract = "answer";  // answer | number | boxed | python | text
};

// nullopt when the body has no "nuri" object; false + *err on a bad one.
bool parse_ttc_extension(std::string_view body, std::optional<TtcExtension>* out, ApiError* err);

// Runs the strategy and returns the response body, or an error.
bool run_ttc_request(engine::Engine& engine, Endpoint ep, const ApiRequest& req, const std::vector<int32_t>& prompt,
                     const TtcExtension& ext, const std::string& id, const std::string& model_id, std::string* body,
                     ApiError* err);

}  // namespace nuri::server
