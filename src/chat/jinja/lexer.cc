// chat/jinja/lexer.cc — Jinja2 lexing with HF's whitespace options.
#include "chat/jinja/lexer.h"

#include <cstdlib>

#include "chat/jinja/text.h"
#include "chat/jinja/value.h"

namespace nuri::chat::jinja {
namespace {

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

std::string rstrip_ws(std::string_view s) {
  size_t e = s.size();
  while (e > 0 && is_ws(s[e - 1])) --e;
  return std::string(s.substr(0, e));
}

class Lexer {
 public:
  Lexer(std::string src, const LexOptions& opt) : src_(std::move(src)), opt_(opt) {}

  std::vector<Token> run() {
    size_t pos = 0;
    bool line_starting = true;
    while (pos < src_.size()) {
      size_t at = find_tag(pos);
      if (at == std::string::npos) {
        emit_data(src_.substr(pos));
        break;
      }
      char kind = src_[at + 1];  // '{', '%' or '#'
      size_t after = at + 2;
      char sign = after < src_.size() && (src_[after] == '-' || src_[after] == '+') ? src_[after] : 0;
      std::string text = src_.substr(pos, at - pos);
      if (sign == '-') {
        text = rstrip_ws(text);
      } else if (sign != '+' && opt_.lstrip_blocks && kind != '{') {
        text = lstrip_line(text, line_starting);
      }
      emit_data(std::move(text));
      if (sign) ++after;
      if (kind == '#') {
        size_t end = src_.find("#}", after);
        if (end == std::string::npos) fail("Missing end of comment tag");
        count_lines(at, end);
        char esign = end > after && (src_[end - 1] == '-' || src_[end - 1] == '+') ? src_[end - 1] : 0;
        pos = finish_tag(end + 2, esign, true, &line_starting);
        continue;
      }
      if (kind == '%' && try_raw(after, &pos, &line_starting)) continue;
      count_lines(at, after);
      pos = lex_tag(after, kind == '{', &line_starting);
    }
    Token eof;
    eof.kind = Tok::kEof;
    eof.line = line_;
    out_.push_back(eof);
    return std::move(out_);
  }

 private:
  [[noreturn]] void fail(const std::string& msg) {
    raise("TemplateSyntaxError", msg + " (line " + std::to_string(line_) + ")");
  }
  void count_lines(size_t from, size_t to) {
    for (size_t k = from; k < to && k < src_.size(); ++k) line_ += src_[k] == '\n';
  }

  size_t find_tag(size_t pos) const {
    while (true) {
      size_t at = src_.find('{', pos);
      if (at == std::string::npos || at + 1 >= src_.size()) return std::string::npos;
      char c = src_[at + 1];
      if (c == '{' || c == '%' || c == '#') return at;
      pos = at + 1;
    }
  }

  std::string lstrip_line(const std::string& text, bool line_starting) {
    size_t nl = text.rfind('\n');
    size_t l_pos = nl == std::string::npos ? 0 : nl + 1;
    if (l_pos == 0 && !line_starting) return text;
    for (size_t k = l_pos; k < text.size(); ++k)
      if (text[k] != ' ' && text[k] != '\t') return text;
    return text.substr(0, l_pos);
  }

  void emit_data(std::string text) {
    if (text.empty()) return;
    Token t;
    t.kind = Tok::kData;
    t.line = line_;
    count_lines(0, 0);
    for (char c : text) line_ += c == '\n';
    t.text = std::move(text);
    out_.push_back(std::move(t));
  }

  // After a block/comment end at `pos` (just past the delimiter): apply `-` or trim_blocks.
  size_t finish_tag(size_t pos, char sign, bool block_like, bool* line_starting) {
    size_t start = pos;
    if (sign == '-') {
      while (pos < src_.size() && is_ws(src_[pos])) ++pos;
    } else if (sign != '+' && block_like && opt_.trim_blocks && pos < src_.size() && src_[pos] == '\n') {
      ++pos;
    }
    count_lines(start, pos);
    *line_starting = pos > start && src_[pos - 1] == '\n';
    return pos;
  }

