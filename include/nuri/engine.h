// nuri/engine.h — continuous-batching generation engine: the API the server, the agent and
// third-party programs use to run many generations on one model at once.
//
// Purpose: one engine thread owns a model::Context with `n_parallel` sequences (slots). Callers
// submit requests (prompt tokens, sampling parameters, stop strings, max tokens, n choices) from
// any thread and read a stream of events (one per generated token, then one `done` per choice)
// from the returned handle, or receive them through a callback. Every engine step runs ONE
// batched forward over all active sequences: prompt chunks of newly admitted requests plus one
// token for every generating choice. Waiting requests join between steps; a finished or
// cancelled request frees its slots before the next step.
//
// KV: a paged cache (runtime/kv_cache.h) of 16-position blocks with reference counts. `n`
// choices prefill the prompt once and share its blocks (a choice that writes into the shared
// last block gets its own copy of it). Prefix reuse: full blocks stay indexed by their token
// prefix after a request ends (evicted least recently used first when the pool is short); a new
// request maps the longest cached prefix of its prompt, from finished or running requests, and
// only computes the rest.
//
// n > n_parallel: the request is queued as parts of at most n_parallel choices (one handle, the
// choice indices and seeds of the whole request); each part is admitted when its slots are free,
// and later parts map the prompt's cached blocks.
//
// Non-goals: HTTP, chat templates, tool calls (callers turn messages into prompt tokens);
// preemption (a request part holds its slots until it ends).
//
// Grammars: a request may carry a compiled grammar; the token trie of the vocabulary it needs
// (grammar::Vocab) is built once, on the first such request, and shared by all of them.
//
// Invariants: events of one choice arrive in order, and each choice ends with exactly one `done`
// event; `text` of the events of a choice, concatenated, is the choice's final text (stop strings
// are never emitted, even when they span tokens); a request's slots are free in the step after it
// finishes or is cancelled; the engine never aborts on caller input (bad requests are refused by
// submit()).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nuri/sampling.h"
#include "nuri/status.h"

namespace nuri {
class Model;  // nuri/nuri.h
}
namespace nuri::model {
class Model;
}
namespace nuri::grammar {
class Grammar;
}
namespace nuri::tokenizer {
class Tokenizer;
}

