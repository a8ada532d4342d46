// The "cpu" backend (kernels/backend.h): SIMD kernels of the active target (kernels/cpu/cpu.h),
// threads from one spinning pool. Activations are quantised once per distinct layout of a fused
// group (llama.cpp's numerics), matmul rows and attention heads are split over the threads.
#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/backend.h"
#include "kernels/ref/quant.h"
#include "kernels/cpu/cpu.h"

namespace nuri::kernels {
namespace {

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(const BackendParams& p)
      : pool_(p.n_threads > 0 ? p.n_threads : ThreadPool::default_threads()), tg_(cpu::active_target()) {
    // Largest quantised activation row among all products (every weight dtype, scalar and SIMD
    // layouts), one slot per distinct layout of a fused group.
    size_t slot = 0;
    for (int64_t n : p.n_in) {
      for (DType dt : p.weight_dtypes) {
        const DType vt = ref::vec_dot_type(dt);
        if (!row_size(dt, n) || !row_size(vt, n)) continue;
        slot = std::max({slot, cpu::act_row_bytes(cpu::Target::kScalar, dt, n), cpu::act_row_bytes(tg_, dt, n)});
      }
    }
    slot_bytes_ = (slot * static_cast<size_t>(std::max<int64_t>(p.max_rows, 1)) + 63) & ~size_t{63};
    scratch_.resize(slot_bytes_ * kMaxMatJobs + 64);
  }

  const char* name() const override { return "cpu"; }
  int n_threads() const override { return pool_.size(); }
  size_t scratch_bytes() const override { return scratch_.capacity(); }
  void set_profiling(bool on) override { pool_.set_profiling(on); }
  double sync_seconds() const override { return pool_.sync_seconds(); }

  void matmul(const float* x, int64_t T, const MatJob* jobs, int n_jobs, bool fuse_swiglu) override {
    NURI_CHECK(n_jobs >= 1 && n_jobs <= kMaxMatJobs);
    uint8_t* base = reinterpret_cast<uint8_t*>((reinterpret_cast<uintptr_t>(scratch_.data()) + 63) & ~uintptr_t{63});
    // One quantised copy of x per distinct layout.
    int kinds[kMaxMatJobs];
    const uint8_t* act[kMaxMatJobs];
    uint8_t* todo[kMaxMatJobs];
    DType todo_dt[kMaxMatJobs];
    int n_slots = 0, n_todo = 0;
    const int64_t n_in = jobs[0].w->n_in;
    for (int j = 0; j < n_jobs; ++j) {
      const int kind = cpu::act_kind(tg_, jobs[j].w->dtype, n_in);
      int s = 0;
      while (s < n_slots && kinds[s] != kind) ++s;
      if (s == n_slots) {
        kinds[n_slots++] = kind;
        todo[n_todo] = base + static_cast<size_t>(s) * slot_bytes_;
        todo_dt[n_todo++] = jobs[j].w->dtype;
      }
      act[j] = base + static_cast<size_t>(s) * slot_bytes_;
    }
    if (T == 1 || pool_.size() == 1) {
      for (int i = 0; i < n_todo; ++i) cpu::quantize_act(tg_, todo_dt[i], x, n_in, T, todo[i]);
    } else {
      pool_.run([&](int th, int n) {
        int64_t t0, t1;
        ThreadPool::split(T, 1, th, n, &t0, &t1);
        for (int i = 0; i < n_todo; ++i) {
          const size_t rb = cpu::act_row_bytes(tg_, todo_dt[i], n_in);
          if (t1 > t0) cpu::quantize_act(tg_, todo_dt[i], x + t0 * n_in, n_in, t1 - t0, todo[i] + t0 * rb);
        }
      });
    }
    pool_.run([&](int th, int n) {
      for (int j = 0; j < n_jobs; ++j) {
        const WeightView& w = *jobs[j].w;
        int64_t r0, r1;
        ThreadPool::split(w.n_out, 4, th, n, &r0, &r1);
        if (r1 > r0) cpu::gemm(tg_, w, act[j], T, r0, r1, jobs[j].y, w.n_out);
      }
      if (fuse_swiglu) {
        const int64_t F = jobs[0].w->n_out;
        int64_t r0, r1;
        ThreadPool::split(F, 4, th, n, &r0, &r1);
        for (int64_t t = 0; t < T && r1 > r0; ++t)
          swiglu(jobs[0].y + t * F + r0, jobs[1].y + t * F + r0, jobs[0].y + t * F + r0, r1 - r0);
      }
    });
  }

  // Threads split the heads (every head of a token costs the same), so short and long tokens balance.
  void attention(const AttnQuery* qs, int64_t T, int n_head, int n_head_kv, int head_dim, float scale) override {
    pool_.run([&](int th, int n) {
      int64_t h0, h1;
      ThreadPool::split(n_head, 1, th, n, &h0, &h1);
      for (int64_t t = 0; t < T && h1 > h0; ++t)
        cpu::attention(tg_, qs[t].q, qs[t].kv, qs[t].first, qs[t].n_kv, n_head, n_head_kv, head_dim, scale, qs[t].out,
                       static_cast<int>(h0), static_cast<int>(h1));
    });
  }

  void rope(float* x, int n_head, int head_dim, const RopeParams& rp, int32_t, const float* cs,
            RopeStyle style) override {
    cpu::rope_cached(x, n_head, head_dim, rp.n_rot, cs, style);
  }

 private:
  ThreadPool pool_;
  cpu::Target tg_;
  size_t slot_bytes_ = 0;
  std::vector<uint8_t> scratch_;  // kMaxMatJobs slots of slot_bytes_ quantised activation rows
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const BackendParams& p) { return std::make_unique<CpuBackend>(p); }

}  // namespace nuri::kernels
