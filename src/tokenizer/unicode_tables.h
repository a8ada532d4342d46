// tokenizer/unicode_tables.h — data tables generated from the Unicode Character Database by
// gen_unicode_tables.py (normalization, lowercase, a few general categories). Internal.
#pragma once

#include <cstddef>
#include <cstdint>

namespace nuri::tokenizer::unicode_tables {

struct DecompEntry {
  uint32_t cp;
  uint32_t offset;  // into the pool
  uint32_t len;
};
struct CccEntry {
  uint32_t cp;
  uint8_t ccc;
};
struct CompEntry {
  uint32_t first, second, composite;
};
struct Range {
  uint32_t lo, hi;  // inclusive
};

extern const uint32_t kDecompPool[];
extern const DecompEntry kDecomp[];  // sorted by cp; full canonical decomposition
extern const size_t kDecompCount;
extern const CccEntry kCcc[];  // sorted by cp; only non-zero classes
extern const size_t kCccCount;
extern const CompEntry kComp[];  // sorted by (first, second); primary composites only
extern const size_t kCompCount;
extern const uint32_t kLowerPool[];
extern const DecompEntry kLower[];  // sorted by cp; per-code-point full lowercase mapping
extern const size_t kLowerCount;
extern const Range kPunct[];  // general category P*
extern const size_t kPunctCount;
extern const Range kMarkNonspacing[];  // Mn
extern const size_t kMarkNonspacingCount;
extern const Range kOther[];  // C* (Cc, Cf, Cs, Co, Cn)
extern const size_t kOtherCount;

}  // namespace nuri::tokenizer::unicode_tables
