// apps/nuri/cli_common.h — pieces several subcommands share: loading -m (or the built-in
// default model) with a one-line error, and the chat formatting a loaded model carries.
#pragma once

#include <optional>
#include <string>

#include "chat/chat_template.h"
#include "runtime/loaded_model.h"
#include "runtime/memory_fit.h"

namespace nuri::cli {

// Loads `path` (a file, a directory or a store name, see store/store.h), or the default model
// when `path` is empty. On failure prints
// "nuri CMD: <error>" to stderr and returns nullopt.
std::optional<runtime::LoadedModel> load_model_or_default(const char* cmd, const std::string& path);

// The two steps of load_model_or_default, for commands that check the memory fit in between:
// the path -m names (or the default model's), then the load. Both print "nuri CMD: <error>".
std::optional<std::string> resolve_model_or_default(const char* cmd, const std::string& path);
std::optional<runtime::LoadedModel> load_resolved(const char* cmd, const std::string& resolved);

// --ctx N|auto: 0 when empty, -1 for "auto", else N (>= 8). False (message printed) otherwise.
bool parse_ctx_option(const char* cmd, const std::string& value, int32_t* n_ctx);

// Memory fit before loading (runtime/memory_fit.h): the estimate at fp->n_ctx against
// --max-memory (BYTES, "auto" or empty: the available memory; "off": no check). When it does not
// fit: with ctx_auto, fp->n_ctx is lowered to the largest context that fits (a note on stderr);
// otherwise prints the numbers and the largest context that fits, and returns false.
bool check_memory_fit(const char* cmd, const std::string& resolved, runtime::FitParams* fp, bool ctx_auto,
                      const std::string& max_memory, const runtime::ModelFacts* facts = nullptr);
// The budget --max-memory names: nullopt (message printed) on a bad value; 0 = no limit.
std::optional<uint64_t> memory_budget(const char* cmd, const std::string& max_memory);

// The template, bos and eos text of a loaded model (no second read of the file).
chat::ModelChatInfo chat_info(const runtime::LoadedModel& lm);

}  // namespace nuri::cli