namespace nuri::engine {

// Element type of the cached K or V rows (llama.cpp's --cache-type-k/-v): f16 (default), q8_0
// (about half the bytes), q4_0 (about a quarter); the quantised types need head_dim % 32 == 0.
enum class KvCacheType { kF16, kQ8_0, kQ4_0 };
const char* kv_cache_type_name(KvCacheType t);             // "f16", "q8_0", "q4_0"
bool parse_kv_cache_type(const std::string& s, KvCacheType* out);

struct EngineParams {
  int32_t n_parallel = 4;   // slots: sequences decoded at once (a request with n choices takes n)
  int32_t n_ctx = 0;        // positions per slot; 0: the model's training context, at most 4096
  int32_t n_batch = 512;    // most tokens per step (prompt chunks are cut to fit)
  int n_threads = 0;        // forward threads; 0: physical cores
  int32_t max_queue = 64;   // requests that may wait beyond the free slots; more: kQueueFull
  bool prefix_reuse = true;
  bool reference = false;   // the f32 reference backend (slow; for checking)
  KvCacheType cache_type_k = KvCacheType::kF16;
  KvCacheType cache_type_v = KvCacheType::kF16;
};

enum class FinishReason { kNone, kStop, kLength, kCancelled, kError };

// What a request does when its tokens do not fit the context (n_ctx positions per slot).
//  kError: a prompt of n_ctx tokens or more, or prompt + max_tokens beyond n_ctx, is refused by
//    submit() with both numbers; generation that fills the context ends with kLength.
//  kShift: llama.cpp's context shift. A prompt of n_ctx tokens or more keeps its first n_keep
//    tokens and drops the oldest of the rest in blocks of (n_ctx - n_keep) / 2 (as llama.cpp's
//    server does); max_tokens is not limited by the context. When a choice's sequence is full,
//    n_discard = (n_past - n_keep) / 2 tokens after the first n_keep are dropped and generation
//    goes on. nuri recomputes the KV of the kept window (the first n_keep positions come from the
//    prefix cache) instead of re-rotating cached K, so the continuation equals a fresh run whose
//    prompt is the kept tokens.
//  kTruncate: a prompt that leaves no room for max_tokens (at most half of what n_keep leaves;
//    half when max_tokens < 0) keeps its first n_keep tokens and its most recent ones; generation
//    that fills the context ends with kLength.
enum class ContextOverflow { kError, kShift, kTruncate };
const char* context_overflow_name(ContextOverflow p);  // "error", "shift", "truncate"
// "error" | "shift" | "truncate" (also "context-shift"); false for anything else.
bool parse_context_overflow(const std::string& s, ContextOverflow* out);
const char* finish_reason_name(FinishReason r);  // "stop", "length", "cancelled", "error"

struct TopLogprob {
  int32_t token = 0;
  float logprob = 0.f;
};

struct Event {
  enum class Kind { kToken, kDone };
  Kind kind = Kind::kToken;
  int32_t choice = 0;
  // kToken: the sampled token, its raw piece (render_special=false) and the text that became
  // final with it (may be empty while a possible stop string or partial UTF-8 is held back, or
  // hold text of earlier tokens). kDone: token = -1, text = any held text released at the end.
  int32_t token = -1;
  std::string piece;
  std::string text;
  // When the request asked for logprobs: log-softmax of the raw logits (temperature 1, before
  // penalties and bias) for the chosen token and the `top_logprobs` most likely tokens.
  float logprob = 0.f;
  std::vector<TopLogprob> top;
  // kDone only.
  FinishReason finish = FinishReason::kNone;
  std::string error;            // kError: what went wrong
  int32_t n_generated = 0;      // tokens this choice generated (an end-of-generation token excluded)
};

constexpr int32_t kMaxChoices = 128;  // most choices per request (more than n_parallel queue as parts)

struct Request {
  std::vector<int32_t> prompt;  // at least one token
  int32_t n_choices = 1;        // independent samples sharing the prompt's KV, 1..kMaxChoices
  int32_t max_tokens = -1;      // per choice; < 0: until the context is full
  sampling::SamplerParams sampling;  // choice i samples with seed + i
  std::vector<std::string> stop;     // generation ends before the first occurrence of any
  int32_t top_logprobs = -1;    // < 0: no logprobs; else logprob of the chosen token + this many
  bool ignore_eos = false;      // keep going past end-of-generation tokens
  bool continuation = false;    // text continues visible text (keep the first token's leading space)
  ContextOverflow overflow = ContextOverflow::kError;  // see ContextOverflow
  int32_t n_keep = 0;           // kShift / kTruncate: prompt tokens always kept (BOS, system prompt); < 0: all
  // Optional structured output (grammar/grammar.h): every choice's tokens form a prefix of a
  // sentence of the grammar (the mask comes first in the sampler chain); an end-of-generation
  // token is allowed only when the text is complete, and a choice ends with kStop as soon as its
  // text is complete and nothing more may follow. ignore_eos does not apply.
  std::shared_ptr<const grammar::Grammar> grammar;
  // Optional: receive events on the engine thread instead of the handle's queue. Must be quick
  // and must not call back into the engine except RequestHandle::cancel().
  std::function<void(const Event&)> on_event;
};

// One submitted request. Thread-safe.
class RequestHandle {
 public:
  RequestHandle();
  ~RequestHandle();
  RequestHandle(const RequestHandle&) = delete;
  RequestHandle& operator=(const RequestHandle&) = delete;

  // Waits up to `timeout` for the next event; false on timeout (or when events go to on_event).
  bool next(Event* ev, std::chrono::milliseconds timeout);
  // Asks the engine to stop this request; its slots are freed at the next step and every
  // unfinished choice gets a done event with FinishReason::kCancelled.
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }
  bool finished() const { return finished_.load(); }  // every choice has its done event
  uint64_t id() const { return id_; }
  int32_t n_prompt_tokens() const { return n_prompt_; }
  int32_t n_cached_tokens() const { return n_cached_.load(); }  // prompt tokens taken from the prefix cache
  int32_t n_prompt_dropped() const { return n_dropped_; }  // prompt tokens dropped to fit (kShift, kTruncate)
  int32_t n_context_shifts() const { return n_shifts_.load(); }  // context shifts, over every choice

