// The paged KV cache on its own (no model): block allocation, reference counts, fork without
// copies, copy-on-write of a shared last block (KV rows checked through the view), the prefix
// index (full blocks by parent + tokens, partial blocks copied), LRU eviction under a small pool.
// Expected counts are worked out by hand from the block size in each test.
#include <gtest/gtest.h>

#include <numeric>

#include "runtime/kv_cache.h"

namespace nuri::runtime {
namespace {

std::unique_ptr<KvCache> make(int32_t n_seq, int32_t max_pos, int32_t bs, int32_t n_blocks = 0, int32_t n_layer = 2,
                              int32_t kv_dim = 4) {
  KvCacheParams p;
  p.n_layer = n_layer;
  p.kv_dim = kv_dim;
  p.n_seq = n_seq;
  p.max_positions = max_pos;
  p.block_size = bs;
  p.n_blocks = n_blocks;
  auto c = KvCache::create(p);
  EXPECT_TRUE(c.ok()) << c.error();
  return std::move(c).value();
}

std::vector<int32_t> range(int32_t from, int32_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), from);
  return v;
}

// Writes value(layer, pos) into every K and V element of seq's positions [p0, p1), as a decode would.
void fill(const KvCache& c, int32_t seq, int32_t p0, int32_t p1, uint16_t base) {
  const model::KvView v = c.view();
  const int32_t D = c.params().kv_dim;
  for (int l = 0; l < c.params().n_layer; ++l)
    for (int32_t p = p0; p < p1; ++p)
      for (int32_t d = 0; d < D; ++d) {
        reinterpret_cast<uint16_t*>(v.k_row(l, seq, p))[d] = static_cast<uint16_t>(base + l * 1000 + p);
        reinterpret_cast<uint16_t*>(v.v_row(l, seq, p))[d] = static_cast<uint16_t>(base + l * 1000 + p + 7);
      }
}
bool holds(const KvCache& c, int32_t seq, int32_t p0, int32_t p1, uint16_t base) {
  const model::KvView v = c.view();
  const int32_t D = c.params().kv_dim;
  for (int l = 0; l < c.params().n_layer; ++l)
    for (int32_t p = p0; p < p1; ++p)
      for (int32_t d = 0; d < D; ++d)
        if (reinterpret_cast<uint16_t*>(v.k_row(l, seq, p))[d] != static_cast<uint16_t>(base + l * 1000 + p) ||
            reinterpret_cast<uint16_t*>(v.v_row(l, seq, p))[d] != static_cast<uint16_t>(base + l * 1000 + p + 7))
          return false;
  return true;
}

TEST(KvCache, AllocatesBlocksAndCountsReferences) {
  auto c = make(4, 64, 16);
  EXPECT_EQ(c->stats().blocks_total, 4 * 4 + 2);
  const auto t = range(100, 40);
  ASSERT_TRUE(c->seq_append(0, t.data(), 40));
  EXPECT_EQ(c->seq_len(0), 40);
  EXPECT_EQ(c->seq_blocks(0).size(), 3u);  // ceil(40 / 16)
  EXPECT_EQ(c->stats().blocks_used, 3);
  c->commit();
  c->seq_fork(0, 1);
  EXPECT_EQ(c->seq_blocks(1), c->seq_blocks(0));
  KvCacheStats s = c->stats();
  EXPECT_EQ(s.blocks_used, 3);  // forked: nothing allocated
  EXPECT_EQ(s.blocks_shared, 3);
  EXPECT_EQ(s.bytes_per_block, 2u * 2 * 16 * 4 * 2);  // K+V, f16, 16 positions, kv_dim 4, 2 layers
  EXPECT_EQ(s.bytes_used, 3 * static_cast<int64_t>(s.bytes_per_block));
  EXPECT_EQ(c->check(), "");
  c->seq_free(0);
  EXPECT_EQ(c->stats().blocks_shared, 0);
  EXPECT_EQ(c->stats().blocks_used, 3);  // seq 1 still maps them
  c->seq_free(1);
  s = c->stats();
  EXPECT_EQ(s.blocks_used, 0);
  EXPECT_EQ(s.blocks_cached, 3);          // KV kept for reuse
  EXPECT_EQ(s.positions_cached, 40);
  EXPECT_EQ(c->check(), "");
  // Beyond max_positions: refused, nothing changes.
  const auto big = range(0, 65);
  EXPECT_FALSE(c->seq_append(2, big.data(), 65));
  EXPECT_EQ(c->seq_len(2), 0);
  EXPECT_EQ(c->check(), "");
}

