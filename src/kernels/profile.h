// kernels/profile.h — per-op timing of the forward pass (nuri bench --profile).
// Purpose: a Backend that forwards every op to another backend and adds the op's wall time, its
// call count and the time the calling thread waited for the pool's other threads (sync) to an
// OpProfile. Results are unchanged: the wrapped backend does all the work.
// Non-goals: per-layer or per-thread breakdowns, hardware counters.
#pragma once

#include <cstdint>
#include <memory>

#include "kernels/backend.h"

namespace nuri::kernels {

enum class Op { kMatmul, kAttention, kRmsnorm, kRope, kSoftmax, kGetRows, kKvStore, kCount };
const char* op_name(Op op);

struct OpProfile {
  struct Entry {
    int64_t calls = 0;
    double seconds = 0;       // wall time inside the op (sync included)
    double sync_seconds = 0;  // of which the caller waited for the other threads
  };
  Entry ops[static_cast<int>(Op::kCount)];
  void clear() { *this = OpProfile{}; }
  double total_seconds() const;
};

std::unique_ptr<Backend> make_profiled_backend(std::unique_ptr<Backend> inner, OpProfile* profile);

}  // namespace nuri::kernels
