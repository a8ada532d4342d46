// grammar/gbnf.cc — GBNF text -> Grammar: parser, flattening, and the checks (undefined rules,
// missing root, left recursion, unbounded repetition of something that can match nothing).
#include <algorithm>
#include <functional>
#include <map>
#include <unordered_map>

#include "grammar/grammar.h"

namespace nuri::grammar {

namespace {

constexpr uint32_t kMaxCp = 0x10FFFF;
constexpr int32_t kMaxRepeat = 100000;

struct TElem {
  Op op = Op::kChar;
  uint32_t rule = 0;
  int32_t min = 0, max = 0;
  std::vector<uint32_t> ranges;  // kChar: lo, hi pairs (not yet merged)
  bool negated = false;
  size_t src = 0;  // offset in the text (errors)
};
using Seq = std::vector<TElem>;

// Sorted, merged [lo, hi] pairs; complemented over [0, kMaxCp] when negated.
std::vector<uint32_t> normalize(std::vector<uint32_t> r, bool negated) {
  std::vector<std::pair<uint32_t, uint32_t>> v;
  for (size_t i = 0; i + 1 < r.size(); i += 2) v.emplace_back(std::min(r[i], r[i + 1]), std::max(r[i], r[i + 1]));
  std::sort(v.begin(), v.end());
  std::vector<std::pair<uint32_t, uint32_t>> m;
  for (auto& p : v) {
    if (!m.empty() && p.first <= m.back().second + 1) m.back().second = std::max(m.back().second, p.second);
    else m.push_back(p);
  }
  if (negated) {
    std::vector<std::pair<uint32_t, uint32_t>> c;
    uint32_t next = 0;
    for (auto& p : m) {
      if (p.first > next) c.emplace_back(next, p.first - 1);
      next = p.second + 1;
    }
    if (next <= kMaxCp) c.emplace_back(next, kMaxCp);
    m = std::move(c);
  }
  std::vector<uint32_t> out;
  for (auto& p : m) {
    out.push_back(p.first);
    out.push_back(p.second);
  }
  return out;
}

}  // namespace

class GrammarBuilder {
 public:
  explicit GrammarBuilder(std::string_view text) : s_(text) {}

  Result<std::shared_ptr<const Grammar>> build(std::string_view start) {
    skip_space(true);
    while (ok_ && i_ < s_.size()) {
      parse_rule();
      skip_space(true);
    }
    if (!ok_) return err_;
    if (defined_.empty()) return Error("grammar is empty (expected rules like: root ::= \"yes\" | \"no\")");
    for (size_t r = 0; r < names_.size(); ++r)
      if (!defined_.count(r)) return error_at(first_ref_[r], "undefined rule '" + names_[r] + "'");
    auto it = ids_.find(std::string(start));
    if (it == ids_.end() || !defined_.count(it->second))
      return Error("grammar has no rule named '" + std::string(start) + "' (the start rule)");
    return flatten(it->second);
  }

 private:
  // ---- lexing ----
  char peek(size_t k = 0) const { return i_ + k < s_.size() ? s_[i_ + k] : '\0'; }
  bool at_end() const { return i_ >= s_.size(); }
  static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }

