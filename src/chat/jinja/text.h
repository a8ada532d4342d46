// chat/jinja/text.h — UTF-8 helpers with Python str semantics (code points, whitespace, case).
// Purpose: let the engine index, slice, strip and split UTF-8 strings the way Python does on str.
// Non-goals: full Unicode case mapping and normalization (ASCII, Latin-1, Greek and Cyrillic
// letters are case-mapped; other scripts are left as they are).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nuri::chat::jinja::text {

std::u32string decode(std::string_view s);  // invalid bytes map to U+FFFD
std::string encode(const std::u32string& s);
void append_utf8(std::string& out, char32_t c);
size_t count_code_points(std::string_view s);

bool is_space(char32_t c);      // Python str.isspace for one character
bool is_printable(char32_t c);  // approximation of Python str.isprintable
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
bool is_alpha(char32_t c);
bool is_digit(char32_t c);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);
std::string capitalize(std::string_view s);

// Python strip/lstrip/rstrip: chars == nullptr means whitespace.
std::string strip(std::string_view s, const std::string* chars, bool left, bool right);
// Python str.split(sep=None, maxsplit=-1) and rsplit.
std::vector<std::string> split(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> rsplit(std::string_view s, const std::string* sep, int64_t maxsplit);
std::vector<std::string> splitlines(std::string_view s, bool keepends);
std::string replace(std::string_view s, std::string_view old, std::string_view with, int64_t count);

}  // namespace nuri::chat::jinja::text
