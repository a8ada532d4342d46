// agent/codeact/engine_model.cc — AgentModel over the public engine API.
#include "agent/codeact/engine_model.h"

#include <chrono>

namespace nuri::agent {

Result<std::unique_ptr<EngineModel>> EngineModel::create(std::shared_ptr<const model::Model> model,
                                                         tokenizer::Tokenizer tokenizer, chat::ChatTemplate tmpl,
                                                         chat::ModelChatInfo info, std::string name,
                                                         EngineModelOptions options) {
  engine::EngineParams ep;
  ep.n_parallel = 1;
  ep.n_ctx = options.n_ctx;
  ep.n_threads = options.n_threads;
  NURI_ASSIGN_OR_RETURN(auto eng, engine::Engine::create(std::move(model), std::move(tokenizer), ep));
  std::unique_ptr<EngineModel> m(new EngineModel());
  m->engine_ = std::move(eng);
  m->tmpl_ = std::move(tmpl);
  m->info_ = std::move(info);
  m->name_ = std::move(name);
  m->options_ = std::move(options);
  return m;
}

Result<ModelReply> EngineModel::reply(const std::vector<Message>& messages, int32_t max_tokens) {
  chat::ChatInputs in;
  for (const auto& m : messages) in.messages.push_back({{"role", m.role}, {"content", m.content}});
  in.add_generation_prompt = true;
  in.bos_token = info_.bos_token;
  in.eos_token = info_.eos_token;
  NURI_ASSIGN_OR_RETURN(std::string prompt, tmpl_.apply(in));
  std::vector<int32_t> ids = engine_->tokenizer().encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  const int32_t room = engine_->n_ctx() - static_cast<int32_t>(ids.size()) - 1;
  if (room < 16)
    return Error("the conversation (" + std::to_string(ids.size()) + " tokens) no longer fits the context of " +
                 std::to_string(engine_->n_ctx()) + " tokens");
  engine::Request req;
  req.prompt = std::move(ids);
  req.max_tokens = std::min(max_tokens, room);
  req.sampling = options_.sampling;
  req.sampling.seed = options_.sampling.seed + static_cast<uint64_t>(calls_++);
  // A model that imitates the protocol may start writing the observation itself: cut there.
  req.stop = {"\nObservation (", "\nObservation:"};
  auto sr = engine_->submit(std::move(req));
  if (sr.code != engine::SubmitCode::kOk) return Error("engine refused the request: " + sr.message);
  ModelReply r;
  r.prompt_tokens = sr.handle->n_prompt_tokens();
  engine::Event ev;
  while (true) {
    if (!sr.handle->next(&ev, std::chrono::milliseconds(1000))) continue;
    r.text += ev.text;
    if (ev.kind == engine::Event::Kind::kDone) {
      if (ev.finish == engine::FinishReason::kError) return Error("generation failed: " + ev.error);
      r.completion_tokens = ev.n_generated;
      break;
    }
  }
  return r;
}

}  // namespace nuri::agent
