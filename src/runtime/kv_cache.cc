// runtime/kv_cache.cc — block pool, tables, reference counts, copy-on-write, prefix index, LRU.
#include "runtime/kv_cache.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace nuri::runtime {

Result<std::unique_ptr<KvCache>> KvCache::create(const KvCacheParams& p) {
  if (p.n_layer <= 0 || p.kv_dim <= 0 || p.n_seq <= 0 || p.max_positions <= 0 || p.block_size <= 0)
    return Error("kv cache: n_layer, kv_dim, n_seq, max_positions and block_size must be positive");
  std::unique_ptr<KvCache> c(new KvCache(p));
  c->max_blocks_ = (p.max_positions + p.block_size - 1) / p.block_size;
  if (c->params_.n_blocks <= 0) c->params_.n_blocks = p.n_seq * c->max_blocks_ + 2;
  const int32_t nb = c->params_.n_blocks;
  if ((p.k_type != kernels::KvType::kF16 || p.v_type != kernels::KvType::kF16) && p.kv_dim % 32 != 0)
    return Error("kv cache: quantised K/V rows need kv_dim to be a multiple of 32, got " + std::to_string(p.kv_dim));
  c->k_row_ = kernels::kv_row_bytes(p.k_type, p.kv_dim);
  c->v_row_ = kernels::kv_row_bytes(p.v_type, p.kv_dim);
  const size_t rows = static_cast<size_t>(p.n_layer) * nb * p.block_size;
  if (rows * (c->k_row_ + c->v_row_) > (size_t{1} << 35))
    return Error("kv cache: " + std::to_string(rows * (c->k_row_ + c->v_row_) >> 20) +
                 " MiB of KV is too large; lower the context or parallel");
  c->k_.assign(rows * c->k_row_, 0);
  c->v_.assign(rows * c->v_row_, 0);
  c->blocks_.resize(nb);
  c->tokens_.assign(static_cast<size_t>(nb) * p.block_size, 0);
  c->free_.reserve(nb);
  for (int32_t b = nb - 1; b >= 0; --b) c->free_.push_back(b);  // block 0 first
  size_t nbk = 1;
  while (nbk < static_cast<size_t>(nb)) nbk <<= 1;
  c->buckets_.assign(nbk, -1);
  c->tables_.assign(static_cast<size_t>(p.n_seq) * c->max_blocks_, -1);
  c->n_blocks_.assign(p.n_seq, 0);
  c->len_.assign(p.n_seq, 0);
  c->computed_.assign(p.n_seq, 0);
  return c;
}

uint64_t KvCache::key_hash(int32_t parent, uint32_t parent_gen, const int32_t* tokens) const {
  // FNV-1a over the parent's identity and the block's tokens, finished with a splitmix step.
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t x) {
    h ^= x;
    h *= 1099511628211ull;
  };
  mix(static_cast<uint32_t>(parent));
  mix(parent_gen);
  for (int32_t i = 0; i < params_.block_size; ++i) mix(static_cast<uint32_t>(tokens[i]));
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  return h;
}

int32_t KvCache::index_find(int32_t parent, uint32_t parent_gen, const int32_t* tokens) const {
  const uint64_t h = key_hash(parent, parent_gen, tokens);
  const size_t bs = static_cast<size_t>(params_.block_size);
  for (int32_t b = buckets_[h & (buckets_.size() - 1)]; b >= 0; b = blocks_[b].hash_next) {
    const Block& B = blocks_[b];
    if (B.hash == h && B.parent == parent && B.parent_gen == parent_gen &&
        std::equal(tokens, tokens + bs, tokens_of(b)))
      return b;
  }
  return -1;
}

void KvCache::index_insert(int32_t b) {
  Block& B = blocks_[b];
  if (index_find(B.parent, B.parent_gen, tokens_of(b)) >= 0) return;  // the same prefix is indexed already
  B.hash = key_hash(B.parent, B.parent_gen, tokens_of(b));
  int32_t& head = buckets_[B.hash & (buckets_.size() - 1)];
  B.hash_next = head;
  head = b;
  B.indexed = true;
}

