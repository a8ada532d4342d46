// kernels/backend.h — the seam under the forward pass: the ops a model graph calls, behind one
// interface, so the graph (model/forward.cc) never names a kernel implementation.
// Purpose: matrix products (fused groups sharing one input), attention of query tokens over a
// paged or contiguous f16 KV view, RMSNorm, RoPE, softmax. Two implementations: "cpu" (SIMD with
// runtime dispatch, threads, quantised activations as llama.cpp does) and "reference" (the scalar
// f32 oracle: dequantised weight rows, exact softmax; slow, for checking). A GPU backend slots in
// here later.
// Non-goals: graph building, memory planning, KV allocation (runtime/ owns the cache).
// Invariants: a backend sizes its scratch once (BackendParams) and allocates nothing per call;
// calls come from one thread at a time (the backend parallelises inside); shapes are row-major,
// innermost last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace nuri::kernels {

// One product y[T, w.n_out] = x[T, w.n_in] · wᵀ of a fused group.
struct MatJob {
  const WeightView* w;
  float* y;
};
inline constexpr int kMaxMatJobs = 3;

// Attention of one query token: q [n_head, head_dim] over the positions first .. first + n_kv - 1
// of kv; out [n_head, head_dim].
struct AttnQuery {
  const float* q;
  KvBlocks kv;
  int64_t first;
  int64_t n_kv;
  float* out;
};

struct BackendParams {
  int n_threads = 0;                // 0: physical cores
  int64_t max_rows = 512;           // most tokens per matmul (the forward chunk)
  int64_t max_ctx = 4096;           // most KV positions one query reads
  std::vector<DType> weight_dtypes; // every dtype the model's matrices use
  std::vector<int64_t> n_in;        // every input width of those products
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  virtual int n_threads() const = 0;
  virtual size_t scratch_bytes() const = 0;  // held for the whole life of the backend

  // Up to kMaxMatJobs products of the same input x[T, n_in] (activations prepared once per layout).
  // fuse_swiglu: jobs 0 and 1 are gate and up with equal n_out; job 0's output becomes
  // silu(gate) * up.
  virtual void matmul(const float* x, int64_t T, const MatJob* jobs, int n_jobs, bool fuse_swiglu = false) = 0;
  // T queries; GQA: head h reads kv head h / (n_head / n_head_kv).
  virtual void attention(const AttnQuery* queries, int64_t T, int n_head, int n_head_kv, int head_dim, float scale) = 0;
  // The ops below have one scalar implementation (backend.cc) that both backends share; a
  // backend overrides the ones it speeds up.
  // y[n] = x[n] / sqrt(mean(x²) + eps) * w[n] for each of T rows of stride n (w may be null).
  virtual void rmsnorm(const float* x, const float* w, float* y, int64_t T, int64_t n, float eps);
  // cos/sin table cs[rp.n_rot] of position pos for rope(): the scaled angles of rp (RoPE scaling
  // included; kernels::rope_table has the formula). Callers take rp from the model
  // (model::rope_params / Context::rope()), so every rotation, a re-rotation by a position delta
  // included, gets the model's scaling.
  virtual void rope_table(const RopeParams& rp, int32_t pos, float* cs);
  // Rotates the first rp.n_rot dims of each head of x[n_head, head_dim] at position pos (cs from
  // rope_table of the same rp and position).
  virtual void rope(float* x, int n_head, int head_dim, const RopeParams& rp, int32_t pos, const float* cs,
                    RopeStyle style) = 0;
  virtual void softmax(float* x, int64_t n);
  // out[t, :] = row ids[t] of w, dequantised exactly (token embeddings).
  virtual void get_rows(const WeightView& w, const int32_t* ids, int64_t T, float* out);
  // dst[n] = x[n] rounded to the KV cache's element type (f16).
  virtual void kv_store(const float* x, uint16_t* dst, int64_t n);

  // Profiling: a backend with threads reports the time its calling thread waited for the others.
  virtual void set_profiling(bool) {}
  virtual double sync_seconds() const { return 0; }
};

enum class BackendKind { kCpu, kReference };
std::unique_ptr<Backend> make_backend(BackendKind kind, const BackendParams& params);

}  // namespace nuri::kernels
