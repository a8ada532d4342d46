// chat/jinja/value.cc — Python semantics for Jinja values: printing, comparing, JSON.
#include "chat/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "chat/jinja/text.h"

namespace nuri::chat::jinja {

void raise(std::string kind, std::string message) { throw JinjaError{std::move(kind), std::move(message)}; }

Value Value::undefined(std::string hint, bool security) {
  Value v;
  v.s = std::move(hint);
  v.i = security ? 1 : 0;
  return v;
}
Value Value::none() { Value v; v.type = Type::kNone; return v; }
Value Value::boolean(bool x) { Value v; v.type = Type::kBool; v.b = x; return v; }
Value Value::integer(int64_t x) { Value v; v.type = Type::kInt; v.i = x; return v; }
Value Value::number(double x) { Value v; v.type = Type::kFloat; v.f = x; return v; }
Value Value::str(std::string x) { Value v; v.type = Type::kString; v.s = std::move(x); return v; }
Value Value::markup(std::string x) { Value v = str(std::move(x)); v.b = true; return v; }
Value Value::new_list(std::vector<Value> items) {
  Value v;
  v.type = Type::kList;
  v.list = std::make_shared<ListData>();
  v.list->items = std::move(items);
  return v;
}
Value Value::new_tuple(std::vector<Value> items) {
  Value v = new_list(std::move(items));
  v.list->tuple = true;
  v.list->type_name = "tuple";
  return v;
}
Value Value::generator(std::vector<Value> items, std::string tname) {
  Value v = new_list(std::move(items));
  v.list->generator = true;
  v.list->type_name = std::move(tname);
  return v;
}
Value Value::new_dict() {
  Value v;
  v.type = Type::kDict;
  v.dict = std::make_shared<DictData>();
  return v;
}
Value Value::new_namespace() {
  Value v = new_dict();
  v.dict->ns = true;
  return v;
}
Value Value::function(std::string name, std::function<Value(Args&)> fn) {
  Value v;
  v.type = Type::kFunction;
  v.fn = std::make_shared<FunctionData>();
  v.fn->name = std::move(name);
  v.fn->fn = std::move(fn);
  return v;
}

bool Value::is_namespace() const { return type == Type::kDict && dict->ns; }
bool Value::is_mapping() const { return type == Type::kDict && !dict->ns; }
bool Value::is_generator() const { return type == Type::kList && list->generator; }
bool Value::is_tuple() const { return type == Type::kList && list->tuple; }

void Value::fail_undefined() const {
  raise(i == 1 ? "SecurityError" : "UndefinedError", s.empty() ? "value is undefined" : s);
}

const Value* DictData::find(const Value& key) const {
  for (const auto& kv : items)
    if (equals(kv.first, key)) return &kv.second;
  return nullptr;
}
const Value* DictData::find(std::string_view key) const {
  for (const auto& kv : items)
    if (kv.first.type == Type::kString && kv.first.s == key) return &kv.second;
  return nullptr;
}
void DictData::set(Value key, Value value) {
  for (auto& kv : items) {
    if (equals(kv.first, key)) {
      kv.second = std::move(value);
      return;
    }
  }
  items.emplace_back(std::move(key), std::move(value));
}

std::vector<Value> Args::bind(std::string_view fn_name, const std::vector<std::string_view>& names) const {
  std::vector<Value> out(names.size());
  if (pos.size() > names.size())
    raise("TypeError", std::string(fn_name) + "() takes at most " + std::to_string(names.size()) +
                           " arguments (" + std::to_string(pos.size()) + " given)");
  for (size_t k = 0; k < pos.size(); ++k) out[k] = pos[k];
  for (const auto& [name, v] : kw) {
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end())
      raise("TypeError", std::string(fn_name) + "() got an unexpected keyword argument '" + name + "'");
    out[it - names.begin()] = v;
  }
  return out;
}

std::string type_name(const Value& v) {
  switch (v.type) {
    case Type::kUndefined: return "Undefined";
    case Type::kNone: return "NoneType";
    case Type::kBool: return "bool";
    case Type::kInt: return "int";
    case Type::kFloat: return "float";
    case Type::kString: return "str";
    case Type::kList: return v.list->type_name;
    case Type::kDict: return v.dict->ns ? "Namespace" : "dict";
    case Type::kFunction: return v.fn->is_macro ? "Macro" : "function";
  }
  return "object";
}

