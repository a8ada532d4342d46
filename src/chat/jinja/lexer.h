// chat/jinja/lexer.h — splits a template into data and tag tokens, applying whitespace control.
// Purpose: the Jinja2 lexer rules HF uses: `{{ }}`, `{% %}`, `{# #}`, `-`/`+` markers,
// trim_blocks, lstrip_blocks, raw blocks, newline normalisation, dropping one trailing newline.
// Non-goals: line statements, custom delimiters.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nuri::chat::jinja {

enum class Tok : uint8_t { kData, kVarBegin, kVarEnd, kBlockBegin, kBlockEnd, kName, kString, kInt, kFloat, kOp, kEof };

struct Token {
  Tok kind = Tok::kEof;
  std::string text;  // data, name, unescaped string, operator
  int64_t ival = 0;
  double fval = 0;
  int line = 1;
};

struct LexOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
  bool keep_trailing_newline = false;
};

// Throws JinjaError (TemplateSyntaxError) on unterminated tags, comments and strings.
std::vector<Token> tokenize(std::string_view source, const LexOptions& opt);

}  // namespace nuri::chat::jinja
