// nuri/nuri.h — the library's front door: load a model by path or store name, tokenize, render
// its chat template, and generate text. Third-party programs need only include/nuri/ and libnuri.
//
// Purpose: the few calls a program that "just wants text" makes, on top of the continuous-
// batching engine (nuri/engine.h), which a Generator owns. `nuri run`, `nuri chat` and the
// example in examples/ use exactly this API.
// Non-goals: HTTP, tools, test-time strategies (the server and src/ttc build those on the engine).
// Invariants: a Model is immutable after load and may be shared by threads and engines; a
// Generator runs one generation at a time (use the engine directly for many at once); prompts
// longer than the context are refused with an error that gives both lengths, never truncated.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "nuri/engine.h"
#include "nuri/sampling.h"
#include "nuri/status.h"

namespace nuri {

class Model {
 public:
  struct Impl;  // runtime/api_impl.h
  explicit Model(std::unique_ptr<Impl> impl);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const std::string& path() const;  // the file or directory loaded (store names resolved)
  std::string architecture() const;  // "llama", "qwen2", ...
  int32_t n_vocab() const;
  int32_t n_ctx_train() const;
  bool has_chat_template() const;

  // Text -> token ids. add_special: BOS/EOS as the vocabulary says; parse_special: control-token
  // text such as "<|im_start|>" becomes that token.
  std::vector<int32_t> tokenize(std::string_view text, bool add_special = true, bool parse_special = true) const;
  // Ids -> text (control tokens dropped unless render_special).
  std::string detokenize(const std::vector<int32_t>& ids, bool render_special = false) const;
  // The raw text of one token (what `nuri run` echoes for the prompt).
  std::string token_piece(int32_t id, bool render_special = true) const;
  bool is_end_of_generation(int32_t id) const;
  // messages_json: a JSON array of {"role": ..., "content": ...}. Renders the model's chat
  // template (ChatML when it has none) exactly as Hugging Face's apply_chat_template.
  Result<std::string> apply_chat_template(const std::string& messages_json, bool add_generation_prompt = true) const;

  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Loads a GGUF file, a Hugging Face directory, or a name from the model store
// ("OWNER/NAME[:QUANT]", a file stem in NURI_MODELS); "" loads the default model
// (default_model_path()).
Result<std::shared_ptr<Model>> load(const std::string& path_or_name);
// $NURI_MODEL, else nuri-tiny.gguf shipped with the binary (models/ in the source tree or
// share/nuri/ of the install prefix); empty if none is found.
std::string default_model_path();

struct GeneratorOptions {
  int32_t n_ctx = 0;       // positions; 0: the model's training context, at most 4096
  int n_threads = 0;       // 0: physical cores
  bool reference = false;  // the f32 reference backend (slow; for checking)
  bool prefix_reuse = true; // false: every generation recomputes its whole prompt (benchmarks)
  engine::KvCacheType cache_type_k = engine::KvCacheType::kF16;  // KV row types (engine::KvCacheType)
  engine::KvCacheType cache_type_v = engine::KvCacheType::kF16;
};

struct GenerateOptions {
  int32_t max_tokens = 128;
  sampling::SamplerParams sampling;  // the API default (OpenAI's temperature 1.0); 0: greedy
  std::vector<std::string> stop;     // generation ends before the first occurrence of any
  bool ignore_eos = false;
  bool continuation = false;         // the text continues visible text (keep a leading space)
  // A prompt or generation that does not fit the context: an error / "length" (kError), llama.cpp's
  // context shift (kShift) or dropping the oldest prompt tokens (kTruncate); the first n_keep
  // prompt tokens are always kept (< 0: the whole prompt). See engine::ContextOverflow.
  engine::ContextOverflow overflow = engine::ContextOverflow::kError;
  int32_t n_keep = 0;
  // Structured output: the tokens form a prefix of a sentence of this grammar (grammar/grammar.h
  // inside nuri); generation stops when the sentence is complete. Null: free text.
  std::shared_ptr<const grammar::Grammar> grammar;
  // Called with each piece of final text as it is generated; return false to stop early.
  std::function<bool(std::string_view)> on_text;
};

struct Generation {
  std::string text;
  std::vector<int32_t> tokens;   // generated ids (an end-of-generation token excluded)
  int32_t n_prompt_tokens = 0;
  int32_t n_cached_tokens = 0;   // prompt tokens reused from an earlier generation's KV
  int32_t n_prompt_dropped = 0;  // prompt tokens dropped to fit the context (kShift, kTruncate)
  int32_t n_context_shifts = 0;  // kShift: times the full context dropped its oldest tokens
  std::string finish_reason;     // "stop", "length" or "cancelled"
  double prefill_seconds = 0;    // submit to first token
  double decode_seconds = 0;     // first token to the end
  int n_threads = 0;
};

// One engine over one model: successive generations reuse the KV of their common prompt prefix
// (a chat that resends the conversation computes only the new turn).
class Generator {
 public:
  static Result<std::unique_ptr<Generator>> create(std::shared_ptr<const Model> model, GeneratorOptions options = {});
  ~Generator();

  // An empty prompt becomes the BOS token (EOS when the vocabulary has no BOS). A prompt of
  // n_ctx tokens or more is an error that gives both numbers, unless options.overflow says what
  // to drop.
  Result<Generation> generate(const std::vector<int32_t>& prompt, const GenerateOptions& options = {});
  Result<Generation> generate(std::string_view prompt, const GenerateOptions& options = {});

  int32_t n_ctx() const;
  const Model& model() const { return *model_; }
  engine::Engine& engine() { return *engine_; }

 private:
  Generator(std::shared_ptr<const Model> model, std::unique_ptr<engine::Engine> engine);
  std::shared_ptr<const Model> model_;
  std::unique_ptr<engine::Engine> engine_;
};

// The context one generation needs when the caller gives none: the prompt and max_tokens, within
// the model's training context, at least 8. Never past the training context: a longer prompt is
// then an error with both counts (or cut by GenerateOptions::overflow), not a silent run beyond
// what the model was trained on; give GeneratorOptions::n_ctx to go past it deliberately.
int32_t context_for(const Model& model, int32_t n_prompt, int32_t max_tokens);

// One-shot: a Generator sized by context_for() unless generator.n_ctx is set, one generation.
Result<Generation> generate(std::shared_ptr<const Model> model, std::string_view prompt,
                            const GenerateOptions& options = {}, GeneratorOptions generator = {});

}  // namespace nuri