  bool try_raw(size_t after, size_t* pos_out, bool* line_starting) {
    size_t p = after;
    while (p < src_.size() && is_ws(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
    p += 3;
    while (p < src_.size() && is_ws(src_[p])) ++p;
    char osign = 0;
    if (p < src_.size() && (src_[p] == '-' || src_[p] == '+')) osign = src_[p++];
    if (src_.compare(p, 2, "%}") != 0) fail("expected end of raw tag");
    count_lines(after, p + 2);
    size_t body = finish_tag(p + 2, osign, true, line_starting);
    // Find {% endraw %}.
    size_t q = body;
    while (true) {
      size_t at = src_.find("{%", q);
      if (at == std::string::npos) fail("Missing end of raw directive");
      size_t r = at + 2;
      char sign = r < src_.size() && (src_[r] == '-' || src_[r] == '+') ? src_[r] : 0;
      if (sign) ++r;
      while (r < src_.size() && is_ws(src_[r])) ++r;
      if (src_.compare(r, 6, "endraw") != 0) { q = at + 2; continue; }
      r += 6;
      while (r < src_.size() && is_ws(src_[r])) ++r;
      char esign = 0;
      if (r < src_.size() && (src_[r] == '-' || src_[r] == '+')) esign = src_[r++];
      if (src_.compare(r, 2, "%}") != 0) { q = at + 2; continue; }
      std::string text = src_.substr(body, at - body);
      if (sign == '-') text = rstrip_ws(text);
      else if (sign != '+' && opt_.lstrip_blocks) text = lstrip_line(text, *line_starting);
      emit_data(std::move(text));
      count_lines(at, r + 2);
      *pos_out = finish_tag(r + 2, esign, true, line_starting);
      return true;
    }
  }

  size_t lex_tag(size_t pos, bool is_var, bool* line_starting) {
    Token begin;
    begin.kind = is_var ? Tok::kVarBegin : Tok::kBlockBegin;
    begin.line = line_;
    out_.push_back(begin);
    int depth = 0;
    while (true) {
      while (pos < src_.size() && is_ws(src_[pos])) {
        line_ += src_[pos] == '\n';
        ++pos;
      }
      if (pos >= src_.size()) fail(is_var ? "unexpected end of template, expected '}}'" : "unexpected end of template, expected '%}'");
      const char* end = is_var ? "}}" : "%}";
      if (depth == 0) {
        char sign = 0;
        size_t p = pos;
        if (src_[p] == '-' || src_[p] == '+') { sign = src_[p]; ++p; }
        if (src_.compare(p, 2, end) == 0 && (sign != '+' || !is_var)) {
          Token t;
          t.kind = is_var ? Tok::kVarEnd : Tok::kBlockEnd;
          t.line = line_;
          out_.push_back(t);
          return finish_tag(p + 2, sign, !is_var, line_starting);
        }
      }
      Token t;
      t.line = line_;
      char c = src_[pos];
      if (is_name_start(c)) {
        size_t e = pos;
        while (e < src_.size() && is_name_char(src_[e])) ++e;
        t.kind = Tok::kName;
        t.text = src_.substr(pos, e - pos);
        pos = e;
      } else if (is_digit(c)) {
        pos = lex_number(pos, &t);
      } else if (c == '\'' || c == '"') {
        pos = lex_string(pos, &t);
      } else {
        static const char* kOps2[] = {"**", "//", "==", "!=", "<=", ">="};
        t.kind = Tok::kOp;
        for (const char* op : kOps2) {
          if (src_.compare(pos, 2, op) == 0) { t.text = op; break; }
        }
        if (t.text.empty()) {
          if (std::string_view("+-*/%~()[]{}.,:|=<>;").find(c) == std::string_view::npos)
            fail(std::string("unexpected char '") + c + "'");
          t.text = std::string(1, c);
        }
        if (t.text == "(" || t.text == "[" || t.text == "{") ++depth;
        if ((t.text == ")" || t.text == "]" || t.text == "}") && depth > 0) --depth;
        pos += t.text.size();
      }
      out_.push_back(std::move(t));
    }
  }

  size_t lex_number(size_t pos, Token* t) {
    size_t e = pos;
    auto digits = [&](size_t p) {
      while (p < src_.size() && (is_digit(src_[p]) || (src_[p] == '_' && p + 1 < src_.size() && is_digit(src_[p + 1])))) ++p;
      return p;
    };
    e = digits(e);
    bool is_float = false;
    if (e + 1 < src_.size() && src_[e] == '.' && is_digit(src_[e + 1])) {
      is_float = true;
      e = digits(e + 1);
    }
    if (e < src_.size() && (src_[e] == 'e' || src_[e] == 'E')) {
      size_t p = e + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && is_digit(src_[p])) {
        is_float = true;
        e = digits(p);
      }
    }
    std::string num;
    for (size_t k = pos; k < e; ++k) if (src_[k] != '_') num += src_[k];
    if (is_float) {
      t->kind = Tok::kFloat;
      t->fval = std::strtod(num.c_str(), nullptr);
    } else {
      t->kind = Tok::kInt;
      t->ival = std::strtoll(num.c_str(), nullptr, 10);
    }
    t->text = num;
    return e;
  }

  size_t lex_string(size_t pos, Token* t) {
    char q = src_[pos];
    size_t p = pos + 1;
    std::string out;
    while (true) {
      if (p >= src_.size()) fail("unexpected end of string");
      char c = src_[p];
      if (c == q) break;
      if (c == '\n') ++line_;
      if (c != '\\') { out += c; ++p; continue; }
      if (p + 1 >= src_.size()) fail("unexpected end of string");
      char n = src_[p + 1];
      p += 2;
      switch (n) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'v': out += '\v'; break;
        case 'a': out += '\a'; break;
        case '0': out += '\0'; break;
        case '\\': out += '\\'; break;
        case '\'': out += '\''; break;
        case '"': out += '"'; break;
        case '\n': break;
        case 'x': case 'u': case 'U': {
          size_t len = n == 'x' ? 2 : n == 'u' ? 4 : 8;
          if (p + len > src_.size()) fail("truncated \\" + std::string(1, n) + " escape");
          std::string hex = src_.substr(p, len);
          char* endp = nullptr;
          unsigned long cp = std::strtoul(hex.c_str(), &endp, 16);
          if (endp != hex.c_str() + len) fail("invalid \\" + std::string(1, n) + " escape");
          text::append_utf8(out, static_cast<char32_t>(cp));
          p += len;
          break;
        }
        default: out += '\\'; out += n; break;
      }
    }
    t->kind = Tok::kString;
    t->text = std::move(out);
    return p + 1;
  }

  std::string src_;
  LexOptions opt_;
  std::vector<Token> out_;
  int line_ = 1;
};

std::string normalize_newlines(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t k = 0; k < s.size(); ++k) {
    if (s[k] == '\r') {
      out += '\n';
      if (k + 1 < s.size() && s[k + 1] == '\n') ++k;
    } else {
      out += s[k];
    }
  }
  return out;
}

}  // namespace

std::vector<Token> tokenize(std::string_view source, const LexOptions& opt) {
  std::string src = normalize_newlines(source);
  if (!opt.keep_trailing_newline && !src.empty() && src.back() == '\n') src.pop_back();
  return Lexer(std::move(src), opt).run();
}

}  // namespace nuri::chat::jinja
