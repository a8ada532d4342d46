// agent/codeact/engine_model.h — an AgentModel backed by the generation engine (include/nuri/
// engine.h): messages are rendered with the model's chat template, tokenized and submitted as
// one request per step.
// Non-goals: tool-call parsing (the protocol is plain text in the system prompt).
// Invariants: a prompt that no longer fits the context is an error (the loop stops with
//   "model_error"), never a silent truncation of the conversation.
#pragma once

#include <memory>
#include <string>

#include "agent/codeact/agent.h"
#include "chat/chat_template.h"
#include "nuri/engine.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace nuri::agent {

struct EngineModelOptions {
  sampling::SamplerParams sampling = [] {  // greedy unless set
    ::nuri::sampling::SamplerParams p;
    p.temperature = ::nuri::sampling::kCliDefaultTemperature;
    return p;
  }();
  int32_t n_ctx = 0;                 // 0: the model's training context (at most 4096)
  int n_threads = 0;
};

class EngineModel : public AgentModel {
 public:
  static Result<std::unique_ptr<EngineModel>> create(std::shared_ptr<const model::Model> model,
                                                     tokenizer::Tokenizer tokenizer, chat::ChatTemplate tmpl,
                                                     chat::ModelChatInfo info, std::string name,
                                                     EngineModelOptions options);
  Result<ModelReply> reply(const std::vector<Message>& messages, int32_t max_tokens) override;
  std::string name() const override { return name_; }
  // The sampling seed of the next reply (a run is reproducible with a fixed seed).
  void set_seed(uint64_t seed) { options_.sampling.seed = seed; }

 private:
  EngineModel() = default;
  std::unique_ptr<engine::Engine> engine_;
  chat::ChatTemplate tmpl_ = chat::ChatTemplate::chatml();
  chat::ModelChatInfo info_;
  std::string name_;
  EngineModelOptions options_;
  int calls_ = 0;
};

}  // namespace nuri::agent
