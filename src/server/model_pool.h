// server/model_pool.h — the models one server serves, loaded on demand, unloaded least recently
// used when a memory cap would be exceeded.
// Purpose: `nuri serve -m A -m B` / `--models-dir`: a request's `model` field names one entry
//   (its id, the -m text, the path, the file name or stem); acquire() returns a lease on its
//   loaded engine, loading it first when needed. Each entry carries the memory estimate of its
//   engine (runtime/memory_fit.h); before a load, idle loaded models (no lease) are unloaded,
//   least recently used first, until the estimates of the loaded ones plus the new one fit the
//   cap; when only busy models are left, the load waits for leases to end, and the least
//   recently used busy model drains meanwhile (no new leases; its requests wait), so a steady
//   stream of requests for one model cannot starve another: the models take turns.
// Non-goals: eviction of a model that has requests in flight (never: a lease pins its model),
//   preloading.
// Invariants: a model is unloaded only with no lease (so no request of it is in flight); the
//   estimates of loaded and loading models never exceed the cap (0 = no cap); one load per
//   entry at a time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "chat/chat_template.h"
#include "chat/tool_calls.h"
#include "nuri/engine.h"

namespace nuri::server {

// One loaded model: its engine and chat formatting.
struct ServedModel {
  std::unique_ptr<engine::Engine> engine;
  chat::ChatTemplate tmpl;
  chat::ToolCallSyntax tool_syntax;   // detected from tmpl (kNone: the template ignores tools)
  chat::ToolCallSyntax reply_syntax;  // how replies are parsed: tool_syntax, else Hermes
  std::string bos, eos;
  std::mutex tmpl_mu;
  ServedModel(std::unique_ptr<engine::Engine> e, chat::ChatTemplate t, std::string bos_token, std::string eos_token);
  ~ServedModel();
};

struct ModelEntry {
  std::string id;                  // what /v1/models lists and responses carry
  std::string path;                // what the loader opens
  std::vector<std::string> names;  // other names a request may use (the -m text, file stem, path)
  uint64_t bytes = 0;              // memory estimate of the loaded engine
  int32_t n_ctx = 0;               // the context it is loaded with (0: the engine's default)
};

struct ModelState {
  std::string id, path;
  bool loaded = false;
  int32_t leases = 0;
  uint64_t bytes = 0;
  engine::EngineStats stats;  // when loaded
  int32_t n_ctx = 0, n_parallel = 0, n_vocab = 0;  // when loaded
};

class ModelPool {
 public:
  using Loader = std::function<Result<std::unique_ptr<ServedModel>>(const ModelEntry&)>;

  // A lease pins a loaded model; its destructor lets the pool unload it again.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept { *this = std::move(o); }
    Lease& operator=(Lease&& o) noexcept;
    ~Lease() { reset(); }
    void reset();
    ServedModel* operator->() const { return model_.get(); }
    ServedModel& operator*() const { return *model_; }
    explicit operator bool() const { return model_ != nullptr; }
    const std::string& id() const;

   private:
    friend class ModelPool;
    ModelPool* pool_ = nullptr;
    size_t index_ = 0;
    std::shared_ptr<ServedModel> model_;
  };

  ModelPool(std::vector<ModelEntry> entries, Loader loader, uint64_t cap_bytes);
  ~ModelPool();  // unloads everything (callers end their leases first)

  size_t size() const { return entries_.size(); }
  const ModelEntry& entry(size_t i) const { return entries_[i]; }
  uint64_t cap() const { return cap_; }
  // The entry a request's `model` names; with a single entry every name (and none) picks it.
  // -1 when none matches.
  int find(const std::string& name) const;
  // The loaded model of entry i (loading it, and unloading idle ones, as needed). On failure
  // `http_status` is 500 (load failed), 503 (no memory freed within `wait`) or 507 (the model
  // alone exceeds the cap) and `error` says why.
  Result<Lease> acquire(size_t i, std::chrono::milliseconds wait, int* http_status);
  // Loads entry i now (startup); the same errors as acquire().
  Status preload(size_t i);

  std::vector<ModelState> states() const;
  uint64_t loads() const;
  uint64_t unloads() const;
  // Counters of engines already unloaded (so totals never go down).
  engine::EngineStats retired() const;

 private:
  struct Slot {
    std::shared_ptr<ServedModel> model;
    bool loading = false;
    int32_t leases = 0;
    uint64_t last_used = 0;
    int32_t drained_by = 0;  // loads waiting for this busy model's memory: it takes no new leases
  };
  void release(size_t i);
  uint64_t used_locked() const;

  std::vector<ModelEntry> entries_;
  Loader loader_;
  uint64_t cap_ = 0;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot> slots_;
  uint64_t tick_ = 0, loads_ = 0, unloads_ = 0;
  engine::EngineStats retired_;
};

// Adds the counters (and the gauges, for totals over several engines) of `s` to `into`.
void add_stats(engine::EngineStats& into, const engine::EngineStats& s);

}  // namespace nuri::server
