// tokenizer/unicode.cc — see unicode.h.
#include "tokenizer/unicode.h"

#include <algorithm>
#include <array>

#include "tokenizer/unicode_tables.h"

namespace nuri::tokenizer::unicode {

namespace t = unicode_tables;

uint32_t decode_utf8(std::string_view s, size_t& i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  unsigned char c = p[i];
  if (c < 0x80) {
    ++i;
    return c;
  }
  int len = utf8_len(c);
  if (len == 1 || i + len > n) {
    ++i;
    return kInvalidCp | c;
  }
  uint32_t cp = c & (0xFF >> (len + 1));
  for (int k = 1; k < len; ++k) {
    unsigned char cc = p[i + k];
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return kInvalidCp | c;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Reject overlong forms, surrogates, out-of-range.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    ++i;
    return kInvalidCp | c;
  }
  i += len;
  return cp;
}

int utf8_complete_len(std::string_view s, size_t i) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  unsigned char c = p[i];
  if (c < 0x80) return 1;
  int len = utf8_len(c);
  if (len == 1) return -1;
  for (int k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    if ((p[i + k] & 0xC0) != 0x80) return -1;
  }
  size_t j = i;
  uint32_t cp = decode_utf8(s, j);
  return (cp & kInvalidCp) ? -1 : len;
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp & kInvalidCp) {
    out.push_back(static_cast<char>(cp & 0xFF));
  } else if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::vector<uint32_t> to_cps(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) out.push_back(decode_utf8(s, i));
  return out;
}

std::string from_cps(const std::vector<uint32_t>& cps) {
  std::string out;
  out.reserve(cps.size());
  for (uint32_t cp : cps) append_utf8(out, cp);
  return out;
}

namespace {

template <typename E>
const E* find_cp(const E* table, size_t n, uint32_t cp) {
  const E* end = table + n;
  const E* it = std::lower_bound(table, end, cp, [](const E& e, uint32_t x) { return e.cp < x; });
  return (it != end && it->cp == cp) ? it : nullptr;
}

bool in_ranges(const t::Range* r, size_t n, uint32_t cp) {
  const t::Range* end = r + n;
  const t::Range* it =
      std::upper_bound(r, end, cp, [](uint32_t x, const t::Range& e) { return x < e.lo; });
  if (it == r) return false;
  --it;
  return cp >= it->lo && cp <= it->hi;
}

constexpr uint32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr uint32_t kLCount = 19, kVCount = 21, kTCount = 28, kNCount = kVCount * kTCount,
                   kSCount = kLCount * kNCount;

void decompose_into(uint32_t cp, std::vector<uint32_t>& out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    uint32_t s = cp - kSBase;
    out.push_back(kLBase + s / kNCount);
    out.push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount) out.push_back(kTBase + s % kTCount);
    return;
  }
  if (cp & kInvalidCp) {
    out.push_back(cp);
    return;
  }
  if (const auto* e = find_cp(t::kDecomp, t::kDecompCount, cp)) {
    for (uint32_t k = 0; k < e->len; ++k) out.push_back(t::kDecompPool[e->offset + k]);
    return;
  }
  out.push_back(cp);
}

// Canonical ordering: stable sort runs of non-starters by combining class.
void canonical_order(std::vector<uint32_t>& v) {
  size_t i = 0;
  while (i < v.size()) {
    if (combining_class(v[i]) == 0) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < v.size() && combining_class(v[j]) != 0) ++j;
    std::stable_sort(v.begin() + i, v.begin() + j,
                     [](uint32_t a, uint32_t b) { return combining_class(a) < combining_class(b); });
    i = j;
  }
}

std::vector<uint32_t> nfd_cps(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size() + 8);
  for (size_t i = 0; i < s.size();) decompose_into(decode_utf8(s, i), out);
  canonical_order(out);
  return out;
}

uint32_t compose_pair(uint32_t a, uint32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount)
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount)
    return a + (b - kTBase);
  const t::CompEntry* end = t::kComp + t::kCompCount;
  const t::CompEntry* it = std::lower_bound(
      t::kComp, end, std::make_pair(a, b), [](const t::CompEntry& e, std::pair<uint32_t, uint32_t> x) {
        return e.first < x.first || (e.first == x.first && e.second < x.second);
      });
  if (it != end && it->first == a && it->second == b) return it->composite;
  return 0;
}

}  // namespace

