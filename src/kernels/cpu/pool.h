// kernels/cpu/pool.h — a spinning worker pool for the forward pass's many short parallel sections.
// Purpose: decode runs a few hundred parallel sections per token, each tens of microseconds long;
// waking threads through a condition variable costs as much as the work. Workers spin on an atomic
// generation counter for a short while, then sleep on it (a futex), so an idle pool costs
// no CPU. Non-goals: work stealing, nested runs. Invariants: run() is called from one thread at a
// time; fn(thread, n_threads) runs exactly once per thread index; no allocation per run.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace nuri::kernels::cpu {

class Pool {
 public:
  explicit Pool(int n_threads);  // total threads, the caller included
  ~Pool();
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;

  int size() const { return n_threads_; }
  // Calls fn(thread_index, n_threads) on every thread (index 0 is the caller) and waits for all.
  template <class F>
  void run(F&& fn) {
    if (n_threads_ == 1) {
      fn(0, 1);
      return;
    }
    run_raw([](void* ctx, int i, int n) { (*static_cast<std::remove_reference_t<F>*>(ctx))(i, n); }, &fn);
  }

  // [begin, end) of a split of n units (rounded to multiples of grain) for thread i of n_threads.
  static void split(int64_t n, int64_t grain, int i, int n_threads, int64_t* begin, int64_t* end);

 private:
  using RawFn = void (*)(void*, int, int);
  void run_raw(RawFn fn, void* ctx);
  void worker(int index);

  int n_threads_;
  std::vector<std::thread> threads_;
  RawFn fn_ = nullptr;
  void* ctx_ = nullptr;
  alignas(64) std::atomic<uint32_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  alignas(64) std::atomic<int> sleepers_{0};
  alignas(64) std::atomic<bool> stop_{false};
};

}  // namespace nuri::kernels::cpu