bool truthy(const Value& v) {
  switch (v.type) {
    case Type::kUndefined: return false;
    case Type::kNone: return false;
    case Type::kBool: return v.b;
    case Type::kInt: return v.i != 0;
    case Type::kFloat: return v.f != 0.0;
    case Type::kString: return !v.s.empty();
    case Type::kList: return v.list->generator || !v.list->items.empty();
    case Type::kDict: return v.dict->ns || !v.dict->items.empty();
    case Type::kFunction: return true;
  }
  return false;
}

static double as_double(const Value& v) {
  return v.type == Type::kFloat ? v.f : v.type == Type::kBool ? (v.b ? 1.0 : 0.0) : static_cast<double>(v.i);
}
static int64_t as_int(const Value& v) { return v.type == Type::kBool ? (v.b ? 1 : 0) : v.i; }

bool equals(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.type == Type::kFloat || b.type == Type::kFloat) return as_double(a) == as_double(b);
    return as_int(a) == as_int(b);
  }
  if (a.type != b.type) return false;
  switch (a.type) {
    case Type::kUndefined:
    case Type::kNone: return true;
    case Type::kString: return a.s == b.s;
    case Type::kList: {
      if (a.list == b.list) return true;
      if (a.list->generator || b.list->generator) return false;
      if (a.list->tuple != b.list->tuple || a.list->items.size() != b.list->items.size()) return false;
      for (size_t k = 0; k < a.list->items.size(); ++k)
        if (!equals(a.list->items[k], b.list->items[k])) return false;
      return true;
    }
    case Type::kDict: {
      if (a.dict == b.dict) return true;
      if (a.dict->ns || b.dict->ns) return false;
      if (a.dict->items.size() != b.dict->items.size()) return false;
      for (const auto& kv : a.dict->items) {
        const Value* o = b.dict->find(kv.first);
        if (!o || !equals(kv.second, *o)) return false;
      }
      return true;
    }
    case Type::kFunction: return a.fn == b.fn;
    default: return false;
  }
}

bool less(const Value& a, const Value& b, std::string_view op) {
  if (a.is_number() && b.is_number()) {
    if (a.type == Type::kFloat || b.type == Type::kFloat) return as_double(a) < as_double(b);
    return as_int(a) < as_int(b);
  }
  if (a.type == Type::kString && b.type == Type::kString) return a.s < b.s;  // UTF-8 order == code points
  if (a.type == Type::kList && b.type == Type::kList && a.list->tuple == b.list->tuple) {
    const auto& x = a.list->items;
    const auto& y = b.list->items;
    for (size_t k = 0; k < x.size() && k < y.size(); ++k) {
      if (equals(x[k], y[k])) continue;
      return less(x[k], y[k], op);
    }
    return x.size() < y.size();
  }
  if (a.is_undefined()) a.fail_undefined();
  if (b.is_undefined()) b.fail_undefined();
  raise("TypeError", "'" + std::string(op) + "' not supported between instances of '" + type_name(a) + "' and '" +
                         type_name(b) + "'");
}

int compare(const Value& a, const Value& b) {
  if (less(a, b)) return -1;
  if (less(b, a)) return 1;
  return 0;
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  if (d == 0) return std::signbit(d) ? "-0.0" : "0.0";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);
  std::string sign;
  if (sci[0] == '-') { sign = "-"; sci = sci.substr(1); }
  size_t epos = sci.find('e');
  std::string mant = sci.substr(0, epos);
  int exp = std::stoi(sci.substr(epos + 1));
  std::string digits;
  for (char c : mant) if (c != '.') digits += c;
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exp >= -4 && exp < 16) {
    if (exp >= 0) {
      std::string ip = digits.substr(0, std::min<size_t>(digits.size(), exp + 1));
      while (ip.size() < static_cast<size_t>(exp + 1)) ip += '0';
      std::string fp = digits.size() > static_cast<size_t>(exp + 1) ? digits.substr(exp + 1) : "0";
      out = ip + "." + fp;
    } else {
      out = "0." + std::string(-exp - 1, '0') + digits;
    }
  } else {
    out = digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char eb[16];
    std::snprintf(eb, sizeof(eb), "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
  }
  return sign + out;
}

