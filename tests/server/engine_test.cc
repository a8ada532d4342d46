// The continuous-batching engine (include/nuri/engine.h) on a real model (stories260K):
// greedy through the engine equals the llama.cpp golden and a plain single-sequence loop, also
// when many requests run batched together; n choices; stop strings across tokens; prefix reuse;
// cancellation; queue limits; refusals; shutdown with work in flight; grammar-constrained
// choices (checked with std::regex).
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "grammar/grammar.h"
#include "model/context.h"
#include "nuri/engine.h"
#include "runtime/choice_text.h"
#include "runtime/loaded_model.h"
#include "test_util.h"
#include "runtime/session.h"
#include "tokenizer/tokenizer.h"

namespace nuri::engine {
namespace {

using namespace std::chrono_literals;

std::string model_path() { return test::shared_dir() + "/models/stories260K-F32.gguf"; }

const runtime::LoadedModel& loaded() {
  static runtime::LoadedModel* lm = [] {
    auto r = runtime::load_model(model_path());
    if (!r.ok()) {
      ADD_FAILURE() << r.error();
      std::abort();
    }
    return new runtime::LoadedModel(std::move(r).value());
  }();
  return *lm;
}

std::unique_ptr<Engine> make_engine(int32_t parallel, int32_t max_queue = 64, int32_t n_ctx = 512) {
  EngineParams p;
  p.n_parallel = parallel;
  p.n_ctx = n_ctx;
  p.n_threads = 1;
  p.max_queue = max_queue;
  auto e = Engine::create(loaded().model, loaded().tokenizer, p);
  EXPECT_TRUE(e.ok()) << e.error();
  return std::move(e).value();
}

std::vector<int32_t> encode(const std::string& s) { return loaded().tokenizer.encode(s, true, true); }

Request greedy(const std::string& prompt, int32_t max_tokens) {
  Request r;
  r.prompt = encode(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = 0;
  return r;
}

struct Outcome {
  std::vector<std::string> text;
  std::vector<std::vector<int32_t>> tokens;
  std::vector<FinishReason> finish;
  std::vector<int32_t> n_generated;
};

Outcome collect(const std::shared_ptr<RequestHandle>& h, int32_t n_choices) {
  Outcome o;
  o.text.resize(n_choices);
  o.tokens.resize(n_choices);
  o.finish.assign(n_choices, FinishReason::kNone);
  o.n_generated.assign(n_choices, 0);
  int done = 0;
  Event ev;
  auto deadline = std::chrono::steady_clock::now() + 120s;
  while (done < n_choices && std::chrono::steady_clock::now() < deadline) {
    if (!h->next(&ev, 100ms)) continue;
    o.text[ev.choice] += ev.text;
    if (ev.kind == Event::Kind::kToken) {
      o.tokens[ev.choice].push_back(ev.token);
    } else {
      o.finish[ev.choice] = ev.finish;
      o.n_generated[ev.choice] = ev.n_generated;
      ++done;
    }
  }
  EXPECT_EQ(done, n_choices) << "timed out";
  EXPECT_TRUE(h->finished());
  return o;
}

Outcome run(Engine& e, Request r) {
  const int32_t n = r.n_choices;
  SubmitResult s = e.submit(std::move(r));
  EXPECT_EQ(s.code, SubmitCode::kOk) << s.message;
  return collect(s.handle, n);
}

// Plain single-sequence greedy loop on a dense-KV session (runtime/session.h).
std::vector<int32_t> reference_greedy(const std::vector<int32_t>& prompt, int32_t n) {
  model::ContextParams cp;
  cp.n_ctx = 512;
  cp.n_threads = 1;
  auto ctx = std::move(runtime::Session::create(loaded().model, cp)).value();
  std::vector<model::BatchToken> b;
  for (size_t i = 0; i < prompt.size(); ++i) b.push_back({prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size()});
  EXPECT_TRUE(ctx->decode(b).is_ok());
  std::vector<int32_t> out;
  int32_t pos = static_cast<int32_t>(prompt.size());
  const int32_t V = ctx->config().n_vocab;
  for (int i = 0; i < n; ++i) {
    const float* l = ctx->logits(0);
    int32_t best = 0;
    for (int32_t t = 1; t < V; ++t)
      if (l[t] > l[best]) best = t;
    if (loaded().tokenizer.is_eog(best)) break;
    out.push_back(best);
    b.assign(1, {best, pos++, 0, true});
    EXPECT_TRUE(ctx->decode(b).is_ok());
  }
  return out;
}

void wait_idle(Engine& e) {
  for (int i = 0; i < 200 && (e.stats().slots_busy > 0 || e.stats().queue_length > 0); ++i) std::this_thread::sleep_for(10ms);
}

TEST(Engine, GreedyMatchesGolden) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(2);
  Outcome o = run(*e, greedy("Once upon a time", 32));
  std::ifstream f(test::shared_dir() + "/golden/stories260K-F32.llama-simple-greedy32.txt");
  std::stringstream ss;
  ss << f.rdbuf();
  std::string golden = ss.str();
  while (!golden.empty() && (golden.back() == '\n' || golden.back() == ' ')) golden.pop_back();
  EXPECT_EQ("<s> Once upon a time" + o.text[0], golden);
  EXPECT_EQ(o.finish[0], FinishReason::kLength);
  EXPECT_EQ(o.n_generated[0], 32);
  EXPECT_EQ(o.tokens[0], reference_greedy(encode("Once upon a time"), 32));
}

TEST(Engine, BatchedGreedyEqualsSingle) {
  NURI_REQUIRE_SHARED();
  const std::vector<std::string> prompts = {"Once upon a time", "Tom had a red ball.", "The cat sat on the mat and",
                                            "Lily and Ben went to the park. They saw", "A big dog", "One day,"};
  auto e = make_engine(4);  // 6 requests on 4 slots: two join while others decode
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (const auto& p : prompts) {
    SubmitResult s = e->submit(greedy(p, 40));
    ASSERT_EQ(s.code, SubmitCode::kOk);
    hs.push_back(s.handle);
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    Outcome o = collect(hs[i], 1);
    EXPECT_EQ(o.tokens[0], reference_greedy(encode(prompts[i]), 40)) << prompts[i];
  }
  wait_idle(*e);
  EngineStats st = e->stats();
  EXPECT_EQ(st.slots_busy, 0);
  EXPECT_EQ(st.kv_cells_busy, 0);
  EXPECT_EQ(st.requests_finished, prompts.size());
  EXPECT_LT(st.steps, 6u * 41u);  // decoding was batched: fewer forwards than tokens
}

TEST(Engine, ChoicesShareThePrompt) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(4);
  Request r = greedy("Once upon a time", 16);
  r.n_choices = 3;
  Outcome o = run(*e, r);
  const auto ref = reference_greedy(encode("Once upon a time"), 16);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(o.tokens[i], ref) << "choice " << i;
  // Sampled choices differ from each other (seed + i) and repeat with the same seed.
  Request s = greedy("Once upon a time", 24);
  s.n_choices = 3;
  s.sampling.temperature = 1.0f;
  s.sampling.top_k = 0;
  s.sampling.top_p = 1.0f;
  s.sampling.min_p = 0;
  s.sampling.seed = 77;
  Outcome a = run(*e, s);
  Outcome b = run(*e, s);
  EXPECT_EQ(a.tokens, b.tokens);
  EXPECT_TRUE(a.tokens[0] != a.tokens[1] || a.tokens[1] != a.tokens[2]);
}

// n > parallel: the extra choices queue as parts; choice i is seeded as choice i of one big
// request (the first 4 of n=10 equal n=4 with the same seed), greedy choices all equal the
// reference, and the slots never exceed the pool.
TEST(Engine, MoreChoicesThanSlotsQueue) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(4);
  Request g = greedy("Once upon a time", 12);
  g.n_choices = 10;
  Outcome og = run(*e, g);
  const auto ref = reference_greedy(encode("Once upon a time"), 12);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(og.tokens[i], ref) << "choice " << i;
  Request s = greedy("Once upon a time", 20);
  s.sampling.temperature = 1.0f;
  s.sampling.top_k = 0;
  s.sampling.top_p = 1.0f;
  s.sampling.min_p = 0;
  s.sampling.seed = 5;
  s.n_choices = 10;
  Outcome ten = run(*e, s);
  s.n_choices = 4;
  Outcome four = run(*e, s);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(ten.tokens[i], four.tokens[i]) << "choice " << i;
  int differ = 0;
  for (int i = 4; i < 10; ++i) differ += ten.tokens[i] != ten.tokens[i % 4];
  EXPECT_GE(differ, 3);  // the queued parts are new samples, not copies of the first part
  // Cancelling while parts wait ends every choice once, as cancelled or finished.
  Request longr = greedy("Once upon a time", -1);
  longr.ignore_eos = true;
  longr.n_choices = 9;
  SubmitResult h = e->submit(longr);
  ASSERT_EQ(h.code, SubmitCode::kOk);
  Event ev;
  while (h.handle->next(&ev, 10s) && ev.kind != Event::Kind::kToken) {
  }
  EXPECT_LE(e->stats().slots_busy, 4);
  EXPECT_EQ(e->stats().queue_length, 1);  // one request waits, however many parts
  h.handle->cancel();
  std::vector<int> done(9, 0);
  while (h.handle->next(&ev, 10s)) {
    if (ev.kind == Event::Kind::kDone) ++done[ev.choice];
    if (h.handle->finished()) break;
  }
  while (h.handle->next(&ev, 100ms))
    if (ev.kind == Event::Kind::kDone) ++done[ev.choice];
  EXPECT_EQ(done, std::vector<int>(9, 1));
  wait_idle(*e);
  EngineStats st = e->stats();
  EXPECT_EQ(st.slots_busy, 0);
  EXPECT_EQ(st.requests_cancelled, 1u);
  EXPECT_EQ(st.requests_finished, st.requests_submitted);
}

