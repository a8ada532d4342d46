// sampling/sampler.cc — the sampler chain.
#include "sampling/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "base/check.h"

namespace nuri::sampling {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

bool better(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}
}  // namespace

void Rng::seed_with(uint64_t seed) {
  uint64_t x = seed;
  for (auto& s : s_) s = splitmix64(x);
}

uint64_t Rng::next() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

Sampler::Sampler(int32_t n_vocab, SamplerParams params)
    : n_vocab_(n_vocab), params_(std::move(params)), rng_(params_.seed) {
  NURI_CHECK(n_vocab > 0);
  cand_.resize(n_vocab);
  scratch_.resize(n_vocab);
  order_.resize(n_vocab);
  tmp_.resize(n_vocab);
  bias_.assign(n_vocab, 0.f);
  for (const auto& [id, b] : params_.logit_bias) {
    if (id < 0 || id >= n_vocab) continue;  // ids outside the vocabulary cannot be produced anyway
    bias_[id] += b;
    any_bias_ = true;
  }
  counts_.assign(n_vocab, 0);
  active_.reserve(n_vocab);
  active_pos_.assign(n_vocab, -1);
  history_.resize(params_.repeat_last_n > 0 ? params_.repeat_last_n : 0);
}

void Sampler::reset() {
  rng_.seed_with(params_.seed);
  for (int32_t t : active_) {
    counts_[t] = 0;
    active_pos_[t] = -1;
  }
  active_.clear();
  hist_pos_ = hist_len_ = 0;
}

void Sampler::accept(int32_t token) {
  if (token < 0 || token >= n_vocab_) return;
  auto inc = [&](int32_t t) {
    if (counts_[t]++ == 0) {
      active_pos_[t] = static_cast<int32_t>(active_.size());
      active_.push_back(t);
    }
  };
  auto dec = [&](int32_t t) {
    if (--counts_[t] == 0) {
      int32_t idx = active_pos_[t];
      int32_t last = active_.back();
      active_[idx] = last;
      active_pos_[last] = idx;
      active_.pop_back();
      active_pos_[t] = -1;
    }
  };
  if (params_.repeat_last_n < 0) {
    inc(token);
    return;
  }
  if (params_.repeat_last_n == 0) return;
  if (hist_len_ == history_.size()) dec(history_[hist_pos_]);
  else ++hist_len_;
  history_[hist_pos_] = token;
  hist_pos_ = (hist_pos_ + 1) % history_.size();
  inc(token);
}

void Sampler::apply_penalties() {
  const bool any = params_.repeat_penalty != 1.f || params_.frequency_penalty != 0.f || params_.presence_penalty != 0.f;
  if (!any) return;
  // cand_ is still indexed by token id here.
  for (int32_t t : active_) {
    float& l = cand_[t].logit;
    if (params_.repeat_penalty != 1.f) l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    l -= static_cast<float>(counts_[t]) * params_.frequency_penalty + params_.presence_penalty;
  }
}

void Sampler::sort_prefix(size_t k) {
  k = std::min(k, n_cand_);
  if (k < n_cand_) std::partial_sort(cand_.begin(), cand_.begin() + k, cand_.begin() + n_cand_, better);
  else std::sort(cand_.begin(), cand_.begin() + n_cand_, better);
}

void Sampler::softmax() {
  double max_l = -std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < n_cand_; ++i) max_l = std::max<double>(max_l, cand_[i].logit);
  double sum = 0;
  for (size_t i = 0; i < n_cand_; ++i) {
    double e = std::isinf(max_l) ? 1.0 : std::exp(static_cast<double>(cand_[i].logit) - max_l);
    scratch_[i] = e;
    sum += e;
  }
  for (size_t i = 0; i < n_cand_; ++i) cand_[i].p = static_cast<float>(scratch_[i] / sum);
}

void Sampler::top_k() {
  const int32_t k = params_.top_k;
  if (k > 0 && static_cast<size_t>(k) < n_cand_) {
    sort_prefix(k);
    n_cand_ = k;
    sorted_ = true;
  }
}

void Sampler::ensure_sorted() {
  if (!sorted_) sort_prefix(n_cand_);
  sorted_ = true;
}

void Sampler::typical() {
  if (params_.typical_p >= 1.f || n_cand_ <= 1) return;
  ensure_sorted();
  softmax();
  double entropy = 0;
  for (size_t i = 0; i < n_cand_; ++i)
    if (cand_[i].p > 0) entropy -= cand_[i].p * std::log(static_cast<double>(cand_[i].p));
  // Order by |surprise - entropy| ascending (ties: better logit first), keep the smallest prefix
  // whose mass reaches typical_p.
  for (size_t i = 0; i < n_cand_; ++i)
    scratch_[i] = cand_[i].p > 0 ? std::fabs(-std::log(static_cast<double>(cand_[i].p)) - entropy)
                                 : std::numeric_limits<double>::infinity();
  // Order by score ascending; ties keep the better logit first (cand_ is in logit order).
  for (size_t i = 0; i < n_cand_; ++i) order_[i] = static_cast<int32_t>(i);
  std::sort(order_.begin(), order_.begin() + n_cand_, [&](int32_t a, int32_t b) {
    return scratch_[a] < scratch_[b] || (scratch_[a] == scratch_[b] && a < b);
  });
  for (size_t i = 0; i < n_cand_; ++i) tmp_[i] = cand_[order_[i]];
  std::copy(tmp_.begin(), tmp_.begin() + n_cand_, cand_.begin());
  const std::vector<Candidate>& c = cand_;
  double cum = 0;
  size_t keep = n_cand_;
  for (size_t i = 0; i < n_cand_; ++i) {
    cum += c[i].p;
    if (cum >= params_.typical_p) {
      keep = i + 1;
      break;
    }
  }
  n_cand_ = std::max<size_t>(keep, 1);
  sort_prefix(n_cand_);  // back to logit order for the next filters
}

