// runtime/api.cc — the public API of include/nuri/nuri.h over runtime::LoadedModel and the engine.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include "base/timer.h"
#include "chat/chat_template.h"
#include "model/model.h"
#include "runtime/api_impl.h"
#include "store/store.h"
#include "tokenizer/tokenizer.h"

namespace nuri {

Model::Model(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Model::~Model() = default;

const std::string& Model::path() const { return impl_->lm.model->path(); }
std::string Model::architecture() const { return impl_->lm.model->config().arch_str; }
int32_t Model::n_vocab() const { return impl_->lm.model->config().n_vocab; }
int32_t Model::n_ctx_train() const { return impl_->lm.model->config().n_ctx_train; }
bool Model::has_chat_template() const { return !impl_->lm.chat_template.empty(); }

std::vector<int32_t> Model::tokenize(std::string_view text, bool add_special, bool parse_special) const {
  return impl_->lm.tokenizer.encode(text, add_special, parse_special);
}

std::string Model::detokenize(const std::vector<int32_t>& ids, bool render_special) const {
  return impl_->lm.tokenizer.decode(ids, render_special);
}

std::string Model::token_piece(int32_t id, bool render_special) const {
  return impl_->lm.tokenizer.token_to_piece(id, render_special);
}

bool Model::is_end_of_generation(int32_t id) const { return impl_->lm.tokenizer.is_eog(id); }

Result<std::string> Model::apply_chat_template(const std::string& messages_json, bool add_generation_prompt) const {
  const auto& tok = impl_->lm.tokenizer;
  chat::ModelChatInfo info;
  info.template_source = impl_->lm.chat_template;
  NURI_ASSIGN_OR_RETURN(chat::ChatTemplate tmpl, chat::template_for_model(info));
  chat::ChatInputs in;
  in.messages = nlohmann::ordered_json::parse(messages_json, nullptr, false);
  if (in.messages.is_discarded() || !in.messages.is_array())
    return Error("apply_chat_template: messages must be a JSON array of {\"role\", \"content\"} objects");
  in.add_generation_prompt = add_generation_prompt;
  if (tok.bos_id() >= 0) in.bos_token = tok.token_text(tok.bos_id());
  if (tok.eos_id() >= 0) in.eos_token = tok.token_text(tok.eos_id());
  return tmpl.apply(in);
}

std::string default_model_path() { return runtime::default_model_path(); }

Result<std::shared_ptr<Model>> load(const std::string& path_or_name) {
  const std::string p = path_or_name.empty() ? default_model_path() : path_or_name;
  if (p.empty()) return Error("no model given and no default model found (set NURI_MODEL)");
  NURI_ASSIGN_OR_RETURN(std::string path, store::resolve_model(p));  // a path, or a store name
  NURI_ASSIGN_OR_RETURN(runtime::LoadedModel lm, runtime::load_model(path));
  return wrap_model(std::move(lm));
}

// ---- Generator ----

Generator::Generator(std::shared_ptr<const Model> model, std::unique_ptr<engine::Engine> engine)
    : model_(std::move(model)), engine_(std::move(engine)) {}
Generator::~Generator() = default;

Result<std::unique_ptr<Generator>> Generator::create(std::shared_ptr<const Model> model, GeneratorOptions options) {
  if (!model) return Error("generator: no model");
  engine::EngineParams ep;
  ep.n_parallel = 1;
  ep.n_ctx = options.n_ctx;
  ep.n_threads = options.n_threads;
  ep.reference = options.reference;
  ep.prefix_reuse = options.prefix_reuse;
  ep.cache_type_k = options.cache_type_k;
  ep.cache_type_v = options.cache_type_v;
  // One generation at a time, but the slot of the previous one is freed only at the engine's next
  // step: the next generation may have to wait for it in the queue.
  ep.max_queue = 1;
  NURI_ASSIGN_OR_RETURN(std::unique_ptr<engine::Engine> e, engine::Engine::create(*model, ep));
  return std::unique_ptr<Generator>(new Generator(std::move(model), std::move(e)));
}

int32_t Generator::n_ctx() const { return engine_->n_ctx(); }

Result<Generation> Generator::generate(std::string_view prompt, const GenerateOptions& options) {
  return generate(model_->tokenize(prompt), options);
}

Result<Generation> Generator::generate(const std::vector<int32_t>& prompt_in, const GenerateOptions& options) {
  const auto& tok = model_->impl().lm.tokenizer;
  std::vector<int32_t> prompt = prompt_in;
  if (prompt.empty()) {
    // An empty prompt gives the model nothing to condition on: start from BOS (or EOS).
    if (tok.bos_id() >= 0) prompt.push_back(tok.bos_id());
    else if (tok.eos_id() >= 0) prompt.push_back(tok.eos_id());
    else return Error("empty prompt and the vocabulary has no BOS or EOS token");
  }
  const int32_t n_ctx = engine_->n_ctx();
  const int32_t P = static_cast<int32_t>(prompt.size());
  const bool fixed = options.overflow == engine::ContextOverflow::kError;
  if (fixed && P >= n_ctx)
    return Error("the prompt has " + std::to_string(P) + " tokens, but the context is " + std::to_string(n_ctx) +
                 " (raise --ctx, or drop tokens with --context-shift / --context-overflow truncate)");
  engine::Request req;
  req.prompt = std::move(prompt);
  // kError: at most what the context leaves (generation ends with "length" there); the policies
  // drop tokens instead.
  req.max_tokens = fixed ? std::min(options.max_tokens < 0 ? n_ctx : options.max_tokens, n_ctx - P) : options.max_tokens;
  req.overflow = options.overflow;
  req.n_keep = options.n_keep;
  req.sampling = options.sampling;
  req.stop = options.stop;
  req.ignore_eos = options.ignore_eos;
  req.continuation = options.continuation;
  req.grammar = options.grammar;
  // Events are taken on the engine thread (Request::on_event): waking this thread for every token
  // costs a context switch per token that preempts a compute thread (measured 3.6 % of decode
  // at 2 threads on 2 cores); the caller sleeps until the done event.
  Generation g;
  struct Wait {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
  } wait;
  Timer timer;
  bool first = true;
  std::string error;
  std::atomic<engine::RequestHandle*> self{nullptr};  // set after submit; a stop asked before waits in want_stop
  std::atomic<bool> want_stop{false};
  const bool ignore_eos = options.ignore_eos;
  const auto& on_text = options.on_text;
  req.on_event = [&](const engine::Event& ev) {
    if (first) {
      g.prefill_seconds = timer.seconds();
      first = false;
    }
    if (!ev.text.empty()) {
      g.text += ev.text;
      if (on_text && !on_text(ev.text)) {
        want_stop.store(true);
        if (engine::RequestHandle* h = self.load()) h->cancel();
      }
    }
    if (ev.kind == engine::Event::Kind::kToken) {
      if (!tok.is_eog(ev.token) || ignore_eos) g.tokens.push_back(ev.token);
      return;
    }
    if (ev.finish == engine::FinishReason::kError) error = ev.error.empty() ? "generation failed" : ev.error;
    g.finish_reason = engine::finish_reason_name(ev.finish);
    g.decode_seconds = timer.seconds() - g.prefill_seconds;
    std::lock_guard lk(wait.mu);
    wait.done = true;
    wait.cv.notify_one();
  };
  engine::SubmitResult sub = engine_->submit(std::move(req));
  if (sub.code != engine::SubmitCode::kOk) return Error(sub.message);
  self.store(sub.handle.get());
  if (want_stop.load()) sub.handle->cancel();
  {
    std::unique_lock lk(wait.mu);
    wait.cv.wait(lk, [&] { return wait.done; });
  }
  if (!error.empty()) return Error(error);
  g.n_prompt_tokens = sub.handle->n_prompt_tokens();
  g.n_prompt_dropped = sub.handle->n_prompt_dropped();
  g.n_threads = engine_->n_threads();
  g.n_cached_tokens = sub.handle->n_cached_tokens();
  g.n_context_shifts = sub.handle->n_context_shifts();
  return g;
}

int32_t context_for(const Model& model, int32_t n_prompt, int32_t max_tokens) {
  const int32_t P = std::max<int32_t>(n_prompt, 1);  // an empty prompt becomes BOS
  const int32_t want = P + std::max<int32_t>(max_tokens, 1);
  const int32_t train = model.n_ctx_train() > 0 ? model.n_ctx_train() : want;
  return std::max<int32_t>(8, std::min(want, train));
}

Result<Generation> generate(std::shared_ptr<const Model> model, std::string_view prompt, const GenerateOptions& options,
                            GeneratorOptions generator) {
  if (!model) return Error("generate: no model");
  std::vector<int32_t> ids = model->tokenize(prompt);
  if (generator.n_ctx <= 0) generator.n_ctx = context_for(*model, static_cast<int32_t>(ids.size()), options.max_tokens);
  NURI_ASSIGN_OR_RETURN(std::unique_ptr<Generator> gen, Generator::create(std::move(model), generator));
  return gen->generate(ids, options);
}

}  // namespace nuri

namespace nuri::engine {

Result<std::unique_ptr<Engine>> Engine::create(const ::nuri::Model& model, EngineParams params) {
  const runtime::LoadedModel& lm = model.impl().lm;
  return create(lm.model, lm.tokenizer, params);
}

}  // namespace nuri::engine
