// apps/nuri/cli_common.h — pieces several subcommands share: loading -m (or the built-in
// default model) with a one-line error, and the chat formatting a loaded model carries.
#pragma once

#include <optional>
#include <string>

#include "chat/chat_template.h"
#include "runtime/loaded_model.h"

namespace nuri::cli {

// Loads `path` (a file, a directory or a store name, see store/store.h), or the default model
// when `path` is empty. On failure prints
// "nuri CMD: <error>" to stderr and returns nullopt.
std::optional<runtime::LoadedModel> load_model_or_default(const char* cmd, const std::string& path);

// The template, bos and eos text of a loaded model (no second read of the file).
chat::ModelChatInfo chat_info(const runtime::LoadedModel& lm);

}  // namespace nuri::cli
