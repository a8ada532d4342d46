// server/model_pool.cc — leases, on-demand loads, LRU unloads under the memory cap.
#include "server/model_pool.h"

#include <algorithm>

#include "base/log.h"

namespace nuri::server {

ServedModel::ServedModel(std::unique_ptr<engine::Engine> e, chat::ChatTemplate t, std::string bos_token, std::string eos_token)
    : engine(std::move(e)), tmpl(std::move(t)), bos(std::move(bos_token)), eos(std::move(eos_token)) {
  tool_syntax = chat::detect_tool_call_syntax(tmpl);
  reply_syntax = tool_syntax.kind == chat::ToolCallKind::kNone ? chat::fallback_tool_call_syntax() : tool_syntax;
}

ServedModel::~ServedModel() {
  if (engine) engine->shutdown();
}

ModelPool::Lease& ModelPool::Lease::operator=(Lease&& o) noexcept {
  if (this != &o) {
    reset();
    pool_ = o.pool_;
    index_ = o.index_;
    model_ = std::move(o.model_);
    o.pool_ = nullptr;
  }
  return *this;
}

void ModelPool::Lease::reset() {
  if (pool_ && model_) pool_->release(index_);
  model_.reset();
  pool_ = nullptr;
}

const std::string& ModelPool::Lease::id() const { return pool_->entries_[index_].id; }

ModelPool::ModelPool(std::vector<ModelEntry> entries, Loader loader, uint64_t cap_bytes)
    : entries_(std::move(entries)), loader_(std::move(loader)), cap_(cap_bytes), slots_(entries_.size()) {}

ModelPool::~ModelPool() {
  std::vector<std::shared_ptr<ServedModel>> all;
  {
    std::lock_guard lk(mu_);
    for (auto& s : slots_) all.push_back(std::move(s.model));
  }
  all.clear();  // engines shut down here, outside the lock
}

int ModelPool::find(const std::string& name) const {
  if (entries_.size() == 1) return 0;
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].id == name) return static_cast<int>(i);
  for (size_t i = 0; i < entries_.size(); ++i)
    for (const auto& n : entries_[i].names)
      if (n == name) return static_cast<int>(i);
  return -1;
}

uint64_t ModelPool::used_locked() const {
  uint64_t u = 0;
  for (size_t i = 0; i < slots_.size(); ++i)
    if (slots_[i].model || slots_[i].loading) u += entries_[i].bytes;
  return u;
}

Result<ModelPool::Lease> ModelPool::acquire(size_t i, std::chrono::milliseconds wait, int* http_status) {
  *http_status = 500;
  if (i >= entries_.size()) return Error("no such model");
  const ModelEntry& e = entries_[i];
  if (cap_ > 0 && e.bytes > cap_) {
    *http_status = 507;
    return Error("model '" + e.id + "' needs about " + std::to_string(e.bytes >> 20) + " MiB, more than the server's memory cap of " +
                 std::to_string(cap_ >> 20) + " MiB (--max-memory)");
  }
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::unique_lock lk(mu_);
  while (true) {
    Slot& s = slots_[i];
    if (s.model && s.drained_by > 0) {  // another model waits for this one's memory: wait with it
      if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
        *http_status = 503;
        return Error("model '" + e.id + "' is making room for another model; retry later");
      }
      continue;
    }
    if (s.model) {
      ++s.leases;
      s.last_used = ++tick_;
      Lease l;
      l.pool_ = this;
      l.index_ = i;
      l.model_ = s.model;
      return l;
    }
    if (s.loading) {  // another request loads it: wait for that
      if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && !s.model && s.loading) {
        *http_status = 503;
        return Error("model '" + e.id + "' is still loading; retry later");
      }
      continue;
    }
    // Make room: unload idle models, least recently used first.
    std::vector<std::shared_ptr<ServedModel>> gone;
    while (cap_ > 0 && used_locked() + e.bytes > cap_) {
      int victim = -1;
      for (size_t j = 0; j < slots_.size(); ++j)
        if (slots_[j].model && slots_[j].leases == 0 && (victim < 0 || slots_[j].last_used < slots_[victim].last_used))
          victim = static_cast<int>(j);
      if (victim < 0) break;
      Slot& v = slots_[victim];
      add_stats(retired_, v.model->engine->stats());
      gone.push_back(std::move(v.model));
      ++unloads_;
      NURI_LOG_INFO("serve: unloading %s to make room for %s", entries_[victim].id.c_str(), e.id.c_str());
    }
    if (!gone.empty()) {
      lk.unlock();
      gone.clear();  // engines shut down outside the lock (their threads are idle: no leases)
      lk.lock();
      continue;  // the world may have changed meanwhile
    }
    if (cap_ > 0 && used_locked() + e.bytes > cap_) {
      // Only busy (or loading) models hold the memory: drain the least recently used busy one
      // (its running requests finish, new ones wait) and wait for its leases to end.
      int victim = -1;
      for (size_t j = 0; j < slots_.size(); ++j)
        if (j != i && slots_[j].model && (victim < 0 || slots_[j].last_used < slots_[victim].last_used))
          victim = static_cast<int>(j);
      if (victim >= 0) ++slots_[victim].drained_by;
      const bool timed_out = cv_.wait_until(lk, deadline) == std::cv_status::timeout;
      if (victim >= 0) {
        --slots_[victim].drained_by;
        cv_.notify_all();
      }
      if (timed_out) {
        *http_status = 503;
        return Error("model '" + e.id + "' does not fit next to the models in use (memory cap " + std::to_string(cap_ >> 20) +
                     " MiB); retry later");
      }
      continue;
    }
    s.loading = true;
    lk.unlock();
    auto loaded = loader_(e);
    lk.lock();
    Slot& s2 = slots_[i];
    s2.loading = false;
    cv_.notify_all();
    if (!loaded.ok()) return Error("cannot load model '" + e.id + "': " + loaded.error());
    s2.model = std::shared_ptr<ServedModel>(std::move(loaded).value());
    ++loads_;
    NURI_LOG_INFO("serve: loaded %s", e.id.c_str());
  }
}

