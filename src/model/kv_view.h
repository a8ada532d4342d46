// model/kv_view.h — what the forward pass sees of a KV cache: f16 (or q8_0/q4_0) K/V pools split into fixed-size
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
  // Pools: row (layer l, block b, row r) of K starts at byte k + l * k_layer_stride
  // + b * block_size * k_row_bytes + r * k_row_bytes (V likewise with its own type and sizes); a
  // block holds block_size positions of every layer. f16 rows are kv_dim uint16; q8_0 / q4_0 rows
  // are kv_dim / 32 ggml blocks (kernels::KvType).
  uint8_t* k = nullptr;
  uint8_t* v = nullptr;
  kernels::KvType k_type = kernels::KvType::kF16, v_type = kernels::KvType::kF16;
  size_t k_row_bytes = 0, v_row_bytes = 0;
  size_t k_layer_stride = 0, v_layer_stride = 0;  // bytes
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
  // The row (k_row_bytes) of position pos of sequence seq in layer l.
  uint8_t* k_row(int l, int32_t seq, int32_t pos) const { return k + offset(l, seq, pos, k_layer_stride, k_row_bytes); }
  uint8_t* v_row(int l, int32_t seq, int32_t pos) const { return v + offset(l, seq, pos, v_layer_stride, v_row_bytes); }
  // The sequence's blocks of layer l, for the attention kernels.
  kernels::KvBlocks layer(int l, int32_t seq) const {
    kernels::KvBlocks b;
    b.k = reinterpret_cast<const uint16_t*>(k + l * k_layer_stride);
    b.v = reinterpret_cast<const uint16_t*>(v + l * v_layer_stride);
    b.blocks = tables + static_cast<size_t>(seq) * table_stride;
    b.block_size = block_size;
    b.block_stride = static_cast<int64_t>(block_size) * static_cast<int64_t>(k_row_bytes / sizeof(uint16_t));  // f16
    b.k_type = k_type;
    b.v_type = v_type;
    b.k_row_bytes = static_cast<int64_t>(k_row_bytes);
    b.v_row_bytes = static_cast<int64_t>(v_row_bytes);
    b.k_block_bytes = static_cast<int64_t>(block_size) * b.k_row_bytes;
    b.v_block_bytes = static_cast<int64_t>(block_size) * b.v_row_bytes;
    return b;
  }

 private:
  size_t offset(int l, int32_t seq, int32_t pos, size_t layer_stride, size_t row_bytes) const {
    const int32_t b = tables[static_cast<size_t>(seq) * table_stride + pos / block_size];
    return l * layer_stride + (static_cast<size_t>(b) * block_size + static_cast<size_t>(pos % block_size)) * row_bytes;
  }
};

}  // namespace nuri::model
