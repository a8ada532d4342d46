// nuri chat — interactive multi-turn chat in the terminal (or from a pipe).
// The KV cache persists across turns: each turn renders the whole conversation with the model's
// chat template, and only the text after what is already cached is tokenized and processed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>

#include "base/log.h"
#include "base/mmap.h"
#include "cli_common.h"
#include "command.h"
#include "cache_type_options.h"
#include "context_policy.h"
#include "nuri/nuri.h"
#include "runtime/memory_fit.h"

namespace {

using nlohmann::ordered_json;

// One conversation on a nuri::Generator (the public API): each turn renders the whole
// conversation, appends only the tokens of the new text to what the last turn left in the KV
// cache, and lets the engine reuse that prefix.
struct ChatSession {
  std::shared_ptr<const nuri::Model> model;
  nuri::GeneratorOptions gen_options;
  std::unique_ptr<nuri::Generator> gen;
  nuri::sampling::SamplerParams sp;
  ordered_json messages = ordered_json::array();
  std::string cached_text;          // text whose tokens the last turn left in the KV cache
  std::vector<int32_t> cached_ids;  // those tokens
  int n_predict = 512;
  int turn = 0;
  nuri::engine::ContextOverflow overflow = nuri::engine::ContextOverflow::kError;
  nuri::cli::ContextPolicyOptions policy;

  // Tokens a context shift or truncation keeps: the system message's (the common prefix of the
  // conversation and the system turn alone), else BOS + --keep.
  int32_t keep_for(const std::vector<int32_t>& ids) const {
    const std::vector<int32_t> empty = model->tokenize("", /*add_special=*/true, /*parse_special=*/false);
    const bool bos = !empty.empty() && !ids.empty() && ids[0] == empty[0];
    if (messages.empty() || messages[0].value("role", "") != "system") return policy.n_keep(bos);
    ordered_json sys = ordered_json::array({messages[0]});
    auto text = model->apply_chat_template(sys.dump(), /*add_generation_prompt=*/false);
    if (!text.ok()) return policy.n_keep(bos);
    const std::vector<int32_t> s = model->tokenize(*text, /*add_special=*/true);
    size_t n = 0;
    while (n < s.size() && n < ids.size() && s[n] == ids[n]) ++n;
    return std::max<int32_t>(static_cast<int32_t>(n), policy.n_keep(bos));
  }

  // A fresh engine: nothing of the previous conversation stays cached.
  nuri::Status reset() {
    cached_text.clear();
    cached_ids.clear();
    gen.reset();
    auto g = nuri::Generator::create(model, gen_options);
    if (!g.ok()) return g.status();
    gen = std::move(g).value();
    return nuri::Status::ok();
  }

  // The prompt's tokens: the cached tokens plus the new text's, or a fresh tokenization when the
  // conversation changed before the end of what is cached.
  std::vector<int32_t> prompt_ids(const std::string& prompt) const {
    if (!cached_text.empty() && prompt.compare(0, cached_text.size(), cached_text) == 0) {
      std::vector<int32_t> ids = cached_ids;
      std::vector<int32_t> fresh = model->tokenize(prompt.substr(cached_text.size()), /*add_special=*/false);
      ids.insert(ids.end(), fresh.begin(), fresh.end());
      return ids;
    }
    return model->tokenize(prompt, /*add_special=*/true);
  }

