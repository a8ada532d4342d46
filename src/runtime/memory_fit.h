// runtime/memory_fit.h — will a model fit in memory at a given context, before it is loaded?
// Purpose: estimate the bytes a model takes once loaded — weights (mapped tensors, plus the
//   expert copies HF MoE checkpoints need), the KV cache at the requested context (the engine's
//   paged pool or a Context's dense cache, K and V rows of the chosen cache types), and the forward's scratch buffers and
//   logits — from the file's metadata alone; compare it with the memory available (MemAvailable,
//   the cgroup limit, or a user cap) and find the largest context that fits.
// Non-goals: GPU memory; the allocator's overhead; the tokenizer (a few MiB at most).
// Invariants: weights equal the tensor bytes the loader maps (>= Model::weight_bytes()); kv
//   equals KvCache::stats().bytes_total (paged) or Session::kv_bytes() (dense); compute is an
//   upper bound of Context::scratch_bytes() after a step with every output row.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "kernels/ops.h"
#include "model/config.h"

namespace nuri::runtime {

// The facts the estimate needs, read without mapping the tensors.
struct ModelFacts {
  model::ModelConfig config;
  uint64_t weight_bytes = 0;  // tensor bytes in memory once loaded
  uint64_t file_bytes = 0;    // the file, or the directory's safetensors files
};
Result<ModelFacts> read_model_facts(const std::string& path);

struct FitParams {
  int32_t n_ctx = 2048;   // positions per sequence
  int32_t n_seq = 1;      // sequences (engine slots)
  int32_t n_batch = 512;  // tokens per forward chunk (the engine caps it at 512)
  int n_threads = 0;      // 0: physical cores
  bool paged = true;      // the engine's paged KV (16-position blocks) or a Context's dense cache
  kernels::KvType k_type = kernels::KvType::kF16;  // --cache-type-k / -v: bytes per cached row
  kernels::KvType v_type = kernels::KvType::kF16;
};

struct MemoryNeeds {
  uint64_t weights = 0, kv = 0, compute = 0;
  uint64_t total() const { return weights + kv + compute; }
};
MemoryNeeds estimate_memory(const ModelFacts& m, const FitParams& p);

// The largest n_ctx <= p.n_ctx whose estimate fits in `budget` bytes (a multiple of 16 when
// >= 16); 0 when even 8 positions do not fit.
int32_t largest_fitting_ctx(const ModelFacts& m, FitParams p, uint64_t budget);

// Bytes this process may still use: MemAvailable, lowered to the cgroup's memory.max minus
// memory.current when that is smaller. 0 when unknown.
uint64_t available_memory();

// "8G", "512M", "1.5GiB", "123456" (bytes; K/M/G/T are powers of 1024) -> bytes.
Result<uint64_t> parse_bytes(const std::string& s);

// One line: "needs 1.2 GiB (weights 1.0 GiB + KV 150.0 MiB at 4096 positions x 4 + compute 40.0 MiB)".
std::string describe_needs(const MemoryNeeds& n, const FitParams& p);

}  // namespace nuri::runtime
