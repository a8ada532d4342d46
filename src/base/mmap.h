// base/mmap.h — read-only memory-mapped files (zero-copy model loading).
// Invariant: data() stays valid for the lifetime of the MappedFile; moving transfers ownership.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"

namespace nuri {

class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept { *this = std::move(o); }
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

bool path_exists(const std::string& path);
bool is_directory(const std::string& path);

// Whole file into a string (small text files: JSON, templates).
Result<std::string> read_file(const std::string& path);
Status write_file(const std::string& path, const std::string& data);

}  // namespace nuri
