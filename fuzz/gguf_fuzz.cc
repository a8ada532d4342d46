// libFuzzer target for the GGUF reader: any byte string must parse or fail cleanly.
#include <cstddef>
#include <cstdint>

#include "io/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = nuri::io::GgufFile::parse(data, size, "fuzz.gguf");
  if (f.ok()) {
    // Touch everything the parser promised is valid.
    volatile uint64_t sink = 0;
    for (const auto& t : f->tensors())
      if (t.n_bytes) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
    for (const auto& kv : f->metadata()) sink = sink + kv.second.to_display().size();
  } else if (f.error().empty()) {
    __builtin_trap();
  }
  return 0;
}
