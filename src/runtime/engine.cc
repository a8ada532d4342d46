// runtime/engine.cc — the continuous-batching engine (see include/nuri/engine.h).
// One thread runs step(): admit queued requests into free slots (the prompt's longest cached block
// prefix is mapped from the paged KV cache), build one batch (one token per generating choice,
// then prompt chunks up to n_batch), decode it over the cache's block tables, sample every
// output, emit events, free the slots (and their blocks) of finished or cancelled requests.
// n choices prefill the prompt once; the other choices fork its block table (no KV copied).
// n > n_parallel: submit() queues parts of at most n_parallel choices under one handle.
// A request with a grammar gives each choice a grammar::Matcher: its mask goes into the sampler
// first, and the choice ends when the grammar is complete.
#include "nuri/engine.h"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>

#include "base/check.h"
#include "base/log.h"
#include "grammar/grammar.h"
#include "model/context.h"
#include "runtime/choice_text.h"
#include "runtime/kv_cache.h"
#include "sampling/sampler.h"
#include "tokenizer/tokenizer.h"

namespace nuri::engine {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
    case FinishReason::kNone: break;
  }
  return "none";
}

const char* context_overflow_name(ContextOverflow p) {
  switch (p) {
    case ContextOverflow::kShift: return "shift";
    case ContextOverflow::kTruncate: return "truncate";
    case ContextOverflow::kError: break;
  }
  return "error";
}

bool parse_context_overflow(const std::string& s, ContextOverflow* out) {
  if (s == "error") *out = ContextOverflow::kError;
  else if (s == "shift" || s == "context-shift") *out = ContextOverflow::kShift;
  else if (s == "truncate") *out = ContextOverflow::kTruncate;
  else return false;
  return true;
}

const char* kv_cache_type_name(KvCacheType t) {
  return t == KvCacheType::kQ8_0 ? "q8_0" : t == KvCacheType::kQ4_0 ? "q4_0" : "f16";
}

bool parse_kv_cache_type(const std::string& s, KvCacheType* out) {
  if (s == "f16") *out = KvCacheType::kF16;
  else if (s == "q8_0") *out = KvCacheType::kQ8_0;
  else if (s == "q4_0") *out = KvCacheType::kQ4_0;
  else return false;
  return true;
}

struct RequestHandle::Queue {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Event> events;
};

RequestHandle::RequestHandle() : queue_(std::make_unique<Queue>()) {}
RequestHandle::~RequestHandle() = default;

bool RequestHandle::next(Event* ev, std::chrono::milliseconds timeout) {
  Queue& q = *queue_;
  std::unique_lock lk(q.mu);
  if (!q.cv.wait_for(lk, timeout, [&] { return !q.events.empty(); })) return false;
  *ev = std::move(q.events.front());
  q.events.pop_front();
  return true;
}

void RequestHandle::push(Event ev) {
  if (on_event_) {
    on_event_(ev);
    return;
  }
  {
    std::lock_guard lk(queue_->mu);
    queue_->events.push_back(std::move(ev));
  }
  queue_->cv.notify_one();  // one reader per handle
}

