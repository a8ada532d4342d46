// runtime/api_impl.h — what a public nuri::Model holds (include/nuri/nuri.h): the loaded model,
// its tokenizer and chat template. Modules inside nuri (server, agent, apps) reach the internals
// through impl(); third-party programs see only the opaque handle.
#pragma once

#include <memory>
#include <utility>

#include "nuri/nuri.h"
#include "runtime/loaded_model.h"

namespace nuri {

struct Model::Impl {
  runtime::LoadedModel lm;
};

// Wraps an already loaded model in the public handle.
inline std::shared_ptr<Model> wrap_model(runtime::LoadedModel lm) {
  auto impl = std::make_unique<Model::Impl>();
  impl->lm = std::move(lm);
  return std::make_shared<Model>(std::move(impl));
}

}  // namespace nuri
