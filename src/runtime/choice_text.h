// runtime/choice_text.h — the visible text of one generated choice, token by token.
// Purpose: detokenize a stream of ids (holding partial UTF-8) and cut it at the first stop
//   string, even when a stop string spans several tokens: text that could still become the start
//   of a stop string is held back until the next token decides.
// Non-goals: regex stops, token-id stops (end-of-generation tokens are the engine's business).
// Invariants: the concatenation of push() and finish() outputs never contains a stop string
//   and, when no stop string matched, equals the full decode of the ids.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace nuri::engine {

class ChoiceText {
 public:
  ChoiceText(const tokenizer::Tokenizer& tok, std::vector<std::string> stop, bool continuation);
  // Adds a token; returns the text that became final. Sets *stopped when a stop string matched
  // (the text before it is returned; nothing after it ever is).
  std::string push(int32_t token, bool* stopped);
  // Releases everything held (end of generation without a stop match).
  std::string finish();

 private:
  tokenizer::StreamDecoder dec_;
  std::vector<std::string> stop_;
  std::string held_;
};

// Log-softmax of a logits row: the logprob of `token` and of the `n_top` most likely tokens
// (most likely first, ties to the lower id).
struct RowLogprobs {
  float chosen = 0.f;
  std::vector<std::pair<int32_t, float>> top;
};
RowLogprobs row_logprobs(const float* logits, int32_t n_vocab, int32_t token, int32_t n_top);

}  // namespace nuri::engine