void KvCache::index_erase(int32_t b) {
  Block& B = blocks_[b];
  if (!B.indexed) return;
  int32_t* link = &buckets_[B.hash & (buckets_.size() - 1)];
  while (*link != b) link = &blocks_[*link].hash_next;
  *link = B.hash_next;
  B.hash_next = -1;
  B.indexed = false;
}

void KvCache::lru_remove(int32_t b) {
  Block& B = blocks_[b];
  if (!B.in_lru) return;
  (B.prev >= 0 ? blocks_[B.prev].next : lru_head_) = B.next;
  (B.next >= 0 ? blocks_[B.next].prev : lru_tail_) = B.prev;
  B.prev = B.next = -1;
  B.in_lru = false;
  --n_lru_;
}

void KvCache::lru_push(int32_t b) {
  Block& B = blocks_[b];
  B.prev = lru_tail_;
  B.next = -1;
  (lru_tail_ >= 0 ? blocks_[lru_tail_].next : lru_head_) = b;
  lru_tail_ = b;
  B.in_lru = true;
  ++n_lru_;
}

int32_t KvCache::allocate() {
  int32_t b = -1;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (lru_head_ >= 0) {
    b = lru_head_;  // evict the block released longest ago
    lru_remove(b);
    index_erase(b);
    ++evictions_;
  } else {
    return -1;
  }
  Block& B = blocks_[b];
  const uint32_t gen = B.gen + 1;
  B = Block{};
  B.gen = gen;
  B.ref = 1;
  ++n_used_;
  return b;
}

void KvCache::acquire(int32_t b) {
  Block& B = blocks_[b];
  if (B.ref == 0) {
    lru_remove(b);
    ++n_used_;
  }
  ++B.ref;
}

void KvCache::release(int32_t b) {
  Block& B = blocks_[b];
  NURI_CHECK(B.ref > 0);
  if (--B.ref > 0) return;
  --n_used_;
  if (B.n_filled > 0) {
    lru_push(b);  // keeps its KV for prefix reuse until evicted
  } else {
    index_erase(b);
    free_.push_back(b);
  }
}

void KvCache::copy_rows(int32_t src, int32_t dst, int32_t n_rows) {
  const size_t bs = static_cast<size_t>(params_.block_size), nb = static_cast<size_t>(params_.n_blocks);
  for (int32_t l = 0; l < params_.n_layer; ++l) {
    const size_t s = (l * nb + src) * bs, d = (l * nb + dst) * bs;  // rows
    std::memcpy(&k_[d * k_row_], &k_[s * k_row_], n_rows * k_row_);
    std::memcpy(&v_[d * v_row_], &v_[s * v_row_], n_rows * v_row_);
  }
  std::memcpy(&tokens_[static_cast<size_t>(dst) * params_.block_size], tokens_of(src), n_rows * sizeof(int32_t));
  Block& D = blocks_[dst];
  D.parent = blocks_[src].parent;
  D.parent_gen = blocks_[src].parent_gen;
  D.n_filled = n_rows;
}

void KvCache::seq_free(int32_t seq) { seq_truncate(seq, 0); }

void KvCache::seq_truncate(int32_t seq, int32_t n) {
  if (n >= len_[seq]) return;
  const int32_t keep = (std::max(n, 0) + params_.block_size - 1) / params_.block_size;
  int32_t* t = table(seq);
  // Last block first: in the LRU list the deeper blocks of a prefix are evicted before its start.
  for (int32_t i = n_blocks_[seq] - 1; i >= keep; --i) {
    release(t[i]);
    t[i] = -1;
  }
  n_blocks_[seq] = keep;
  len_[seq] = std::max(n, 0);
  computed_[seq] = std::min(computed_[seq], len_[seq]);
}

