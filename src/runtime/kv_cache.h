// runtime/kv_cache.h — the paged KV cache: f16 (or q8_0/q4_0) K/V in fixed-size blocks (block_size positions of
// every layer), one block table per sequence, reference-counted blocks shared between sequences,
// copy-on-write of a shared last block, and a prefix cache over full blocks.
//
// Purpose: n choices of one prompt, and requests that share a prompt prefix, hold that prefix's
// KV once. Forking a sequence copies its block table, not its KV (O(blocks)). A full block is
// indexed by (its parent block, its tokens), so a new sequence maps the longest cached prefix of
// its prompt (refcount + 1) and computes only the rest; a partially matching block (a prompt
// that ends inside it) is copied. Blocks nobody maps keep their KV for reuse until the pool runs
// short, then the least recently released one is evicted.
// Non-goals: the forward pass (model/ reads the cache through model::KvView), scheduling,
// preemption or swapping to host memory.
// Invariants: a block's reference count equals the number of table entries that map it; a block
// with more than one reference, or one in the prefix index, is never written (a sequence that
// writes into it gets a private copy of its computed rows first); a sequence's table has exactly
// ceil(len / block_size) blocks; rows [0, n_filled) of a block hold the KV of its tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "model/kv_view.h"

namespace nuri::runtime {

struct KvCacheParams {
  int32_t n_layer = 0;
  int32_t kv_dim = 0;         // n_head_kv * head_dim
  int32_t n_seq = 1;          // sequence ids are 0 .. n_seq - 1
  int32_t max_positions = 0;  // per sequence (the context length)
  int32_t block_size = 16;    // positions per block
  int32_t n_blocks = 0;       // pool size; 0: every sequence at max_positions without sharing (+ 2)
  kernels::KvType k_type = kernels::KvType::kF16;  // f16, q8_0 or q4_0 rows (quantised: kv_dim % 32 == 0)
  kernels::KvType v_type = kernels::KvType::kF16;
};

struct KvCacheStats {
  int32_t block_size = 0;
  int32_t blocks_total = 0;
  int32_t blocks_used = 0;    // mapped by at least one sequence
  int32_t blocks_shared = 0;  // mapped by more than one sequence
  int32_t blocks_cached = 0;  // mapped by none, KV kept for prefix reuse (evictable)
  int64_t positions_cached = 0;  // computed rows in the cached blocks
  size_t bytes_per_block = 0;    // K and V of block_size positions of every layer
  int64_t bytes_total = 0;
  int64_t bytes_used = 0;        // blocks_used * bytes_per_block
  uint64_t evictions = 0;
  uint64_t cow_copies = 0;       // blocks copied because a sequence wrote into a shared one
};

class KvCache {
 public:
  static Result<std::unique_ptr<KvCache>> create(const KvCacheParams& p);

  int32_t seq_len(int32_t seq) const { return len_[seq]; }
  // Drops every position of seq (its blocks stay cached while others or the index want them).
  void seq_free(int32_t seq);
  // Keeps the first n positions of seq.
  void seq_truncate(int32_t seq, int32_t n);
  // dst (emptied first) maps src's first n positions (n < 0: all) to the same blocks: no KV copied.
  void seq_fork(int32_t src, int32_t dst, int32_t n = -1);
  // Maps into the empty sequence seq the longest cached prefix of tokens[0 .. n): shared full
  // blocks, then a private copy of the rows of a block that matches partially. Returns the
  // number of positions reused (<= n).
  int32_t seq_attach_prefix(int32_t seq, const int32_t* tokens, int32_t n);
  // Appends n positions holding these tokens; the next decode writes their KV. Allocates blocks
  // (evicting cached ones) and copies a shared or indexed last block before it is written.
  // False (and nothing changes) when the pool cannot hold them or max_positions is exceeded.
  bool seq_append(int32_t seq, const int32_t* tokens, int32_t n);
  // After a successful decode: every appended position holds its KV; blocks that became full
  // enter the prefix index.
  void commit();

  model::KvView view() const;
  KvCacheStats stats() const;
  const KvCacheParams& params() const { return params_; }
  // The block ids seq maps, in position order (tests, stats).
  std::vector<int32_t> seq_blocks(int32_t seq) const;
  // Recounts references from the tables and checks the invariants above; "" when they hold.
  std::string check() const;

 private:
  struct Block {
    int32_t ref = 0;
    int32_t n_filled = 0;     // rows whose KV is computed
    uint32_t gen = 0;         // bumped on every allocation: stale (parent, gen) keys never match
    int32_t parent = -1;      // the block before it in the sequence that filled it (-1: first)
    uint32_t parent_gen = 0;
    bool indexed = false;     // in the prefix index under `hash`
    uint64_t hash = 0;
    int32_t hash_next = -1;   // next block of the same index bucket
    int32_t prev = -1, next = -1;  // LRU list of unreferenced blocks with KV
    bool in_lru = false;
  };
  explicit KvCache(const KvCacheParams& p) : params_(p) {}
  int32_t* table(int32_t seq) { return &tables_[static_cast<size_t>(seq) * max_blocks_]; }
  const int32_t* table(int32_t seq) const { return &tables_[static_cast<size_t>(seq) * max_blocks_]; }
  const int32_t* tokens_of(int32_t b) const { return &tokens_[static_cast<size_t>(b) * params_.block_size]; }
  uint64_t key_hash(int32_t parent, uint32_t parent_gen, const int32_t* tokens) const;
  int32_t allocate();  // -1 when the pool is exhausted; the block has ref 1
  void acquire(int32_t b);
  void release(int32_t b);
  void copy_rows(int32_t src, int32_t dst, int32_t n_rows);
  int32_t index_find(int32_t parent, uint32_t parent_gen, const int32_t* tokens) const;
  void index_insert(int32_t b);
  void index_erase(int32_t b);
  void lru_remove(int32_t b);
  void lru_push(int32_t b);
  int32_t available() const { return static_cast<int32_t>(free_.size()) + n_lru_; }

  KvCacheParams params_;
  int32_t max_blocks_ = 0;        // table entries per sequence
  std::vector<uint8_t> k_, v_;    // [n_layer][n_blocks][block_size] rows of k_row_ / v_row_ bytes
  size_t k_row_ = 0, v_row_ = 0;  // one position's K (V) row of kv_dim in k_type (v_type)
  std::vector<Block> blocks_;
  std::vector<int32_t> tokens_;   // [n_blocks][block_size]
  std::vector<int32_t> free_;     // blocks without KV
  int32_t lru_head_ = -1, lru_tail_ = -1, n_lru_ = 0;  // head: released longest ago
  std::vector<int32_t> buckets_;  // prefix index: chains of full blocks by key_hash (no allocation)
  std::vector<int32_t> tables_;   // [n_seq][max_blocks_]
  std::vector<int32_t> n_blocks_, len_, computed_;    // [n_seq]
  int32_t n_used_ = 0;
  uint64_t evictions_ = 0, cow_copies_ = 0;
};

}  // namespace nuri::runtime