std::string repr_string(std::string_view s) {
  bool has_single = s.find('\'') != std::string_view::npos;
  bool has_double = s.find('"') != std::string_view::npos;
  char q = (has_single && !has_double) ? '"' : '\'';
  std::string out(1, q);
  for (char32_t c : text::decode(s)) {
    if (c == static_cast<char32_t>(q) || c == '\\') { out += '\\'; out += static_cast<char>(c); }
    else if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (text::is_printable(c)) text::append_utf8(out, c);
    else {
      char b[16];
      if (c < 0x100) std::snprintf(b, sizeof(b), "\\x%02x", static_cast<unsigned>(c));
      else if (c < 0x10000) std::snprintf(b, sizeof(b), "\\u%04x", static_cast<unsigned>(c));
      else std::snprintf(b, sizeof(b), "\\U%08x", static_cast<unsigned>(c));
      out += b;
    }
  }
  out += q;
  return out;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

static void repr_into(const Value& v, std::string& out, int depth);

static void str_into(const Value& v, std::string& out, int depth) {
  switch (v.type) {
    case Type::kUndefined: return;
    case Type::kString: out += v.s; return;
    default: repr_into(v, out, depth);
  }
}

static void repr_into(const Value& v, std::string& out, int depth) {
  if (depth > 200) raise("RecursionError", "maximum recursion depth exceeded while getting the repr of an object");
  switch (v.type) {
    case Type::kUndefined: out += "Undefined"; return;
    case Type::kNone: out += "None"; return;
    case Type::kBool: out += v.b ? "True" : "False"; return;
    case Type::kInt: out += std::to_string(v.i); return;
    case Type::kFloat: out += format_float(v.f); return;
    case Type::kString:
      if (v.b) out += "Markup(" + repr_string(v.s) + ")";
      else out += repr_string(v.s);
      return;
    case Type::kList: {
      if (v.list->generator) {
        out += "<" + v.list->type_name + " object>";
        return;
      }
      out += v.list->tuple ? '(' : '[';
      const auto& items = v.list->items;
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += ", ";
        repr_into(items[k], out, depth + 1);
      }
      if (v.list->tuple && items.size() == 1) out += ',';
      out += v.list->tuple ? ')' : ']';
      return;
    }
    case Type::kDict: {
      if (v.dict->ns) out += "<Namespace ";
      out += '{';
      bool first = true;
      for (const auto& kv : v.dict->items) {
        if (!first) out += ", ";
        first = false;
        repr_into(kv.first, out, depth + 1);
        out += ": ";
        repr_into(kv.second, out, depth + 1);
      }
      out += '}';
      if (v.dict->ns) out += '>';
      return;
    }
    case Type::kFunction:
      out += v.fn->is_macro ? "<Macro '" + v.fn->name + "'>" : "<built-in function " + v.fn->name + ">";
      return;
  }
}

std::string to_str(const Value& v) {
  std::string out;
  str_into(v, out, 0);
  return out;
}
std::string to_repr(const Value& v) {
  std::string out;
  repr_into(v, out, 0);
  return out;
}

std::vector<Value> iterate(const Value& v) {
  switch (v.type) {
    case Type::kUndefined: return {};
    case Type::kList: {
      if (v.list->generator) {
        if (v.list->consumed) return {};
        v.list->consumed = true;
      }
      return v.list->items;
    }
    case Type::kDict: {
      if (v.dict->ns) raise("TypeError", "'Namespace' object is not iterable");
      std::vector<Value> keys;
      keys.reserve(v.dict->items.size());
      for (const auto& kv : v.dict->items) keys.push_back(kv.first);
      return keys;
    }
    case Type::kString: {
      std::vector<Value> out;
      for (char32_t c : text::decode(v.s)) {
        std::string s;
        text::append_utf8(s, c);
        out.push_back(Value::str(std::move(s)));
      }
      return out;
    }
    default: raise("TypeError", "'" + type_name(v) + "' object is not iterable");
  }
}

