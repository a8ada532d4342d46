// The paged KV cache under a real model (stories260K): decoding through block tables gives the
// same logits, bit for bit, as the dense cache (fast and reference paths, odd block sizes); a
// write into a shared block leaves the other sequence's greedy output unchanged; through the
// engine, 16 choices of a 2,000-token prompt hold the prompt's KV once, and a second request
// reuses exactly the prefix it shares with the first.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "model/context.h"
#include "nuri/engine.h"
#include "runtime/kv_cache.h"
#include "runtime/session.h"
#include "runtime/loaded_model.h"
#include "test_util.h"

namespace nuri::runtime {
namespace {

using namespace std::chrono_literals;

const LoadedModel& loaded() {
  static LoadedModel* lm = [] {
    auto r = load_model(test::shared_dir() + "/models/stories260K-F32.gguf");
    if (!r.ok()) {
      ADD_FAILURE() << r.error();
      std::abort();
    }
    return new LoadedModel(std::move(r).value());
  }();
  return *lm;
}

std::vector<int32_t> some_tokens(int n, int32_t salt) {
  std::vector<int32_t> t{1};  // BOS
  for (int i = 1; i < n; ++i) t.push_back(static_cast<int32_t>(3 + (i * 7919 + salt * 131) % 500));
  return t;
}

int32_t argmax(const float* l, int32_t n) {
  int32_t b = 0;
  for (int32_t i = 1; i < n; ++i)
    if (l[i] > l[b]) b = i;
  return b;
}

model::ContextParams context_params(bool reference, int32_t n_seq, int32_t n_ctx) {
  model::ContextParams cp;
  cp.n_ctx = n_ctx;
  cp.n_seq = n_seq;
  cp.n_batch = 7;  // prompts span several chunks
  cp.n_threads = 1;
  cp.reference = reference;
  return cp;
}

std::unique_ptr<model::Context> context(bool reference = false, int32_t n_seq = 1, int32_t n_ctx = 256) {
  auto c = model::Context::create(loaded().model, context_params(reference, n_seq, n_ctx));
  EXPECT_TRUE(c.ok()) << c.error();
  return std::move(c).value();
}

// A context with a dense KV cache of its own (runtime/session.h).
std::unique_ptr<Session> session(bool reference, int32_t n_seq, int32_t n_ctx) {
  auto c = Session::create(loaded().model, context_params(reference, n_seq, n_ctx));
  EXPECT_TRUE(c.ok()) << c.error();
  return std::move(c).value();
}

std::unique_ptr<KvCache> cache(int32_t n_seq, int32_t block_size) {
  const auto& cfg = loaded().model->config();
  KvCacheParams p;
  p.n_layer = cfg.n_layer;
  p.kv_dim = cfg.kv_dim();
  p.n_seq = n_seq;
  p.max_positions = 256;
  p.block_size = block_size;
  auto c = KvCache::create(p);
  EXPECT_TRUE(c.ok()) << c.error();
  return std::move(c).value();
}

// Greedy on seq 0 of a dense context: the logits of every step.
std::vector<std::vector<float>> dense_greedy(const std::vector<int32_t>& prompt, int n, bool reference) {
  auto ctx = session(reference, 1, static_cast<int32_t>(prompt.size()) + n + 1);
  const int32_t V = ctx->config().n_vocab;
  std::vector<model::BatchToken> b;
  for (size_t i = 0; i < prompt.size(); ++i) b.push_back({prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size()});
  EXPECT_TRUE(ctx->decode(b).is_ok());
  std::vector<std::vector<float>> out;
  for (int i = 0; i < n; ++i) {
    out.emplace_back(ctx->logits(0), ctx->logits(0) + V);
    b.assign(1, {argmax(ctx->logits(0), V), static_cast<int32_t>(prompt.size()) + i, 0, true});
    EXPECT_TRUE(ctx->decode(b).is_ok());
  }
  return out;
}

TEST(PagedKv, DecodeThroughBlockTablesEqualsDense) {
  NURI_REQUIRE_SHARED();
  const auto prompt = some_tokens(23, 1);
  for (const bool reference : {false, true}) {
    for (const int32_t bs : {1, 5, 16}) {
      SCOPED_TRACE(testing::Message() << "reference " << reference << ", block size " << bs);
      const auto want = dense_greedy(prompt, 20, reference);
      auto ctx = context(reference);
      auto kv = cache(1, bs);
      const int32_t V = ctx->config().n_vocab;
      std::vector<model::BatchToken> b;
      for (size_t i = 0; i < prompt.size(); ++i) b.push_back({prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size()});
      ASSERT_TRUE(kv->seq_append(0, prompt.data(), static_cast<int32_t>(prompt.size())));
      ASSERT_TRUE(ctx->decode(b, kv->view()).is_ok());
      kv->commit();
      for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(0, std::memcmp(ctx->logits(0), want[i].data(), V * sizeof(float))) << "step " << i;
        const int32_t t = argmax(ctx->logits(0), V);
        b.assign(1, {t, kv->seq_len(0), 0, true});
        ASSERT_TRUE(kv->seq_append(0, &t, 1));
        ASSERT_TRUE(ctx->decode(b, kv->view()).is_ok());
        kv->commit();
      }
    }
  }
  // A position the table does not map is refused, not read.
  auto ctx = context();
  auto kv = cache(1, 16);
  EXPECT_FALSE(ctx->decode({{1, 0, 0, true}}, kv->view()).is_ok());
}

// Seq 1 forks seq 0 after the prompt and writes its own tokens into the shared last block (and
// beyond) in the same batches as seq 0's greedy decode: seq 0's tokens equal a lone run's.
TEST(PagedKv, WriteToASharedBlockLeavesTheOtherSequenceUnchanged) {
  NURI_REQUIRE_SHARED();
  const auto prompt = some_tokens(21, 2);  // ends 5 rows into its second 16-position block
  const int n = 24;
  std::vector<int32_t> want;
  for (const auto& l : dense_greedy(prompt, n, false)) want.push_back(argmax(l.data(), static_cast<int32_t>(l.size())));

  auto ctx = context(false, 2);
  auto kv = cache(2, 16);
  const int32_t V = ctx->config().n_vocab;
  std::vector<model::BatchToken> b;
  for (size_t i = 0; i < prompt.size(); ++i) b.push_back({prompt[i], static_cast<int32_t>(i), 0, i + 1 == prompt.size()});
  ASSERT_TRUE(kv->seq_append(0, prompt.data(), static_cast<int32_t>(prompt.size())));
  ASSERT_TRUE(ctx->decode(b, kv->view()).is_ok());
  kv->commit();
  kv->seq_fork(0, 1);
  std::vector<int32_t> got{argmax(ctx->logits(0), V)};
  for (int i = 1; i < n; ++i) {
    // Seq 1 first, so it writes into the shared block while seq 0 still maps it.
    const int32_t other = 100 + 17 * i % 300;
    const int32_t mine = got.back();
    b.clear();
    b.push_back({other, kv->seq_len(1), 1, true});
    ASSERT_TRUE(kv->seq_append(1, &other, 1));
    b.push_back({mine, kv->seq_len(0), 0, true});
    ASSERT_TRUE(kv->seq_append(0, &mine, 1));
    ASSERT_TRUE(ctx->decode(b, kv->view()).is_ok());
    kv->commit();
    got.push_back(argmax(ctx->logits(1), V));
  }
  EXPECT_EQ(kv->stats().cow_copies, 1u);
  EXPECT_EQ(got, want);
  EXPECT_EQ(kv->check(), "");
}

std::vector<int32_t> greedy_tokens(const std::vector<int32_t>& prompt, int n) {
  std::vector<int32_t> out;
  for (const auto& l : dense_greedy(prompt, n, false)) out.push_back(argmax(l.data(), static_cast<int32_t>(l.size())));
  return out;
}

std::unique_ptr<engine::Engine> make_engine(int32_t parallel, int32_t n_ctx) {
  engine::EngineParams p;
  p.n_parallel = parallel;
  p.n_ctx = n_ctx;
  p.n_threads = 1;
  auto e = engine::Engine::create(loaded().model, loaded().tokenizer, p);
  EXPECT_TRUE(e.ok()) << e.error();
  return std::move(e).value();
}

engine::Request greedy(std::vector<int32_t> prompt, int32_t n_choices, int32_t max_tokens) {
  engine::Request r;
  r.prompt = std::move(prompt);
  r.n_choices = n_choices;
  r.max_tokens = max_tokens;
  r.ignore_eos = true;
  r.sampling.temperature = 0;
  return r;
}

std::vector<std::vector<int32_t>> run(engine::Engine& e, engine::Request r, int32_t* n_cached = nullptr) {
  const int32_t n = r.n_choices;
  engine::SubmitResult s = e.submit(std::move(r));
  EXPECT_EQ(s.code, engine::SubmitCode::kOk) << s.message;
  std::vector<std::vector<int32_t>> toks(n);
  int done = 0;
  engine::Event ev;
  const auto deadline = std::chrono::steady_clock::now() + 120s;
  while (done < n && std::chrono::steady_clock::now() < deadline) {
    if (!s.handle->next(&ev, 100ms)) continue;
    if (ev.kind == engine::Event::Kind::kToken) toks[ev.choice].push_back(ev.token);
    else done += 1;
  }
  EXPECT_EQ(done, n) << "timed out";
  if (n_cached) *n_cached = s.handle->n_cached_tokens();
  return toks;
}

void wait_idle(engine::Engine& e) {
  for (int i = 0; i < 500 && (e.stats().slots_busy > 0 || e.stats().requests_active > 0); ++i)
    std::this_thread::sleep_for(10ms);
}

// The acceptance check of issue 13: the KV bytes the engine reports in use while 16 choices of a
// 2,000-token prompt decode are the prompt's blocks once plus one block per choice.
TEST(PagedKvEngine, SixteenChoicesHoldThePromptOnce) {
  NURI_REQUIRE_SHARED();
  const auto prompt = some_tokens(2000, 3);
  auto e = make_engine(16, 2048);
  const auto toks = run(*e, greedy(prompt, 16, 6));
  const auto want = greedy_tokens(prompt, 6);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(toks[i], want) << "choice " << i;
  wait_idle(*e);
  const engine::EngineStats st = e->stats();
  ASSERT_GT(st.kv_blocks_total, 0);
  const int64_t per_block = st.kv_bytes_total / st.kv_blocks_total;
  const auto& cfg = loaded().model->config();
  EXPECT_EQ(per_block, int64_t{2} * 2 * st.kv_block_size * cfg.kv_dim() * cfg.n_layer);  // K+V f16, every layer
  const int64_t prompt_blocks = (2000 + st.kv_block_size - 1) / st.kv_block_size;
  EXPECT_GE(st.kv_bytes_peak, prompt_blocks * per_block);
  EXPECT_LE(st.kv_bytes_peak, (prompt_blocks + 16) * per_block);  // not 16x the prompt
  EXPECT_EQ(st.kv_bytes_used, 0);  // finished: nothing mapped ...
  EXPECT_GE(st.kv_blocks_cached, prompt_blocks);  // ... the prompt stays cached
}

TEST(PagedKvEngine, SecondRequestReusesExactlyTheSharedPrefix) {
  NURI_REQUIRE_SHARED();
  auto e = make_engine(2, 512);
  const auto a = some_tokens(70, 4);
  auto b = a;
  b.resize(53);
  for (int i = 0; i < 20; ++i) b.push_back(400 + i);  // b[53] != a[53]
  ASSERT_NE(a[53], b[53]);
  int32_t cached = -1;
  run(*e, greedy(a, 1, 5), &cached);
  EXPECT_EQ(cached, 0);
  wait_idle(*e);
  const auto toks = run(*e, greedy(b, 1, 8), &cached);
  EXPECT_EQ(cached, 53);  // 3 shared 16-position blocks + 5 rows copied from the fourth
  EXPECT_EQ(toks[0], greedy_tokens(b, 8));
  // The same prompt again: all but its last token come from the cache.
  run(*e, greedy(b, 1, 2), &cached);
  EXPECT_EQ(cached, static_cast<int32_t>(b.size()) - 1);
}

}  // namespace
}  // namespace nuri::runtime