void Sampler::top_p() {
  if (params_.top_p >= 1.f || n_cand_ <= 1) return;
  ensure_sorted();
  softmax();
  double cum = 0;
  for (size_t i = 0; i < n_cand_; ++i) {
    cum += cand_[i].p;
    if (cum >= params_.top_p) {
      n_cand_ = i + 1;
      return;
    }
  }
}

void Sampler::min_p() {
  if (params_.min_p <= 0.f || n_cand_ <= 1) return;
  softmax();
  float max_p = 0.f;
  for (size_t i = 0; i < n_cand_; ++i) max_p = std::max(max_p, cand_[i].p);
  const float threshold = max_p * params_.min_p;
  size_t keep = 0;
  for (size_t i = 0; i < n_cand_; ++i)  // stable compaction keeps the current order
    if (cand_[i].p >= threshold) cand_[keep++] = cand_[i];
  n_cand_ = keep;
}

std::span<const Candidate> Sampler::candidates() const {
  if (greedy_n_ > 0) {
    const double max_l = cand_[0].logit;
    double sum = 0;
    for (size_t i = 0; i < greedy_n_; ++i)
      sum += std::isinf(max_l) ? 1.0 : std::exp(static_cast<double>(cand_[i].logit) - max_l);
    cand_[0].p = static_cast<float>(1.0 / sum);
    greedy_n_ = 0;
  }
  return {cand_.data(), n_cand_};
}

int32_t Sampler::sample(const float* logits, const uint32_t* allowed) {
  greedy_n_ = 0;
  for (int32_t i = 0; i < n_vocab_; ++i) {
    cand_[i].id = i;
    cand_[i].logit = any_bias_ ? logits[i] + bias_[i] : logits[i];
    cand_[i].p = 0.f;
  }
  n_cand_ = static_cast<size_t>(n_vocab_);
  sorted_ = false;
  apply_penalties();  // indexes cand_ by id: before the mask compacts it
  if (allowed) {
    size_t keep = 0;
    const int32_t n_words = (n_vocab_ + 31) / 32;
    for (int32_t w = 0; w < n_words; ++w) {  // stable: id order; a grammar usually allows few words
      uint32_t bits = allowed[w];
      if (w == n_words - 1 && (n_vocab_ & 31)) bits &= (1u << (n_vocab_ & 31)) - 1;
      while (bits) {
        const int32_t i = w * 32 + __builtin_ctz(bits);
        bits &= bits - 1;
        cand_[keep++] = cand_[i];
      }
    }
    n_cand_ = keep;
    if (keep == 0) return -1;
  }

  if (params_.temperature <= 0.f) {
    size_t best = 0;
    for (size_t i = 1; i < n_cand_; ++i)
      if (cand_[i].logit > cand_[best].logit) best = i;  // strict: ties keep the lowest id
    // The chosen token's probability costs an exp per vocabulary entry: candidates() computes
    // it when asked (the survivors stay in cand_[0 .. greedy_n_), the chosen one first).
    std::swap(cand_[0], cand_[best]);
    greedy_n_ = n_cand_;
    n_cand_ = 1;
    return cand_[0].id;
  }

  top_k();
  typical();
  top_p();
  min_p();

  // Temperature reshapes the survivors; draw by inverse CDF in candidate order: (logit desc,
  // id asc) when a filter sorted them, else id order (no O(n log n) sort when nothing needs it).
  const double t = static_cast<double>(params_.temperature);
  double max_l = -std::numeric_limits<double>::infinity(), sum = 0;
  for (size_t i = 0; i < n_cand_; ++i) max_l = std::max<double>(max_l, cand_[i].logit);
  for (size_t i = 0; i < n_cand_; ++i) {
    double e = std::isinf(max_l) ? 1.0 : std::exp((static_cast<double>(cand_[i].logit) - max_l) / t);
    scratch_[i] = e;
    sum += e;
  }
  for (size_t i = 0; i < n_cand_; ++i) cand_[i].p = static_cast<float>(scratch_[i] / sum);
  const double r = rng_.uniform() * sum;
  double cum = 0;
  for (size_t i = 0; i < n_cand_; ++i) {
    cum += scratch_[i];
    if (r < cum) return cand_[i].id;
  }
  return cand_[n_cand_ - 1].id;
}

}  // namespace nuri::sampling
