// server/ttc_ext.cc — the "nuri" strategy extension (see ttc_ext.h).
#include "server/ttc_ext.h"

#include <ctime>
#include <random>

#include "server/response.h"
#include "ttc/extract.h"

namespace nuri::server {

using json = nlohmann::ordered_json;

bool parse_ttc_extension(std::string_view body, std::optional<TtcExtension>* out, ApiError* err) {
  out->reset();
  json j;
  std::string msg;
  if (!parse_json(body, &j, &msg) || !j.is_object() || !j.contains("nuri")) return true;  // parse_request reports bad JSON
  const json& n = j["nuri"];
  auto bad = [&](const std::string& field, const std::string& m) {
    *err = ApiError{400, "nuri." + field + ": " + m, "invalid_request_error", "nuri." + field, "invalid_value"};
    return false;
  };
  if (n.is_null()) return true;
  if (!n.is_object()) return bad("", "must be an object");
  TtcExtension e;
  e.params.kind = ttc::StrategyKind::kSelfConsistency;
  e.params.budget.max_samples = 8;
  for (const auto& [k, v] : n.items()) {
    if (k == "strategy") {
      if (!v.is_string()) return bad(k, "must be a string");
      auto s = ttc::parse_strategy(v.get<std::string>());
      if (!s) return bad(k, "unknown strategy '" + v.get<std::string>() + "' (greedy, self_consistency, best_of_n, beam)");
      e.params.kind = *s;
    } else if (k == "samples") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 256) return bad(k, "must be an integer in [1, 256]");
      e.params.budget.max_samples = v.get<int32_t>();
    } else if (k == "adaptive") {
      if (!v.is_boolean()) return bad(k, "must be a boolean");
      e.params.adaptive = v.get<bool>();
    } else if (k == "stop_rule") {
      auto r = v.is_string() ? ttc::parse_stop_rule(v.get<std::string>()) : std::nullopt;
      if (!r) return bad(k, "must be leader, beta or dirichlet");
      e.params.stop_rule = *r;
    } else if (k == "threshold") {
      if (!v.is_number() || v.get<double>() < 0.5 || v.get<double>() > 1.0) return bad(k, "must be a number in [0.5, 1]");
      e.params.threshold = v.get<double>();
    } else if (k == "extract") {
      const std::string s = v.is_string() ? v.get<std::string>() : "";
      if (s != "answer" && s != "number" && s != "boxed" && s != "python" && s != "text")
        return bad(k, "must be answer, number, boxed, python or text");
      e.extract = s;
    } else if (k == "max_total_tokens") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1) return bad(k, "must be a positive integer");
      e.params.budget.max_tokens = v.get<int64_t>();
    } else if (k == "max_time") {
      if (!v.is_number() || v.get<double>() <= 0 || v.get<double>() > 3600) return bad(k, "must be seconds in (0, 3600]");
      e.params.budget.max_wall_s = v.get<double>();
    } else if (k == "beam_width" || k == "expand" || k == "batch") {
      if (!v.is_number_integer() || v.get<int64_t>() < 1 || v.get<int64_t>() > 256) return bad(k, "must be an integer in [1, 256]");
      (k == "beam_width" ? e.params.beam_width : k == "expand" ? e.params.expand : e.params.batch) = v.get<int32_t>();
    } else {
      return bad(k, "unknown field (strategy, samples, adaptive, stop_rule, threshold, extract, max_total_tokens, "
                    "max_time, beam_width, expand, batch)");
    }
  }
  *out = std::move(e);
  return true;
}

bool run_ttc_request(engine::Engine& engine, Endpoint ep, const ApiRequest& r, const std::vector<int32_t>& prompt,
                     const TtcExtension& ext, const std::string& id, const std::string& model_id, std::string* body,
                     ApiError* err) {
  if (r.stream) {
    *err = ApiError{400, "nuri.strategy cannot be streamed: send stream=false", "invalid_request_error", "stream", "invalid_value"};
    return false;
  }
  if (r.n != 1) {
    *err = ApiError{400, "nuri.strategy returns one choice: leave 'n' at 1", "invalid_request_error", "n", "invalid_value"};
    return false;
  }
  ttc::StrategyParams p = ext.params;
  sampling::SamplerParams& sp = p.sampling;
  sp.temperature = r.temperature;
  sp.top_k = r.top_k;
  sp.top_p = r.top_p;
  sp.min_p = r.min_p;
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
  p.max_tokens = r.max_tokens > 0 ? r.max_tokens : std::max<int32_t>(1, engine.n_ctx() - static_cast<int32_t>(prompt.size()));
  p.stop = r.stop;
  std::unique_ptr<ttc::Extractor> ex;
  if (ext.extract != "text") {
    auto e = ttc::make_extractor(ext.extract);
    if (!e.ok()) {
      *err = ApiError{400, e.error(), "invalid_request_error", "nuri.extract", "invalid_value"};
      return false;
    }
    ex = std::move(*e);
  }
  auto res = ttc::run_strategy(engine, prompt, p, ex.get(), nullptr);
  if (!res.ok()) {
    *err = ApiError{500, "strategy failed: " + res.error(), "server_error", "", ""};
    return false;
  }
  const ttc::Candidate* c = res->chosen >= 0 ? &res->candidates[res->chosen] : nullptr;
  const std::string text = c ? c->text : "";
  const char* finish = c && !c->finished ? "length" : "stop";
  json choice;
  if (ep == Endpoint::kChat) {
    choice = {{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}, {"logprobs", nullptr}, {"finish_reason", finish}};
  } else {
    choice = {{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish}};
  }
  json votes = json::array();
  for (const auto& v : res->vote.ranked) votes.push_back({{"answer", v.answer}, {"votes", v.votes}, {"mean_logprob", v.mean_logprob}});
  json out = {{"id", id},
              {"object", ep == Endpoint::kChat ? "chat.completion" : "text_completion"},
              {"created", static_cast<int64_t>(std::time(nullptr))},
              {"model", model_id},
              {"choices", json::array({choice})},
              {"usage",
               {{"prompt_tokens", prompt.size()},
                {"completion_tokens", res->tokens},
                {"total_tokens", static_cast<int64_t>(prompt.size()) + res->tokens}}},
              {"nuri",
               {{"strategy", ttc::strategy_name(res->kind)},
                {"answer", res->answer},
                {"votes", votes},
                {"abstained", res->vote.abstained},
                {"samples_used", res->samples_used},
                {"tokens", res->tokens},
                {"time_s", res->wall_s},
                {"stop_reason", res->stop_reason}}}};
  *body = dump_json(out);
  return true;
}

}  // namespace nuri::server
