// The scalar ops every backend shares (kernels/backend.h).
#include "kernels/backend.h"

#include "kernels/fp16.h"
#include "kernels/ref/quant.h"

namespace nuri::kernels {

void Backend::rmsnorm(const float* x, const float* w, float* y, int64_t T, int64_t n, float eps) {
  for (int64_t t = 0; t < T; ++t) kernels::rmsnorm(x + t * n, w, y + t * n, n, eps);
}

void Backend::rope_table(const RopeParams& rp, int32_t pos, float* cs) { kernels::rope_table(rp, pos, cs); }

void Backend::softmax(float* x, int64_t n) { kernels::softmax(x, n); }

void Backend::get_rows(const WeightView& w, const int32_t* ids, int64_t T, float* out) {
  for (int64_t t = 0; t < T; ++t) ref::dequantize_row(w.dtype, w.row(ids[t]), out + t * w.n_in, w.n_in);
}

void Backend::kv_store(const float* x, uint16_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) dst[i] = fp32_to_fp16(x[i]);
}

}  // namespace nuri::kernels
