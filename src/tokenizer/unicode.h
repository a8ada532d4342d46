// tokenizer/unicode.h — the Unicode pieces tokenizers need: UTF-8 decoding, NFC/NFD, lowercase,
// general-category predicates (BERT), and GPT-2's byte <-> printable-code-point map.
// Non-goals: full ICU. Invariant: functions never fail on invalid UTF-8; an invalid byte is
// decoded as a single code point U+FFFD-like marker (kInvalidCp) and re-encoded as the raw byte.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nuri::tokenizer::unicode {

// Marker for an undecodable byte; the byte itself is kInvalidCp | byte (never a real code point).
constexpr uint32_t kInvalidCp = 0x80000000u;

// Length of the UTF-8 sequence that starts with `c` (1 for continuation/invalid lead bytes).
inline int utf8_len(unsigned char c) {
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) return 2;
  if ((c & 0xF0) == 0xE0) return 3;
  if ((c & 0xF8) == 0xF0) return 4;
  return 1;
}

// Decodes one code point at s[i]; advances i. Invalid bytes -> kInvalidCp | byte, one byte.
uint32_t decode_utf8(std::string_view s, size_t& i);
void append_utf8(std::string& out, uint32_t cp);  // kInvalidCp|b appends the raw byte b
std::vector<uint32_t> to_cps(std::string_view s);
std::string from_cps(const std::vector<uint32_t>& cps);

// Is `s[i..]` the start of a complete, valid UTF-8 sequence? Returns its length, or 0 when the
// bytes are a valid but truncated prefix (more bytes needed), or -1 when invalid.
int utf8_complete_len(std::string_view s, size_t i);

std::string nfc(std::string_view s);
std::string nfd(std::string_view s);
bool is_nfc_quick(std::string_view s);  // true when s is ASCII-only (certainly NFC)

uint32_t combining_class(uint32_t cp);
void append_lower(std::vector<uint32_t>& out, uint32_t cp);  // full per-code-point lowercase
bool is_punct(uint32_t cp);              // general category P*
bool is_mark_nonspacing(uint32_t cp);    // Mn
bool is_other(uint32_t cp);              // C* (control, format, unassigned, private, surrogate)
bool is_whitespace(uint32_t cp);         // Unicode White_Space property
bool is_chinese_char(uint32_t cp);       // CJK ideograph blocks as BERT defines them

// GPT-2 byte-level alphabet: byte -> code point (printable), and its UTF-8 text.
uint32_t byte_to_cp(uint8_t b);
int cp_to_byte(uint32_t cp);  // -1 if cp is not in the alphabet
const std::string& byte_to_utf8(uint8_t b);

}  // namespace nuri::tokenizer::unicode