  void skip_space(bool newline_ok) {
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (c == ' ' || c == '\t') ++i_;
      else if (c == '#') {
        while (i_ < s_.size() && s_[i_] != '\n') ++i_;
      } else if (newline_ok && (c == '\n' || c == '\r')) ++i_;
      else break;
    }
  }

  Status error_at(size_t pos, const std::string& msg) const {
    size_t line = 1, col = 1;
    for (size_t k = 0; k < pos && k < s_.size(); ++k) {
      if (s_[k] == '\n') {
        ++line;
        col = 1;
      } else if ((static_cast<unsigned char>(s_[k]) & 0xC0) != 0x80) {
        ++col;
      }
    }
    return Error("line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + msg);
  }
  void fail(size_t pos, const std::string& msg) {
    if (!ok_) return;
    ok_ = false;
    err_ = error_at(pos, msg);
  }

  std::string describe_here() const {
    if (at_end()) return "end of grammar";
    char c = peek();
    if (c == '\n' || c == '\r') return "end of line";
    return std::string("'") + c + "'";
  }

  uint32_t rule_id(const std::string& name, size_t ref_pos) {
    auto it = ids_.find(name);
    if (it != ids_.end()) return it->second;
    uint32_t id = static_cast<uint32_t>(names_.size());
    ids_[name] = id;
    names_.push_back(name);
    first_ref_.push_back(ref_pos);
    bodies_.emplace_back();
    return id;
  }
  uint32_t new_synthetic(const std::string& base, std::vector<Seq> alts, size_t pos) {
    std::string name;
    do name = base + "-" + std::to_string(++synth_); while (ids_.count(name));
    uint32_t id = rule_id(name, pos);
    bodies_[id] = std::move(alts);
    defined_[id] = pos;
    auto parent = ids_.find(base);
    if (parent != ids_.end()) synth_parent_[id] = display_id(parent->second);
    return id;
  }

  std::string parse_name() {
    size_t b = i_;
    while (i_ < s_.size() && is_name_char(s_[i_])) ++i_;
    return std::string(s_.substr(b, i_ - b));
  }

  // Next code point of the text (UTF-8), advancing.
  bool next_cp(uint32_t* cp) {
    unsigned char c = static_cast<unsigned char>(s_[i_]);
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : (c >> 3) == 30 ? 3 : -1;
    if (n < 0 || i_ + n >= s_.size() + (n == 0 ? 1 : 0)) {
      if (n != 0) {
        fail(i_, "invalid UTF-8 in grammar text");
        return false;
      }
    }
    uint32_t v = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k <= n; ++k) {
      if (i_ + k >= s_.size() || (static_cast<unsigned char>(s_[i_ + k]) & 0xC0) != 0x80) {
        fail(i_, "invalid UTF-8 in grammar text");
        return false;
      }
      v = (v << 6) | (static_cast<unsigned char>(s_[i_ + k]) & 0x3F);
    }
    i_ += n + 1;
    *cp = v;
    return true;
  }

  bool parse_hex(int digits, uint32_t* out) {
    uint32_t v = 0;
    for (int k = 0; k < digits; ++k) {
      char c = peek();
      int d = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
      if (d < 0) {
        fail(i_, "expected " + std::to_string(digits) + " hex digits in escape");
        return false;
      }
      v = v * 16 + d;
      ++i_;
    }
    if (v > kMaxCp) {
      fail(i_, "code point out of range in escape");
      return false;
    }
    *out = v;
    return true;
  }

  // One character of a literal or class (escapes resolved).
  bool parse_char(uint32_t* cp) {
    if (at_end()) {
      fail(i_, "unexpected end of grammar");
      return false;
    }
    if (peek() != '\\') return next_cp(cp);
    size_t esc = i_;
    ++i_;
    char c = peek();
    ++i_;
    switch (c) {
      case 'x': return parse_hex(2, cp);
      case 'u': return parse_hex(4, cp);
      case 'U': return parse_hex(8, cp);
      case 't': *cp = '\t'; return true;
      case 'n': *cp = '\n'; return true;
      case 'r': *cp = '\r'; return true;
      case 'f': *cp = '\f'; return true;
      case 'v': *cp = '\v'; return true;
      case '0': *cp = 0; return true;
      case '\\': case '"': case '[': case ']': case '-': case '^': case '/': case '\'': case '.':
        *cp = static_cast<unsigned char>(c);
        return true;
      default:
        fail(esc, std::string("unknown escape '\\") + (c ? std::string(1, c) : std::string()) + "'");
        return false;
    }
  }

  // ---- grammar ----
  void parse_rule() {
    size_t start = i_;
    std::string name = parse_name();
    if (name.empty()) {
      fail(i_, "expected a rule name, found " + describe_here());
      return;
    }
    skip_space(false);
    if (s_.substr(i_, 3) != "::=") {
      fail(i_, "expected '::=' after rule name '" + name + "', found " + describe_here());
      return;
    }
    i_ += 3;
    skip_space(true);
    uint32_t id = rule_id(name, start);
    if (defined_.count(id)) {
      fail(start, "rule '" + name + "' is defined twice");
      return;
    }
    defined_[id] = start;
    auto alts = parse_alternates(name, false);
    if (!ok_) return;
    bodies_[id] = std::move(alts);
    skip_space(false);
    if (!at_end() && peek() != '\n' && peek() != '\r')
      fail(i_, "expected end of line after rule '" + name + "', found " + describe_here());
  }

  std::vector<Seq> parse_alternates(const std::string& rule, bool nested) {
    std::vector<Seq> alts;
    alts.push_back(parse_sequence(rule, nested));
    while (ok_) {
      if (peek() != '|' && !nested) {
        // A continuation line starting with '|' keeps the alternation going.
        size_t save = i_;
        skip_space(true);
        if (peek() != '|') {
          i_ = save;
          break;
        }
      }
      if (peek() != '|') break;
      ++i_;
      skip_space(true);
      alts.push_back(parse_sequence(rule, nested));
    }
    return alts;
  }

  Seq parse_sequence(const std::string& rule, bool nested) {
    Seq seq;
    size_t last_start = 0;
    bool have_last = false;
    while (ok_ && !at_end()) {
      char c = peek();
      size_t pos = i_;
      if (c == '"') {
        ++i_;
        last_start = seq.size();
        have_last = true;
        while (ok_ && peek() != '"') {
          if (at_end()) return fail(pos, "unterminated string literal"), seq;
          if (peek() == '\n') return fail(pos, "unterminated string literal (newline before the closing quote)"), seq;
          uint32_t cp;
          if (!parse_char(&cp)) return seq;
          TElem e;
          e.ranges = {cp, cp};
          e.src = pos;
          seq.push_back(std::move(e));
        }
        ++i_;
      } else if (c == '[') {
        ++i_;
        TElem e;
        e.src = pos;
        if (peek() == '^') {
          e.negated = true;
          ++i_;
        }
        while (ok_ && peek() != ']') {
          if (at_end() || peek() == '\n') return fail(pos, "unterminated character class"), seq;
          uint32_t lo, hi;
          if (!parse_char(&lo)) return seq;
          hi = lo;
          if (peek() == '-' && peek(1) != ']') {
            ++i_;
            if (at_end() || peek() == '\n') return fail(pos, "unterminated character class"), seq;
            size_t rp = i_;
            if (!parse_char(&hi)) return seq;
            if (hi < lo) return fail(rp, "character range is reversed"), seq;
          }
          e.ranges.push_back(lo);
          e.ranges.push_back(hi);
        }
        if (!ok_) return seq;
        ++i_;
        if (e.ranges.empty() && !e.negated) return fail(pos, "empty character class '[]'"), seq;
        last_start = seq.size();
        have_last = true;
        seq.push_back(std::move(e));
      } else if (c == '.') {
        ++i_;
        TElem e;
        e.src = pos;
        e.ranges = {0, kMaxCp};
        last_start = seq.size();
        have_last = true;
        seq.push_back(std::move(e));
      } else if (c == '(') {
        ++i_;
        skip_space(true);
        auto alts = parse_alternates(rule, true);
        if (!ok_) return seq;
        skip_space(true);
        if (peek() != ')') return fail(i_, "expected ')' to close the group opened at " + where(pos) + ", found " + describe_here()), seq;
        ++i_;
        TElem e;
        e.op = Op::kRef;
        e.rule = new_synthetic(rule, std::move(alts), pos);
        e.src = pos;
        last_start = seq.size();
        have_last = true;
        seq.push_back(std::move(e));
      } else if (is_name_char(c)) {
        std::string name = parse_name();
        TElem e;
        e.op = Op::kRef;
        e.rule = rule_id(name, pos);
        e.src = pos;
        last_start = seq.size();
        have_last = true;
        seq.push_back(std::move(e));
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (!have_last) return fail(pos, std::string("'") + c + "' has nothing before it to repeat"), seq;
        int32_t mn = 0, mx = -1;
        ++i_;
        if (c == '+') mn = 1;
        else if (c == '?') mx = 1;
        else if (c == '{') {
          skip_space(false);
          bool have_min = parse_int(&mn);
          if (!ok_) return seq;
          skip_space(false);
          if (peek() == ',') {
            ++i_;
            skip_space(false);
            if (!have_min) mn = 0;
            if (!parse_int(&mx)) mx = -1;
            if (!ok_) return seq;
          } else {
            if (!have_min) return fail(i_, "expected a number in '{m,n}'"), seq;
            mx = mn;
          }
          skip_space(false);
          if (peek() != '}') return fail(i_, "expected '}' to close the repetition, found " + describe_here()), seq;
          ++i_;
          if (mx >= 0 && mx < mn) return fail(pos, "repetition {m,n} has n < m"), seq;
        }
        apply_repeat(rule, seq, last_start, mn, mx, pos);
        have_last = false;
      } else if (c == '<') {
        return fail(pos, "token references ('<...>') are not supported"), seq;
      } else {
        break;
      }
      skip_space(nested);
    }
    return seq;
  }

  std::string where(size_t pos) const {
    std::string m = error_at(pos, "").message();
    return m.substr(0, m.size() - 2);
  }

  bool parse_int(int32_t* out) {
    if (!(peek() >= '0' && peek() <= '9')) return false;
    int64_t v = 0;
    size_t pos = i_;
    while (peek() >= '0' && peek() <= '9') {
      v = v * 10 + (peek() - '0');
      if (v > kMaxRepeat) return fail(pos, "repetition count above " + std::to_string(kMaxRepeat)), false;
      ++i_;
    }
    *out = static_cast<int32_t>(v);
    return true;
  }

  void apply_repeat(const std::string& rule, Seq& seq, size_t last_start, int32_t mn, int32_t mx, size_t pos) {
    uint32_t target;
    if (seq.size() - last_start == 1 && seq[last_start].op == Op::kRef) {
      target = seq[last_start].rule;
    } else {
      Seq body(std::make_move_iterator(seq.begin() + last_start), std::make_move_iterator(seq.end()));
      std::vector<Seq> alts;
      alts.push_back(std::move(body));
      target = new_synthetic(rule, std::move(alts), pos);
    }
    seq.resize(last_start);
    TElem e;
    e.op = Op::kRep;
    e.rule = target;
    e.min = mn;
    e.max = mx;
    e.src = pos;
    seq.push_back(std::move(e));
  }

  // ---- checks and output ----
  Result<std::shared_ptr<const Grammar>> flatten(uint32_t root) {
    const size_t n = names_.size();
    // Nullable rules (fixed point).
    std::vector<uint8_t> nullable(n, 0);
    auto elem_nullable = [&](const TElem& e) {
      if (e.op == Op::kChar) return false;
      if (e.op == Op::kRep) return e.min == 0 || nullable[e.rule] != 0;
      return nullable[e.rule] != 0;
    };
    for (bool changed = true; changed;) {
      changed = false;
      for (size_t r = 0; r < n; ++r) {
        if (nullable[r]) continue;
        for (const Seq& alt : bodies_[r]) {
          if (std::all_of(alt.begin(), alt.end(), elem_nullable)) {
            nullable[r] = 1;
            changed = true;
            break;
          }
        }
      }
    }
    // Left-recursion graph: rule -> rules that may start it.
    std::vector<std::vector<std::pair<uint32_t, size_t>>> first(n);
    for (size_t r = 0; r < n; ++r)
      for (const Seq& alt : bodies_[r])
        for (const TElem& e : alt) {
          if (e.op == Op::kChar) break;
          first[r].push_back({e.rule, e.src});
          if (e.op == Op::kRep && e.max < 0 && nullable[e.rule])
            return error_at(e.src, "'*' or '+' repeats an expression that can match the empty string (in rule '" +
                                       display(r) + "')");
          if (!elem_nullable(e)) break;
        }
    std::vector<uint8_t> color(n, 0);  // 0 new, 1 on stack, 2 done
    std::vector<uint32_t> path;
    Status st;
    std::function<bool(uint32_t)> dfs = [&](uint32_t r) -> bool {
      color[r] = 1;
      path.push_back(r);
      for (auto [t, src] : first[r]) {
        if (color[t] == 1) {
          std::string cyc;
          bool on = false;
          for (uint32_t p : path) {
            if (p == t) on = true;
            if (on) cyc += display(p) + " -> ";
          }
          cyc += display(t);
          st = error_at(defined_[display_id(t)], "left recursion: rule '" + display(t) + "' can start with itself (" + cyc +
                                                      "); rewrite it with repetition, e.g. x ::= item (\"+\" item)*");
          return false;
        }
        if (color[t] == 0 && !dfs(t)) return false;
      }
      path.pop_back();
      color[r] = 2;
      return true;
    };
    for (size_t r = 0; r < n; ++r)
      if (color[r] == 0 && !dfs(static_cast<uint32_t>(r))) return st;

    auto g = std::make_shared<Grammar>();
    g->rules_.resize(n);
    for (size_t r = 0; r < n; ++r) {
      g->rules_[r].name = names_[r];
      for (const Seq& alt : bodies_[r]) {
        g->rules_[r].alts.push_back(static_cast<uint32_t>(g->elems_.size()));
        for (const TElem& t : alt) {
          Elem e;
          e.op = t.op;
          e.rule = t.rule;
          e.min = t.min;
          e.max = t.max;
          if (t.op == Op::kChar) {
            auto rr = normalize(t.ranges, t.negated);
            e.range_begin = static_cast<uint32_t>(g->ranges_.size() / 2);
            e.range_count = static_cast<uint32_t>(rr.size() / 2);
            for (size_t k = 0; k + 1 < rr.size(); k += 2)
              for (uint32_t c = rr[k]; c <= rr[k + 1] && c < 128; ++c) e.ascii[c >> 6] |= 1ull << (c & 63);
            g->ranges_.insert(g->ranges_.end(), rr.begin(), rr.end());
          }
          g->elems_.push_back(e);
        }
        g->elems_.push_back(Elem{});  // kEnd
      }
    }
    g->root_ = root;
    g->nullable_ = nullable;
    return std::shared_ptr<const Grammar>(std::move(g));
  }

  // Synthetic rules are named after the user's rule; show that one in messages.
  std::string display(size_t r) const { return names_[display_id(r)]; }
  size_t display_id(size_t r) const {
    auto it = synth_parent_.find(r);
    return it == synth_parent_.end() ? r : it->second;
  }

  std::string_view s_;
  size_t i_ = 0;
  bool ok_ = true;
  Status err_;
  std::unordered_map<std::string, uint32_t> ids_;
  std::vector<std::string> names_;
  std::vector<size_t> first_ref_;
  std::vector<std::vector<Seq>> bodies_;
  std::map<size_t, size_t> defined_;  // rule id -> offset of its definition
  std::map<size_t, size_t> synth_parent_;
  int synth_ = 0;
};

