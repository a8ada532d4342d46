// model/kv_view.h — what the forward pass sees of a KV cache: f16 K/V pools split into fixed-size
// blocks and one block table per sequence. Whoever owns the memory (runtime/kv_cache.h: a paged,
// prefix-shared cache; or model::Context's own dense cache) fills the view before each decode.
// Non-goals: allocation, sharing, eviction (the owner decides which blocks a sequence maps).
// Invariants: every position a batch writes or reads lies in a block of its sequence's table; a
// block a batch writes is mapped by that sequence only (the owner copies shared blocks before).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/ops.h"

namespace nuri::model {

struct KvView {
  // Pools: element (layer l, block b, row r, dim d) of K is k[l * layer_stride + b * block_stride
  // + r * kv_dim + d] (V likewise); a block holds block_size positions of every layer.
  uint16_t* k = nullptr;  // f16
  uint16_t* v = nullptr;  // f16
  size_t layer_stride = 0;
  size_t block_stride = 0;
  int32_t block_size = 0;
  // Block tables: sequence s maps positions 0 .. n_blocks[s] * block_size - 1 to the blocks
  // tables[s * table_stride + 0 .. n_blocks[s] - 1].
  int32_t n_seq = 0;
  int32_t table_stride = 0;
  const int32_t* tables = nullptr;    // [n_seq][table_stride]
  const int32_t* n_blocks = nullptr;  // [n_seq]

  bool holds(int32_t seq, int32_t pos) const {
    return seq >= 0 && seq < n_seq && pos >= 0 && pos / block_size < n_blocks[seq];
  }
  // f16 [kv_dim] row of position pos of sequence seq in layer l.
  uint16_t* k_row(int l, int32_t seq, int32_t pos, int32_t kv_dim) const { return k + offset(l, seq, pos, kv_dim); }
  uint16_t* v_row(int l, int32_t seq, int32_t pos, int32_t kv_dim) const { return v + offset(l, seq, pos, kv_dim); }
  // The sequence's blocks of layer l, for the attention kernels.
  kernels::KvBlocks layer(int l, int32_t seq) const {
    return {k + l * layer_stride, v + l * layer_stride, tables + static_cast<size_t>(seq) * table_stride, block_size,
            static_cast<int64_t>(block_stride)};
  }

 private:
  size_t offset(int l, int32_t seq, int32_t pos, int32_t kv_dim) const {
    const int32_t b = tables[static_cast<size_t>(seq) * table_stride + pos / block_size];
    return l * layer_stride + static_cast<size_t>(b) * block_stride + static_cast<size_t>(pos % block_size) * kv_dim;
  }
};

}  // namespace nuri::model
