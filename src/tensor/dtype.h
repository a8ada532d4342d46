// tensor/dtype.h — element types and block layouts of GGUF tensors.
// Purpose: one table of every dtype nuri knows: GGUF type id, name, block size (elements per block)
// and bytes per block, matching the GGUF spec (ggml type ids). Non-goals: the math (kernels/).
// Layout convention for every tensor in nuri: shapes are written outermost first, row-major,
// innermost (contiguous) dimension last: a weight of shape [n_out, n_in] stores n_out rows of n_in.
// GGUF itself lists dims innermost first (ne[0] = n_in); the reader converts at load.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace nuri {

// Values are the GGUF/ggml type ids, so they can be read straight from a file.
enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kBF16 = 30,
};

struct DTypeInfo {
  DType type;
  std::string_view name;   // as GGUF tools print it: "F32", "Q4_K", ...
  uint32_t block_size;     // elements per block (1 for plain types)
  uint32_t type_size;      // bytes per block
  bool quantized;
};

// nullopt for an id nuri does not know (the reader reports it as an error).
std::optional<DTypeInfo> dtype_info(uint32_t id);
const DTypeInfo& dtype_info(DType t);  // t must be a known dtype
std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);  // case-insensitive

// Bytes of one row of n elements; nullopt if n is not a multiple of the block size.
std::optional<size_t> row_size(DType t, uint64_t n);

// All known dtypes, for iteration in tests and tools.
const DTypeInfo* dtype_table(size_t* count);

}  // namespace nuri
