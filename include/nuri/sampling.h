// nuri/sampling.h — sampling parameters (public API) and the one place their defaults live.
// Defaults: the API (server, engine requests, nuri::generate) follows OpenAI: temperature 1.0.
// The CLI's `nuri run`/`chat`/`agent` are greedy (temperature 0) unless --temp is given, so that
// a command gives the same answer every time. Strategies that need diversity (self-consistency,
// best-of-n) sample at kStrategyDefaultTemperature.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace nuri::sampling {

inline constexpr float kApiDefaultTemperature = 1.0f;
inline constexpr float kCliDefaultTemperature = 0.0f;
inline constexpr float kStrategyDefaultTemperature = 0.8f;

struct SamplerParams {
  float temperature = kApiDefaultTemperature;  // <= 0: greedy
  int32_t top_k = 40;           // <= 0: off
  float top_p = 0.95f;          // >= 1: off
  float min_p = 0.05f;          // <= 0: off
  float typical_p = 1.0f;       // >= 1: off
  float repeat_penalty = 1.0f;  // 1: off
  int32_t repeat_last_n = 64;   // window of accepted tokens the penalties look at; < 0: all of them
  float frequency_penalty = 0.f;
  float presence_penalty = 0.f;
  std::vector<std::pair<int32_t, float>> logit_bias;  // added to the logit; -inf bans a token
  uint64_t seed = 0;
};

}  // namespace nuri::sampling
