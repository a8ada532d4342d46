// io/safetensors.h — Hugging Face safetensors reader (single file or sharded via
// model.safetensors.index.json) and JSON file helper for config.json / tokenizer.json.
// Non-goals: writing safetensors (tools do that), interpreting tensor names (model/ does).
// Invariants: every tensor's data lies inside its mapped file; shapes are nuri order
// (outermost first), which is also safetensors' order.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/mmap.h"
#include "base/status.h"
#include "tensor/dtype.h"

namespace nuri::io {

struct SafetensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<uint64_t> shape;  // outermost first
  const uint8_t* data = nullptr;
  size_t n_bytes = 0;
  std::string file;  // which shard
};

class Safetensors {
 public:
  // `path` is a .safetensors file, a model.safetensors.index.json, or a directory holding either.
  static Result<Safetensors> open(const std::string& path);
  const std::vector<SafetensorInfo>& tensors() const { return tensors_; }
  const SafetensorInfo* tensor(const std::string& name) const;
  const std::unordered_map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  Status add_file(const std::string& path);
  std::vector<std::shared_ptr<MappedFile>> maps_;
  std::vector<SafetensorInfo> tensors_;
  std::unordered_map<std::string, size_t> index_;
  std::unordered_map<std::string, std::string> metadata_;
};

// Writes a single-file safetensors with the given tensors (data copied as given, little-endian).
struct SafetensorOut {
  std::string name;
  DType dtype;  // F32, F16, BF16, I32, I64
  std::vector<uint64_t> shape;
  std::string bytes;
};
Status write_safetensors(const std::string& path, const std::vector<SafetensorOut>& tensors,
                         const std::vector<std::pair<std::string, std::string>>& metadata = {});

// Parses a JSON file; the error names the file and the position.
Result<nlohmann::json> read_json_file(const std::string& path);

}  // namespace nuri::io