TEST(Engine, StopStringsAcrossTokens) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(2);
  const std::string full = run(*e, greedy("Once upon a time", 32)).text[0];
  ASSERT_NE(full.find("little girl"), std::string::npos) << full;
  Request r = greedy("Once upon a time", 32);
  r.stop = {"le gi", "zzz"};  // inside "little girl": spans the tokens of "little" and "girl"
  Outcome o = run(*e, r);
  EXPECT_EQ(o.text[0], full.substr(0, full.find("le gi")));
  EXPECT_EQ(o.finish[0], FinishReason::kStop);
  // Per-token texts never show a prefix of the stop string that later matched.
  EXPECT_EQ(o.text[0].find("le g"), std::string::npos);
}

TEST(Engine, ChoiceTextHoldsPossibleStops) {
  NURI_REQUIRE_SHARED();
  const auto& tok = loaded().tokenizer;
  const auto ids = tok.encode("the little girl named Lily", false, false);
  ASSERT_GE(ids.size(), 4u);
  tokenizer::StreamDecoder ref(tok);
  ref.mark_continuation();
  std::string want;
  for (int32_t id : ids) want += ref.push(id);
  want += ref.flush();
  ChoiceText ct(tok, {"girl named X"}, /*continuation=*/true);
  std::string out;
  bool stopped = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    out += ct.push(ids[i], &stopped);
    ASSERT_FALSE(stopped);
    // Until " L" follows, "girl named" could still become the stop string: it is held back.
    if (out.find("named L") == std::string::npos) {
      EXPECT_EQ(out.find("girl"), std::string::npos) << out;
    }
  }
  out += ct.finish();  // nothing matched: everything is released
  EXPECT_EQ(out, want);
  // The same tokens with a stop string that matches at the end.
  ChoiceText ct2(tok, {"named Lily"}, true);
  std::string out2;
  for (int32_t id : ids) out2 += ct2.push(id, &stopped);
  EXPECT_TRUE(stopped);
  EXPECT_EQ(out2, want.substr(0, want.find("named Lily")));
}