 private:
  friend class Engine;
  friend struct EngineImpl;
  void push(Event ev);
  uint64_t id_ = 0;
  int32_t n_prompt_ = 0;
  int32_t n_dropped_ = 0;
  std::atomic<int32_t> n_cached_{0};
  std::atomic<int32_t> n_shifts_{0};
  std::atomic<bool> cancelled_{false};
  std::atomic<bool> finished_{false};
  std::atomic<int32_t> open_{0};  // choices without their done event, over every part
  std::function<void(const Event&)> on_event_;
  struct Queue;  // the events not read yet (engine.cc)
  std::unique_ptr<Queue> queue_;
};

struct EngineStats {
  uint64_t requests_submitted = 0;
  uint64_t requests_finished = 0;   // including cancelled
  uint64_t requests_cancelled = 0;
  uint64_t requests_rejected = 0;   // refused by submit()
  uint64_t prompt_tokens = 0;       // prompt tokens of admitted requests
  uint64_t prompt_tokens_cached = 0;  // of which taken from the prefix cache
  uint64_t generated_tokens = 0;
  uint64_t context_shifts = 0;      // kShift: times a full sequence dropped its oldest tokens
  uint64_t prompt_tokens_dropped = 0;  // kShift / kTruncate: prompt tokens dropped to fit
  uint64_t steps = 0;               // batched forwards
  int32_t queue_length = 0;         // waiting to be admitted (request parts)
  int32_t requests_active = 0;      // admitted, not finished
  int32_t slots_total = 0;
  int32_t slots_busy = 0;
  int64_t kv_cells_busy = 0;        // KV positions of busy slots (a shared position counts per slot)
  int64_t kv_cells_cached = 0;      // KV positions kept in unmapped blocks for prefix reuse
  // The paged KV cache: blocks of kv_block_size positions (K and V of every layer).
  int32_t kv_block_size = 0;
  int32_t kv_blocks_total = 0;
  int32_t kv_blocks_used = 0;       // mapped by busy slots
  int32_t kv_blocks_shared = 0;     // mapped by more than one slot (n choices, common prefixes)
  int32_t kv_blocks_cached = 0;     // mapped by none, kept for prefix reuse (evicted when short)
  int64_t kv_bytes_total = 0;       // the pool
  int64_t kv_bytes_used = 0;        // the used blocks: the KV memory the running requests hold
  int64_t kv_bytes_peak = 0;        // largest kv_bytes_used seen after a step
  uint64_t kv_evictions = 0;        // cached blocks reused for new KV
  uint64_t kv_cow_copies = 0;       // shared blocks copied before a write
  double tokens_per_second = 0;     // generated tokens/s over the last ~10 s
};

enum class SubmitCode { kOk, kInvalid, kQueueFull, kShutdown };

struct SubmitResult {
  SubmitCode code = SubmitCode::kOk;
  std::string message;  // why it was refused
  std::shared_ptr<RequestHandle> handle;
};

struct EngineImpl;

class Engine {
 public:
  // Creates the context (n_parallel sequences of n_ctx positions) and starts the engine thread.
  static Result<std::unique_ptr<Engine>> create(std::shared_ptr<const model::Model> model,
                                                tokenizer::Tokenizer tokenizer, EngineParams params);
  // The same for a model loaded through the public API (nuri::load); the engine keeps it alive.
  static Result<std::unique_ptr<Engine>> create(const ::nuri::Model& model, EngineParams params);
  ~Engine();  // cancels everything and joins the engine thread
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Validates and queues a request. Refuses (never aborts): empty prompt, prompt (+ max_tokens)
  // beyond n_ctx (with ContextOverflow::kError; the other policies drop prompt tokens instead), n_choices outside [1, kMaxChoices], top_logprobs > 20, token ids out of range,
  // a full queue, a shut-down engine. The parts of an n > n_parallel request count as one
  // request against max_queue.
  SubmitResult submit(Request req);
  // Stops admitting work; cancels queued and active requests; joins the engine thread.
  void shutdown();

  EngineStats stats() const;
  const tokenizer::Tokenizer& tokenizer() const;
  int32_t n_ctx() const;
  int32_t n_parallel() const;
  int32_t n_vocab() const;
  int n_threads() const;  // forward threads

 private:
  explicit Engine(std::unique_ptr<EngineImpl> impl);
  std::unique_ptr<EngineImpl> impl_;
};

}  // namespace nuri::engine
