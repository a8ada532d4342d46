// store/model_info.h — the few facts `nuri list` and `nuri show` print about a model file or
// directory, read from GGUF metadata or config.json + safetensors headers (io/), without
// building the model. Non-goals: validating that the model loads (runtime/ does that).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace nuri::store {

struct ModelInfo {
  std::string format;      // "gguf" or "safetensors"
  std::string arch;        // general.architecture / config.json model_type
  std::string quant;       // from the file name, else the dtype holding most weight bytes
  int64_t n_ctx_train = 0; // {arch}.context_length / max_position_embeddings (0 unknown)
  uint64_t n_params = 0;   // elements of all tensors
  uint64_t weight_bytes = 0;
  int64_t n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0, n_vocab = 0;
  bool has_chat_template = false;
  std::vector<std::pair<std::string, uint64_t>> dtype_bytes;  // dtype name -> bytes, largest first
};

Result<ModelInfo> model_info(const std::string& path);

// "1.2 GiB", "340.5 MiB", "12 KiB"; and "7.24B", "260K" for parameter counts.
std::string human_bytes(uint64_t n);
std::string human_count(uint64_t n);

}  // namespace nuri::store
