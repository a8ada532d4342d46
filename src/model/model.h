// model/model.h — load a model (GGUF file or Hugging Face directory) into config + weight views.
// Purpose: one table maps file names to roles (arch_table.cc); quirks (HF q/k layout, tied
// embeddings) are resolved here so one forward serves every family.
// Non-goals: tokenizer, chat template (tokenizer/, chat/ read them from the same file).
// Invariants: a loaded Model has every tensor its config needs, with checked shapes and dtypes
// the kernels support; views stay valid as long as the Model lives.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/config.h"
#include "model/weights.h"

namespace nuri::model {

class Model {
 public:
  // A .gguf file, or a directory with config.json + *.safetensors (HF layout).
  static Result<std::shared_ptr<Model>> load(const std::string& path);
  static Result<std::shared_ptr<Model>> load_gguf(const std::string& path);
  static Result<std::shared_ptr<Model>> load_hf(const std::string& dir);

  const ModelConfig& config() const { return config_; }
  const ModelWeights& weights() const { return weights_; }
  const std::string& path() const { return path_; }
  // The GGUF file (for tokenizer and chat-template metadata); null for HF directories.
  const io::GgufFile* gguf() const { return gguf_.get(); }
  const io::Safetensors* safetensors() const { return st_.get(); }
  uint64_t weight_bytes() const { return weight_bytes_; }

 private:
  friend class GgufBinder;
  friend class HfBinder;
  std::string path_;
  ModelConfig config_;
  ModelWeights weights_;
  std::shared_ptr<io::GgufFile> gguf_;
  std::shared_ptr<io::Safetensors> st_;
  uint64_t weight_bytes_ = 0;
  std::vector<std::vector<uint8_t>> owned_;  // converted tensors (HF experts), views point here
};

// Reads the hyper-parameters of a GGUF file (no tensors). Errors name the missing key.
Result<ModelConfig> config_from_gguf(const io::GgufFile& f);
// The same from a Hugging Face config.json (`path` names it in errors).
Result<ModelConfig> config_from_hf(const nlohmann::json& j, const std::string& path);

}  // namespace nuri::model
