// nuri chat — interactive multi-turn chat in the terminal (or from a pipe).
// The KV cache persists across turns: each turn renders the whole conversation with the model's
// chat template, and only the text after what is already cached is tokenized and processed.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>

#include "base/log.h"
#include "base/mmap.h"
#include "chat/chat_template.h"
#include "cli_common.h"
#include "command.h"
#include "model/context.h"
#include "runtime/loaded_model.h"
#include "runtime/session.h"
#include "sampling/sampler.h"

namespace {

using nlohmann::ordered_json;

struct ChatSession {
  nuri::runtime::LoadedModel* lm = nullptr;
  nuri::runtime::Session* ctx = nullptr;
  nuri::chat::ChatTemplate tmpl = nuri::chat::ChatTemplate::chatml();
  nuri::chat::ModelChatInfo info;
  nuri::sampling::SamplerParams sp;
  ordered_json messages = ordered_json::array();
  std::string cached_text;          // text whose tokens are in the KV cache (sequence 0)
  std::vector<int32_t> cached_ids;  // those tokens
  int n_predict = 512;
  int turn = 0;

  void reset() {
    ctx->seq_clear(0);
    cached_text.clear();
    cached_ids.clear();
  }

  nuri::Result<std::string> render() const {
    nuri::chat::ChatInputs in;
    in.messages = messages;
    in.add_generation_prompt = true;
    in.bos_token = info.bos_token;
    in.eos_token = info.eos_token;
    return tmpl.apply(in);
  }

  // Makes the cache hold exactly `prompt`, processing only what is new. Returns the number of
  // tokens processed.
  nuri::Result<int> sync(const std::string& prompt) {
    const auto& tok = lm->tokenizer;
    std::vector<int32_t> fresh;
    if (!cached_text.empty() && prompt.compare(0, cached_text.size(), cached_text) == 0) {
      fresh = tok.encode(prompt.substr(cached_text.size()), /*add_special=*/false, /*parse_special=*/true);
    } else {
      // The conversation changed in the middle (or first turn): re-tokenize, keep the common prefix.
      std::vector<int32_t> all = tok.encode(prompt, /*add_special=*/true, /*parse_special=*/true);
      size_t common = 0;
      while (common < all.size() && common < cached_ids.size() && all[common] == cached_ids[common]) ++common;
      if (common == all.size() && common > 0) --common;  // need at least one token to get logits
      ctx->seq_truncate(0, static_cast<int32_t>(common));
      cached_ids.resize(common);
      fresh.assign(all.begin() + common, all.end());
    }
    if (fresh.empty()) {
      // Nothing new (e.g. an empty message): re-process the last token to get logits.
      if (cached_ids.empty()) return nuri::Error("empty prompt");
      fresh.push_back(cached_ids.back());
      cached_ids.pop_back();
      ctx->seq_truncate(0, static_cast<int32_t>(cached_ids.size()));
    }
    if (cached_ids.size() + fresh.size() + 1 >= static_cast<size_t>(ctx->params().n_ctx))
      return nuri::Error("the conversation no longer fits the context (" + std::to_string(ctx->params().n_ctx) +
                         " tokens); /reset to start over or use a larger --ctx");
    std::vector<nuri::model::BatchToken> batch;
    for (size_t i = 0; i < fresh.size(); ++i)
      batch.push_back({fresh[i], static_cast<int32_t>(cached_ids.size() + i), 0, i + 1 == fresh.size()});
    NURI_TRY(ctx->decode(batch));
    cached_ids.insert(cached_ids.end(), fresh.begin(), fresh.end());
    cached_text = prompt;
    return static_cast<int>(fresh.size());
  }

