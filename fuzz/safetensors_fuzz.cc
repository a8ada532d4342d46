// libFuzzer target for the safetensors reader: a single file (header + data), and the shard
// index (model.safetensors.index.json) beside a small valid shard. The first input byte picks
// which; the rest is the file.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_util.h"
#include "io/safetensors.h"

namespace {

// A valid one-tensor shard the index may name ("a.safetensors").
void write_shard() {
  static bool done = false;
  if (done) return;
  const std::string dir = nuri::fuzz::scratch_dir();
  auto st = nuri::io::write_safetensors(dir + "/a.safetensors",
                                        {{"w", nuri::DType::kF32, {2, 2}, std::string(16, '\0')}});
  if (!st.is_ok()) __builtin_trap();
  done = true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const bool index = data[0] & 1;
  write_shard();
  const std::string path = nuri::fuzz::write_scratch(index ? "model.safetensors.index.json" : "x.safetensors",
                                                     data + 1, size - 1);
  auto st = nuri::io::Safetensors::open(path);
  nuri::fuzz::require_message(st);
  if (!st.ok()) return 0;
  volatile uint64_t sink = 0;
  for (const auto& t : st->tensors()) {
    // The reader promises: data inside the file, n_bytes = elements x element size (no overflow).
    uint64_t n = 1;
    for (uint64_t d : t.shape)
      if (__builtin_mul_overflow(n, d, &n)) __builtin_trap();
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(n, uint64_t(nuri::dtype_info(t.dtype).type_size), &bytes)) __builtin_trap();
    if (t.n_bytes != bytes) __builtin_trap();
    if (t.n_bytes) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
  }
  return 0;
}
