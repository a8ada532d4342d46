// model/rope_scaling.h — RoPE scaling: read from GGUF metadata and HF config.json into
// ModelConfig::rope_scaling (linear, YaRN, Llama 3 frequency factors, LongRoPE), written back by
// the GGUF writers (gen, convert), and turned into the angles' parameters of a context.
// Non-goals: dynamic NTK (read as unscaled), per-layer (sliding-window) RoPE bases.
// Invariants: GGUF files mean what they mean to llama.cpp (keys, defaults, how the YaRN attention
// factor is derived); HF configs are mapped to the same fields the way llama.cpp's converter does.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "base/status.h"
#include "io/gguf.h"
#include "kernels/ops.h"
#include "model/config.h"

namespace nuri::model {

// <arch>.rope.scaling.{type, factor, original_context_length, attn_factor, yarn_ext_factor,
// yarn_beta_fast, yarn_beta_slow, yarn_log_multiplier}, <arch>.rope.scale_linear (older files),
// and the tensors rope_freqs.weight, rope_factors_long.weight, rope_factors_short.weight
// ([n_rot / 2] each). Needs c->n_rot and c->n_ctx_train. An unknown type is an error.
Status rope_scaling_from_gguf(const io::GgufFile& f, const std::string& arch_prefix, ModelConfig* c);

// config.json `rope_scaling` (or `rope_parameters`): rope_type|type default, linear, yarn
// (factor, original_max_position_embeddings, beta_fast, beta_slow, attention_factor, mscale,
// mscale_all_dim), llama3 (factor, low_freq_factor, high_freq_factor,
// original_max_position_embeddings), longrope|su (long_factor, short_factor, factor,
// attention_factor), dynamic (unscaled up to max_position_embeddings); `partial_rotary_factor`
// sets n_rot. Needs c->head_dim, c->rope_theta and c->n_ctx_train. Unknown types are errors.
Status rope_scaling_from_hf(const nlohmann::json& j, const std::string& path, ModelConfig* c);

// Llama 3's per-pair frequency divisors (HF rope_type "llama3", as llama.cpp's converter writes
// rope_freqs.weight): wavelength 2 pi / inv_freq above n_ctx_orig / low_freq_factor -> factor,
// below n_ctx_orig / high_freq_factor -> 1, in between 1 / ((1 - s) / factor + s) with
// s = (n_ctx_orig / wavelength - low_freq_factor) / (high_freq_factor - low_freq_factor).
std::vector<float> llama3_freq_factors(int n_rot, float freq_base, float factor, float low_freq_factor,
                                       float high_freq_factor, int32_t n_ctx_orig);

// LongRoPE's attention factor when the config gives none: sqrt(1 + ln(factor) / ln(n_ctx_orig)),
// 1 when factor <= 1.
float longrope_attn_factor(float factor, int32_t n_ctx_orig);

// The angles' parameters of a context holding n_ctx positions per sequence, by llama.cpp's
// llama_context rules: type none -> freq_scale 1; YaRN ext_factor defaults to 1; the YaRN
// attention factor; LongRoPE long factors when n_ctx > n_ctx_orig. freq_factors points into c.
kernels::RopeParams rope_params(const ModelConfig& c, int32_t n_ctx);

// One line for logs and `nuri inspect`: "none" or e.g. "yarn factor 4 n_ctx_orig 32 attn_factor 1".
std::string rope_scaling_summary(const ModelConfig& c);

// The GGUF metadata and tensors (name, [n_rot / 2] f32 values) that state r, under arch_prefix.
// The round trip rope_scaling_from_gguf(write(r)) gives r back.
std::vector<std::pair<std::string, io::GgufValue>> rope_scaling_gguf_kv(const RopeScaling& r,
                                                                        const std::string& arch_prefix);
std::vector<std::pair<std::string, std::vector<float>>> rope_scaling_gguf_tensors(const RopeScaling& r);

}  // namespace nuri::model
