#include "cli_common.h"

#include <cstdio>

#include "store/store.h"

namespace nuri::cli {

std::optional<runtime::LoadedModel> load_model_or_default(const char* cmd, const std::string& path) {
  const std::string p = path.empty() ? runtime::default_model_path() : path;
  if (p.empty()) {
    std::fprintf(stderr, "nuri %s: no model given (-m FILE) and no default model found (set NURI_MODEL)\n", cmd);
    return std::nullopt;
  }
  auto resolved = store::resolve_model(p);  // a path, or a store name (OWNER/NAME[:QUANT|:FILE])
  if (!resolved.ok()) {
    std::fprintf(stderr, "nuri %s: %s\n", cmd, resolved.error().c_str());
    return std::nullopt;
  }
  auto lm = runtime::load_model(*resolved);
  if (!lm.ok()) {
    std::fprintf(stderr, "nuri %s: %s\n", cmd, lm.error().c_str());
    return std::nullopt;
  }
  return std::move(lm).value();
}

chat::ModelChatInfo chat_info(const runtime::LoadedModel& lm) {
  const auto& tok = lm.tokenizer;
  chat::ModelChatInfo info;
  info.template_source = lm.chat_template;
  if (tok.bos_id() >= 0) info.bos_token = tok.token_text(tok.bos_id());
  if (tok.eos_id() >= 0) info.eos_token = tok.token_text(tok.eos_id());
  return info;
}

}  // namespace nuri::cli
