// nuri list | nuri show NAME | nuri rm NAME — the models in the local store ($HF_HOME/hub, the
// Hugging Face cache) and in the NURI_MODELS directories, with facts read from their metadata.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "command.h"
#include "store/model_info.h"
#include "store/store.h"

namespace {

namespace store = nuri::store;

int run_list(int argc, char** argv) {
  CLI::App app{"List the models in the local store ($HF_HOME/hub, shared with Hugging Face tools) and in "
               "the NURI_MODELS directories. NAME is what -m takes.",
               "nuri list"};
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  const auto entries = store::list_entries();
  std::vector<std::vector<std::string>> rows = {{"NAME", "FILE", "QUANT", "SIZE", "ARCH", "CONTEXT", "PARAMS"}};
  for (const auto& e : entries) {
    auto mi = store::model_info(e.path);
    std::vector<std::string> row = {e.name, e.file.empty() ? "(safetensors dir)" : e.file, "?",
                                    store::human_bytes(e.size_bytes), "?", "?", "?"};
    if (mi.ok()) {
      row[2] = mi->quant.empty() ? "-" : mi->quant;
      row[4] = mi->arch.empty() ? "-" : mi->arch;
      row[5] = mi->n_ctx_train > 0 ? std::to_string(mi->n_ctx_train) : "-";
      row[6] = store::human_count(mi->n_params);
    } else {
      row[4] = "(unreadable)";
    }
    rows.push_back(std::move(row));
  }
  std::vector<size_t> w(rows[0].size(), 0);
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) w[i] = std::max(w[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(w[i] - r[i].size() + 2, ' ');
    }
    std::printf("%s\n", line.c_str());
  }
  if (entries.empty())
    std::fprintf(stderr, "nuri list: no models in %s%s (nuri pull OWNER/NAME downloads one)\n", store::hub_dir().c_str(),
                 store::extra_dirs().empty() ? "" : " or NURI_MODELS");
  return 0;
}

int run_show(int argc, char** argv) {
  CLI::App app{"Show where a model is and what it is (architecture, quant, size, context, shapes).", "nuri show"};
  std::string name;
  app.add_option("name", name, "store name (OWNER/NAME[:QUANT|:FILE]), NURI_MODELS stem, or a path")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  auto path = store::resolve_model(name);
  if (!path.ok()) {
    std::fprintf(stderr, "nuri show: %s\n", path.error().c_str());
    return 1;
  }
  auto mi = store::model_info(*path);
  if (!mi.ok()) {
    std::fprintf(stderr, "nuri show: %s\n", mi.error().c_str());
    return 1;
  }
  std::printf("name:          %s\n", name.c_str());
  std::printf("path:          %s\n", path->c_str());
  uint64_t size = 0;
  for (const auto& e : store::list_entries())
    if (e.path == *path) {
      size = e.size_bytes;
      if (!e.repo.empty())
        std::printf("repo:          %s (revision %s, %s)\n", e.repo.c_str(), e.revision.c_str(),
                    store::repo_dir(e.repo).c_str());
    }
  std::printf("format:        %s\n", mi->format.c_str());
  std::printf("arch:          %s\n", mi->arch.c_str());
  std::printf("quant:         %s\n", mi->quant.c_str());
  std::printf("params:        %s (%llu)\n", store::human_count(mi->n_params).c_str(),
              static_cast<unsigned long long>(mi->n_params));
  std::printf("context:       %lld\n", static_cast<long long>(mi->n_ctx_train));
  std::printf("shape:         n_layer %lld, n_embd %lld, n_head %lld, n_head_kv %lld, n_vocab %lld\n",
              static_cast<long long>(mi->n_layer), static_cast<long long>(mi->n_embd),
              static_cast<long long>(mi->n_head), static_cast<long long>(mi->n_head_kv),
              static_cast<long long>(mi->n_vocab));
  if (size > 0) std::printf("size:          %s\n", store::human_bytes(size).c_str());
  std::printf("weights:       %s:", store::human_bytes(mi->weight_bytes).c_str());
  for (const auto& [dt, n] : mi->dtype_bytes) std::printf(" %s %s", dt.c_str(), store::human_bytes(n).c_str());
  std::printf("\nchat template: %s\n", mi->has_chat_template ? "yes" : "no");
  return 0;
}

int run_rm(int argc, char** argv) {
  CLI::App app{"Remove a model from the local store: OWNER/NAME removes the whole repo, OWNER/NAME:QUANT or "
               ":FILE one file (and its blob when nothing else links to it).",
               "nuri rm"};
  std::vector<std::string> names;
  app.add_option("names", names, "store names")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  for (const auto& n : names) {
    std::vector<std::string> removed;
    if (auto st = store::remove_model(n, &removed); !st.is_ok()) {
      std::fprintf(stderr, "nuri rm: %s\n", st.message().c_str());
      return 1;
    }
    for (const auto& p : removed) std::fprintf(stderr, "nuri rm: removed %s\n", p.c_str());
  }
  return 0;
}

}  // namespace

NURI_COMMAND("list", "models in the local store and NURI_MODELS (names for -m)", run_list);
NURI_COMMAND("show", "where a model is and what it is (arch, quant, size, context)", run_show);
NURI_COMMAND("rm", "remove a model from the local store", run_rm);