void KvCache::seq_fork(int32_t src, int32_t dst, int32_t n) {
  if (src == dst) return;
  seq_free(dst);
  if (n < 0 || n > len_[src]) n = len_[src];
  const int32_t nb = (n + params_.block_size - 1) / params_.block_size;
  const int32_t* s = table(src);
  int32_t* d = table(dst);
  for (int32_t i = 0; i < nb; ++i) {
    acquire(s[i]);
    d[i] = s[i];
  }
  n_blocks_[dst] = nb;
  len_[dst] = n;
  computed_[dst] = std::min(n, computed_[src]);
}

int32_t KvCache::seq_attach_prefix(int32_t seq, const int32_t* tokens, int32_t n) {
  seq_free(seq);
  const int32_t bs = params_.block_size;
  n = std::min(n, params_.max_positions);
  int32_t* t = table(seq);
  int32_t reused = 0, parent = -1;
  uint32_t parent_gen = 0;
  while (reused < n) {
    const int32_t want = std::min(bs, n - reused);
    int32_t b = want == bs ? index_find(parent, parent_gen, tokens + reused) : -1;
    int32_t k = b >= 0 ? bs : 0;
    if (b < 0) {
      // A block that continues this prefix and matches partially: a prompt ending inside a cached
      // block, a sequence's released last block, or a full block not in the index.
      for (int32_t c = 0; c < params_.n_blocks && k < want; ++c) {
        const Block& C = blocks_[c];
        if (C.n_filled == 0 || C.parent != parent || C.parent_gen != parent_gen || (C.ref == 0 && !C.in_lru)) continue;
        const int32_t* ct = tokens_of(c);
        int32_t m = 0;
        const int32_t lim = std::min(want, C.n_filled);
        while (m < lim && ct[m] == tokens[reused + m]) ++m;
        if (m > k) b = c, k = m;
      }
    }
    if (b < 0 || k == 0) break;
    if (k == bs && blocks_[b].n_filled == bs) {
      acquire(b);  // shared as is
      t[n_blocks_[seq]++] = b;
    } else {
      acquire(b);  // pinned: allocate() must not evict the source
      const int32_t nb = allocate();
      if (nb >= 0) {
        copy_rows(b, nb, k);
        t[n_blocks_[seq]++] = nb;
      }
      release(b);
      if (nb < 0) break;
    }
    reused += k;
    if (k < bs) break;
    parent = b;
    parent_gen = blocks_[b].gen;
  }
  len_[seq] = computed_[seq] = reused;
  return reused;
}

bool KvCache::seq_append(int32_t seq, const int32_t* tokens, int32_t n) {
  if (n <= 0) return true;
  const int32_t bs = params_.block_size;
  const int32_t L = len_[seq], end = L + n;
  if (end > params_.max_positions) return false;
  int32_t* t = table(seq);
  const bool cow = L % bs != 0 && (blocks_[t[L / bs]].ref > 1 || blocks_[t[L / bs]].indexed);
  const int32_t need = (end + bs - 1) / bs - n_blocks_[seq] + (cow ? 1 : 0);
  if (need > available()) return false;
  if (cow) {
    const int32_t old = t[L / bs];
    const int32_t nb = allocate();
    copy_rows(old, nb, L % bs);
    t[L / bs] = nb;
    release(old);
    ++cow_copies_;
  } else if (L % bs != 0) {
    Block& B = blocks_[t[L / bs]];
    B.n_filled = std::min(B.n_filled, L % bs);  // rows past L (after a truncate) are rewritten
  }
  for (int32_t p = L; p < end; ++p) {
    const int32_t bi = p / bs, r = p % bs;
    if (r == 0) {
      const int32_t nb = allocate();
      NURI_CHECK(nb >= 0);
      if (bi > 0) {
        blocks_[nb].parent = t[bi - 1];
        blocks_[nb].parent_gen = blocks_[t[bi - 1]].gen;
      }
      t[bi] = nb;
      n_blocks_[seq] = bi + 1;
    }
    tokens_[static_cast<size_t>(t[bi]) * bs + r] = tokens[p - L];
  }
  len_[seq] = end;
  return true;
}