TEST(Engine, PrefixReuse) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(2);
  const std::string p = "Once upon a time, there was a little dog named Max. Max liked to run in the park.";
  Outcome first = run(*e, greedy(p, 12));
  SubmitResult s = e->submit(greedy(p, 12));
  ASSERT_EQ(s.code, SubmitCode::kOk);
  Outcome second = collect(s.handle, 1);
  const int32_t P = static_cast<int32_t>(encode(p).size());
  EXPECT_EQ(s.handle->n_cached_tokens(), P - 1);
  EXPECT_EQ(first.tokens, second.tokens);
  EXPECT_EQ(second.tokens[0], reference_greedy(encode(p), 12));
  // A longer prompt with the same start reuses the shared part (copied from whichever slot has it).
  const std::string p2 = p + " One day Max saw a cat.";
  SubmitResult s2 = e->submit(greedy(p2, 8));
  ASSERT_EQ(s2.code, SubmitCode::kOk);
  Outcome third = collect(s2.handle, 1);
  EXPECT_GE(s2.handle->n_cached_tokens(), P - 2);
  EXPECT_EQ(third.tokens[0], reference_greedy(encode(p2), 8));
}

TEST(Engine, CancelFreesTheSlot) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(1);
  Request r = greedy("Once upon a time", -1);
  r.ignore_eos = true;
  SubmitResult s = e->submit(std::move(r));
  ASSERT_EQ(s.code, SubmitCode::kOk);
  Event ev;
  int tokens = 0;
  while (tokens < 3 && s.handle->next(&ev, 10s)) tokens += ev.kind == Event::Kind::kToken;
  s.handle->cancel();
  FinishReason why = FinishReason::kNone;
  while (s.handle->next(&ev, 10s))
    if (ev.kind == Event::Kind::kDone) {
      why = ev.finish;
      break;
    }
  EXPECT_EQ(why, FinishReason::kCancelled);
  wait_idle(*e);
  EXPECT_EQ(e->stats().slots_busy, 0);
  EXPECT_EQ(e->stats().requests_cancelled, 1u);
  // The slot serves the next request.
  Outcome o = run(*e, greedy("Once upon a time", 8));
  EXPECT_EQ(o.tokens[0], reference_greedy(encode("Once upon a time"), 8));
}

