// eval/synth/synth.h — seeded, deterministic synthetic chat data with checkable answers.
// Purpose: generate the training corpus of nuri's own tiny model and the held-out sets of
//   `nuri eval-synth`: (a) arithmetic/word problems (difficulty 1-4) answered with short
//   step-by-step reasoning ending in "Answer: <number>"; (b) text-to-action requests answered
//   with one fenced ```python block whose printed output is the answer; (c) conversational turns.
// Non-goals: natural-language diversity beyond templates; executing Python (tools/synth does it).
// Invariants: output depends only on (seed, index, kind) — own PRNG (splitmix64), no std
//   distributions, no global state; sample i of generate(seed, n, k) is the same for every n > i.
//   Every (a) sample's `answer` is recomputed by check_reasoning_a(); every (b) sample's `answer`
//   is exactly what its code prints (without the trailing newline).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace nuri::eval::synth {

enum class Kind { kArith, kAction, kChat, kAll };

struct SynthSample {
  Kind kind = Kind::kArith;  // never kAll
  int difficulty = 0;        // 1..4 for kArith; 0 otherwise
  std::string task;          // template family, e.g. "story", "sum_squares", "greeting"
  std::string user;          // user turn
  std::string assistant;     // reference assistant turn
  std::string answer;        // (a) the number; (b) the printed output; (c) empty
};

// Deterministic PRNG: splitmix64. Exposed for tests and other generators.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  // Uniform integer in [lo, hi] (inclusive); lo <= hi.
  int64_t range(int64_t lo, int64_t hi);
  // Uniform index in [0, n).
  size_t index(size_t n) { return static_cast<size_t>(range(0, static_cast<int64_t>(n) - 1)); }
  bool coin(int percent) { return range(0, 99) < percent; }
  template <typename T>
  const T& pick(const std::vector<T>& v) { return v[index(v.size())]; }

 private:
  uint64_t state_;
};

// The seed of sample `index` under generator seed `seed` (splitmix64 mixing of both).
uint64_t sample_seed(uint64_t seed, uint64_t index, Kind kind);

// n samples of `kind` (kAll mixes: ~60% a, ~35% b, ~5% c). For kArith the difficulty of
// sample i is 1 + i % 4, so every n divisible by 4 is balanced across levels.
std::vector<SynthSample> generate(uint64_t seed, int n, Kind kind);

// One sample of a kind (kAll not allowed) — generate() calls this per index.
SynthSample generate_one(uint64_t seed, uint64_t index, Kind kind);

// The number after the last "Answer:" in `text` (optional sign, digits; commas ignored).
std::optional<std::string> extract_answer_a(const std::string& text);
// True when the model's last "Answer: <number>" equals sample.answer.
bool check_answer_a(const std::string& model_text, const SynthSample& sample);
// Re-derives every "x op y = z" line of an (a) reasoning text and checks the final answer;
// used to verify generated samples (returns an error message, empty when all is right).
std::string check_reasoning_a(const SynthSample& sample);

// The body of the first ```python fenced block (also accepts a bare ``` fence); nullopt if none.
std::optional<std::string> extract_python_block(const std::string& model_text);

// "a" | "b" | "c" | "all" and back.
std::optional<Kind> parse_kind(const std::string& s);
const char* kind_name(Kind k);

// ChatML rendering used for training and evaluation (no system turn):
// "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n" (+ "{assistant}<|im_end|>\n").
std::string render_chatml(const std::string& user, const std::string* assistant);

// Internal per-kind generators (one file each).
SynthSample generate_arith(Rng& rng, int difficulty);
SynthSample generate_action(Rng& rng);
SynthSample generate_chat(Rng& rng, uint64_t index);

}  // namespace nuri::eval::synth