  // One user turn: the assistant's reply is streamed to stdout as it comes.
  nuri::Status turn_with(const std::string& user_text) {
    messages.push_back({{"role", "user"}, {"content", user_text}});
    auto prompt = model->apply_chat_template(messages.dump());
    if (!prompt.ok()) {
      messages.erase(messages.end() - 1);
      return prompt.status();
    }
    std::vector<int32_t> ids = prompt_ids(*prompt);
    const int32_t n_ctx = gen->n_ctx();
    if (overflow == nuri::engine::ContextOverflow::kError && static_cast<int32_t>(ids.size()) + 1 >= n_ctx) {
      messages.erase(messages.end() - 1);
      return nuri::Error("the conversation (" + std::to_string(ids.size()) + " tokens) no longer fits the context (" +
                         std::to_string(n_ctx) + " tokens); /reset to start over, use a larger --ctx, or --context-shift");
    }
    nuri::GenerateOptions opt;
    opt.max_tokens = n_predict;
    opt.sampling = sp;
    opt.continuation = true;  // the reply continues the prompt text exactly
    opt.overflow = overflow;
    opt.n_keep = keep_for(ids);
    opt.on_text = [](std::string_view piece) {
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      return true;
    };
    auto g = gen->generate(ids, opt);
    if (!g.ok()) {
      messages.erase(messages.end() - 1);
      return g.status();
    }
    ++turn;
    std::fprintf(stderr, "[chat] turn %d: prompt %d tokens, %d new tokens processed, %d reused from cache\n", turn,
                 g->n_prompt_tokens, g->n_prompt_tokens - g->n_cached_tokens, g->n_cached_tokens);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    if (g->finish_reason == "length" && static_cast<int>(g->tokens.size()) < n_predict)
      std::fprintf(stderr, "[chat] the reply stopped at the end of the context (%d tokens)\n", n_ctx);
    if (g->n_prompt_dropped > 0 || g->n_context_shifts > 0)
      std::fprintf(stderr, "[chat] kept the first %d tokens; dropped %d older prompt tokens, %d context shifts\n",
                   opt.n_keep, g->n_prompt_dropped, g->n_context_shifts);
    // The cache now holds the prompt and the reply, whose text is the prompt followed by the
    // reply: the next turn's rendering starts with it when the template echoes the reply verbatim.
    cached_ids = std::move(ids);
    cached_ids.insert(cached_ids.end(), g->tokens.begin(), g->tokens.end());
    cached_text = *prompt + g->text;
    messages.push_back({{"role", "assistant"}, {"content", g->text}});
    return nuri::Status::ok();
  }
};

int run_chat(int argc, char** argv) {
  CLI::App app{"Chat with a model in the terminal. Commands: /reset, /save FILE, /load FILE, /quit.", "nuri chat"};
  std::string model_path, system, ctx_arg, max_memory;
  int threads = 0;
  int32_t n_ctx = 0;
  ChatSession s;
  s.sp.temperature = nuri::sampling::kCliDefaultTemperature;
  app.add_option("-m,--model", model_path, "GGUF file or Hugging Face directory (default: built-in nuri-tiny)");
  app.add_option("--system", system, "system message");
  app.add_option("-n,--n-predict", s.n_predict, "max tokens per reply (default 512)")->check(CLI::Range(1, 1 << 20));
  app.add_option("--temp", s.sp.temperature, "temperature; 0 = greedy (default 0)")->check(CLI::Range(0.0, 100.0));
  app.add_option("--top-k", s.sp.top_k, "top-k (default 40)");
  app.add_option("--top-p", s.sp.top_p, "top-p (default 0.95)");
  app.add_option("--seed", s.sp.seed, "sampling seed");
  app.add_option("-c,--ctx", ctx_arg, "context length in tokens, or 'auto': the most that fits in memory (default 4096, at most the model's)");
  app.add_option("--max-memory", max_memory, "refuse (or with --ctx auto, shrink the context) when the estimate exceeds BYTES (default auto: MemAvailable; off: no check)");
  app.add_option("-t,--threads", threads, "threads (default: physical cores)");
  s.policy.add(app);  // shift/truncate keep the system message's tokens (or BOS + --keep)
  nuri::cli::CacheTypeOptions cache_types;
  cache_types.add(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  nuri::log::set_level(nuri::log::Level::kWarn);
  if (!nuri::cli::parse_ctx_option("chat", ctx_arg, &n_ctx)) return 1;
  if (!s.policy.resolve("chat", &s.overflow)) return 1;
  if (!cache_types.resolve("chat", &s.gen_options.cache_type_k, &s.gen_options.cache_type_v)) return 1;
  const bool ctx_auto = n_ctx < 0;
  auto resolved = nuri::cli::resolve_model_or_default("chat", model_path);
  if (!resolved) return 1;
  int32_t fit_ctx = 0;
  if (auto facts = nuri::runtime::read_model_facts(*resolved); facts.ok()) {
    const int32_t train = std::max(facts->config.n_ctx_train, 256);
    nuri::runtime::FitParams fp;
    fp.n_ctx = ctx_auto ? train : std::min(n_ctx > 0 ? n_ctx : 4096, train);
    fp.n_threads = threads;
    fp.paged = false;
    cache_types.set_fit(&fp);
    if (!nuri::cli::check_memory_fit("chat", *resolved, &fp, ctx_auto, max_memory, &*facts)) return 1;
    fit_ctx = fp.n_ctx;
  }
  auto model = nuri::load(*resolved);
  if (!model.ok()) {
    std::fprintf(stderr, "nuri chat: %s\n", model.error().c_str());
    return 1;
  }
  s.model = *model;
  const int32_t train = std::max(s.model->n_ctx_train(), 256);
  s.gen_options.n_ctx = ctx_auto ? (fit_ctx > 0 ? fit_ctx : train) : std::min(n_ctx > 0 ? n_ctx : 4096, train);
  if (s.gen_options.n_ctx < 16) {
    std::fprintf(stderr, "nuri chat: a context of %d positions is too small for a conversation\n", s.gen_options.n_ctx);
    return 1;
  }
  s.gen_options.n_threads = threads;
  auto start = [&]() -> bool {
    s.messages = ordered_json::array();
    if (!system.empty()) s.messages.push_back({{"role", "system"}, {"content", system}});
    if (auto st = s.reset(); !st.is_ok()) {
      std::fprintf(stderr, "nuri chat: %s\n", st.message().c_str());
      return false;
    }
    return true;
  };
  if (!start()) return 1;
  const std::string name = std::filesystem::path(s.model->path()).filename().string();
  const bool tty = ::isatty(0);
  if (tty) std::fprintf(stderr, "nuri chat with %s — /reset, /save FILE, /load FILE, /quit\n", name.c_str());
  std::string line;
  while (true) {
    if (tty) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      if (!start()) return 1;
      std::fprintf(stderr, "[chat] reset\n");
      continue;
    }
    if (line.rfind("/save ", 0) == 0) {
      ordered_json j = {{"model", name}, {"messages", s.messages}};
      auto st = nuri::write_file(line.substr(6), j.dump(2) + "\n");
      std::fprintf(stderr, "[chat] %s\n", st.is_ok() ? ("saved " + line.substr(6)).c_str() : st.message().c_str());
      continue;
    }
    if (line.rfind("/load ", 0) == 0) {
      auto text = nuri::read_file(line.substr(6));
      ordered_json j = text.ok() ? ordered_json::parse(*text, nullptr, false) : ordered_json();
      if (!text.ok() || j.is_discarded() || !j.contains("messages") || !j["messages"].is_array()) {
        std::fprintf(stderr, "[chat] cannot load %s: not a saved chat\n", line.substr(6).c_str());
        continue;
      }
      if (!start()) return 1;
      s.messages = j["messages"];
      std::fprintf(stderr, "[chat] loaded %zu messages\n", s.messages.size());
      continue;
    }
    if (auto st = s.turn_with(line); !st.is_ok()) std::fprintf(stderr, "nuri chat: %s\n", st.message().c_str());
  }
  return 0;
}

}  // namespace

NURI_COMMAND("chat", "interactive multi-turn chat (keeps the KV cache across turns)", run_chat);
