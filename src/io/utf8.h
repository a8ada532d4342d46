// io/utf8.h — UTF-8 validation for names and keys read from files.
#pragma once

#include <string_view>

namespace nuri::io {

// Strict: rejects overlong forms, surrogates, code points above U+10FFFF, truncated sequences.
bool is_valid_utf8(std::string_view s);

}  // namespace nuri::io