namespace {

using Clock = std::chrono::steady_clock;
constexpr int32_t kKvBlockSize = 16;  // positions per KV block

struct Slot {
  int32_t seq = 0;  // KV cache sequence
  bool busy = false;
  uint64_t last_used = 0;
};

struct ChoiceState {
  int32_t slot = -1;
  std::unique_ptr<sampling::Sampler> sampler;
  std::unique_ptr<ChoiceText> text;
  std::unique_ptr<grammar::Matcher> matcher;  // requests with a grammar
  std::vector<uint32_t> mask;                 // [mask_words(n_vocab)] allowed tokens, reused each step
  int32_t last_token = -1;  // sampled, to be fed in the next step
  int32_t n_gen = 0;
  int32_t out = -1;         // logits row of this step
  bool done = false;
  // ContextOverflow::kShift only: the tokens of the sequence (in KV, then the one to feed next;
  // capacity n_ctx + 1, reserved at admission) and, after a shift, the next of them to recompute
  // (-1: none; the kept window is decoded in chunks, logits for its last token only).
  std::vector<int32_t> history;
  int32_t replay = -1;
};

struct Active {
  std::shared_ptr<RequestHandle> h;
  Request req;              // n_choices: this part's
  int32_t first_choice = 0; // index of this part's first choice in the whole request
  std::vector<ChoiceState> choices;
  int32_t n_past = 0;       // prompt tokens in the primary slot's sequence
  bool prefilling = true;
  int32_t prompt_out = -1;  // logits row of the last prompt token, the step it is decoded
  int32_t n_open = 0;       // choices not done
  int32_t n_keep = 0;       // kShift: positions a context shift keeps at the start
};

struct Queued {
  std::shared_ptr<RequestHandle> h;
  Request req;              // n_choices: this part's
  int32_t first_choice = 0;
  bool last_part = true;    // a request waits while its last part is queued
};

// n_keep of a request against its prompt and the context: < 0 or past the prompt keeps the whole
// prompt; at most n_ctx - 4 so that a shift always drops something (llama.cpp's bound).
int32_t clamp_keep(int32_t n_keep, int32_t P, int32_t n_ctx) {
  if (n_keep < 0 || n_keep > P) n_keep = P;
  return std::max(0, std::min(n_keep, n_ctx - 4));
}

// kShift / kTruncate: drops prompt tokens after the first n_keep so the prompt fits (see
// ContextOverflow); returns how many were dropped. req->n_keep becomes the clamped count.
int32_t fit_prompt(Request* req, int32_t n_ctx) {
  auto& p = req->prompt;
  const int32_t P = static_cast<int32_t>(p.size());
  const int32_t keep = clamp_keep(req->n_keep, P, n_ctx);
  req->n_keep = keep;
  int32_t drop = 0;
  if (req->overflow == ContextOverflow::kShift) {
    if (P < n_ctx) return 0;
    // llama.cpp's server: erase whole blocks of half the context after n_keep.
    const int32_t block = std::max(1, (n_ctx - keep) / 2);
    drop = (P - keep - block) / block * block;
  } else {
    // Room for max_tokens, at most half of what n_keep leaves (also when max_tokens is unbounded).
    const int64_t half = (n_ctx - keep) / 2;
    const int64_t room = req->max_tokens >= 0 ? std::min<int64_t>(req->max_tokens, half) : half;
    const int64_t target = std::max<int64_t>(keep + 1, n_ctx - room);
    if (P < n_ctx && (req->max_tokens < 0 || static_cast<int64_t>(P) + req->max_tokens <= n_ctx)) return 0;
    drop = P - static_cast<int32_t>(std::min<int64_t>(target, n_ctx - 1));
  }
  drop = std::max(0, std::min(drop, P - keep - 1));
  p.erase(p.begin() + keep, p.begin() + keep + drop);
  return drop;
}

}  // namespace

struct EngineImpl {
  std::shared_ptr<const model::Model> model;
  tokenizer::Tokenizer tok;
  EngineParams params;
  std::unique_ptr<model::Context> ctx;
  std::unique_ptr<runtime::KvCache> kv;  // paged, prefix-shared; the context has no KV of its own
  int32_t n_vocab = 0;

  // Token trie for grammar masks: built by the first submit() with a grammar (vocab_mu).
  std::mutex vocab_mu;
  std::shared_ptr<const grammar::Vocab> grammar_vocab;
  std::shared_ptr<const grammar::Vocab> vocab_for_grammar() {
    std::lock_guard lk(vocab_mu);
    if (!grammar_vocab) grammar_vocab = grammar::Vocab::from_tokenizer(tok);
    return grammar_vocab;
  }

  // Shared with submitters (mu).
  mutable std::mutex mu;
  std::condition_variable cv;
  std::deque<Queued> queue;
  bool stopping = false;
  uint64_t next_id = 1;
  EngineStats st;  // counters and the last published gauges
  std::deque<std::pair<Clock::time_point, uint64_t>> rate;  // (time, generated_tokens) per step

