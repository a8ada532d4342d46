// model/gen.h — random-weight models of real shapes, written with nuri's own GGUF writer and
// quantiser (for tests and benchmarks), and HF-layout export of the same weights.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/gguf.h"

namespace nuri::model {

struct GenSpec {
  std::string arch = "llama";  // llama | qwen2 | qwen3 | qwen3moe | llama-moe
  std::string shape = "tiny";  // tiny | qwen2.5-0.5b | llama3.2-1b | qwen3-0.6b | qwen3moe-tiny
  std::string dtype = "f32";   // f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_m
  uint64_t seed = 1;
  int32_t n_layer_override = 0;  // >0: fewer/more layers than the shape says
  // gen_hf: add_bos_token / add_eos_token of tokenizer_config.json — what the vocabulary's
  // tokenizer adds (the caller resolves it with tokenizer::Tokenizer, which owns the rule).
  bool add_bos = false, add_eos = false;
  // RoPE scaling written into the model (GGUF keys + factor tensors, HF rope_scaling):
  // none | linear | yarn | llama3 | longrope, with factor, original context and attention factor
  // (0: the type's default: 1, LongRoPE sqrt(1 + ln factor / ln n_ctx_orig)); rope_dims: rotary
  // dims per head (0: head_dim; partial rotary otherwise).
  std::string rope_scaling = "none";
  float rope_factor = 4.f;
  int32_t rope_orig_ctx = 32;
  float rope_attn_factor = 0.f;
  int32_t rope_dims = 0;
};

// Known shapes, for help text.
std::vector<std::string> gen_shapes();

// Writes a GGUF model with random weights and the tokenizer metadata of `vocab` (all tokenizer.*
// keys are copied). Reports progress through `progress` (may be null).
Status gen_gguf(const GenSpec& spec, const io::GgufFile& vocab, const std::string& out_path,
                void (*progress)(const char* msg) = nullptr);

// Converts a Hugging Face directory (config.json + safetensors) to GGUF in `dtype`
// (f32 f16 bf16 q8_0 q4_k ... or "auto": keep F32/F16/BF16 as they are). Tokenizer metadata
// comes from `tokenizer_gguf` if given, else is built from the directory's tokenizer.json by the
// caller-supplied keys in `extra_kv`.
Status convert_hf_to_gguf(const std::string& hf_dir, const std::string& dtype,
                          const std::vector<std::pair<std::string, io::GgufValue>>& extra_kv,
                          const std::string& out_path);

}  // namespace nuri::model

namespace nuri::model {
// Same random weights as gen_gguf (same seed -> same values), written as a Hugging Face
// directory: config.json + model.safetensors (f32, f16 or bf16), and for byte-level BPE
// vocabularies tokenizer.json + tokenizer_config.json (HF ByteLevel pre-tokenizer, i.e. the GPT-2
// regex). llama q/k rows are stored in
// HF's rotate-half order, so the directory and the GGUF compute the same function.
Status gen_hf(const GenSpec& spec, const io::GgufFile& vocab, const std::string& out_dir);
}  // namespace nuri::model