TEST(Engine, RunsToContextEnd) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(1, 4, 64);
  Request r = greedy("Once upon a time", -1);
  r.ignore_eos = true;
  Outcome o = run(*e, r);
  EXPECT_EQ(o.finish[0], FinishReason::kLength);
  // Positions P..63 take generated tokens; the token sampled from position 63's logits is the last.
  EXPECT_EQ(o.n_generated[0], 64 - static_cast<int32_t>(encode("Once upon a time").size()) + 1);
}

TEST(Engine, Refusals) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(2, 0, 64);
  Request empty;
  EXPECT_EQ(e->submit(empty).code, SubmitCode::kInvalid);
  Request bad_id = greedy("hi", 4);
  bad_id.prompt.push_back(1 << 20);
  EXPECT_EQ(e->submit(bad_id).code, SubmitCode::kInvalid);
  Request too_long;
  too_long.prompt.assign(64, 1);
  EXPECT_EQ(e->submit(too_long).code, SubmitCode::kInvalid);
  Request overflow = greedy("Once upon a time", 61);
  EXPECT_EQ(e->submit(overflow).code, SubmitCode::kInvalid);
  Request too_many = greedy("hi", 4);
  too_many.n_choices = kMaxChoices + 1;
  EXPECT_EQ(e->submit(too_many).code, SubmitCode::kInvalid);
  Request lp = greedy("hi", 4);
  lp.top_logprobs = 21;
  EXPECT_EQ(e->submit(lp).code, SubmitCode::kInvalid);
  // Queue of 0 beyond the 2 free slots: two long requests fit, the third is refused.
  Request longr = greedy("Once upon a time", -1);
  longr.ignore_eos = true;
  SubmitResult a = e->submit(longr), b = e->submit(longr);
  EXPECT_EQ(a.code, SubmitCode::kOk);
  EXPECT_EQ(b.code, SubmitCode::kOk);
  EXPECT_EQ(e->submit(longr).code, SubmitCode::kQueueFull);
  a.handle->cancel();
  b.handle->cancel();
  wait_idle(*e);
  EXPECT_EQ(e->stats().requests_rejected, 7u);
}

