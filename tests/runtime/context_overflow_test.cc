// Context overflow on stories260K (a real model trained with a 512-token context), through the
// public API: with no policy a too-long prompt is refused with both numbers and generation that
// fills the context ends with "length"; --context-shift goes on past the context, and every
// stretch after a shift equals a fresh greedy run whose prompt is the tokens llama.cpp's rule
// keeps (the first n_keep, the newest half of the rest, the token being fed); truncation and the
// shift policy's prompt cut (llama.cpp's server blocks) equal a fresh run on the kept prompt.
#include <gtest/gtest.h>

#include "nuri/nuri.h"
#include "test_util.h"

namespace nuri {
namespace {

constexpr int32_t kCtx = 512;

std::shared_ptr<Model> stories() {
  static std::shared_ptr<Model> m = [] {
    auto r = load(test::shared_dir() + "/models/stories260K-F32.gguf");
    if (!r.ok()) {
      ADD_FAILURE() << r.error();
      std::abort();
    }
    return std::move(r).value();
  }();
  return m;
}

std::unique_ptr<Generator> generator(int32_t n_ctx = kCtx) {
  GeneratorOptions go;
  go.n_ctx = n_ctx;
  go.n_threads = 1;
  auto g = Generator::create(stories(), go);
  EXPECT_TRUE(g.ok()) << g.error();
  return std::move(g).value();
}

GenerateOptions greedy(int32_t n, engine::ContextOverflow policy = engine::ContextOverflow::kError, int32_t keep = 0) {
  GenerateOptions o;
  o.max_tokens = n;
  o.sampling.temperature = 0;
  o.ignore_eos = true;  // long runs past the story's end
  o.overflow = policy;
  o.n_keep = keep;
  return o;
}

// A long prompt of ordinary story text (BOS + tokens).
std::vector<int32_t> long_prompt(int32_t n) {
  std::vector<int32_t> ids = stories()->tokenize("Once upon a time, there was a little girl named Lily.");
  const std::vector<int32_t> more = stories()->tokenize(" She liked to play in the park with her dog.", false);
  while (static_cast<int32_t>(ids.size()) < n) ids.insert(ids.end(), more.begin(), more.end());
  ids.resize(n);
  return ids;
}

TEST(ContextOverflow, TooLongPromptIsAnErrorWithTheCounts) {
  NURI_REQUIRE_SHARED();
  auto gen = generator();
  auto r = gen->generate(long_prompt(600), greedy(8));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("600"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("512"), std::string::npos) << r.error();
  // The engine refuses it too (the server's path), and prompt + max_tokens beyond the context.
  engine::Request req;
  req.prompt = long_prompt(600);
  auto sub = gen->engine().submit(req);
  EXPECT_EQ(sub.code, engine::SubmitCode::kInvalid);
  EXPECT_NE(sub.message.find("600"), std::string::npos) << sub.message;
  req.prompt = long_prompt(500);
  req.max_tokens = 20;
  sub = gen->engine().submit(req);
  EXPECT_EQ(sub.code, engine::SubmitCode::kInvalid);
  EXPECT_NE(sub.message.find("500"), std::string::npos) << sub.message;
  EXPECT_NE(sub.message.find("20"), std::string::npos) << sub.message;
}

TEST(ContextOverflow, GenerationStopsAtTheContextWithLength) {
  NURI_REQUIRE_SHARED();
  auto gen = generator();
  auto r = gen->generate(long_prompt(500), greedy(100));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->finish_reason, "length");
  EXPECT_EQ(r->tokens.size(), static_cast<size_t>(kCtx - 500));
  EXPECT_EQ(r->n_context_shifts, 0);
}

// Replays llama.cpp's shift rule over prompt + generated tokens and checks each stretch between
// shifts against a fresh run of the window the rule keeps.
void check_shifted_run(const std::vector<int32_t>& prompt, int32_t n_keep, int32_t n_gen) {
  auto gen = generator();
  auto r = gen->generate(prompt, greedy(n_gen, engine::ContextOverflow::kShift, n_keep));
  ASSERT_TRUE(r.ok()) << r.error();
  ASSERT_EQ(r->tokens.size(), static_cast<size_t>(n_gen)) << "context shift generates past the context";
  EXPECT_EQ(r->finish_reason, "length");
  std::vector<int32_t> window = prompt;  // the sequence as the engine holds it
  size_t next = 0;                       // generated tokens consumed
  int shifts = 0;
  while (next < r->tokens.size()) {
    // Fill the window to the context: those tokens come from the last fresh start.
    while (static_cast<int32_t>(window.size()) < kCtx && next < r->tokens.size()) window.push_back(r->tokens[next++]);
    if (next == r->tokens.size()) break;
    // Full: the token r->tokens[next] is fed after dropping n_discard after n_keep.
    const int32_t n_past = kCtx;
    const int32_t n_discard = (n_past - n_keep) / 2;
    window.erase(window.begin() + n_keep, window.begin() + n_keep + n_discard);
    window.push_back(r->tokens[next++]);
    ++shifts;
    // The stretch until the next shift equals a fresh greedy run of the kept window.
    const int32_t stretch =
        std::min<int32_t>(kCtx - static_cast<int32_t>(window.size()), static_cast<int32_t>(r->tokens.size() - next));
    if (stretch <= 0) continue;
    auto fresh = generator()->generate(window, greedy(stretch));
    ASSERT_TRUE(fresh.ok()) << fresh.error();
    ASSERT_EQ(fresh->tokens.size(), static_cast<size_t>(stretch));
    for (int32_t i = 0; i < stretch; ++i)
      ASSERT_EQ(fresh->tokens[i], r->tokens[next + i]) << "shift " << shifts << ", token " << i << " after it";
  }
  EXPECT_EQ(r->n_context_shifts, shifts);
  EXPECT_GE(shifts, 2);
}

TEST(ContextOverflow, ShiftGoesOnPastTheContextAndMatchesAFreshRunOfTheKeptTokens) {
  NURI_REQUIRE_SHARED();
  check_shifted_run(long_prompt(40), /*n_keep=*/1, /*n_gen=*/1100);  // BOS kept
}

TEST(ContextOverflow, ShiftKeepsALongerPrefix) {
  NURI_REQUIRE_SHARED();
  check_shifted_run(long_prompt(300), /*n_keep=*/37, /*n_gen=*/700);  // not a block multiple
}

TEST(ContextOverflow, ShiftCutsATooLongPromptInLlamaCppBlocks) {
  NURI_REQUIRE_SHARED();
  const std::vector<int32_t> p = long_prompt(1300);
  auto r = generator()->generate(p, greedy(30, engine::ContextOverflow::kShift, 1));
  ASSERT_TRUE(r.ok()) << r.error();
  // llama.cpp's server: blocks of (n_ctx - n_keep) / 2 = 255 after n_keep; (1300 - 1 - 255) / 255 = 4 erased.
  EXPECT_EQ(r->n_prompt_dropped, 4 * 255);
  EXPECT_EQ(r->n_prompt_tokens, 1300 - 4 * 255);
  std::vector<int32_t> kept(p.begin(), p.begin() + 1);
  kept.insert(kept.end(), p.begin() + 1 + 4 * 255, p.end());
  auto fresh = generator()->generate(kept, greedy(30));
  ASSERT_TRUE(fresh.ok()) << fresh.error();
  EXPECT_EQ(fresh->tokens, r->tokens);
}

TEST(ContextOverflow, TruncateKeepsThePrefixAndTheNewestTokens) {
  NURI_REQUIRE_SHARED();
  const std::vector<int32_t> p = long_prompt(900);
  auto r = generator()->generate(p, greedy(40, engine::ContextOverflow::kTruncate, 5));
  ASSERT_TRUE(r.ok()) << r.error();
  // Room for max_tokens: 512 - 40 = 472 prompt tokens, the first 5 and the newest 467.
  EXPECT_EQ(r->n_prompt_tokens, kCtx - 40);
  EXPECT_EQ(r->n_prompt_dropped, 900 - (kCtx - 40));
  EXPECT_EQ(r->tokens.size(), 40u);
  std::vector<int32_t> kept(p.begin(), p.begin() + 5);
  kept.insert(kept.end(), p.end() - (kCtx - 40 - 5), p.end());
  auto fresh = generator()->generate(kept, greedy(40));
  ASSERT_TRUE(fresh.ok()) << fresh.error();
  EXPECT_EQ(fresh->tokens, r->tokens);
  // Generation past the context still ends there with "length".
  auto full = generator()->generate(p, greedy(2000, engine::ContextOverflow::kTruncate, 5));
  ASSERT_TRUE(full.ok()) << full.error();
  EXPECT_EQ(full->finish_reason, "length");
  // Half of what n_keep leaves is room for generation: 5 + (507 - 253) prompt tokens.
  EXPECT_EQ(full->n_prompt_tokens, 5 + (kCtx - 5) - (kCtx - 5) / 2);
  // The context's 512 positions, then the token sampled from the last one's logits.
  EXPECT_EQ(full->n_prompt_tokens + static_cast<int32_t>(full->tokens.size()), kCtx + 1);
}

TEST(ContextOverflow, ShiftWithSeveralChoicesKeepsEachChoiceOwnWindow) {
  NURI_REQUIRE_SHARED();
  // Three sampled choices sharing one prompt's blocks shift independently and end with max_tokens.
  auto gen = generator();
  engine::Request req;
  req.prompt = long_prompt(100);
  req.n_choices = 3;
  req.max_tokens = 900;
  req.sampling.temperature = 0.8f;
  req.sampling.seed = 7;
  req.ignore_eos = true;
  req.overflow = engine::ContextOverflow::kShift;
  req.n_keep = 1;
  auto sub = gen->engine().submit(req);
  ASSERT_EQ(sub.code, engine::SubmitCode::kOk) << sub.message;
  int done = 0, tokens = 0;
  engine::Event ev;
  while (done < 3) {
    if (!sub.handle->next(&ev, std::chrono::milliseconds(100))) continue;
    if (ev.kind == engine::Event::Kind::kToken) ++tokens;
    else {
      ++done;
      EXPECT_EQ(ev.finish, engine::FinishReason::kLength) << ev.error;
    }
  }
  EXPECT_EQ(tokens, 3 * 900);
  EXPECT_GE(sub.handle->n_context_shifts(), 3 * 2);
}

}  // namespace
}  // namespace nuri