uint32_t combining_class(uint32_t cp) {
  if (cp < 0x300 || (cp & kInvalidCp)) return 0;
  const auto* e = find_cp(t::kCcc, t::kCccCount, cp);
  return e ? e->ccc : 0;
}

bool is_nfc_quick(std::string_view s) {
  for (unsigned char c : s)
    if (c >= 0x80) return false;
  return true;
}

std::string nfd(std::string_view s) {
  if (is_nfc_quick(s)) return std::string(s);
  return from_cps(nfd_cps(s));
}

std::string nfc(std::string_view s) {
  if (is_nfc_quick(s)) return std::string(s);
  std::vector<uint32_t> v = nfd_cps(s);
  // Canonical composition.
  size_t starter = SIZE_MAX;
  uint32_t last_cc = 0;
  std::vector<uint32_t> out;
  out.reserve(v.size());
  for (uint32_t cp : v) {
    uint32_t cc = combining_class(cp);
    if (starter != SIZE_MAX && (last_cc < cc || (last_cc == 0 && out.size() == starter + 1))) {
      if (uint32_t c = compose_pair(out[starter], cp)) {
        out[starter] = c;
        continue;
      }
    }
    if (cc == 0) {
      starter = out.size();
      last_cc = 0;
    } else {
      last_cc = cc;
    }
    out.push_back(cp);
  }
  return from_cps(out);
}

void append_lower(std::vector<uint32_t>& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back((cp >= 'A' && cp <= 'Z') ? cp + 32 : cp);
    return;
  }
  if (!(cp & kInvalidCp)) {
    if (const auto* e = find_cp(t::kLower, t::kLowerCount, cp)) {
      for (uint32_t k = 0; k < e->len; ++k) out.push_back(t::kLowerPool[e->offset + k]);
      return;
    }
  }
  out.push_back(cp);
}

bool is_punct(uint32_t cp) { return !(cp & kInvalidCp) && in_ranges(t::kPunct, t::kPunctCount, cp); }
bool is_mark_nonspacing(uint32_t cp) {
  return !(cp & kInvalidCp) && in_ranges(t::kMarkNonspacing, t::kMarkNonspacingCount, cp);
}
bool is_other(uint32_t cp) { return !(cp & kInvalidCp) && in_ranges(t::kOther, t::kOtherCount, cp); }

bool is_whitespace(uint32_t cp) {
  switch (cp) {
    case 0x09: case 0x0A: case 0x0B: case 0x0C: case 0x0D: case 0x20: case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return cp >= 0x2000 && cp <= 0x200A;
  }
}

bool is_chinese_char(uint32_t cp) {
  return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
         (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
         (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B920 && cp <= 0x2CEAF) ||
         (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

namespace {
struct ByteMap {
  std::array<uint32_t, 256> to_cp{};
  std::array<std::string, 256> to_utf8;
  ByteMap() {
    std::array<bool, 256> direct{};
    for (int b = 0x21; b <= 0x7E; ++b) direct[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) direct[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) direct[b] = true;
    uint32_t n = 0;
    for (int b = 0; b < 256; ++b) {
      to_cp[b] = direct[b] ? static_cast<uint32_t>(b) : 256 + n++;
      append_utf8(to_utf8[b], to_cp[b]);
    }
  }
};
const ByteMap& byte_map() {
  static const ByteMap m;
  return m;
}
}  // namespace

uint32_t byte_to_cp(uint8_t b) { return byte_map().to_cp[b]; }
const std::string& byte_to_utf8(uint8_t b) { return byte_map().to_utf8[b]; }
int cp_to_byte(uint32_t cp) {
  if (cp >= 0x21 && cp <= 0x7E) return static_cast<int>(cp);
  if ((cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF)) return static_cast<int>(cp);
  if (cp >= 256 && cp < 256 + 68) {
    static const auto inv = [] {
      std::array<int, 68> a{};
      for (int b = 0; b < 256; ++b)
        if (byte_map().to_cp[b] >= 256) a[byte_map().to_cp[b] - 256] = b;
      return a;
    }();
    return inv[cp - 256];
  }
  return -1;
}

}  // namespace nuri::tokenizer::unicode
