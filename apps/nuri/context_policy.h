// apps/nuri/context_policy.h — the context-overflow options run, chat and serve share:
// --context-overflow error|shift|truncate, --context-shift (= shift, llama.cpp's name) and
// --keep N (prompt tokens kept after BOS, llama.cpp's --keep; -1: the whole prompt).
// Without them a prompt longer than the context is an error that gives both numbers.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "nuri/engine.h"

namespace nuri::cli {

struct ContextPolicyOptions {
  std::string mode;  // "" = error
  bool shift = false;
  int32_t keep = 0;

  void add(CLI::App& app) {
    app.add_option("--context-overflow", mode,
                   "when tokens do not fit the context: error (default: a too-long prompt exits 1 with the counts), "
                   "shift (drop the oldest tokens after --keep and go on, as llama.cpp's context shift), truncate "
                   "(drop the oldest prompt tokens after --keep; generation stops at the context)");
    app.add_flag("--context-shift", shift, "same as --context-overflow shift");
    app.add_option("--keep", keep, "with shift/truncate: tokens at the start always kept, after BOS (-1: the whole prompt; default 0)")
        ->check(CLI::Range(-1, 1 << 30));
  }

  // The policy, or false (message printed) for a bad --context-overflow.
  bool resolve(const char* cmd, engine::ContextOverflow* out) const {
    *out = engine::ContextOverflow::kError;
    if (!mode.empty() && !engine::parse_context_overflow(mode, out)) {
      std::fprintf(stderr, "nuri %s: --context-overflow must be error, shift or truncate, got '%s'\n", cmd, mode.c_str());
      return false;
    }
    if (shift) {
      if (!mode.empty() && *out != engine::ContextOverflow::kShift) {
        std::fprintf(stderr, "nuri %s: --context-shift contradicts --context-overflow %s\n", cmd, mode.c_str());
        return false;
      }
      *out = engine::ContextOverflow::kShift;
    }
    return true;
  }

  // The engine's n_keep for a prompt: --keep counts after a leading BOS, as in llama.cpp.
  int32_t n_keep(bool starts_with_bos) const { return keep < 0 ? -1 : keep + (starts_with_bos ? 1 : 0); }
};

}  // namespace nuri::cli
