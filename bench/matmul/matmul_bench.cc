// Matmul cost per token against the number of tokens per call (T = 1: decode, 8/16: batched
// decode, 256: prefill) on the matrices of a qwen2.5-0.5B-shaped layer stack, random weights of
// one dtype. Reports thread CPU time of the calling thread (robust to a loaded machine) and wall
// time, per call and per token.
// Usage: matmul_bench [dtype=q8_0] [threads=1] [layers=6] [reps=5] [T,T,...=1,4,8,16,32,256] [shape=0.5b]
// shape: 0.5b (qwen2.5-0.5B: 896 / 128 / 4864) or 1b (llama3.2-1B: 2048 / 512 / 8192; K-quants
// need row widths that are multiples of 256).
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/timer.h"
#include "kernels/backend.h"
#include "kernels/cpu/cpu.h"
#include "kernels/ref/quant.h"
#include "tensor/dtype.h"

namespace {

double thread_cpu_s() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct Mat {
  std::vector<uint8_t> data;
  nuri::kernels::WeightView w;
};

Mat make(nuri::DType dt, int64_t n_out, int64_t n_in, std::mt19937& rng) {
  Mat m;
  const size_t rb = *nuri::row_size(dt, n_in);
  m.data.resize(rb * n_out);
  std::normal_distribution<float> nd(0.f, 0.05f);
  std::vector<float> row(n_in);
  for (int64_t r = 0; r < n_out; ++r) {
    for (auto& v : row) v = nd(rng);
    nuri::kernels::ref::quantize_row(dt, row.data(), m.data.data() + r * rb, n_in);
  }
  m.w = {dt, m.data.data(), n_out, n_in, rb};
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dts = argc > 1 ? argv[1] : "q8_0";
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const int layers = argc > 3 ? std::atoi(argv[3]) : 6;
  const int reps = argc > 4 ? std::atoi(argv[4]) : 5;
  std::vector<int> Ts = {1, 4, 8, 16, 32, 256};
  if (argc > 5) {
    Ts.clear();
    for (const char* p = argv[5]; *p;) {
      char* end = nullptr;
      Ts.push_back(static_cast<int>(std::strtol(p, &end, 10)));
      p = *end == ',' ? end + 1 : end;
    }
  }
  for (int T : Ts)
    if (T < 1 || T > 256) {
      std::fprintf(stderr, "T must be in [1, 256]\n");
      return 1;
    }
  auto dt = nuri::dtype_from_name(dts);
  if (!dt) {
    std::fprintf(stderr, "unknown dtype %s\n", dts.c_str());
    return 1;
  }
  const std::string shape = argc > 6 ? argv[6] : "0.5b";
  if (shape != "0.5b" && shape != "1b") {
    std::fprintf(stderr, "shape must be 0.5b or 1b\n");
    return 1;
  }
  const bool big = shape == "1b";
  const int64_t E = big ? 2048 : 896, Q = E, KV = big ? 512 : 128, F = big ? 8192 : 4864;
  for (int64_t n : {E, F})
    if (!nuri::row_size(*dt, n)) {
      std::fprintf(stderr, "%s rows of %lld values are not whole blocks (try shape 1b)\n", dts.c_str(),
                   static_cast<long long>(n));
      return 1;
    }
  std::mt19937 rng(1);
  std::vector<Mat> mats;
  for (int l = 0; l < layers; ++l) {
    mats.push_back(make(*dt, Q, E, rng));
    mats.push_back(make(*dt, KV, E, rng));
    mats.push_back(make(*dt, KV, E, rng));
    mats.push_back(make(*dt, E, Q, rng));
    mats.push_back(make(*dt, F, E, rng));
    mats.push_back(make(*dt, F, E, rng));
    mats.push_back(make(*dt, E, F, rng));
  }
  double bytes = 0;
  for (auto& m : mats) bytes += m.data.size();
  nuri::kernels::BackendParams bp;
  bp.n_threads = threads;
  bp.max_rows = 256;
  bp.weight_dtypes = {*dt};
  bp.n_in = {E, F};
  auto be = nuri::kernels::make_backend(nuri::kernels::BackendKind::kCpu, bp);
  std::vector<float> x(256 * F), y(256 * F);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& v : x) v = nd(rng);
  std::printf("dtype %s, shape %s, kernels %s, threads %d, %d layers (%.0f MiB of weights)\n", dts.c_str(), shape.c_str(),
              nuri::kernels::cpu::target_name(nuri::kernels::cpu::active_target()), be->n_threads(), layers,
              bytes / 1048576.0);
  double cpu1 = 0;
  for (int T : Ts) {
    std::vector<double> cpu, wall;
    for (int r = 0; r < reps; ++r) {
      const double c0 = thread_cpu_s();
      nuri::Timer t;
      for (auto& m : mats) {
        const nuri::kernels::MatJob j{&m.w, y.data()};
        be->matmul(x.data(), T, &j, 1);
      }
      wall.push_back(t.seconds());
      cpu.push_back(thread_cpu_s() - c0);
    }
    std::sort(cpu.begin(), cpu.end());
    std::sort(wall.begin(), wall.end());
    const double c = cpu[reps / 2], w = wall[reps / 2];
    if (cpu1 == 0) cpu1 = c;
    std::printf("T=%3d: cpu %8.2f ms/call %7.3f ms/token (%.2fx the first per call) | wall %8.2f ms/call, %.1f GB/s\n", T,
                c * 1e3, c * 1e3 / T, c / cpu1, w * 1e3, bytes / w / 1e9);
  }
  return 0;
}
