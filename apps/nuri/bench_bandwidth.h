// bench_bandwidth.h — the memory read bandwidth a decode step can reach, for `nuri bench`.
//
// Method: a buffer 4x larger than the last-level cache (at least 1 GiB) is split into contiguous
// per-thread ranges the way the matmul splits weight rows, first touched by the thread that reads
// it; each thread streams its range with the widest vector loads the CPU has (AVX-512, AVX2, else
// 64-bit), one sequential stream per thread, left to the hardware prefetcher. (A software prefetch
// of every other line 1 KiB ahead, this probe's first form, halved the figure on Zen 4: 12.3
// against 26 GB/s on one thread; llama.cpp's decode read 37 GB/s on 2 threads there, above what
// that probe called the limit.) The pass is repeated
// `runs` times; the best and the median are reported. Decode "% of limit" divides by the best (the
// stricter choice: a noisy machine lowers the median, not the best).
#pragma once

#include <vector>

namespace nuri::cli {

struct Bandwidth {
  double best_gb_s = 0;
  double median_gb_s = 0;
  std::vector<double> runs_gb_s;
  const char* loads = "";  // "avx512", "avx2", "scalar"
  double buffer_gib = 0;
};

Bandwidth measure_read_bandwidth(int threads, int runs = 7);

}  // namespace nuri::cli
