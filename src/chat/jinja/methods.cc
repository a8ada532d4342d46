// chat/jinja/methods.cc — the Python str/dict/list methods templates call, str.format,
// printf-style `%`, and strftime.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "chat/jinja/interpreter.h"
#include "chat/jinja/text.h"

namespace nuri::chat::jinja {

namespace {

int64_t iv(const Value& v) {
  if (v.type == Type::kBool) return v.b;
  if (v.type != Type::kInt) raise("TypeError", "'" + type_name(v) + "' object cannot be interpreted as an integer");
  return v.i;
}

const std::string* opt_str(const Value& v, std::string& tmp) {
  if (v.is_undefined() || v.is_none()) return nullptr;
  if (!v.is_string()) raise("TypeError", "expected str, got " + type_name(v));
  tmp = v.s;
  return &tmp;
}

Value str_list(const std::vector<std::string>& parts) {
  std::vector<Value> out;
  out.reserve(parts.size());
  for (const auto& p : parts) out.push_back(Value::str(p));
  return Value::new_list(std::move(out));
}

// Applies a Python format spec ([[fill]align][sign][#][0][width][,][.precision][type]) to a value.
std::string apply_spec(const Value& v, const std::string& spec) {
  if (spec.empty()) return to_str(v);
  std::u32string s = text::decode(spec);
  size_t p = 0;
  char32_t fill = ' ';
  char align = 0;
  auto is_align = [](char32_t c) { return c == '<' || c == '>' || c == '^' || c == '='; };
  if (s.size() >= 2 && is_align(s[1])) { fill = s[0]; align = static_cast<char>(s[1]); p = 2; }
  else if (!s.empty() && is_align(s[0])) { align = static_cast<char>(s[0]); p = 1; }
  char sign = 0;
  if (p < s.size() && (s[p] == '+' || s[p] == '-' || s[p] == ' ')) sign = static_cast<char>(s[p++]);
  if (p < s.size() && s[p] == '#') ++p;
  if (p < s.size() && s[p] == '0') { if (!align) { fill = '0'; align = '='; } ++p; }
  int64_t width = 0;
  constexpr int64_t kMaxWidth = 1 << 20;  // longer paddings are an error, not gigabytes of output
  while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
    width = width * 10 + (s[p++] - '0');
    if (width > kMaxWidth) raise("ValueError", "format width too large in '" + spec + "'");
  }
  bool comma = false;
  if (p < s.size() && (s[p] == ',' || s[p] == '_')) { comma = true; ++p; }
  int precision = -1;
  if (p < s.size() && s[p] == '.') {
    ++p;
    precision = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      precision = precision * 10 + (s[p++] - '0');
      if (precision > kMaxWidth) raise("ValueError", "format precision too large in '" + spec + "'");
    }
  }
  char type = p < s.size() ? static_cast<char>(s[p++]) : 0;
  if (p != s.size()) raise("ValueError", "Invalid format specifier '" + spec + "'");
  std::string body;
  bool numeric = v.is_number();
  if (type == 's' || (type == 0 && !numeric)) {
    if (numeric && type == 's') raise("ValueError", "Unknown format code 's' for object of type '" + type_name(v) + "'");
    body = to_str(v);
    if (precision >= 0) body = text::encode(text::decode(body).substr(0, precision));
  } else {
    if (!numeric) raise("ValueError", std::string("Unknown format code '") + type + "' for object of type '" + type_name(v) + "'");
    double d = v.type == Type::kFloat ? v.f : double(v.type == Type::kBool ? v.b : v.i);
    bool neg = std::signbit(d) && !(v.type != Type::kFloat && d == 0);
    char buf[512];
    if (type == 'd' || (type == 0 && v.type != Type::kFloat)) {
      if (v.type == Type::kFloat) raise("ValueError", "Unknown format code 'd' for object of type 'float'");
      int64_t x = v.type == Type::kBool ? v.b : v.i;
      neg = x < 0;
      body = std::to_string(neg ? -x : x);
    } else if (type == 'x' || type == 'X' || type == 'o' || type == 'b') {
      int64_t x = v.type == Type::kBool ? v.b : v.i;
      neg = x < 0;
      uint64_t ux = neg ? uint64_t(-x) : uint64_t(x);
      if (type == 'b') { do { body.insert(body.begin(), char('0' + (ux & 1))); ux >>= 1; } while (ux); }
      else { std::snprintf(buf, sizeof(buf), type == 'x' ? "%llx" : type == 'X' ? "%llX" : "%llo", (unsigned long long)ux); body = buf; }
    } else if (type == 0 && precision < 0) {
      body = format_float(std::fabs(d));
    } else {
      char t = type == 0 ? 'g' : type;
      if (t == '%') { d *= 100; t = 'f'; }
      std::string f = std::string("%.") + std::to_string(precision < 0 ? 6 : precision) + t;
      std::snprintf(buf, sizeof(buf), f.c_str(), std::fabs(d));
      body = buf;
      if (type == '%') body += '%';
    }
    if (comma) {
      size_t dot = body.find('.');
      size_t int_end = dot == std::string::npos ? body.size() : dot;
      std::string ip = body.substr(0, int_end), grouped;
      for (size_t k = 0; k < ip.size(); ++k) {
        if (k && (ip.size() - k) % 3 == 0) grouped += ',';
        grouped += ip[k];
      }
      body = grouped + body.substr(int_end);
    }
    std::string sg = neg ? "-" : sign == '+' ? "+" : sign == ' ' ? " " : "";
    if (align == '=') {
      int64_t pad = width - int64_t(text::count_code_points(body)) - int64_t(sg.size());
      std::string fills;
      for (int64_t k = 0; k < pad; ++k) text::append_utf8(fills, fill);
      return sg + fills + body;
    }
    body = sg + body;
    if (!align) align = '>';
  }
  if (!align) align = '<';
  int64_t pad = width - int64_t(text::count_code_points(body));
  if (pad <= 0) return body;
  std::string l, r;
  int64_t lp = align == '<' ? 0 : align == '>' ? pad : pad / 2;
  for (int64_t k = 0; k < lp; ++k) text::append_utf8(l, fill);
  for (int64_t k = 0; k < pad - lp; ++k) text::append_utf8(r, fill);
  return l + body + r;
}

}  // namespace