Result<std::shared_ptr<const Grammar>> Grammar::parse(std::string_view text, std::string_view start) {
  GrammarBuilder b(text);
  return b.build(start);
}

bool Grammar::char_matches(const Elem& e, uint32_t cp) const {
  if (cp < 128) return (e.ascii[cp >> 6] >> (cp & 63)) & 1;
  const uint32_t* r = ranges_.data() + 2 * e.range_begin;
  for (uint32_t k = 0; k < e.range_count; ++k)
    if (cp >= r[2 * k] && cp <= r[2 * k + 1]) return true;
  return false;
}

bool Grammar::char_intersects(const Elem& e, uint32_t lo, uint32_t hi) const {
  const uint32_t* r = ranges_.data() + 2 * e.range_begin;
  for (uint32_t k = 0; k < e.range_count; ++k)
    if (r[2 * k] <= hi && r[2 * k + 1] >= lo) return true;
  return false;
}

const std::string& json_any_gbnf() {
  static const std::string kText = R"(# any JSON value, compact (at most one space between tokens)
root   ::= value
value  ::= object | array | string | number | ("true" | "false" | "null")
object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
array  ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
string ::= "\"" char* "\""
char   ::= [^"\\\x7F\x00-\x1F] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} )
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?
ws     ::= " "?
)";
  return kText;
}

}  // namespace nuri::grammar