TEST(Engine, ShutdownEndsEverything) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(1, 8);
  Request longr = greedy("Once upon a time", -1);
  longr.ignore_eos = true;
  std::vector<std::shared_ptr<RequestHandle>> hs;
  for (int i = 0; i < 3; ++i) hs.push_back(e->submit(longr).handle);
  std::this_thread::sleep_for(20ms);
  e->shutdown();
  for (auto& h : hs) {
    Outcome o = collect(h, 1);
    EXPECT_EQ(o.finish[0], FinishReason::kCancelled);
  }
  EXPECT_EQ(e->submit(greedy("hi", 2)).code, SubmitCode::kShutdown);
}

TEST(Engine, Logprobs) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(1);
  Request r = greedy("Once upon a time", 6);
  r.top_logprobs = 3;
  SubmitResult s = e->submit(r);
  Event ev;
  int n = 0;
  while (s.handle->next(&ev, 10s) && ev.kind == Event::Kind::kToken) {
    ASSERT_EQ(ev.top.size(), 3u);
    EXPECT_EQ(ev.top[0].token, ev.token);  // greedy picks the most likely token
    EXPECT_FLOAT_EQ(ev.top[0].logprob, ev.logprob);
    EXPECT_GE(ev.top[0].logprob, ev.top[1].logprob);
    EXPECT_GE(ev.top[1].logprob, ev.top[2].logprob);
    EXPECT_LE(ev.logprob, 0.f);
    ++n;
  }
  EXPECT_EQ(n, 6);
}

TEST(Engine, GrammarConstrainsEveryChoice) {
  NURI_REQUIRE_SHARED();
  auto g = grammar::Grammar::parse(R"(root ::= ("yes" | "no" | [0-9]{1,3}) ", " [a-z]{2,5} ".")");
  ASSERT_TRUE(g.ok()) << g.error();
  auto e = make_engine(4);
  const std::regex want("(yes|no|[0-9]{1,3}), [a-z]{2,5}\\.");
  for (uint64_t seed : {1u, 2u, 3u}) {
    Request r;
    r.prompt = encode("Once upon a time");
    r.n_choices = 4;
    r.max_tokens = 64;
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 0;
    r.sampling.top_p = 1.0f;
    r.sampling.min_p = 0.0f;
    r.sampling.seed = seed;
    r.ignore_eos = true;  // does not apply under a grammar
    r.grammar = *g;
    Outcome o = run(*e, r);
    for (int i = 0; i < 4; ++i) {
      EXPECT_TRUE(std::regex_match(o.text[i], want)) << "seed " << seed << " choice " << i << ": '" << o.text[i] << "'";
      // The sentence ends with '.', after which nothing may follow: the choice stops there.
      EXPECT_EQ(o.finish[i], FinishReason::kStop) << o.text[i];
    }
  }
  // Greedy under a grammar is the best allowed token at each step, also with other requests
  // (without a grammar) in the same batch.
  Request free_run = greedy("Once upon a time", 12);
  SubmitResult other = e->submit(free_run);
  Request r = greedy("Once upon a time", 64);
  r.grammar = *g;
  Outcome o = run(*e, r);
  EXPECT_TRUE(std::regex_match(o.text[0], want)) << o.text[0];
  Outcome o2 = collect(other.handle, 1);
  EXPECT_EQ(o2.tokens[0], reference_greedy(encode("Once upon a time"), 12));
}

}  // namespace
}  // namespace nuri::engine
