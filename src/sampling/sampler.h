// sampling/sampler.h — the sampler chain that turns a row of logits into the next token.
// Purpose: logit bias -> repetition/frequency/presence penalties -> top-k -> typical -> top-p ->
//   min-p -> temperature -> softmax -> seeded draw; greedy (argmax, ties to the lowest id) when
//   temperature <= 0. Filters see probabilities at temperature 1 (temperature only reshapes the
//   final draw), as in llama.cpp's default chain.
//   An optional allowed-token bitmask (a grammar's, see grammar/grammar.h) comes first in the
//   chain: tokens outside it are dropped before penalties' survivors reach any filter.
// Non-goals: building grammar masks (grammar/), DRY/XTC/mirostat.
// Invariants: no allocation per token (buffers sized for n_vocab at construction); the same seed,
//   params, logits and accepted tokens give the same tokens on every platform (own RNG, own
//   uniform conversion, deterministic tie-breaking by token id).
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "nuri/sampling.h"

namespace nuri::sampling {


// xoshiro256** seeded through splitmix64: fixed output on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) { seed_with(seed); }
  void seed_with(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1) with 53 random bits

 private:
  uint64_t s_[4];
};

struct Candidate {
  int32_t id;
  float logit;  // after bias and penalties (temperature not applied)
  float p;      // probability in the final draw (renormalised over the survivors)
};

class Sampler {
 public:
  Sampler(int32_t n_vocab, SamplerParams params);

  // Picks the next token from logits[n_vocab]. Does not record it: call accept() for the token
  // actually appended (sampled, forced or from the prompt) so penalties see it.
  // allowed: optional bitmask (bit id % 32 of word id / 32 set = may be picked), applied before
  // every other step; -1 when it allows no token.
  int32_t sample(const float* logits, const uint32_t* allowed = nullptr);
  void accept(int32_t token);
  // Forgets the accepted tokens and restarts the RNG from the seed.
  void reset();

  // The candidates that survived the chain in the last sample(), with the probabilities the draw
  // used: most probable first when a filter (top-k/typical/top-p) sorted them, else in id order.
  // Greedy: the chosen token with its softmax probability at T=1.
  std::span<const Candidate> candidates() const;
  const SamplerParams& params() const { return params_; }
  int32_t n_vocab() const { return n_vocab_; }

 private:
  void apply_penalties();
  void sort_prefix(size_t k);  // sorts so the first k are the k best (logit desc, id asc)
  void softmax();              // p over cand_[0..n_cand_) from logits, in the current order
  void top_k();
  void ensure_sorted();
  void typical();
  void top_p();
  void min_p();

  int32_t n_vocab_;
  SamplerParams params_;
  Rng rng_;
  mutable std::vector<Candidate> cand_;  // [n_vocab]
  mutable size_t greedy_n_ = 0;  // > 0: greedy's survivors, whose softmax candidates() has not taken yet
  size_t n_cand_ = 0;
  bool sorted_ = false;  // cand_[0..n_cand_) in (logit desc, id asc) order
  std::vector<float> bias_;          // [n_vocab]
  bool any_bias_ = false;
  std::vector<int32_t> history_;     // ring buffer of accepted tokens, [repeat_last_n]
  size_t hist_pos_ = 0;
  size_t hist_len_ = 0;
  std::vector<int32_t> counts_;      // [n_vocab] occurrences in the window
  std::vector<int32_t> active_;      // tokens with counts_ > 0 (capacity n_vocab)
  std::vector<int32_t> active_pos_;  // [n_vocab] index into active_, -1 if absent
  std::vector<double> scratch_;      // [n_vocab]
  std::vector<int32_t> order_;       // [n_vocab]
  std::vector<Candidate> tmp_;       // [n_vocab]
};

}  // namespace nuri::sampling
