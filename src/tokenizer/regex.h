// tokenizer/regex.h — a compiled PCRE2 pattern (UTF + UCP, JIT when available) that finds all
// non-overlapping matches in a byte range. Invalid UTF-8 in the subject never errors: such bytes
// simply never match (PCRE2_MATCH_INVALID_UTF).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"

namespace nuri::tokenizer {

class Regex {
 public:
  static Result<Regex> compile(const std::string& pattern);
  Regex() = default;

  // Appends [begin, end) byte offsets (relative to `s`) of every match, left to right.
  // Empty matches are skipped.
  void find_all(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Impl;
  std::shared_ptr<const Impl> impl_;  // immutable after compile; shared by copies
  std::string pattern_;
};

}  // namespace nuri::tokenizer