std::string format_method(const std::string& fmt, const Args& args, Interp& interp) {
  std::string out;
  size_t auto_idx = 0;
  bool manual = false, automatic = false;
  for (size_t k = 0; k < fmt.size(); ++k) {
    char c = fmt[k];
    if (c == '}') {
      if (k + 1 < fmt.size() && fmt[k + 1] == '}') { out += '}'; ++k; continue; }
      raise("ValueError", "Single '}' encountered in format string");
    }
    if (c != '{') { out += c; continue; }
    if (k + 1 < fmt.size() && fmt[k + 1] == '{') { out += '{'; ++k; continue; }
    size_t depth = 1, e = k + 1;
    while (e < fmt.size() && depth) {
      if (fmt[e] == '{') ++depth;
      else if (fmt[e] == '}') --depth;
      if (depth) ++e;
    }
    if (e >= fmt.size()) raise("ValueError", "Single '{' encountered in format string");
    std::string field = fmt.substr(k + 1, e - k - 1);
    k = e;
    std::string spec, conv;
    size_t colon = field.find(':');
    if (colon != std::string::npos) { spec = field.substr(colon + 1); field = field.substr(0, colon); }
    size_t bang = field.find('!');
    if (bang != std::string::npos) { conv = field.substr(bang + 1); field = field.substr(0, bang); }
    size_t name_end = field.find_first_of(".[");
    std::string name = field.substr(0, name_end);
    Value v;
    if (name.empty()) {
      if (manual) raise("ValueError", "cannot switch from manual field specification to automatic field numbering");
      automatic = true;
      if (auto_idx >= args.pos.size()) raise("IndexError", "Replacement index " + std::to_string(auto_idx) + " out of range for positional args tuple");
      v = args.pos[auto_idx++];
    } else if (std::all_of(name.begin(), name.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
      if (automatic) raise("ValueError", "cannot switch from automatic field numbering to manual field specification");
      manual = true;
      size_t idx = std::stoul(name);
      if (idx >= args.pos.size()) raise("IndexError", "Replacement index " + name + " out of range for positional args tuple");
      v = args.pos[idx];
    } else {
      bool found = false;
      for (const auto& [kn, kv] : args.kw) if (kn == name) { v = kv; found = true; }
      if (!found) raise("KeyError", "'" + name + "'");
    }
    size_t p = name_end;
    while (p != std::string::npos && p < field.size()) {
      if (field[p] == '.') {
        size_t q = field.find_first_of(".[", p + 1);
        v = interp.getattr(v, field.substr(p + 1, q == std::string::npos ? std::string::npos : q - p - 1));
        p = q;
      } else {
        size_t q = field.find(']', p);
        if (q == std::string::npos) raise("ValueError", "Missing ']' in format string");
        std::string key = field.substr(p + 1, q - p - 1);
        bool digits = !key.empty() && std::all_of(key.begin(), key.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
        v = interp.getitem(v, digits ? Value::integer(std::stoll(key)) : Value::str(key));
        p = q + 1;
      }
    }
    if (conv == "r" || conv == "a") v = Value::str(to_repr(v));
    else if (conv == "s") v = Value::str(to_str(v));
    if (spec.find('{') != std::string::npos) spec = format_method(spec, args, interp);
    out += apply_spec(v, spec);
  }
  return out;
}

std::string percent_format(const std::string& fmt, const Value& args) {
  std::vector<Value> pos;
  const Value* mapping = nullptr;
  if (args.is_tuple()) pos = args.list->items;
  else if (args.is_mapping()) { mapping = &args; pos.push_back(args); }
  else pos.push_back(args);
  size_t next = 0;
  std::string out;
  for (size_t k = 0; k < fmt.size(); ++k) {
    if (fmt[k] != '%') { out += fmt[k]; continue; }
    if (++k >= fmt.size()) raise("ValueError", "incomplete format");
    Value v;
    bool have = false;
    if (fmt[k] == '(') {
      size_t e = fmt.find(')', k);
      if (e == std::string::npos || !mapping) raise("TypeError", "format requires a mapping");
      const Value* found = mapping->dict->find(fmt.substr(k + 1, e - k - 1));
      if (!found) raise("KeyError", "'" + fmt.substr(k + 1, e - k - 1) + "'");
      v = *found;
      have = true;
      k = e + 1;
    }
    std::string flags;
    while (k < fmt.size() && std::string("-+ #0").find(fmt[k]) != std::string::npos) flags += fmt[k++];
    std::string width, prec;
    while (k < fmt.size() && fmt[k] >= '0' && fmt[k] <= '9') width += fmt[k++];
    if (k < fmt.size() && fmt[k] == '.') {
      ++k;
      prec = "0";
      while (k < fmt.size() && fmt[k] >= '0' && fmt[k] <= '9') prec += fmt[k++];
    }
    if (k >= fmt.size()) raise("ValueError", "incomplete format");
    char conv = fmt[k];
    if (conv == '%') { out += '%'; continue; }
    if (!have) {
      if (next >= pos.size()) raise("TypeError", "not enough arguments for format string");
      v = pos[next++];
    }
    std::string spec;
    char align = flags.find('-') != std::string::npos ? '<' : 0;
    if (align) spec += '<';
    else if (flags.find('0') != std::string::npos && conv != 's' && conv != 'r') spec += '0';
    if (flags.find('+') != std::string::npos) spec = (align ? "<+" : "+") + spec.substr(align ? 1 : 0);
    spec += width;
    if (!prec.empty()) spec += "." + std::to_string(std::stoi(prec));
    switch (conv) {
      case 's': out += apply_spec(Value::str(to_str(v)), spec.empty() ? "" : (align ? "" : ">") + spec); break;
      case 'r': out += apply_spec(Value::str(to_repr(v)), spec.empty() ? "" : (align ? "" : ">") + spec); break;
      case 'd': case 'i': case 'u': {
        Value iv2 = v.type == Type::kFloat ? Value::integer(int64_t(v.f)) : v;
        if (!iv2.is_number()) raise("TypeError", "%d format: a real number is required, not " + type_name(v));
        out += apply_spec(iv2, spec + "d");
        break;
      }
      case 'f': case 'F': case 'e': case 'E': case 'g': case 'G': {
        if (!v.is_number()) raise("TypeError", "must be real number, not " + type_name(v));
        Value fv = Value::number(v.type == Type::kFloat ? v.f : double(v.type == Type::kBool ? v.b : v.i));
        out += apply_spec(fv, spec + (prec.empty() ? ".6" : "") + conv);
        break;
      }
      case 'x': case 'X': case 'o': out += apply_spec(v, spec + conv); break;
      default: raise("ValueError", std::string("unsupported format character '") + conv + "'");
    }
  }
  if (!mapping && next < pos.size()) raise("TypeError", "not all arguments converted during string formatting");
  return out;
}

std::string strftime_py(const std::string& fmt, const std::tm& tm) {
  if (fmt.empty()) return "";
  std::vector<char> buf(fmt.size() * 8 + 256);
  size_t n = std::strftime(buf.data(), buf.size(), fmt.c_str(), &tm);
  return std::string(buf.data(), n);
}

Value Interp::call_method(const Value& obj, const std::string& name, Args& a) {
  const std::string& n = name;
  if (obj.is_mapping()) {
    const auto& items = obj.dict->items;
    if (n == "get") {
      if (a.pos.empty()) raise("TypeError", "get expected at least 1 argument, got 0");
      const Value* v = obj.dict->find(a.pos[0]);
      return v ? *v : (a.pos.size() > 1 ? a.pos[1] : Value::none());
    }
    if (n == "items") {
      std::vector<Value> out;
      for (const auto& kv : items) out.push_back(Value::new_tuple({kv.first, kv.second}));
      return Value::new_list(std::move(out));
    }
    if (n == "keys" || n == "values") {
      std::vector<Value> out;
      for (const auto& kv : items) out.push_back(n == "keys" ? kv.first : kv.second);
      return Value::new_list(std::move(out));
    }
    if (n == "copy") {
      Value d = Value::new_dict();
      d.dict->items = items;
      return d;
    }
  }
  if (obj.is_list()) {
    const auto& items = obj.list->items;
    if (n == "index" || n == "count") {
      if (a.pos.empty()) raise("TypeError", n + "() takes at least 1 argument");
      int64_t cnt = 0;
      for (size_t k = 0; k < items.size(); ++k) {
        if (!equals(items[k], a.pos[0])) continue;
        if (n == "index") return Value::integer(int64_t(k));
        ++cnt;
      }
      if (n == "index") raise("ValueError", to_repr(a.pos[0]) + " is not in list");
      return Value::integer(cnt);
    }
    if (n == "copy") return Value::new_list(items);
  }
  if (!obj.is_string()) raise("AttributeError", "'" + type_name(obj) + "' object has no attribute '" + n + "'");
  const std::string& s = obj.s;
  std::string tmp;
  auto arg0 = [&]() -> const Value& {
    if (a.pos.empty()) raise("TypeError", n + "() takes at least 1 argument (0 given)");
    return a.pos[0];
  };
  if (n == "startswith" || n == "endswith") {
    const Value& p = arg0();
    std::vector<Value> cands = p.is_tuple() ? p.list->items : std::vector<Value>{p};
    for (const auto& c : cands) {
      if (!c.is_string()) raise("TypeError", n + " first arg must be str or a tuple of str, not " + type_name(c));
      bool hit = n == "startswith" ? s.compare(0, c.s.size(), c.s) == 0
                                   : s.size() >= c.s.size() && s.compare(s.size() - c.s.size(), c.s.size(), c.s) == 0;
      if (hit) return Value::boolean(true);
    }
    return Value::boolean(false);
  }
  if (n == "split" || n == "rsplit") {
    auto b = a.bind(n, {"sep", "maxsplit"});
    const std::string* sep = opt_str(b[0], tmp);
    if (sep && sep->empty()) raise("ValueError", "empty separator");
    int64_t maxsplit = b[1].is_undefined() ? -1 : iv(b[1]);
    return str_list(n == "split" ? text::split(s, sep, maxsplit) : text::rsplit(s, sep, maxsplit));
  }
  if (n == "strip" || n == "lstrip" || n == "rstrip") {
    const std::string* chars = a.pos.empty() ? nullptr : opt_str(a.pos[0], tmp);
    return Value::str(text::strip(s, chars, n != "rstrip", n != "lstrip"));
  }
  if (n == "upper") return Value::str(text::upper(s));
  if (n == "lower" || n == "casefold") return Value::str(text::lower(s));
  if (n == "title") return Value::str(text::title(s));
  if (n == "capitalize") return Value::str(text::capitalize(s));
  if (n == "swapcase") {
    std::u32string u = text::decode(s);
    for (auto& c : u) c = text::to_upper(c) != c ? text::to_upper(c) : text::to_lower(c);
    return Value::str(text::encode(u));
  }
  if (n == "replace") {
    if (a.pos.size() < 2) raise("TypeError", "replace expected at least 2 arguments");
    if (!a.pos[0].is_string() || !a.pos[1].is_string()) raise("TypeError", "replace() arguments must be str");
    return Value::str(text::replace(s, a.pos[0].s, a.pos[1].s, a.pos.size() > 2 ? iv(a.pos[2]) : -1));
  }
  if (n == "format") return Value::str(format_method(s, a, *this));
  if (n == "format_map") {
    Args fa;
    const Value& m = arg0();
    if (m.is_mapping()) for (const auto& kv : m.dict->items) fa.kw.emplace_back(to_str(kv.first), kv.second);
    return Value::str(format_method(s, fa, *this));
  }
  if (n == "join") {
    std::string out;
    bool first = true;
    for (const auto& item : iterate(arg0())) {
      if (!item.is_string()) raise("TypeError", "sequence item: expected str instance, " + type_name(item) + " found");
      if (!first) out += s;
      first = false;
      out += item.s;
    }
    return Value::str(out);
  }
  if (n == "find" || n == "rfind" || n == "index" || n == "rindex" || n == "count") {
    const Value& sub = arg0();
    if (!sub.is_string()) raise("TypeError", "must be str, not " + type_name(sub));
    if (n == "count") {
      if (sub.s.empty()) return Value::integer(int64_t(text::count_code_points(s)) + 1);
      int64_t cnt = 0;
      for (size_t p = s.find(sub.s); p != std::string::npos; p = s.find(sub.s, p + sub.s.size())) ++cnt;
      return Value::integer(cnt);
    }
    size_t p = (n == "find" || n == "index") ? s.find(sub.s) : s.rfind(sub.s);
    if (p == std::string::npos) {
      if (n == "index" || n == "rindex") raise("ValueError", "substring not found");
      return Value::integer(-1);
    }
    return Value::integer(int64_t(text::count_code_points(std::string_view(s).substr(0, p))));
  }
  auto all_chars = [&](auto pred) {
    std::u32string u = text::decode(s);
    return Value::boolean(!u.empty() && std::all_of(u.begin(), u.end(), pred));
  };
  if (n == "isdigit" || n == "isnumeric" || n == "isdecimal") return all_chars([](char32_t c) { return text::is_digit(c); });
  if (n == "isalpha") return all_chars([](char32_t c) { return text::is_alpha(c); });
  if (n == "isalnum") return all_chars([](char32_t c) { return text::is_alpha(c) || text::is_digit(c); });
  if (n == "isspace") return all_chars([](char32_t c) { return text::is_space(c); });
  if (n == "isupper" || n == "islower") {
    std::string up = text::upper(s), lo = text::lower(s);
    bool cased = up != lo;
    return Value::boolean(cased && (n == "isupper" ? up == s : lo == s));
  }
  if (n == "istitle") return Value::boolean(text::title(s) == s && text::upper(s) != text::lower(s));
  if (n == "splitlines") return str_list(text::splitlines(s, !a.pos.empty() && truthy(a.pos[0])));
  if (n == "zfill" || n == "center" || n == "ljust" || n == "rjust") {
    int64_t width = iv(arg0());
    std::string fill = a.pos.size() > 1 ? to_str(a.pos[1]) : " ";
    int64_t len = int64_t(text::count_code_points(s));
    if (width <= len) return obj;
    int64_t pad = width - len;
    if (n == "zfill") {
      size_t sign = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
      return Value::str(s.substr(0, sign) + std::string(pad, '0') + s.substr(sign));
    }
    int64_t left = n == "ljust" ? 0 : n == "rjust" ? pad : pad / 2 + (pad & width & 1);
    std::string l, r;
    for (int64_t k = 0; k < left; ++k) l += fill;
    for (int64_t k = 0; k < pad - left; ++k) r += fill;
    return Value::str(l + s + r);
  }
  if (n == "partition" || n == "rpartition") {
    const Value& sep = arg0();
    if (!sep.is_string() || sep.s.empty()) raise("ValueError", "empty separator");
    size_t p = n == "partition" ? s.find(sep.s) : s.rfind(sep.s);
    if (p == std::string::npos)
      return n == "partition" ? Value::new_tuple({obj, Value::str(""), Value::str("")})
                              : Value::new_tuple({Value::str(""), Value::str(""), obj});
    return Value::new_tuple({Value::str(s.substr(0, p)), sep, Value::str(s.substr(p + sep.s.size()))});
  }
  if (n == "removeprefix") {
    const Value& p = arg0();
    return Value::str(p.is_string() && s.compare(0, p.s.size(), p.s) == 0 ? s.substr(p.s.size()) : s);
  }
  if (n == "removesuffix") {
    const Value& p = arg0();
    bool hit = p.is_string() && !p.s.empty() && s.size() >= p.s.size() && s.compare(s.size() - p.s.size(), p.s.size(), p.s) == 0;
    return Value::str(hit ? s.substr(0, s.size() - p.s.size()) : s);
  }
  if (n == "expandtabs") {
    int64_t ts = a.pos.empty() ? 8 : iv(a.pos[0]);
    std::string out;
    int64_t col = 0;
    for (char32_t c : text::decode(s)) {
      if (c == '\t') { int64_t sp = ts > 0 ? ts - col % ts : 0; out += std::string(sp, ' '); col += sp; }
      else { text::append_utf8(out, c); col = (c == '\n' || c == '\r') ? 0 : col + 1; }
    }
    return Value::str(out);
  }
  raise("AttributeError", "'str' object has no attribute '" + n + "'");
}

}  // namespace nuri::chat::jinja
