// bench_bandwidth.cc — see bench_bandwidth.h for the method.
#include "bench_bandwidth.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "base/thread_pool.h"
#include "base/timer.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace nuri::cli {
namespace {

#if defined(__x86_64__)
__attribute__((target("avx512f"))) uint64_t read_avx512(const uint8_t* p, size_t n) {
  __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 256 <= n; i += 256) {
    a0 = _mm512_xor_si512(a0, _mm512_load_si512(p + i));
    a1 = _mm512_xor_si512(a1, _mm512_load_si512(p + i + 64));
    a2 = _mm512_xor_si512(a2, _mm512_load_si512(p + i + 128));
    a3 = _mm512_xor_si512(a3, _mm512_load_si512(p + i + 192));
  }
  alignas(64) uint64_t out[8];
  _mm512_store_si512(out, _mm512_xor_si512(_mm512_xor_si512(a0, a1), _mm512_xor_si512(a2, a3)));
  return out[0] ^ out[7];
}

__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_xor_si256(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_xor_si256(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_xor_si256(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_xor_si256(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  alignas(32) uint64_t out[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(out), _mm256_xor_si256(_mm256_xor_si256(a0, a1), _mm256_xor_si256(a2, a3)));
  return out[0] ^ out[3];
}
#endif

uint64_t read_scalar(const uint8_t* p, size_t n) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (size_t i = 0; i + 4 <= n / 8; i += 4) {
    s0 ^= q[i];
    s1 ^= q[i + 1];
    s2 ^= q[i + 2];
    s3 ^= q[i + 3];
  }
  return s0 ^ s1 ^ s2 ^ s3;
}

size_t buffer_bytes() {
  long l3 = sysconf(_SC_LEVEL3_CACHE_SIZE);
  size_t want = l3 > 0 ? static_cast<size_t>(l3) * 4 : 0;
  return std::max<size_t>(want, size_t{1} << 30);
}

}  // namespace

Bandwidth measure_read_bandwidth(int threads, int runs) {
  Bandwidth r;
  const size_t bytes = buffer_bytes();
  r.buffer_gib = bytes / double(1 << 30);
  using Reader = uint64_t (*)(const uint8_t*, size_t);
  Reader read = read_scalar;
  r.loads = "scalar";
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f")) {
    read = read_avx512;
    r.loads = "avx512";
  } else if (__builtin_cpu_supports("avx2")) {
    read = read_avx2;
    r.loads = "avx2";
  }
#endif
  std::unique_ptr<uint8_t[], void (*)(uint8_t*)> buf(static_cast<uint8_t*>(std::aligned_alloc(64, bytes)),
                                                      [](uint8_t* p) { std::free(p); });
  if (!buf) return r;
  ThreadPool pool(threads);
  const int64_t chunks = static_cast<int64_t>(bytes / 4096);  // 4 KiB units, like rows
  pool.run([&](int th, int nt) {  // first touch by the thread that reads the range
    int64_t b, e;
    ThreadPool::split(chunks, 1, th, nt, &b, &e);
    std::memset(buf.get() + b * 4096, th + 1, static_cast<size_t>(e - b) * 4096);
  });
  std::vector<uint64_t> sink(static_cast<size_t>(std::max(threads, 1)) * 8);
  for (int rep = 0; rep < runs; ++rep) {
    Timer t;
    pool.run([&](int th, int nt) {
      int64_t b, e;
      ThreadPool::split(chunks, 1, th, nt, &b, &e);
      sink[static_cast<size_t>(th) * 8] = read(buf.get() + b * 4096, static_cast<size_t>(e - b) * 4096);
    });
    r.runs_gb_s.push_back(bytes / t.seconds() / 1e9);
  }
  volatile uint64_t keep = sink[0];
  (void)keep;
  std::vector<double> s = r.runs_gb_s;
  std::sort(s.begin(), s.end());
  r.best_gb_s = s.empty() ? 0 : s.back();
  r.median_gb_s = s.empty() ? 0 : s[s.size() / 2];
  return r;
}

}  // namespace nuri::cli