Status ModelPool::preload(size_t i) {
  int status = 0;
  auto l = acquire(i, std::chrono::milliseconds(0), &status);
  if (!l.ok()) return Error(l.error());
  return Status::ok();
}

void ModelPool::release(size_t i) {
  {
    std::lock_guard lk(mu_);
    Slot& s = slots_[i];
    if (s.leases > 0) --s.leases;
    s.last_used = ++tick_;
  }
  cv_.notify_all();
}

std::vector<ModelState> ModelPool::states() const {
  std::lock_guard lk(mu_);
  std::vector<ModelState> out;
  for (size_t i = 0; i < entries_.size(); ++i) {
    ModelState m;
    m.id = entries_[i].id;
    m.path = entries_[i].path;
    m.bytes = entries_[i].bytes;
    m.leases = slots_[i].leases;
    if (const auto& sm = slots_[i].model) {
      m.loaded = true;
      m.stats = sm->engine->stats();
      m.n_ctx = sm->engine->n_ctx();
      m.n_parallel = sm->engine->n_parallel();
      m.n_vocab = sm->engine->n_vocab();
    }
    out.push_back(std::move(m));
  }
  return out;
}

uint64_t ModelPool::loads() const {
  std::lock_guard lk(mu_);
  return loads_;
}
uint64_t ModelPool::unloads() const {
  std::lock_guard lk(mu_);
  return unloads_;
}
engine::EngineStats ModelPool::retired() const {
  std::lock_guard lk(mu_);
  return retired_;
}

void add_stats(engine::EngineStats& a, const engine::EngineStats& s) {
  a.requests_submitted += s.requests_submitted;
  a.requests_finished += s.requests_finished;
  a.requests_cancelled += s.requests_cancelled;
  a.requests_rejected += s.requests_rejected;
  a.prompt_tokens += s.prompt_tokens;
  a.prompt_tokens_cached += s.prompt_tokens_cached;
  a.generated_tokens += s.generated_tokens;
  a.steps += s.steps;
  a.queue_length += s.queue_length;
  a.requests_active += s.requests_active;
  a.slots_total += s.slots_total;
  a.slots_busy += s.slots_busy;
  a.kv_cells_busy += s.kv_cells_busy;
  a.kv_cells_cached += s.kv_cells_cached;
  a.kv_block_size = std::max(a.kv_block_size, s.kv_block_size);
  a.kv_blocks_total += s.kv_blocks_total;
  a.kv_blocks_used += s.kv_blocks_used;
  a.kv_blocks_shared += s.kv_blocks_shared;
  a.kv_blocks_cached += s.kv_blocks_cached;
  a.kv_bytes_total += s.kv_bytes_total;
  a.kv_bytes_used += s.kv_bytes_used;
  a.kv_bytes_peak = std::max(a.kv_bytes_peak, s.kv_bytes_peak);
  a.kv_evictions += s.kv_evictions;
  a.kv_cow_copies += s.kv_cow_copies;
  a.tokens_per_second += s.tokens_per_second;
}

}  // namespace nuri::server
