// tokenizer/special_rules.h — the one place that decides which special tokens encode() adds
// (BOS, EOS, SEP) and the special ids a GGUF vocabulary gets when its keys are absent.
// GGUF: llama.cpp's vocabulary loader is the reference — per vocabulary type (SPM, BPE, WPM,
// UGM) and, for BPE, per `tokenizer.ggml.pre`; `tokenizer.ggml.add_{bos,eos,sep}_token`
// override those defaults. HF directories: the `post_processor` of tokenizer.json, then
// `add_bos_token` / `add_eos_token` of tokenizer_config.json, as the GGUF converter reads them.
// Non-goals: deciding anything else about the pipeline (load_gguf.cc / load_hf.cc do that).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace nuri::tokenizer::detail {

struct SpecialFlags {
  bool add_bos = false;
  bool add_eos = false;
  bool add_sep = false;
};

// Defaults for a GGUF vocabulary without the add_* keys. `model` is tokenizer.ggml.model
// ("llama", "gpt2", "bert", "t5", "gemma4", ...), `pre` is tokenizer.ggml.pre ("" if absent).
SpecialFlags gguf_special_defaults(std::string_view model, std::string_view pre);

// The defaults, then the keys that are present, then the rules llama.cpp applies after the keys
// (Gemma 4 vocabularies always add BOS).
SpecialFlags resolve_gguf_special(std::string_view model, std::string_view pre, std::optional<bool> add_bos_key,
                                  std::optional<bool> add_eos_key, std::optional<bool> add_sep_key);

// Special ids a GGUF vocabulary of this model type has when the id keys are absent (-1: none).
struct SpecialIds {
  int32_t bos = -1, eos = -1, unk = -1, sep = -1, pad = -1;
};
SpecialIds gguf_default_ids(std::string_view model);

// HF tokenizer.json `post_processor` (null when absent) and tokenizer_config.json (null when
// absent). `lookup` maps a token text to its id (-1 if unknown). Sets the flags and, where the
// post-processor names them, the bos/eos ids it adds.
struct HfSpecial {
  SpecialFlags flags;
  int32_t bos_id = -1, eos_id = -1;  // -1: the post-processor did not name one
};
HfSpecial hf_special(const nlohmann::json& post_processor, const nlohmann::json& tokenizer_config,
                     const std::function<int32_t(const std::string&)>& lookup);

}  // namespace nuri::tokenizer::detail