void KvCache::commit() {
  const int32_t bs = params_.block_size;
  for (int32_t s = 0; s < params_.n_seq; ++s) {
    if (computed_[s] >= len_[s]) continue;
    const int32_t* t = table(s);
    for (int32_t bi = computed_[s] / bs; bi * bs < len_[s]; ++bi) {
      Block& B = blocks_[t[bi]];
      B.n_filled = std::max(B.n_filled, std::min(bs, len_[s] - bi * bs));
      if (B.n_filled == bs && !B.indexed) index_insert(t[bi]);
    }
    computed_[s] = len_[s];
  }
}

model::KvView KvCache::view() const {
  model::KvView v;
  v.k = const_cast<uint8_t*>(k_.data());
  v.v = const_cast<uint8_t*>(v_.data());
  v.k_type = params_.k_type;
  v.v_type = params_.v_type;
  v.k_row_bytes = k_row_;
  v.v_row_bytes = v_row_;
  v.block_size = params_.block_size;
  v.k_layer_stride = k_row_ * params_.block_size * params_.n_blocks;
  v.v_layer_stride = v_row_ * params_.block_size * params_.n_blocks;
  v.n_seq = params_.n_seq;
  v.table_stride = max_blocks_;
  v.tables = tables_.data();
  v.n_blocks = n_blocks_.data();
  return v;
}

KvCacheStats KvCache::stats() const {
  KvCacheStats s;
  s.block_size = params_.block_size;
  s.blocks_total = params_.n_blocks;
  s.blocks_used = n_used_;
  s.blocks_cached = n_lru_;
  for (const Block& B : blocks_) {
    s.blocks_shared += B.ref > 1 ? 1 : 0;
    if (B.in_lru) s.positions_cached += B.n_filled;
  }
  s.bytes_per_block = (k_row_ + v_row_) * static_cast<size_t>(params_.block_size) * params_.n_layer;
  s.bytes_total = static_cast<int64_t>(s.bytes_per_block) * s.blocks_total;
  s.bytes_used = static_cast<int64_t>(s.bytes_per_block) * s.blocks_used;
  s.evictions = evictions_;
  s.cow_copies = cow_copies_;
  return s;
}

std::vector<int32_t> KvCache::seq_blocks(int32_t seq) const {
  return std::vector<int32_t>(table(seq), table(seq) + n_blocks_[seq]);
}

std::string KvCache::check() const {
  const int32_t bs = params_.block_size;
  std::vector<int32_t> refs(params_.n_blocks, 0);
  for (int32_t s = 0; s < params_.n_seq; ++s) {
    if (n_blocks_[s] != (len_[s] + bs - 1) / bs) return "sequence " + std::to_string(s) + ": table size does not match its length";
    for (int32_t i = 0; i < n_blocks_[s]; ++i) ++refs[table(s)[i]];
  }
  int32_t used = 0, lru = 0;
  for (int32_t b = 0; b < params_.n_blocks; ++b) {
    const Block& B = blocks_[b];
    if (B.ref != refs[b]) return "block " + std::to_string(b) + ": ref " + std::to_string(B.ref) + " but mapped " + std::to_string(refs[b]) + " times";
    used += B.ref > 0 ? 1 : 0;
    if (B.in_lru && (B.ref != 0 || B.n_filled == 0)) return "block " + std::to_string(b) + ": in the LRU list while mapped or empty";
    lru += B.in_lru ? 1 : 0;
    if (B.indexed && B.n_filled != bs) return "block " + std::to_string(b) + ": indexed but not full";
    if (B.indexed && index_find(B.parent, B.parent_gen, tokens_of(b)) != b) return "block " + std::to_string(b) + ": not found under its key";
  }
  int32_t n_list = 0;
  for (int32_t b = lru_head_; b >= 0; b = blocks_[b].next) ++n_list;
  if (used != n_used_ || lru != n_lru_ || n_list != n_lru_) return "block counts out of step";
  if (static_cast<int32_t>(free_.size()) + n_used_ + n_lru_ != params_.n_blocks) return "free + used + cached != total";
  return "";
}

}  // namespace nuri::runtime
