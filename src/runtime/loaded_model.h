// runtime/loaded_model.h — a model with its tokenizer and chat template, loaded from one path
// (GGUF file or Hugging Face directory). The unit every command, the server and the agent use.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace nuri::runtime {

struct LoadedModel {
  std::shared_ptr<model::Model> model;
  tokenizer::Tokenizer tokenizer;
  std::string chat_template;  // empty when the model has none
  std::string name;           // file name without directory
};

Result<LoadedModel> load_model(const std::string& path);

// The default model when no -m is given: $NURI_MODEL, else models/nuri-tiny.gguf next to the
// binary's source tree or install prefix. Empty if none is found.
std::string default_model_path();

}  // namespace nuri::runtime
