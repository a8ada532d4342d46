// store/sha256.h — SHA-256 (FIPS 180-4), streaming. Used to verify downloaded blobs against the
// Hub's LFS ETag (the hex SHA-256 of the file). Non-goals: speed records, other hashes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace nuri::store {

class Sha256 {
 public:
  Sha256();
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Finishes the hash; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  std::string hex_digest();  // 64 lowercase hex digits

 private:
  void block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buf_[64];
  size_t buf_len_ = 0;
  uint64_t total_ = 0;  // bytes fed so far
};

std::string sha256_hex(std::string_view data);
// Hash of a whole file, read in chunks (no mapping: works on files being written elsewhere).
Result<std::string> sha256_file(const std::string& path);

}  // namespace nuri::store
