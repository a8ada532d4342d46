// fuzz/fuzz_util.h — helpers for the libFuzzer targets: a per-process scratch directory for
// parsers that read files, and a trap when a parser fails without saying why.
#pragma once

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace nuri::fuzz {

// /tmp/nuri-fuzz-PID (created once); files written there are overwritten by the next input.
inline const std::string& scratch_dir() {
  static const std::string dir = [] {
    std::string d = "/tmp/nuri-fuzz-" + std::to_string(::getpid());
    std::string cmd = "mkdir -p " + d;
    if (std::system(cmd.c_str()) != 0) __builtin_trap();
    return d;
  }();
  return dir;
}

// Writes `size` bytes to scratch_dir()/name and returns the path.
inline std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  std::string path = scratch_dir() + "/" + name;
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

// Every error a parser returns must say something.
template <typename R>
inline void require_message(const R& r) {
  if (!r.ok() && r.error().empty()) __builtin_trap();
}

}  // namespace nuri::fuzz
