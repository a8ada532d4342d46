// The "reference" backend (kernels/backend.h): the scalar oracle behind the same seam as the cpu
// backend. Weight rows are dequantised to f32 and dotted with unrounded activations; attention is
// an exact softmax; RoPE computes its angles per call. One thread. Slow by design: `--reference`
// runs use it to check the fast path.
#include <algorithm>

#include "kernels/backend.h"

namespace nuri::kernels {
namespace {

class RefBackend final : public Backend {
 public:
  explicit RefBackend(const BackendParams& p) : scores_(static_cast<size_t>(std::max<int64_t>(p.max_ctx, 1))) {}

  const char* name() const override { return "reference"; }
  int n_threads() const override { return 1; }
  size_t scratch_bytes() const override { return scores_.capacity() * sizeof(float); }

  void matmul(const float* x, int64_t T, const MatJob* jobs, int n_jobs, bool fuse_swiglu) override {
    for (int j = 0; j < n_jobs; ++j) matmul_f32_ref(*jobs[j].w, x, T, jobs[j].y);
    if (fuse_swiglu) {
      const int64_t F = jobs[0].w->n_out;
      for (int64_t t = 0; t < T; ++t) swiglu(jobs[0].y + t * F, jobs[1].y + t * F, jobs[0].y + t * F, F);
    }
  }

  void attention(const AttnQuery* qs, int64_t T, int n_head, int n_head_kv, int head_dim, float scale) override {
    for (int64_t t = 0; t < T; ++t) {
      if (static_cast<size_t>(qs[t].n_kv) > scores_.size()) scores_.resize(qs[t].n_kv);
      attention_ref(qs[t].q, qs[t].kv, qs[t].first, qs[t].n_kv, n_head, n_head_kv, head_dim, scale, qs[t].out,
                    scores_.data());
    }
  }

  // The angles are computed again here from rp and pos (the table cs is not trusted).
  void rope(float* x, int n_head, int head_dim, const RopeParams& rp, int32_t pos, const float*,
            RopeStyle style) override {
    kernels::rope(x, n_head, head_dim, rp, pos, style);
  }

 private:
  std::vector<float> scores_;  // [max_ctx]
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(const BackendParams& p);

std::unique_ptr<Backend> make_backend(BackendKind kind, const BackendParams& p) {
  if (kind == BackendKind::kReference) return std::make_unique<RefBackend>(p);
  return make_cpu_backend(p);
}

}  // namespace nuri::kernels