  // Engine thread only.
  std::vector<Slot> slots;
  std::vector<std::unique_ptr<Active>> active;
  uint64_t tick = 0;
  std::vector<model::BatchToken> batch;
  std::thread thread;

  void loop();
  void admit(Queued q);
  void finish_choice(Active& a, ChoiceState& c, FinishReason why, std::string text, std::string error = {});
  void fail_request(Active& a, const std::string& error);
  void sample_choice(Active& a, ChoiceState& c, const float* row);
  void shift_context(Active& a, ChoiceState& c, int32_t next_token);
  void step();
  void publish();
  // Requests waiting (mu held): a request counts once, however many of its parts wait.
  int32_t waiting_requests() const {
    int32_t n = 0;
    for (const auto& q : queue) n += q.last_part ? 1 : 0;
    return n;
  }
  // One choice of h got its done event: the last one finishes the request (mu not held).
  void choice_done(RequestHandle& h, FinishReason why);
  int32_t free_slots() const {
    int32_t n = 0;
    for (const auto& s : slots) n += s.busy ? 0 : 1;
    return n;
  }
};

Engine::Engine(std::unique_ptr<EngineImpl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() { shutdown(); }

Result<std::unique_ptr<Engine>> Engine::create(std::shared_ptr<const model::Model> model, tokenizer::Tokenizer tok,
                                               EngineParams params) {
  if (!model) return Error("engine: no model");
  if (params.n_parallel < 1 || params.n_parallel > 256)
    return Error("engine: parallel must be in [1, 256], got " + std::to_string(params.n_parallel));
  const auto& cfg = model->config();
  if (params.n_ctx <= 0) params.n_ctx = std::min<int32_t>(cfg.n_ctx_train > 0 ? cfg.n_ctx_train : 2048, 4096);
  if (params.n_ctx < 8) return Error("engine: context must be at least 8 positions, got " + std::to_string(params.n_ctx));
  params.n_batch = std::max(params.n_batch, params.n_parallel);
  if (params.max_queue < 0) params.max_queue = 0;
  auto impl = std::make_unique<EngineImpl>();
  impl->model = model;
  impl->tok = std::move(tok);
  impl->params = params;
  impl->n_vocab = cfg.n_vocab;
  model::ContextParams cp;
  cp.n_ctx = params.n_ctx;
  cp.n_seq = params.n_parallel;
  cp.n_batch = std::min(params.n_batch, 512);
  cp.n_threads = params.n_threads;
  cp.reference = params.reference;
  auto kt = [](KvCacheType t) {
    return t == KvCacheType::kQ8_0 ? kernels::KvType::kQ8_0 : t == KvCacheType::kQ4_0 ? kernels::KvType::kQ4_0 : kernels::KvType::kF16;
  };
  cp.k_type = kt(params.cache_type_k);
  cp.v_type = kt(params.cache_type_v);
  NURI_TRY(model::check_kv_types(cfg, cp.k_type, cp.v_type));
  NURI_ASSIGN_OR_RETURN(impl->ctx, model::Context::create(model, cp));
  runtime::KvCacheParams kp;
  kp.n_layer = cfg.n_layer;
  kp.kv_dim = cfg.kv_dim();
  kp.n_seq = params.n_parallel;
  kp.max_positions = params.n_ctx;
  kp.block_size = kKvBlockSize;
  kp.k_type = cp.k_type;
  kp.v_type = cp.v_type;
  NURI_ASSIGN_OR_RETURN(impl->kv, runtime::KvCache::create(kp));
  impl->slots.resize(params.n_parallel);
  for (int32_t i = 0; i < params.n_parallel; ++i) impl->slots[i].seq = i;
  impl->st.slots_total = params.n_parallel;
  EngineImpl* p = impl.get();
  impl->thread = std::thread([p] { p->loop(); });
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

void Engine::shutdown() {
  if (!impl_) return;
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

const tokenizer::Tokenizer& Engine::tokenizer() const { return impl_->tok; }
int32_t Engine::n_ctx() const { return impl_->params.n_ctx; }
int32_t Engine::n_parallel() const { return impl_->params.n_parallel; }
int32_t Engine::n_vocab() const { return impl_->n_vocab; }
int Engine::n_threads() const { return impl_->ctx->n_threads(); }

SubmitResult Engine::submit(Request req) {
  SubmitResult r;
  auto refuse = [&](SubmitCode code, std::string msg) {
    r.code = code;
    r.message = std::move(msg);
    std::lock_guard lk(impl_->mu);
    ++impl_->st.requests_rejected;
    return r;
  };
  const int32_t P = static_cast<int32_t>(req.prompt.size());
  const int32_t n_ctx = impl_->params.n_ctx;
  if (P == 0) return refuse(SubmitCode::kInvalid, "the prompt is empty");
  for (int32_t t : req.prompt)
    if (t < 0 || t >= impl_->n_vocab)
      return refuse(SubmitCode::kInvalid, "prompt token id " + std::to_string(t) + " is outside the vocabulary [0, " +
                                              std::to_string(impl_->n_vocab) + ")");
  int32_t dropped = 0;
  if (req.overflow == ContextOverflow::kError) {
    if (P >= n_ctx)
      return refuse(SubmitCode::kInvalid, "this model's context is " + std::to_string(n_ctx) +
                                              " tokens, but the prompt has " + std::to_string(P) + " tokens");
    if (req.max_tokens >= 0 && static_cast<int64_t>(P) + req.max_tokens > n_ctx)
      return refuse(SubmitCode::kInvalid, "this model's context is " + std::to_string(n_ctx) + " tokens, but " +
                                              std::to_string(P) + " prompt tokens + max_tokens " +
                                              std::to_string(req.max_tokens) + " exceed it");
  } else {
    dropped = fit_prompt(&req, n_ctx);
  }
  if (req.n_choices < 1 || req.n_choices > kMaxChoices)
    return refuse(SubmitCode::kInvalid, "n must be between 1 and " + std::to_string(kMaxChoices) + ", got " +
                                            std::to_string(req.n_choices));
  if (req.top_logprobs > 20) return refuse(SubmitCode::kInvalid, "top_logprobs must be at most 20");
  if (req.grammar) impl_->vocab_for_grammar();  // built here, not on the engine thread
  auto h = std::make_shared<RequestHandle>();
  h->n_prompt_ = static_cast<int32_t>(req.prompt.size());
  h->n_dropped_ = dropped;
  h->on_event_ = std::move(req.on_event);
  h->open_.store(req.n_choices);
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopping) {
      ++impl_->st.requests_rejected;
      r.code = SubmitCode::kShutdown;
      r.message = "the engine is shutting down";
      return r;
    }
    // max_queue counts requests waiting beyond the slots that are free right now.
    const int32_t free_now = impl_->st.slots_total - impl_->st.slots_busy;
    const int32_t waiting = impl_->waiting_requests();
    if (waiting >= impl_->params.max_queue + std::max(0, free_now)) {
      ++impl_->st.requests_rejected;
      r.code = SubmitCode::kQueueFull;
      r.message = "the server is busy (" + std::to_string(waiting) + " requests waiting); retry later";
      return r;
    }
    h->id_ = impl_->next_id++;
    ++impl_->st.requests_submitted;
    impl_->st.prompt_tokens_dropped += static_cast<uint64_t>(dropped);
    // Parts of at most n_parallel choices; the last one carries the moved request.
    const int32_t n = req.n_choices, per = impl_->params.n_parallel;
    for (int32_t first = 0; first < n; first += per) {
      const int32_t k = std::min(per, n - first);
      const bool last = first + k == n;
      Queued q{h, last ? std::move(req) : req, first, last};
      q.req.n_choices = k;
      impl_->queue.push_back(std::move(q));
    }
    impl_->st.queue_length = impl_->waiting_requests();
  }
  impl_->cv.notify_all();
  r.handle = std::move(h);
  return r;
}

EngineStats Engine::stats() const {
  std::lock_guard lk(impl_->mu);
  EngineStats s = impl_->st;
  s.queue_length = impl_->waiting_requests();
  const auto now = Clock::now();
  const auto& rate = impl_->rate;
  s.tokens_per_second = 0;
  if (!rate.empty()) {
    // The window ends now (an idle engine decays to 0) and starts at the oldest sample kept.
    const double span = std::chrono::duration<double>(now - rate.front().first).count();
    if (span > 0.05) s.tokens_per_second = static_cast<double>(s.generated_tokens - rate.front().second) / span;
  }
  return s;
}

void EngineImpl::admit(Queued q) {
  auto a = std::make_unique<Active>();
  a->h = std::move(q.h);
  a->req = std::move(q.req);
  a->first_choice = q.first_choice;
  const auto& P = a->req.prompt;
  const int32_t n = a->req.n_choices;
  // Free slots, least recently used first (a free slot maps no KV; finished prompts live on as cached blocks).
  std::vector<int32_t> free;
  for (int32_t i = 0; i < static_cast<int32_t>(slots.size()); ++i)
    if (!slots[i].busy) free.push_back(i);
  std::sort(free.begin(), free.end(), [&](int32_t x, int32_t y) { return slots[x].last_used < slots[y].last_used; });
  NURI_CHECK(static_cast<int32_t>(free.size()) >= n);

  // The longest cached prefix of the prompt (shared blocks of any sequence, running or finished).
  const int32_t cap = static_cast<int32_t>(P.size()) - 1;  // the last prompt token is always decoded, for its logits
  std::vector<int32_t> chosen(free.begin(), free.begin() + n);
  const int32_t primary = chosen[0];
  int32_t reuse = 0;
  if (params.prefix_reuse) reuse = kv->seq_attach_prefix(slots[primary].seq, P.data(), cap);
  else kv->seq_free(slots[primary].seq);
  for (size_t i = 1; i < chosen.size(); ++i) kv->seq_free(slots[chosen[i]].seq);
  a->n_past = reuse;
  a->n_keep = clamp_keep(a->req.n_keep, static_cast<int32_t>(P.size()), params.n_ctx);
  a->h->n_cached_.store(a->n_past);
  a->choices.resize(n);
  a->n_open = n;
  for (int32_t i = 0; i < n; ++i) {
    auto& c = a->choices[i];
    c.slot = chosen[i];
    slots[c.slot].busy = true;
    slots[c.slot].last_used = ++tick;
    ++st.slots_busy;  // mu is held: submit() sees the slot taken at once
    sampling::SamplerParams sp = a->req.sampling;
    sp.seed += static_cast<uint64_t>(a->first_choice + i) * 0x9E3779B97F4A7C15ull;  // the request's choice index
    c.sampler = std::make_unique<sampling::Sampler>(n_vocab, sp);
    for (int32_t t : P) c.sampler->accept(t);
    c.text = std::make_unique<ChoiceText>(tok, a->req.stop, a->req.continuation);
    if (a->req.overflow == ContextOverflow::kShift) {
      c.history.reserve(static_cast<size_t>(params.n_ctx) + 1);
      c.history.assign(P.begin(), P.end());
    }
    if (a->req.grammar) {
      const auto& gv = grammar_vocab;  // set by submit() before the request was queued
      c.matcher = std::make_unique<grammar::Matcher>(a->req.grammar, gv);
      c.mask.assign(std::max(grammar::mask_words(n_vocab), grammar::mask_words(gv->n_vocab())), 0u);
    }
  }
  st.prompt_tokens += P.size();
  st.prompt_tokens_cached += reuse;
  active.push_back(std::move(a));
}

void EngineImpl::finish_choice(Active& a, ChoiceState& c, FinishReason why, std::string text, std::string error) {
  if (c.done) return;
  c.done = true;
  Slot& s = slots[c.slot];
  s.busy = false;
  s.last_used = ++tick;
  kv->seq_free(s.seq);  // full blocks stay cached (prefix index) until the pool needs them
  Event ev;
  ev.kind = Event::Kind::kDone;
  ev.choice = a.first_choice + static_cast<int32_t>(&c - a.choices.data());
  ev.text = std::move(text);
  ev.finish = why;
  ev.error = std::move(error);
  ev.n_generated = c.n_gen;
  --a.n_open;
  choice_done(*a.h, why);
  a.h->push(std::move(ev));
}

void EngineImpl::choice_done(RequestHandle& h, FinishReason why) {
  if (h.open_.fetch_sub(1) != 1) return;
  h.finished_.store(true);
  std::lock_guard lk(mu);
  ++st.requests_finished;
  if (why == FinishReason::kCancelled) ++st.requests_cancelled;
}

void EngineImpl::fail_request(Active& a, const std::string& error) {
  for (auto& c : a.choices) finish_choice(a, c, FinishReason::kError, "", error);
}

void EngineImpl::sample_choice(Active& a, ChoiceState& c, const float* row) {
  const uint32_t* allowed = nullptr;
  if (c.matcher) {
    // Tokens past the vocabulary's pieces (a padded embedding) stay 0 in the mask.
    if (c.matcher->fill_mask(c.mask.data()) == 0) {
      if (c.matcher->is_complete()) finish_choice(a, c, FinishReason::kStop, c.text->finish());
      else finish_choice(a, c, FinishReason::kError, c.text->finish(), "the grammar allows no token of this vocabulary here");
      return;
    }
    allowed = c.mask.data();
  }
  const int32_t t = c.sampler->sample(row, allowed);
  if (c.matcher && (t < 0 || !c.matcher->accept(t))) {
    finish_choice(a, c, FinishReason::kError, c.text->finish(), "the sampled token does not fit the grammar");
    return;
  }
  c.sampler->accept(t);
  if (tok.is_eog(t) && (!a.req.ignore_eos || c.matcher)) {
    finish_choice(a, c, FinishReason::kStop, c.text->finish());
    return;
  }
  ++c.n_gen;
  {
    std::lock_guard lk(mu);
    ++st.generated_tokens;
  }
  Event ev;
  ev.kind = Event::Kind::kToken;
  ev.choice = a.first_choice + static_cast<int32_t>(&c - a.choices.data());
  ev.token = t;
  ev.piece = tok.token_to_piece(t, /*render_special=*/false);
  bool stopped = false;
  ev.text = c.text->push(t, &stopped);
  if (a.req.top_logprobs >= 0) {
    RowLogprobs lp = row_logprobs(row, n_vocab, t, a.req.top_logprobs);
    ev.logprob = lp.chosen;
    for (auto [id, v] : lp.top) ev.top.push_back({id, v});
  }
  a.h->push(std::move(ev));
  if (stopped) {
    finish_choice(a, c, FinishReason::kStop, "");
  } else if (c.matcher && c.matcher->is_complete() && !c.matcher->can_continue()) {
    finish_choice(a, c, FinishReason::kStop, c.text->finish());  // the grammar's sentence is done
  } else if (a.req.max_tokens >= 0 && c.n_gen >= a.req.max_tokens) {
    finish_choice(a, c, FinishReason::kLength, c.text->finish());
  } else if (kv->seq_len(slots[c.slot].seq) >= params.n_ctx) {
    if (a.req.overflow == ContextOverflow::kShift) shift_context(a, c, t);
    else finish_choice(a, c, FinishReason::kLength, c.text->finish());
  } else {
    c.last_token = t;
    if (a.req.overflow == ContextOverflow::kShift) c.history.push_back(t);
  }
}

// The choice's sequence holds n_ctx positions and `next_token` must go in: drop n_discard tokens
// after the first n_keep (llama.cpp's rule), map what the prefix cache still holds of the kept
// window and recompute the rest (step() feeds it in chunks, then samples after next_token).
void EngineImpl::shift_context(Active& a, ChoiceState& c, int32_t next_token) {
  const int32_t seq = slots[c.slot].seq;
  const int32_t n_past = kv->seq_len(seq);
  NURI_CHECK(static_cast<int32_t>(c.history.size()) == n_past);
  const int32_t n_keep = std::min(a.n_keep, n_past - 2);
  const int32_t n_discard = (n_past - n_keep) / 2;
  c.history.erase(c.history.begin() + n_keep, c.history.begin() + n_keep + n_discard);
  c.history.push_back(next_token);
  kv->seq_free(seq);
  const int32_t n = static_cast<int32_t>(c.history.size());
  c.replay = params.prefix_reuse ? kv->seq_attach_prefix(seq, c.history.data(), n - 1) : 0;
  c.last_token = next_token;
  a.h->n_shifts_.fetch_add(1);
  std::lock_guard lk(mu);
  ++st.context_shifts;
}

void EngineImpl::step() {
  // Cancelled requests end first: their slots are free for this step's admissions.
  for (auto& a : active)
    if (a->h->cancelled())
      for (auto& c : a->choices) finish_choice(*a, c, FinishReason::kCancelled, "");
  std::erase_if(active, [](const auto& a) { return a->n_open == 0; });
  {
    // Cancelled parts leave the queue; their choices end outside mu (choice_done takes it).
    std::vector<Queued> gone;
    {
      std::lock_guard lk(mu);
      for (auto it = queue.begin(); it != queue.end();) {
        if (it->h->cancelled()) {
          gone.push_back(std::move(*it));
          it = queue.erase(it);
        } else {
          ++it;
        }
      }
    }
    for (auto& q : gone)
      for (int32_t i = 0; i < q.req.n_choices; ++i) {
        Event ev;
        ev.kind = Event::Kind::kDone;
        ev.choice = q.first_choice + i;
        ev.finish = FinishReason::kCancelled;
        choice_done(*q.h, FinishReason::kCancelled);
        q.h->push(std::move(ev));
      }
  }
  {
    std::lock_guard lk(mu);
    while (!queue.empty() && free_slots() >= queue.front().req.n_choices) {
      Queued q = std::move(queue.front());
      queue.pop_front();
      admit(std::move(q));
    }
  }
  if (active.empty()) return;

  // One token for every generating choice, then prompt chunks in admission order.
  batch.clear();
  int32_t n_out = 0;
  for (auto& a : active) {
    a->prompt_out = -1;
    if (a->prefilling) continue;
    for (auto& c : a->choices) {
      c.out = -1;
      if (c.done || c.replay >= 0) continue;  // a shifted choice recomputes its window below
      const Slot& s = slots[c.slot];
      const int32_t pos = kv->seq_len(s.seq);
      if (!kv->seq_append(s.seq, &c.last_token, 1)) {
        finish_choice(*a, c, FinishReason::kError, c.text->finish(), "the KV cache is full");
        continue;
      }
      batch.push_back({c.last_token, pos, s.seq, true});
      c.out = n_out++;
    }
  }
  int32_t budget = params.n_batch - static_cast<int32_t>(batch.size());
  for (auto& a : active) {
    if (!a->prefilling || budget <= 0) continue;
    const auto& P = a->req.prompt;
    const Slot& s = slots[a->choices[0].slot];
    const int32_t m = std::min<int32_t>(budget, static_cast<int32_t>(P.size()) - a->n_past);
    if (!kv->seq_append(s.seq, P.data() + a->n_past, m)) {
      fail_request(*a, "the KV cache is full");
      continue;
    }
    for (int32_t i = 0; i < m; ++i) {
      const int32_t pos = a->n_past + i;
      const bool last = pos + 1 == static_cast<int32_t>(P.size());
      batch.push_back({P[pos], pos, s.seq, last});
      if (last) a->prompt_out = n_out++;
    }
    a->n_past += m;
    budget -= m;
  }
  // Choices after a context shift: the kept window in chunks, logits for its last token.
  for (auto& a : active) {
    if (a->prefilling) continue;
    for (auto& c : a->choices) {
      if (c.done || c.replay < 0 || budget <= 0) continue;
      const int32_t seq = slots[c.slot].seq;
      const int32_t n = static_cast<int32_t>(c.history.size());
      const int32_t m = std::min(budget, n - c.replay);
      if (!kv->seq_append(seq, c.history.data() + c.replay, m)) {
        finish_choice(*a, c, FinishReason::kError, c.text->finish(), "the KV cache is full");
        continue;
      }
      for (int32_t i = 0; i < m; ++i) {
        const int32_t pos = c.replay + i;
        const bool last = pos + 1 == n;
        batch.push_back({c.history[pos], pos, seq, last});
        if (last) c.out = n_out++;
      }
      c.replay += m;
      if (c.replay == n) c.replay = -1;
      budget -= m;
    }
  }
  if (batch.empty()) {
    std::erase_if(active, [](const auto& a) { return a->n_open == 0; });
    return;
  }

  Status status = ctx->decode(batch, kv->view());
  if (status.is_ok()) kv->commit();
  {
    std::lock_guard lk(mu);
    ++st.steps;
  }
  if (!status.is_ok()) {
    NURI_LOG_ERROR("engine: %s", status.message().c_str());
    for (auto& a : active) fail_request(*a, status.message());
    active.clear();
    return;
  }
  for (auto& a : active) {
    if (a->prefilling) {
      if (a->prompt_out < 0) continue;
      a->prefilling = false;
      const int32_t P = static_cast<int32_t>(a->req.prompt.size());
      const Slot& primary = slots[a->choices[0].slot];
      for (size_t i = 1; i < a->choices.size(); ++i) kv->seq_fork(primary.seq, slots[a->choices[i].slot].seq, P);
      const float* row = ctx->logits(a->prompt_out);
      for (auto& c : a->choices)
        if (!c.done) sample_choice(*a, c, row);
    } else {
      for (auto& c : a->choices)
        if (!c.done && c.out >= 0) sample_choice(*a, c, ctx->logits(c.out));
    }
  }
  std::erase_if(active, [](const auto& a) { return a->n_open == 0; });
}

void EngineImpl::publish() {
  std::lock_guard lk(mu);
  st.requests_active = static_cast<int32_t>(active.size());
  st.queue_length = static_cast<int32_t>(queue.size());
  st.slots_busy = 0;
  st.kv_cells_busy = 0;
  for (const auto& s : slots) {
    st.slots_busy += s.busy ? 1 : 0;
    st.kv_cells_busy += kv->seq_len(s.seq);
  }
  const runtime::KvCacheStats ks = kv->stats();
  st.kv_cells_cached = ks.positions_cached;
  st.kv_block_size = ks.block_size;
  st.kv_blocks_total = ks.blocks_total;
  st.kv_blocks_used = ks.blocks_used;
  st.kv_blocks_shared = ks.blocks_shared;
  st.kv_blocks_cached = ks.blocks_cached;
  st.kv_bytes_total = ks.bytes_total;
  st.kv_bytes_used = ks.bytes_used;
  st.kv_bytes_peak = std::max(st.kv_bytes_peak, ks.bytes_used);
  st.kv_evictions = ks.evictions;
  st.kv_cow_copies = ks.cow_copies;
  const auto now = Clock::now();
  rate.emplace_back(now, st.generated_tokens);
  while (rate.size() > 1 && now - rate.front().first > std::chrono::seconds(10)) rate.pop_front();
}

void EngineImpl::loop() {
  while (true) {
    {
      std::unique_lock lk(mu);
      if (active.empty()) cv.wait(lk, [&] { return stopping || !queue.empty(); });
      if (stopping) break;
    }
    step();
    publish();
  }
  // Shutting down: everything still queued or running ends as cancelled.
  for (auto& a : active) {
    a->h->cancel();
    for (auto& c : a->choices) finish_choice(*a, c, FinishReason::kCancelled, "");
  }
  active.clear();
  {
    std::lock_guard lk(mu);
    for (auto& q : queue) q.h->cancel();
  }
  step();  // drains the cancelled queue
  publish();
}

}  // namespace nuri::engine
