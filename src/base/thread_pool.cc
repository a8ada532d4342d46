#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <climits>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

namespace nuri {
namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Spin for about this long before sleeping: long enough to cover the gaps between the parallel
// sections of one token, short enough that an idle pool stops burning a core quickly.
constexpr auto kSpin = std::chrono::microseconds(3000);

// Sleep while *addr == expected (or return at once if it differs); wake sleepers on addr.
void futex_wait(std::atomic<uint32_t>* addr, uint32_t expected) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
#else
  (void)addr;
  (void)expected;
  std::this_thread::yield();
#endif
}
void futex_wake(std::atomic<uint32_t>* addr) {
#if defined(__linux__)
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(addr), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
#else
  (void)addr;
#endif
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_threads_; ++i) threads_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  futex_wake(&generation_);
  for (auto& t : threads_) t.join();
}

void ThreadPool::split(int64_t n, int64_t grain, int i, int n_threads, int64_t* begin, int64_t* end) {
  if (grain < 1) grain = 1;
  const int64_t units = (n + grain - 1) / grain;
  const int64_t per = units / n_threads, rem = units % n_threads;
  const int64_t ub = i * per + (i < rem ? i : rem);
  const int64_t ue = ub + per + (i < rem ? 1 : 0);
  *begin = std::min(n, ub * grain);
  *end = std::min(n, ue * grain);
}

void ThreadPool::run_raw(RawFn fn, void* ctx) {
  fn_ = fn;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1);  // seq_cst: pairs with the sleepers_ increment in worker()
  if (sleepers_.load() > 0) futex_wake(&generation_);
  fn(ctx, 0, n_threads_);
  const auto waited_from = profiling_ ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  // Spin briefly, then yield: on a busy machine the thread we wait for may not be running.
  for (int spins = 0; pending_.load(std::memory_order_acquire) != 0; ++spins) {
    if (spins < 4096) cpu_relax();
    else std::this_thread::yield();
  }
  if (profiling_)
    sync_ns_ += static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - waited_from).count());
}

void ThreadPool::worker(int index) {
  uint32_t seen = 0;  // generation_ starts at 0; a run may begin before this thread does
  for (;;) {
    uint32_t g = generation_.load(std::memory_order_acquire);
    if (g == seen) {
      const auto t0 = std::chrono::steady_clock::now();
      int spins = 0;
      while ((g = generation_.load(std::memory_order_acquire)) == seen) {
        if (++spins < 4096) {
          cpu_relax();
        } else {
          std::this_thread::yield();
          if (std::chrono::steady_clock::now() - t0 > kSpin) {
            sleepers_.fetch_add(1);
            while (generation_.load() == seen) futex_wait(&generation_, seen);
            sleepers_.fetch_sub(1);
          }
        }
      }
    }
    seen = g;
    if (stop_.load()) return;
    fn_(ctx_, index, n_threads_);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

int ThreadPool::default_threads() {
  // Count distinct (physical id, core id) pairs.
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  std::string line;
  int phys = 0;
  while (std::getline(in, line)) {
    if (line.rfind("physical id", 0) == 0) phys = std::stoi(line.substr(line.find(':') + 1));
    if (line.rfind("core id", 0) == 0) cores.insert({phys, std::stoi(line.substr(line.find(':') + 1))});
  }
  int hc = static_cast<int>(std::thread::hardware_concurrency());
  int n = cores.empty() ? hc : static_cast<int>(cores.size());
  if (hc > 0 && n > hc) n = hc;
  return n > 0 ? n : 1;
}

}  // namespace nuri