TEST(KvCache, CopyOnWriteOfTheSharedLastBlock) {
  auto c = make(2, 64, 16);
  const auto t = range(1, 40);
  ASSERT_TRUE(c->seq_append(0, t.data(), 40));
  fill(*c, 0, 0, 40, 10);
  c->commit();
  c->seq_fork(0, 1);
  const auto before = c->seq_blocks(0);
  const int32_t tok = 555;
  ASSERT_TRUE(c->seq_append(1, &tok, 1));  // position 40: row 8 of the shared third block
  const auto after = c->seq_blocks(1);
  EXPECT_EQ(c->seq_blocks(0), before);     // the writer got the copy
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[1], before[1]);
  EXPECT_NE(after[2], before[2]);
  EXPECT_EQ(c->stats().cow_copies, 1u);
  EXPECT_EQ(c->stats().blocks_shared, 2);
  EXPECT_TRUE(holds(*c, 1, 0, 40, 10));   // the copy has the computed rows
  fill(*c, 1, 40, 41, 20000);               // seq 1 writes its row 40 ...
  EXPECT_TRUE(holds(*c, 0, 0, 40, 10));     // ... seq 0 is untouched
  // Seq 0 now owns its last block alone: it writes in place, no copy.
  ASSERT_TRUE(c->seq_append(0, &tok, 1));
  EXPECT_EQ(c->seq_blocks(0), before);
  EXPECT_EQ(c->stats().cow_copies, 1u);
  fill(*c, 0, 40, 41, 30000);
  EXPECT_TRUE(holds(*c, 1, 40, 41, 20000));
  c->commit();
  EXPECT_EQ(c->check(), "");
  // A full block in the prefix index is never written: truncating into it and appending copies it.
  const auto idx = c->seq_blocks(0)[1];
  c->seq_free(1);
  c->seq_truncate(0, 20);
  const int32_t tok2 = 777;
  ASSERT_TRUE(c->seq_append(0, &tok2, 1));
  EXPECT_NE(c->seq_blocks(0)[1], idx);
  EXPECT_EQ(c->stats().cow_copies, 2u);
  EXPECT_EQ(c->check(), "");
}

// 16 forks of a 2,000-token prompt hold the prompt's KV once.
TEST(KvCache, SixteenForksHoldThePromptOnce) {
  for (const int32_t P : {2000, 2001}) {
    SCOPED_TRACE(P);
    auto c = make(16, 2048, 16);
    const auto t = range(3, P);
    ASSERT_TRUE(c->seq_append(0, t.data(), P));
    c->commit();
    for (int32_t s = 1; s < 16; ++s) c->seq_fork(0, s);
    const int32_t prompt_blocks = (P + 15) / 16;  // 125 or 126
    EXPECT_EQ(c->stats().blocks_used, prompt_blocks);
    for (int32_t s = 0; s < 16; ++s) {
      const int32_t tok = 1000 + s;
      ASSERT_TRUE(c->seq_append(s, &tok, 1));
    }
    c->commit();
    const KvCacheStats st = c->stats();
    // 2000: the prompt fills 125 blocks, each choice starts its own block (16 new).
    // 2001: the prompt's last block holds 1 row; 15 choices copy it, the last writes in place.
    const int32_t want = P == 2000 ? 125 + 16 : 126 + 15;
    EXPECT_EQ(st.blocks_used, want);
    EXPECT_EQ(st.blocks_shared, P == 2000 ? 125 : 125);
    EXPECT_LT(st.bytes_used, 2 * static_cast<int64_t>(prompt_blocks) * static_cast<int64_t>(st.bytes_per_block));
    EXPECT_EQ(c->check(), "");
  }
}

