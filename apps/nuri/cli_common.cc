#include "cli_common.h"

#include <cstdio>
#include <cstdlib>

#include "store/store.h"

namespace nuri::cli {

std::optional<std::string> resolve_model_or_default(const char* cmd, const std::string& path) {
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
  return *resolved;
}

std::optional<runtime::LoadedModel> load_resolved(const char* cmd, const std::string& resolved) {
  auto lm = runtime::load_model(resolved);
  if (!lm.ok()) {
    std::fprintf(stderr, "nuri %s: %s\n", cmd, lm.error().c_str());
    return std::nullopt;
  }
  return std::move(lm).value();
}

std::optional<runtime::LoadedModel> load_model_or_default(const char* cmd, const std::string& path) {
  auto resolved = resolve_model_or_default(cmd, path);
  if (!resolved) return std::nullopt;
  return load_resolved(cmd, *resolved);
}

bool parse_ctx_option(const char* cmd, const std::string& value, int32_t* n_ctx) {
  if (value.empty()) {
    *n_ctx = 0;
    return true;
  }
  if (value == "auto") {
    *n_ctx = -1;
    return true;
  }
  char* end = nullptr;
  const long v = std::strtol(value.c_str(), &end, 10);
  if (!end || *end || v < 8 || v > (1 << 20)) {
    std::fprintf(stderr, "nuri %s: --ctx must be a number of positions in [8, 1048576] or 'auto', got '%s'\n", cmd,
                 value.c_str());
    return false;
  }
  *n_ctx = static_cast<int32_t>(v);
  return true;
}

std::optional<uint64_t> memory_budget(const char* cmd, const std::string& max_memory) {
  if (max_memory == "off" || max_memory == "none") return 0;
  if (max_memory.empty() || max_memory == "auto") return runtime::available_memory();
  auto b = runtime::parse_bytes(max_memory);
  if (!b.ok()) {
    std::fprintf(stderr, "nuri %s: --max-memory: %s\n", cmd, b.error().c_str());
    return std::nullopt;
  }
  return *b;
}

bool check_memory_fit(const char* cmd, const std::string& resolved, runtime::FitParams* fp, bool ctx_auto,
                      const std::string& max_memory, const runtime::ModelFacts* facts_in) {
  const auto budget = memory_budget(cmd, max_memory);
  if (!budget) return false;
  if (*budget == 0) return true;  // no limit known or asked for
  runtime::ModelFacts facts;
  if (facts_in) {
    facts = *facts_in;
  } else {
    auto f = runtime::read_model_facts(resolved);
    if (!f.ok()) return true;  // the load reports what is wrong with the file
    facts = std::move(f).value();
  }
  const runtime::MemoryNeeds need = runtime::estimate_memory(facts, *fp);
  if (need.total() <= *budget) return true;
  const int32_t best = runtime::largest_fitting_ctx(facts, *fp, *budget);
  const std::string name = resolved.substr(resolved.find_last_of('/') + 1);
  const bool user_cap = !(max_memory.empty() || max_memory == "auto");
  char avail[64];
  std::snprintf(avail, sizeof(avail), "%.1f MiB", static_cast<double>(*budget) / 1048576.0);
  const std::string where = std::string(avail) + (user_cap ? " (--max-memory)" : " available (MemAvailable)");
  if (ctx_auto && best > 0) {
    std::fprintf(stderr, "nuri %s: %s: context reduced to %d positions to fit in %s; at %d it %s\n", cmd, name.c_str(), best,
                 where.c_str(), fp->n_ctx, runtime::describe_needs(need, *fp).c_str());
    fp->n_ctx = best;
    return true;
  }
  std::fprintf(stderr, "nuri %s: %s does not fit in memory: it %s, but %s; %s\n", cmd, name.c_str(),
               runtime::describe_needs(need, *fp).c_str(), where.c_str(),
               best > 0 ? ("the largest context that fits is " + std::to_string(best) + " positions (--ctx " +
                           std::to_string(best) + ", or --ctx auto)").c_str()
                        : "not even 8 positions of context fit (a smaller quant, or --max-memory)");
  return false;
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
