// kernels/profile.cc — the timing decorator of kernels/profile.h.
#include "kernels/profile.h"

#include <chrono>

namespace nuri::kernels {

const char* op_name(Op op) {
  switch (op) {
    case Op::kMatmul: return "matmul";
    case Op::kAttention: return "attention";
    case Op::kRmsnorm: return "rmsnorm";
    case Op::kRope: return "rope";
    case Op::kSoftmax: return "softmax";
    case Op::kGetRows: return "get_rows";
    case Op::kKvStore: return "kv_store";
    case Op::kCount: break;
  }
  return "?";
}

double OpProfile::total_seconds() const {
  double s = 0;
  for (const auto& e : ops) s += e.seconds;
  return s;
}

namespace {

class ProfiledBackend final : public Backend {
 public:
  ProfiledBackend(std::unique_ptr<Backend> inner, OpProfile* p) : inner_(std::move(inner)), p_(p) {
    inner_->set_profiling(true);
  }
  const char* name() const override { return inner_->name(); }
  int n_threads() const override { return inner_->n_threads(); }
  size_t scratch_bytes() const override { return inner_->scratch_bytes(); }

  void matmul(const float* x, int64_t T, const MatJob* jobs, int n_jobs, bool fuse_swiglu) override {
    Scope s(this, Op::kMatmul);
    inner_->matmul(x, T, jobs, n_jobs, fuse_swiglu);
  }
  void attention(const AttnQuery* q, int64_t T, int n_head, int n_head_kv, int head_dim, float scale) override {
    Scope s(this, Op::kAttention);
    inner_->attention(q, T, n_head, n_head_kv, head_dim, scale);
  }
  void rmsnorm(const float* x, const float* w, float* y, int64_t T, int64_t n, float eps) override {
    Scope s(this, Op::kRmsnorm);
    inner_->rmsnorm(x, w, y, T, n, eps);
  }
  void rope_table(const RopeParams& rp, int32_t pos, float* cs) override {
    Scope s(this, Op::kRope);
    inner_->rope_table(rp, pos, cs);
  }
  void rope(float* x, int n_head, int head_dim, const RopeParams& rp, int32_t pos, const float* cs,
            RopeStyle style) override {
    Scope s(this, Op::kRope);
    inner_->rope(x, n_head, head_dim, rp, pos, cs, style);
  }
  void softmax(float* x, int64_t n) override {
    Scope s(this, Op::kSoftmax);
    inner_->softmax(x, n);
  }
  void get_rows(const WeightView& w, const int32_t* ids, int64_t T, float* out) override {
    Scope s(this, Op::kGetRows);
    inner_->get_rows(w, ids, T, out);
  }
  void kv_store(const float* x, uint16_t* dst, int64_t n) override {
    Scope s(this, Op::kKvStore);
    inner_->kv_store(x, dst, n);
  }
  void set_profiling(bool on) override { inner_->set_profiling(on); }
  double sync_seconds() const override { return inner_->sync_seconds(); }

 private:
  struct Scope {
    Scope(ProfiledBackend* b, Op op)
        : b_(b), e_(b->p_->ops[static_cast<int>(op)]), sync0_(b->inner_->sync_seconds()),
          t0_(std::chrono::steady_clock::now()) {}
    ~Scope() {
      e_.seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0_).count();
      e_.sync_seconds += b_->inner_->sync_seconds() - sync0_;
      ++e_.calls;
    }
    ProfiledBackend* b_;
    OpProfile::Entry& e_;
    double sync0_;
    std::chrono::steady_clock::time_point t0_;
  };
  std::unique_ptr<Backend> inner_;
  OpProfile* p_;
};

}  // namespace

std::unique_ptr<Backend> make_profiled_backend(std::unique_ptr<Backend> inner, OpProfile* profile) {
  return std::make_unique<ProfiledBackend>(std::move(inner), profile);
}

}  // namespace nuri::kernels
