// runtime/memory_fit.cc — memory estimate from metadata, largest fitting context, MemAvailable.
#include "runtime/memory_fit.h"

#include "kernels/backend.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include "base/mmap.h"
#include "base/thread_pool.h"
#include "io/gguf.h"
#include "io/safetensors.h"
#include "model/model.h"

namespace nuri::runtime {
namespace {

constexpr int32_t kBlock = 16;  // the engine's KV block (runtime/engine.cc kKvBlockSize)

std::string mib(uint64_t b) {
  char buf[32];
  if (b >= (uint64_t{1} << 30)) std::snprintf(buf, sizeof(buf), "%.2f GiB", b / 1073741824.0);
  else std::snprintf(buf, sizeof(buf), "%.1f MiB", b / 1048576.0);
  return buf;
}

uint64_t file_size(const std::string& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

}  // namespace

Result<ModelFacts> read_model_facts(const std::string& path) {
  ModelFacts f;
  if (is_directory(path)) {
    NURI_ASSIGN_OR_RETURN(nlohmann::json cfg, io::read_json_file(path + "/config.json"));
    NURI_ASSIGN_OR_RETURN(f.config, model::config_from_hf(cfg, path + "/config.json"));
    NURI_ASSIGN_OR_RETURN(io::Safetensors st, io::Safetensors::open(path));
    std::set<std::string> files;
    for (const auto& t : st.tensors()) {
      f.weight_bytes += t.n_bytes;
      // The loader stacks per-expert tensors into one owned copy (model_hf.cc).
      if (t.name.find(".mlp.experts.") != std::string::npos) f.weight_bytes += t.n_bytes;
      files.insert(t.file);
    }
    for (const auto& name : files) f.file_bytes += file_size(name.find('/') == std::string::npos ? path + "/" + name : name);
    return f;
  }
  NURI_ASSIGN_OR_RETURN(io::GgufFile g, io::GgufFile::open(path));
  NURI_ASSIGN_OR_RETURN(f.config, model::config_from_gguf(g));
  for (const auto& t : g.tensors()) f.weight_bytes += t.n_bytes;
  // The vocabulary is the embedding's row count (as the loader reads it).
  if (const io::GgufTensorInfo* emb = g.tensor("token_embd.weight"); emb && emb->ne.size() == 2)
    f.config.n_vocab = static_cast<int32_t>(emb->ne[1]);
  f.file_bytes = g.file_size();
  return f;
}

MemoryNeeds estimate_memory(const ModelFacts& m, const FitParams& p) {
  const model::ModelConfig& c = m.config;
  MemoryNeeds n;
  n.weights = m.weight_bytes;
  // K and V of one position, every layer, in the cache's row types (f16: 2 bytes a value, q8_0 34 and
  // q4_0 18 bytes per 32 values).
  const uint64_t row = (kernels::kv_row_bytes(p.k_type, c.kv_dim()) + kernels::kv_row_bytes(p.v_type, c.kv_dim())) *
                       static_cast<uint64_t>(c.n_layer);
  if (p.paged) {
    const uint64_t blocks = static_cast<uint64_t>(p.n_seq) * ((p.n_ctx + kBlock - 1) / kBlock) + 2;
    n.kv = blocks * kBlock * row + blocks * kBlock * sizeof(int32_t);  // + the tokens of each block
  } else {
    n.kv = static_cast<uint64_t>(p.n_seq) * p.n_ctx * row;
  }
  // Context scratch (model/forward.cc Context::create) and the backend's (kernels/backend.h), f32
  // unless noted.
  const uint64_t B = static_cast<uint64_t>(std::min(p.n_batch, 512));
  const uint64_t E = c.n_embd, Q = c.q_dim(), KV = c.kv_dim();
  const uint64_t ff = std::max(c.n_ff, c.n_ff_exp);
  uint64_t floats = B * (2 * E + 2 * Q + 2 * KV + std::max(E, Q) + ff + std::max(ff, E) + std::max<uint64_t>(1, c.n_expert) +
                         std::max<int32_t>(2, c.n_rot));
  floats += p.n_ctx;  // attention scores (the reference backend's; the cpu backend needs none)
  floats += B * (sizeof(kernels::AttnQuery) / sizeof(float) + 1);  // attention queries, token ids
  if (c.n_expert > 0) {
    const uint64_t K = std::max(1, c.n_expert_used);
    floats += B * K * E + B * E + 3 * B * K;
  }
  // Logits: one row per output of a step (the engine: at most one per slot).
  floats += std::min<uint64_t>(B, static_cast<uint64_t>(p.n_seq)) * c.n_vocab;
  // Quantised activations: 3 slots of B rows; a row is at most 4 bytes per element (f32 dot type).
  const uint64_t widest = std::max({E, Q, ff});
  const uint64_t act = 3 * (((4 * widest + 64) * B + 63) & ~uint64_t{63}) + 64;
  n.compute = floats * sizeof(float) + act;
  return n;
}

int32_t largest_fitting_ctx(const ModelFacts& m, FitParams p, uint64_t budget) {
  auto fits = [&](int32_t ctx) {
    p.n_ctx = ctx;
    return estimate_memory(m, p).total() <= budget;
  };
  const int32_t hi_req = p.n_ctx;
  if (!fits(8)) return 0;
  if (fits(hi_req)) return hi_req;
  int32_t lo = 8, hi = hi_req;  // fits(lo), !fits(hi)
  while (hi - lo > 1) {
    const int32_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? lo : hi) = mid;
  }
  return lo >= kBlock ? lo / kBlock * kBlock : lo;
}

uint64_t available_memory() {
  uint64_t avail = 0;
  std::ifstream mi("/proc/meminfo");
  std::string key;
  uint64_t kb = 0;
  std::string unit;
  while (mi >> key >> kb) {
    std::getline(mi, unit);
    if (key == "MemAvailable:") {
      avail = kb * 1024;
      break;
    }
  }
  // cgroup v2: the limit of this process's group.
  std::ifstream lim("/sys/fs/cgroup/memory.max"), cur("/sys/fs/cgroup/memory.current");
  std::string l;
  uint64_t used = 0;
  if (lim >> l && l != "max" && cur >> used) {
    const uint64_t limit = std::strtoull(l.c_str(), nullptr, 10);
    const uint64_t left = limit > used ? limit - used : 0;
    if (avail == 0 || left < avail) avail = left;
  }
  return avail;
}

Result<uint64_t> parse_bytes(const std::string& s) {
  std::istringstream in(s);
  double v = 0;
  if (!(in >> v) || v < 0 || !std::isfinite(v)) return Error("'" + s + "' is not a size (e.g. 8G, 512M, 1000000)");
  std::string u;
  in >> u;
  std::string low;
  for (char ch : u) low += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  double mul = 1;
  if (low.empty() || low == "b") mul = 1;
  else if (low == "k" || low == "kb" || low == "kib") mul = 1024.0;
  else if (low == "m" || low == "mb" || low == "mib") mul = 1048576.0;
  else if (low == "g" || low == "gb" || low == "gib") mul = 1073741824.0;
  else if (low == "t" || low == "tb" || low == "tib") mul = 1099511627776.0;
  else return Error("'" + s + "': unknown size unit '" + u + "' (use K, M, G or T)");
  std::string rest;
  if (in >> rest) return Error("'" + s + "' is not a size (e.g. 8G, 512M, 1000000)");
  return static_cast<uint64_t>(v * mul);
}

std::string describe_needs(const MemoryNeeds& n, const FitParams& p) {
  return "needs " + mib(n.total()) + " (weights " + mib(n.weights) + " + KV " + mib(n.kv) + " at " + std::to_string(p.n_ctx) +
         " positions x " + std::to_string(p.n_seq) + " + compute " + mib(n.compute) + ")";
}

}  // namespace nuri::runtime
