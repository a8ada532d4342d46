// kernels/cpu/prefetch.h — software prefetch of the next weight tile (internal to kernels/cpu).
#pragma once

#include <algorithm>
#include <cstdint>

namespace nuri::kernels::cpu {

// Software prefetch of the next tile's weight rows while this tile computes: iteration i of a
// tile's loop over n_iter blocks touches lines [i * step, (i + 1) * step) of the region. The
// hardware prefetcher does not keep up with four interleaved row streams (Zen 1, Q8_0 decode
// at one thread: 7.0 -> 10.3 GB/s in bench/matmul).
struct Prefetch {
  const char* p = nullptr;
  int64_t step = 0;
  Prefetch() = default;
  Prefetch(const uint8_t* region, int64_t bytes, int64_t n_iter)
      : p(reinterpret_cast<const char*>(region)),
        step(((bytes + n_iter - 1) / std::max<int64_t>(n_iter, 1) + 63) & ~int64_t{63}) {}
  void at(int64_t i) const {
    if (!p) return;
    for (int64_t o = i * step, e = o + step; o < e; o += 64) __builtin_prefetch(p + o, 0, 3);
  }
};

}  // namespace nuri::kernels::cpu