TEST(KvCache, PrefixIndexReusesFullBlocksAndCopiesAPartialOne) {
  auto c = make(3, 128, 16);
  const auto a = range(50, 45);  // 2 full blocks + 13 rows
  ASSERT_TRUE(c->seq_append(0, a.data(), 45));
  fill(*c, 0, 0, 45, 40);
  c->commit();
  const auto blocks0 = c->seq_blocks(0);
  c->seq_free(0);
  // Same first 40 tokens, then different ones.
  auto b = a;
  b.resize(40);
  for (int i = 0; i < 10; ++i) b.push_back(9000 + i);
  EXPECT_EQ(c->seq_attach_prefix(1, b.data(), static_cast<int32_t>(b.size()) - 1), 40);
  const auto blocks1 = c->seq_blocks(1);
  ASSERT_EQ(blocks1.size(), 3u);
  EXPECT_EQ(blocks1[0], blocks0[0]);  // shared from the index
  EXPECT_EQ(blocks1[1], blocks0[1]);
  EXPECT_NE(blocks1[2], blocks0[2]);  // 8 of 13 rows copied into a private block
  EXPECT_TRUE(holds(*c, 1, 0, 40, 40));
  EXPECT_EQ(c->check(), "");
  // The same second block after a different first block is another prefix: not shared.
  auto d = range(7000, 16);
  d.insert(d.end(), a.begin() + 16, a.begin() + 32);
  d.push_back(1);
  EXPECT_EQ(c->seq_attach_prefix(2, d.data(), 32), 0);
  // A prompt ending inside a block: of the candidates (seq 1's private 8-row copy, the released
  // 13-row block) the longest match is copied.
  c->seq_free(2);
  EXPECT_EQ(c->seq_attach_prefix(2, a.data(), 44), 44);
  EXPECT_TRUE(holds(*c, 2, 0, 44, 40));
  EXPECT_EQ(c->check(), "");
}

TEST(KvCache, EvictsLeastRecentlyReleasedBlocksWhenShort) {
  auto c = make(3, 32, 4, /*n_blocks=*/6);
  const auto a = range(10, 12);  // 3 blocks
  ASSERT_TRUE(c->seq_append(0, a.data(), 12));
  fill(*c, 0, 0, 12, 5);
  c->commit();
  c->seq_free(0);
  EXPECT_EQ(c->stats().blocks_cached, 3);
  const auto b = range(500, 16);  // 4 blocks: 3 free + 1 evicted
  ASSERT_TRUE(c->seq_append(1, b.data(), 16));
  c->commit();
  KvCacheStats s = c->stats();
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.blocks_cached, 2);
  // The deepest block of a's prefix went first: its first two blocks still serve a's prefix.
  EXPECT_EQ(c->seq_attach_prefix(2, a.data(), 11), 8);
  EXPECT_TRUE(holds(*c, 2, 0, 8, 5));
  EXPECT_EQ(c->check(), "");
  // Pool exhausted: 2 blocks mapped by seq 2, 4 by seq 1; appending a block to seq 2 fails cleanly.
  const auto more = range(0, 1);
  EXPECT_FALSE(c->seq_append(2, more.data(), 1));
  EXPECT_EQ(c->seq_len(2), 8);
  EXPECT_EQ(c->check(), "");
  c->seq_free(1);
  EXPECT_TRUE(c->seq_append(2, more.data(), 1));
  EXPECT_EQ(c->check(), "");
}

}  // namespace
}  // namespace nuri::runtime
