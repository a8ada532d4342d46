// apps/nuri/cache_type_options.h — --cache-type-k / --cache-type-v (llama.cpp's names and values:
// f16, q8_0, q4_0) for run, chat, serve, bench and perplexity. f16 is the default; the quantised
// types hold about half (q8_0) or a quarter (q4_0) of the KV bytes and need head_dim % 32 == 0.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "nuri/engine.h"
#include "runtime/memory_fit.h"

namespace nuri::cli {

struct CacheTypeOptions {
  std::string k = "f16", v = "f16";

  void add(CLI::App& app) {
    app.add_option("--cache-type-k", k, "type of the cached K rows: f16 (default), q8_0, q4_0");
    app.add_option("--cache-type-v", v, "type of the cached V rows: f16 (default), q8_0, q4_0");
  }
  // False (message printed) for an unknown type.
  bool resolve(const char* cmd, engine::KvCacheType* kt, engine::KvCacheType* vt) const {
    for (auto [s, out, what] : {std::tuple{&k, kt, "--cache-type-k"}, std::tuple{&v, vt, "--cache-type-v"}})
      if (!engine::parse_kv_cache_type(*s, out)) {
        std::fprintf(stderr, "nuri %s: %s must be f16, q8_0 or q4_0, got '%s'\n", cmd, what, s->c_str());
        return false;
      }
    return true;
  }
  // The same types in a memory-fit estimate (unknown names stay f16: resolve() reports them).
  void set_fit(runtime::FitParams* fp) const {
    kernels::parse_kv_type(k.c_str(), &fp->k_type);
    kernels::parse_kv_type(v.c_str(), &fp->v_type);
  }
};

}  // namespace nuri::cli
