#include "runtime/choice_text.h"

#include <algorithm>
#include <cmath>

namespace nuri::engine {

ChoiceText::ChoiceText(const tokenizer::Tokenizer& tok, std::vector<std::string> stop, bool continuation)
    : dec_(tok, /*render_special=*/false) {
  for (auto& s : stop)
    if (!s.empty()) stop_.push_back(std::move(s));
  if (continuation) dec_.mark_continuation();
}

std::string ChoiceText::push(int32_t token, bool* stopped) {
  *stopped = false;
  held_ += dec_.push(token);
  if (stop_.empty()) return std::move(held_);
  // Earliest stop match wins.
  size_t best = std::string::npos;
  for (const auto& s : stop_) best = std::min(best, held_.find(s));
  if (best != std::string::npos) {
    *stopped = true;
    std::string out = held_.substr(0, best);
    held_.clear();
    return out;
  }
  // Hold the longest suffix that is a proper prefix of some stop string.
  size_t hold = 0;
  for (const auto& s : stop_) {
    const size_t max_k = std::min(held_.size(), s.size() - 1);
    for (size_t k = max_k; k > hold; --k)
      if (held_.compare(held_.size() - k, k, s, 0, k) == 0) {
        hold = k;
        break;
      }
  }
  std::string out = held_.substr(0, held_.size() - hold);
  held_.erase(0, held_.size() - hold);
  return out;
}

std::string ChoiceText::finish() {
  held_ += dec_.flush();
  // The flushed tail may complete a stop string.
  size_t best = std::string::npos;
  for (const auto& s : stop_) best = std::min(best, held_.find(s));
  if (best != std::string::npos) held_.resize(best);
  return std::move(held_);
}

RowLogprobs row_logprobs(const float* logits, int32_t n_vocab, int32_t token, int32_t n_top) {
  RowLogprobs r;
  float mx = -INFINITY;
  for (int32_t i = 0; i < n_vocab; ++i) mx = std::max(mx, logits[i]);
  double sum = 0;
  for (int32_t i = 0; i < n_vocab; ++i) sum += std::exp(static_cast<double>(logits[i] - mx));
  const float lse = mx + static_cast<float>(std::log(sum));
  if (token >= 0 && token < n_vocab) r.chosen = logits[token] - lse;
  n_top = std::min(n_top, n_vocab);
  if (n_top <= 0) return r;
  // Keep the n_top best in a small sorted array (n_top <= 20).
  auto better = [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); };
  std::vector<int32_t> best;
  best.reserve(n_top + 1);
  for (int32_t i = 0; i < n_vocab; ++i) {
    if (static_cast<int32_t>(best.size()) == n_top && !better(i, best.back())) continue;
    auto it = std::upper_bound(best.begin(), best.end(), i, better);
    best.insert(it, i);
    if (static_cast<int32_t>(best.size()) > n_top) best.pop_back();
  }
  for (int32_t id : best) r.top.emplace_back(id, logits[id] - lse);
  return r;
}

}  // namespace nuri::engine