  // One user turn: returns the assistant's reply (streamed to stdout as it comes).
  nuri::Status turn_with(const std::string& user_text) {
    messages.push_back({{"role", "user"}, {"content", user_text}});
    auto prompt = render();
    if (!prompt.ok()) {
      messages.erase(messages.end() - 1);
      return prompt.status();
    }
    const size_t reused_before = cached_ids.size();
    auto processed = sync(*prompt);
    if (!processed.ok()) {
      messages.erase(messages.end() - 1);
      return processed.status();
    }
    ++turn;
    std::fprintf(stderr, "[chat] turn %d: prompt %zu tokens, %d new tokens processed, %zu reused from cache\n", turn,
                 cached_ids.size(), *processed, std::min(reused_before, cached_ids.size() - *processed));
    const auto& tok = lm->tokenizer;
    nuri::sampling::Sampler sampler(lm->model->config().n_vocab, sp);
    for (int32_t id : cached_ids) sampler.accept(id);
    nuri::tokenizer::StreamDecoder stream(tok);
    stream.mark_continuation();  // the reply continues the cached prompt text exactly
    std::string reply;
    for (int n = 0; n < n_predict; ++n) {
      const int32_t next = sampler.sample(ctx->logits(0));
      sampler.accept(next);
      if (tok.is_eog(next)) break;
      std::string piece = stream.push(next);
      reply += piece;
      std::fwrite(piece.data(), 1, piece.size(), stdout);
      std::fflush(stdout);
      if (static_cast<int32_t>(cached_ids.size()) + 1 >= ctx->params().n_ctx) break;
      NURI_TRY(ctx->decode({{next, static_cast<int32_t>(cached_ids.size()), 0, true}}));
      cached_ids.push_back(next);
    }
    std::string rest = stream.flush();
    reply += rest;
    std::fwrite(rest.data(), 1, rest.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
    // The cache now holds prompt + reply tokens, whose text is the prompt followed by the reply:
    // the next turn's rendering starts with it when the template echoes the reply verbatim.
    cached_text += reply;
    messages.push_back({{"role", "assistant"}, {"content", reply}});
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
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  nuri::log::set_level(nuri::log::Level::kWarn);
  if (!nuri::cli::parse_ctx_option("chat", ctx_arg, &n_ctx)) return 1;
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
    if (!nuri::cli::check_memory_fit("chat", *resolved, &fp, ctx_auto, max_memory, &*facts)) return 1;
    fit_ctx = fp.n_ctx;
  }
  auto lm = nuri::cli::load_resolved("chat", *resolved);
  if (!lm) return 1;
  s.info = nuri::cli::chat_info(*lm);
  auto tmpl = nuri::chat::template_for_model(s.info);
  if (!tmpl.ok()) {
    std::fprintf(stderr, "nuri chat: %s\n", tmpl.error().c_str());
    return 1;
  }
  s.tmpl = std::move(tmpl).value();
  nuri::model::ContextParams cp;
  cp.n_ctx = std::min(n_ctx > 0 ? n_ctx : 4096, std::max(lm->model->config().n_ctx_train, 256));
  if (ctx_auto) cp.n_ctx = fit_ctx > 0 ? fit_ctx : std::max(lm->model->config().n_ctx_train, 256);
  if (cp.n_ctx < 16) {
    std::fprintf(stderr, "nuri chat: a context of %d positions is too small for a conversation\n", cp.n_ctx);
    return 1;
  }
  cp.n_threads = threads;
  auto ctx = nuri::runtime::Session::create(lm->model, cp);
  if (!ctx.ok()) {
    std::fprintf(stderr, "nuri chat: %s\n", ctx.error().c_str());
    return 1;
  }
  s.lm = &*lm;
  s.ctx = ctx->get();
  auto start = [&] {
    s.messages = ordered_json::array();
    if (!system.empty()) s.messages.push_back({{"role", "system"}, {"content", system}});
    s.reset();
  };
  start();
  const bool tty = ::isatty(0);
  if (tty) std::fprintf(stderr, "nuri chat with %s — /reset, /save FILE, /load FILE, /quit\n", lm->name.c_str());
  std::string line;
  while (true) {
    if (tty) std::fprintf(stderr, "> ");
    if (!std::getline(std::cin, line)) break;
    if (line.empty()) continue;
    if (line == "/quit" || line == "/exit") break;
    if (line == "/reset") {
      start();
      std::fprintf(stderr, "[chat] reset\n");
      continue;
    }
    if (line.rfind("/save ", 0) == 0) {
      ordered_json j = {{"model", lm->name}, {"messages", s.messages}};
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
      s.messages = j["messages"];
      s.reset();
      std::fprintf(stderr, "[chat] loaded %zu messages\n", s.messages.size());
      continue;
    }
    if (auto st = s.turn_with(line); !st.is_ok()) std::fprintf(stderr, "nuri chat: %s\n", st.message().c_str());
  }
  return 0;
}

}  // namespace

NURI_COMMAND("chat", "interactive multi-turn chat (keeps the KV cache across turns)", run_chat);
