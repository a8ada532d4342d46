// base/thread_pool.h — the one worker pool of nuri: the forward pass's many short parallel
// sections and the occasional data-parallel loop (conversion, model generation).
// Purpose: decode runs a few hundred parallel sections per token, each tens of microseconds long;
// waking threads through a condition variable costs as much as the work. Workers spin on an atomic
// generation counter for a short while, then sleep on it (a futex), so an idle pool costs no CPU.
// Non-goals: work stealing, nested runs. Invariants: run() is called from one thread at a time;
// fn(thread, n_threads) runs exactly once per thread index; no allocation per run.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <type_traits>
#include <vector>

namespace nuri {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // total threads, the caller included
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

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
  // fn(begin, end, thread_index) over a split of [0, n) into chunks that are multiples of grain.
  template <class F>
  void parallel_for(int64_t n, F&& fn, int64_t grain = 1) {
    if (n <= 0) return;
    run([&](int i, int nt) {
      int64_t b, e;
      split(n, grain, i, nt, &b, &e);
      if (b < e) fn(b, e, i);
    });
  }

  // [begin, end) of a split of n units (rounded to multiples of grain) for thread i of n_threads.
  static void split(int64_t n, int64_t grain, int i, int n_threads, int64_t* begin, int64_t* end);
  // Physical cores of this machine (falls back to hardware_concurrency).
  static int default_threads();

  // Profiling (nuri bench --profile): when on, run() adds the time the calling thread waits for
  // the others after finishing its own share (load imbalance + wake-up + barrier) to sync_seconds().
  void set_profiling(bool on) { profiling_ = on; }
  double sync_seconds() const { return static_cast<double>(sync_ns_) * 1e-9; }

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
  bool profiling_ = false;
  uint64_t sync_ns_ = 0;  // written by the calling thread only
};

}  // namespace nuri
