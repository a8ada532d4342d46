// base/thread_pool.h — a fixed pool of worker threads for data-parallel kernels.
// parallel_for splits [0, n) into contiguous chunks, one per thread (the caller works too),
// and returns when all are done. No allocation per call.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace nuri {

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads);  // n_threads total, including the caller
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // fn(begin, end, thread_index) over a split of [0, n). Chunks are multiples of `grain`.
  void parallel_for(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn, int64_t grain = 1);

  // Physical cores of this machine (falls back to hardware_concurrency).
  static int default_threads();

 private:
  void worker(int index);
  int n_threads_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::condition_variable cv_start_, cv_done_;
  const std::function<void(int64_t, int64_t, int)>* job_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  uint64_t generation_ = 0;
  int pending_ = 0;
  bool stop_ = false;
};

}  // namespace nuri
