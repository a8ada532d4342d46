#include "tensor/dtype.h"

#include <cctype>
#include <cstdlib>

namespace nuri {
namespace {

// Block sizes and bytes per block from the GGUF spec (ggml.c type traits).
constexpr uint32_t kQK_K = 256;
const DTypeInfo kTable[] = {
    {DType::kF32, "F32", 1, 4, false},
    {DType::kF16, "F16", 1, 2, false},
    {DType::kQ4_0, "Q4_0", 32, 2 + 16, true},
    {DType::kQ4_1, "Q4_1", 32, 2 + 2 + 16, true},
    {DType::kQ5_0, "Q5_0", 32, 2 + 4 + 16, true},
    {DType::kQ5_1, "Q5_1", 32, 2 + 2 + 4 + 16, true},
    {DType::kQ8_0, "Q8_0", 32, 2 + 32, true},
    {DType::kQ8_1, "Q8_1", 32, 2 + 2 + 32, true},
    {DType::kQ2_K, "Q2_K", kQK_K, kQK_K / 16 + kQK_K / 4 + 2 + 2, true},
    {DType::kQ3_K, "Q3_K", kQK_K, kQK_K / 8 + kQK_K / 4 + 12 + 2, true},
    {DType::kQ4_K, "Q4_K", kQK_K, 2 + 2 + 12 + kQK_K / 2, true},
    {DType::kQ5_K, "Q5_K", kQK_K, 2 + 2 + 12 + kQK_K / 8 + kQK_K / 2, true},
    {DType::kQ6_K, "Q6_K", kQK_K, kQK_K / 2 + kQK_K / 4 + kQK_K / 16 + 2, true},
    {DType::kQ8_K, "Q8_K", kQK_K, 4 + kQK_K + kQK_K / 16 * 2, true},
    {DType::kI8, "I8", 1, 1, false},
    {DType::kI16, "I16", 1, 2, false},
    {DType::kI32, "I32", 1, 4, false},
    {DType::kI64, "I64", 1, 8, false},
    {DType::kF64, "F64", 1, 8, false},
    {DType::kBF16, "BF16", 1, 2, false},
};
constexpr size_t kCount = sizeof(kTable) / sizeof(kTable[0]);

}  // namespace

std::optional<DTypeInfo> dtype_info(uint32_t id) {
  for (const auto& t : kTable)
    if (static_cast<uint32_t>(t.type) == id) return t;
  return std::nullopt;
}

const DTypeInfo& dtype_info(DType t) {
  for (const auto& e : kTable)
    if (e.type == t) return e;
  std::abort();
}

std::string_view dtype_name(DType t) { return dtype_info(t).name; }

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& e : kTable) {
    if (e.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size(); ++i)
      if (std::toupper(static_cast<unsigned char>(name[i])) != e.name[i]) eq = false;
    if (eq) return e.type;
  }
  return std::nullopt;
}

std::optional<size_t> row_size(DType t, uint64_t n) {
  const auto& info = dtype_info(t);
  if (n % info.block_size != 0) return std::nullopt;
  return static_cast<size_t>(n / info.block_size) * info.type_size;
}

const DTypeInfo* dtype_table(size_t* count) {
  *count = kCount;
  return kTable;
}

}  // namespace nuri