int64_t length(const Value& v) {
  switch (v.type) {
    case Type::kUndefined: return 0;
    case Type::kString: return static_cast<int64_t>(text::count_code_points(v.s));
    case Type::kList:
      if (v.list->generator) raise("TypeError", "object of type '" + v.list->type_name + "' has no len()");
      return static_cast<int64_t>(v.list->items.size());
    case Type::kDict:
      if (v.dict->ns) raise("TypeError", "object of type 'Namespace' has no len()");
      return static_cast<int64_t>(v.dict->items.size());
    default: raise("TypeError", "object of type '" + type_name(v) + "' has no len()");
  }
}

std::string json_escape(std::string_view s, bool ensure_ascii) {
  std::string out = "\"";
  for (char32_t c : text::decode(s)) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default: {
        char b[16];
        if (c < 0x20 || (ensure_ascii && c >= 0x7F)) {
          if (c >= 0x10000) {
            char32_t v = c - 0x10000;
            std::snprintf(b, sizeof(b), "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                          static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
          } else {
            std::snprintf(b, sizeof(b), "\\u%04x", static_cast<unsigned>(c));
          }
          out += b;
        } else {
          text::append_utf8(out, c);
        }
      }
    }
  }
  out += '"';
  return out;
}

static std::string json_float(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d < 0 ? "-Infinity" : "Infinity";
  return format_float(d);
}

static void json_into(const Value& v, const JsonOptions& o, std::string& out, int depth) {
  if (depth > 200) raise("RecursionError", "maximum recursion depth exceeded while encoding a JSON object");
  auto newline = [&](int d) {
    out += '\n';
    for (int k = 0; k < d; ++k) out += *o.indent;
  };
  switch (v.type) {
    case Type::kNone: out += "null"; return;
    case Type::kBool: out += v.b ? "true" : "false"; return;
    case Type::kInt: out += std::to_string(v.i); return;
    case Type::kFloat: out += json_float(v.f); return;
    case Type::kString: out += json_escape(v.s, o.ensure_ascii); return;
    case Type::kList: {
      if (v.list->generator) break;
      const auto& items = v.list->items;
      if (items.empty()) { out += "[]"; return; }
      out += '[';
      for (size_t k = 0; k < items.size(); ++k) {
        if (k) out += o.item_sep;
        if (o.indent) newline(depth + 1);
        json_into(items[k], o, out, depth + 1);
      }
      if (o.indent) newline(depth);
      out += ']';
      return;
    }
    case Type::kDict: {
      if (v.dict->ns) break;
      std::vector<const std::pair<Value, Value>*> items;
      for (const auto& kv : v.dict->items) items.push_back(&kv);
      if (items.empty()) { out += "{}"; return; }
      auto key_str = [](const Value& k) -> std::string {
        switch (k.type) {
          case Type::kString: return k.s;
          case Type::kInt: return std::to_string(k.i);
          case Type::kFloat: return json_float(k.f);
          case Type::kBool: return k.b ? "true" : "false";
          case Type::kNone: return "null";
          default: raise("TypeError", "keys must be str, int, float, bool or None, not " + type_name(k));
        }
      };
      if (o.sort_keys)
        std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return less(a->first, b->first); });
      out += '{';
      bool first = true;
      for (auto* kv : items) {
        if (!first) out += o.item_sep;
        first = false;
        if (o.indent) newline(depth + 1);
        out += json_escape(key_str(kv->first), o.ensure_ascii);
        out += o.key_sep;
        json_into(kv->second, o, out, depth + 1);
      }
      if (o.indent) newline(depth);
      out += '}';
      return;
    }
    default: break;
  }
  raise("TypeError", "Object of type " + type_name(v) + " is not JSON serializable");
}

std::string to_json(const Value& v, const JsonOptions& opt) {
  std::string out;
  json_into(v, opt, out, 0);
  return out;
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return Value::none();
    case nlohmann::ordered_json::value_t::boolean: return Value::boolean(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value::integer(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u > static_cast<uint64_t>(INT64_MAX)) return Value::number(static_cast<double>(u));
      return Value::integer(static_cast<int64_t>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value::number(j.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value::str(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      std::vector<Value> items;
      items.reserve(j.size());
      for (const auto& e : j) items.push_back(from_json(e));
      return Value::new_list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      Value d = Value::new_dict();
      for (auto it = j.begin(); it != j.end(); ++it) d.dict->items.emplace_back(Value::str(it.key()), from_json(it.value()));
      return d;
    }
    default: return Value::none();
  }
}

}  // namespace nuri::chat::jinja
