// chat/jinja/builtins.cc — Jinja2's filters, tests and globals, plus HF's tojson,
// raise_exception and strftime_now, and attribute/item lookup under the immutable sandbox.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <set>

#include "chat/jinja/interpreter.h"
#include "chat/jinja/text.h"

namespace nuri::chat::jinja {

namespace {

const std::set<std::string>& filter_names() {
  static const std::set<std::string> k = {
      "abs", "attr", "batch", "capitalize", "center", "count", "d", "default", "dictsort", "e", "escape",
      "filesizeformat", "first", "float", "forceescape", "format", "groupby", "indent", "int", "items", "join",
      "last", "length", "list", "lower", "map", "max", "min", "pprint", "random", "reject", "rejectattr",
      "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
      "sum", "title", "tojson", "trim", "truncate", "unique", "upper", "urlencode", "urlize", "wordcount",
      "wordwrap", "xmlattr"};
  return k;
}
const std::set<std::string>& test_names() {
  static const std::set<std::string> k = {
      "boolean", "callable", "defined", "divisibleby", "eq", "equalto", "escaped", "even", "false", "filter",
      "float", "ge", "gt", "greaterthan", "in", "integer", "iterable", "le", "lessthan", "lower", "lt", "mapping",
      "ne", "none", "number", "odd", "sameas", "sequence", "string", "test", "true", "undefined", "upper",
      "==", "!=", "<", "<=", ">", ">="};
  return k;
}

const std::set<std::string> kDictMethods = {"get", "items", "keys", "values", "copy"};
const std::set<std::string> kDictUnsafe = {"pop", "popitem", "setdefault", "update", "clear"};
const std::set<std::string> kListMethods = {"index", "count", "copy"};
const std::set<std::string> kListUnsafe = {"append", "extend", "insert", "pop", "remove", "reverse", "sort", "clear"};
const std::set<std::string> kStrMethods = {
    "startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "upper", "lower", "title",
    "capitalize", "replace", "format", "join", "find", "rfind", "index", "rindex", "count", "isdigit", "isalpha",
    "isalnum", "isspace", "isupper", "islower", "isnumeric", "isdecimal", "istitle", "splitlines", "zfill",
    "center", "ljust", "rjust", "partition", "rpartition", "removeprefix", "removesuffix", "swapcase",
    "casefold", "expandtabs", "format_map", "encode"};

int64_t to_int(const Value& v) { return v.type == Type::kBool ? int64_t{v.b} : v.type == Type::kFloat ? int64_t(v.f) : v.i; }
double to_float(const Value& v) { return v.type == Type::kFloat ? v.f : double(to_int(v)); }

Value kw_or(const Args& a, size_t pos, const char* name, Value dflt) {
  if (pos < a.pos.size()) return a.pos[pos];
  for (const auto& [k, v] : a.kw) if (k == name) return v;
  return dflt;
}

std::string soft_str(const Value& v) { return to_str(v); }
// Filters built on soft_str keep a Markup operand Markup.
Value keep_markup(const Value& v, std::string s) { return v.is_markup() ? Value::markup(std::move(s)) : Value::str(std::move(s)); }

}  // namespace

bool is_known_filter(const std::string& name) { return filter_names().count(name) > 0; }
bool is_known_test(const std::string& name) { return test_names().count(name) > 0; }

Value Interp::global(const std::string& name) {
  if (name == "range") {
    return Value::function("range", [](Args& a) {
      if (a.pos.empty() || a.pos.size() > 3) raise("TypeError", "range expected 1 to 3 arguments");
      for (auto& v : a.pos)
        if (v.type != Type::kInt && v.type != Type::kBool)
          raise("TypeError", "'" + type_name(v) + "' object cannot be interpreted as an integer");
      int64_t start = 0, stop, step = 1;
      if (a.pos.size() == 1) stop = to_int(a.pos[0]);
      else { start = to_int(a.pos[0]); stop = to_int(a.pos[1]); }
      if (a.pos.size() == 3) step = to_int(a.pos[2]);
      if (step == 0) raise("ValueError", "range() arg 3 must not be zero");
      std::vector<Value> items;
      for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
        if (items.size() >= 100000)
          raise("OverflowError", "Range too big. The sandbox blocks ranges larger than MAX_RANGE (100000).");
        items.push_back(Value::integer(k));
      }
      return Value::new_list(std::move(items));
    });
  }
  if (name == "namespace" || name == "dict") {
    bool ns = name == "namespace";
    return Value::function(name, [this, ns](Args& a) {
      Value d = ns ? Value::new_namespace() : Value::new_dict();
      if (ns) track(d);
      for (auto& p : a.pos) {
        if (p.is_dict()) for (auto& kv : p.dict->items) d.dict->set(kv.first, kv.second);
        else for (auto& pair : iterate(p)) {
          auto kv = iterate(pair);
          if (kv.size() != 2) raise("ValueError", "dictionary update sequence element has wrong length");
          d.dict->set(kv[0], kv[1]);
        }
      }
      for (auto& [k, v] : a.kw) d.dict->set(Value::str(k), v);
      return d;
    });
  }
  if (name == "raise_exception") {
    return Value::function(name, [](Args& a) -> Value {
      raise("TemplateError", a.pos.empty() ? "" : to_str(a.pos[0]));
    });
  }
  if (name == "strftime_now") {
    return Value::function(name, [this](Args& a) {
      if (a.pos.empty()) raise("TypeError", "strftime_now() missing 1 required positional argument: 'format'");
      return Value::str(strftime_py(to_str(a.pos[0]), now_));
    });
  }
  if (name == "joiner") {
    return Value::function(name, [](Args& a) {
      std::string sep = a.pos.empty() ? ", " : to_str(a.pos[0]);
      auto used = std::make_shared<bool>(false);
      return Value::function("joiner", [sep, used](Args&) {
        if (!*used) { *used = true; return Value::str(""); }
        return Value::str(sep);
      });
    });
  }
  if (name == "cycler") {
    return Value::function(name, [](Args& a) {
      Value c = Value::new_namespace();
      auto items = std::make_shared<std::vector<Value>>(a.pos);
      auto pos = std::make_shared<size_t>(0);
      c.dict->set(Value::str("next"), Value::function("next", [items, pos](Args&) {
        if (items->empty()) return Value::none();
        Value v = (*items)[*pos % items->size()];
        ++*pos;
        return v;
      }));
      c.dict->set(Value::str("reset"), Value::function("reset", [pos](Args&) { *pos = 0; return Value::none(); }));
      return c;
    });
  }
  return Value::undefined("'" + name + "' is undefined");
}

Value Interp::getattr(const Value& obj, const std::string& name) {
  auto missing = [&]() {
    std::string who = obj.is_none() ? "'None'" : "'" + type_name(obj) + " object'";
    return Value::undefined(who + " has no attribute '" + name + "'");
  };
  auto bound = [&]() {
    Value self = obj;
    return Value::function(name, [this, self, name](Args& a) {
      if (!self.is_markup()) return call_method(self, name, a);
      // Markup methods escape their str arguments and return Markup.
      auto esc = [](Value& x) { if (x.is_string() && !x.b) x = Value::markup(html_escape(x.s)); };
      if (name == "replace" || name == "format" || name == "join" || name == "format_map") {
        for (auto& x : a.pos) {
          if (x.is_list() && name == "join") {
            std::vector<Value> items = iterate(x);
            for (auto& it : items) esc(it);
            x = Value::new_list(std::move(items));
          } else {
            esc(x);
          }
        }
        for (auto& kv : a.kw) esc(kv.second);
      }
      Value r = call_method(self, name, a);
      if (r.is_string()) r.b = true;
      else if (r.is_list() && (name == "split" || name == "rsplit" || name == "splitlines"))
        for (auto& x : r.list->items) x.b = true;
      return r;
    });
  };
  auto unsafe = [&]() {
    return Value::undefined("access to attribute '" + name + "' of '" + type_name(obj) + "' object is unsafe.", true);
  };
  switch (obj.type) {
    case Type::kUndefined: obj.fail_undefined();
    case Type::kDict:
      if (obj.dict->ns) {
        if (const Value* v = obj.dict->find(name)) return *v;
        return missing();
      }
      if (kDictMethods.count(name)) return bound();
      if (kDictUnsafe.count(name)) return unsafe();
      if (const Value* v = obj.dict->find(name)) return *v;
      return missing();
    case Type::kList:
      for (size_t k = 0; k < obj.list->fields.size() && k < obj.list->items.size(); ++k)
        if (obj.list->fields[k] == name) return obj.list->items[k];
      if (!obj.list->generator && kListMethods.count(name)) return bound();
      if (!obj.list->generator && !obj.list->tuple && kListUnsafe.count(name)) return unsafe();
      return missing();
    case Type::kString:
      if (kStrMethods.count(name)) return bound();
      return missing();
    default: return missing();
  }
}

Value Interp::getitem(const Value& obj, const Value& key) {
  switch (obj.type) {
    case Type::kUndefined: obj.fail_undefined();
    case Type::kDict:
      if (!obj.dict->ns)
        if (const Value* v = obj.dict->find(key)) return *v;
      break;
    case Type::kList:
      if (!obj.list->generator && (key.type == Type::kInt || key.type == Type::kBool)) {
        int64_t idx = to_int(key), n = static_cast<int64_t>(obj.list->items.size());
        if (idx < 0) idx += n;
        if (idx >= 0 && idx < n) return obj.list->items[idx];
        return Value::undefined("'" + type_name(obj) + " object' has no element " + std::to_string(to_int(key)));
      }
      break;
    case Type::kString:
      if (key.type == Type::kInt || key.type == Type::kBool) {
        std::u32string u = text::decode(obj.s);
        int64_t idx = to_int(key), n = static_cast<int64_t>(u.size());
        if (idx < 0) idx += n;
        if (idx >= 0 && idx < n) {
          std::string s;
          text::append_utf8(s, u[idx]);
          return Value::str(s);
        }
        return Value::undefined("'str object' has no element " + std::to_string(to_int(key)));
      }
      break;
    default: break;
  }
  if (key.is_string()) return getattr(obj, key.s);
  std::string who = obj.is_none() ? "'None'" : "'" + type_name(obj) + " object'";
  return Value::undefined(who + " has no element " + to_repr(key));
}

// `attribute='a.b.0'` lookups used by map, selectattr, sort, groupby, ...
static Value attr_path(Interp& in, Value item, const std::string& path) {
  size_t p = 0;
  while (true) {
    size_t dot = path.find('.', p);
    std::string part = path.substr(p, dot == std::string::npos ? std::string::npos : dot - p);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; });
    item = in.getitem(item, digits ? Value::integer(std::atoll(part.c_str())) : Value::str(part));
    if (dot == std::string::npos) return item;
    p = dot + 1;
  }
}

static Value case_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value::str(text::lower(v.s));
  return v;
}

static std::vector<Value> sorted_values(Interp& in, std::vector<Value> items, bool reverse, bool cs,
                                        const Value& attribute) {
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& v : items) {
    Value key = attribute.is_undefined() || attribute.is_none() ? v : attr_path(in, v, to_str(attribute));
    keyed.emplace_back(case_key(key, cs), v);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    return reverse ? less(y.first, x.first) : less(x.first, y.first);
  });
  std::vector<Value> out;
  for (auto& kv : keyed) out.push_back(kv.second);
  return out;
}

Value Interp::call_filter(const std::string& name, const Value& v, Args& a) {
  const std::string& n = name;
  // An indent of n spaces; huge ones are an error, not gigabytes (found by fuzz_jinja).
  auto spaces = [&](const Value& w, const char* filter) {
    constexpr int64_t kMaxIndent = 1 << 20;
    const int64_t k = std::max<int64_t>(0, to_int(w));
    if (k > kMaxIndent) raise("ValueError", std::string(filter) + ": indent too large");
    return std::string(static_cast<size_t>(k), ' ');
  };
  if (n == "tojson") {
    auto b = a.bind("tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
    JsonOptions o;
    o.ensure_ascii = truthy(b[0]);
    if (!b[1].is_undefined() && !b[1].is_none()) {
      if (b[1].is_string()) o.indent = b[1].s;
      else o.indent = spaces(b[1], "tojson");
      o.item_sep = ",";
    }
    if (!b[2].is_undefined() && !b[2].is_none()) {
      auto seps = iterate(b[2]);
      if (seps.size() != 2) raise("ValueError", "separators must be a pair");
      o.item_sep = to_str(seps[0]);
      o.key_sep = to_str(seps[1]);
    }
    o.sort_keys = truthy(b[3]);
    return Value::str(to_json(v, o));
  }
  if (n == "length" || n == "count") return Value::integer(length(v));
  if (n == "string") return v.is_string() ? v : Value::str(soft_str(v));
  if (n == "safe") return v.is_markup() ? v : Value::markup(soft_str(v));
  if (n == "trim") {
    Value chars = kw_or(a, 0, "chars", Value::none());
    std::string cs = chars.is_string() ? chars.s : std::string();
    return keep_markup(v, text::strip(soft_str(v), chars.is_string() ? &cs : nullptr, true, true));
  }
  if (n == "upper") return keep_markup(v, text::upper(soft_str(v)));
  if (n == "lower") return keep_markup(v, text::lower(soft_str(v)));
  if (n == "title") return keep_markup(v, text::title(soft_str(v)));
  if (n == "capitalize") return keep_markup(v, text::capitalize(soft_str(v)));
  if (n == "default" || n == "d") {
    Value dflt = kw_or(a, 0, "default_value", Value::str(""));
    bool boolean = truthy(kw_or(a, 1, "boolean", Value::boolean(false)));
    if (v.is_undefined() || (boolean && !truthy(v))) return dflt;
    return v;
  }
  if (n == "replace") {
    if (a.pos.size() < 2) raise("TypeError", "replace() expects old and new");
    Value count = kw_or(a, 2, "count", Value::none());
    return Value::str(text::replace(soft_str(v), to_str(a.pos[0]), to_str(a.pos[1]),
                                    count.is_none() ? -1 : to_int(count)));
  }
  if (n == "join") {
    std::string sep = to_str(kw_or(a, 0, "d", Value::str("")));
    Value attribute = kw_or(a, 1, "attribute", Value::none());
    std::string out;
    bool first = true;
    for (auto& item : iterate(v)) {
      if (!first) out += sep;
      first = false;
      out += to_str(attribute.is_none() ? item : attr_path(*this, item, to_str(attribute)));
    }
    return Value::str(out);
  }
  if (n == "list") {
    if (v.is_list()) return Value::new_list(iterate(v));
    return Value::new_list(iterate(v));
  }
  if (n == "first") {
    if (v.is_generator()) {
      if (v.list->consumed || v.list->items.empty()) return Value::undefined("No first item, sequence was empty.");
      Value f = v.list->items.front();
      v.list->items.erase(v.list->items.begin());
      return f;
    }
    auto items = iterate(v);
    return items.empty() ? Value::undefined("No first item, sequence was empty.") : items.front();
  }
  if (n == "last") {
    if (v.is_generator()) raise("TypeError", "'" + type_name(v) + "' object is not reversible");
    auto items = iterate(v);
    return items.empty() ? Value::undefined("No last item, sequence was empty.") : items.back();
  }
  if (n == "items") {
    if (v.is_undefined()) return Value::generator({});
    if (!v.is_mapping()) raise("TypeError", "Can only get item pairs from a mapping.");
    std::vector<Value> out;
    for (auto& kv : v.dict->items) out.push_back(Value::new_tuple({kv.first, kv.second}));
    return Value::generator(std::move(out));
  }
  if (n == "dictsort") {
    auto b = a.bind("dictsort", {"case_sensitive", "by", "reverse"});
    if (!v.is_mapping()) raise("TypeError", "dictsort expects a mapping");
    bool cs = truthy(b[0]);
    int pos = 0;
    if (b[1].is_string() && b[1].s == "value") pos = 1;
    else if (!b[1].is_undefined() && !(b[1].is_string() && b[1].s == "key"))
      raise("FilterArgumentError", "You can only sort by either \"key\" or \"value\"");
    std::vector<Value> pairs;
    for (auto& kv : v.dict->items) pairs.push_back(Value::new_tuple({kv.first, kv.second}));
    std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
      Value kx = case_key(x.list->items[pos], cs), ky = case_key(y.list->items[pos], cs);
      return truthy(b[2]) ? less(ky, kx) : less(kx, ky);
    });
    return Value::new_list(std::move(pairs));
  }
  if (n == "sort") {
    auto b = a.bind("sort", {"reverse", "case_sensitive", "attribute"});
    return Value::new_list(sorted_values(*this, iterate(v), truthy(b[0]), truthy(b[1]), b[2]));
  }
  if (n == "unique") {
    auto b = a.bind("unique", {"case_sensitive", "attribute"});
    std::vector<Value> seen, out;
    for (auto& item : iterate(v)) {
      Value key = case_key(b[1].is_undefined() || b[1].is_none() ? item : attr_path(*this, item, to_str(b[1])), truthy(b[0]));
      if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equals(s, key); })) {
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return Value::generator(std::move(out));
  }
  if (n == "reverse") {
    if (v.is_string()) {
      std::u32string u = text::decode(v.s);
      std::reverse(u.begin(), u.end());
      return Value::str(text::encode(u));
    }
    if (v.is_generator()) {
      auto items = iterate(v);
      return Value::new_list({items.rbegin(), items.rend()});
    }
    auto items = iterate(v);
    return Value::generator({items.rbegin(), items.rend()}, v.is_dict() ? "dict_reversekeyiterator" : "list_reverseiterator");
  }
  if (n == "map") {
    std::vector<Value> out;
    Value attribute;
    Value dflt;
    bool has_attr = false;
    for (auto& [k, val] : a.kw) {
      if (k == "attribute") { attribute = val; has_attr = true; }
      else if (k == "default") dflt = val;
    }
    auto items = truthy(v) ? iterate(v) : std::vector<Value>{};
    if (has_attr) {
      for (auto& item : items) {
        Value r = attr_path(*this, item, to_str(attribute));
        out.push_back(r.is_undefined() && !dflt.is_undefined() ? dflt : r);
      }
    } else {
      if (a.pos.empty()) raise("FilterArgumentError", "map requires a filter argument");
      std::string fname = to_str(a.pos[0]);
      Args rest;
      rest.pos.assign(a.pos.begin() + 1, a.pos.end());
      rest.kw = a.kw;
      for (auto& item : items) out.push_back(call_filter(fname, item, rest));
    }
    return Value::generator(std::move(out));
  }
  if (n == "select" || n == "reject" || n == "selectattr" || n == "rejectattr") {
    bool attr_mode = n == "selectattr" || n == "rejectattr";
    bool want = n == "select" || n == "selectattr";
    size_t off = attr_mode ? 1 : 0;
    if (attr_mode && a.pos.empty()) raise("FilterArgumentError", "Missing parameter for attribute name");
    std::string test = a.pos.size() > off ? to_str(a.pos[off]) : "";
    Args rest;
    if (a.pos.size() > off + 1) rest.pos.assign(a.pos.begin() + off + 1, a.pos.end());
    rest.kw = a.kw;
    std::vector<Value> out;
    for (auto& item : truthy(v) ? iterate(v) : std::vector<Value>{}) {
      Value probe = attr_mode ? attr_path(*this, item, to_str(a.pos[0])) : item;
      bool ok = test.empty() ? truthy(probe) : call_test(test, probe, rest);
      if (ok == want) out.push_back(item);
    }
    return Value::generator(std::move(out));
  }
  if (n == "int") {
    Value dflt = kw_or(a, 0, "default", Value::integer(0));
    int64_t base = to_int(kw_or(a, 1, "base", Value::integer(10)));
    if (v.type == Type::kInt) return v;
    if (v.type == Type::kBool) return Value::integer(v.b);
    if (v.type == Type::kFloat) return std::isfinite(v.f) ? Value::integer(int64_t(v.f)) : dflt;
    if (v.is_string()) {
      std::string s = text::strip(v.s, nullptr, true, true);
      std::string digits;
      for (char c : s) if (c != '_') digits += c;
      char* end = nullptr;
      long long r = std::strtoll(digits.c_str(), &end, static_cast<int>(base));
      if (!digits.empty() && end && *end == 0) return Value::integer(r);
      double d = std::strtod(digits.c_str(), &end);
      if (!digits.empty() && end && *end == 0 && std::isfinite(d)) return Value::integer(int64_t(d));
    }
    return dflt;
  }
  if (n == "float") {
    Value dflt = kw_or(a, 0, "default", Value::number(0.0));
    if (v.is_number()) return Value::number(to_float(v));
    if (v.is_string()) {
      std::string s = text::strip(v.s, nullptr, true, true);
      char* end = nullptr;
      double d = std::strtod(s.c_str(), &end);
      if (!s.empty() && end && *end == 0) return Value::number(d);
    }
    return dflt;
  }
  if (n == "abs") {
    if (v.type == Type::kFloat) return Value::number(std::fabs(v.f));
    if (v.is_number()) return Value::integer(std::llabs(to_int(v)));
    raise("TypeError", "bad operand type for abs(): '" + type_name(v) + "'");
  }
  if (n == "round") {
    int64_t precision = to_int(kw_or(a, 0, "precision", Value::integer(0)));
    std::string method = to_str(kw_or(a, 1, "method", Value::str("common")));
    if (!v.is_number()) raise("TypeError", "type " + type_name(v) + " doesn't define __round__ method");
    double x = to_float(v), m = std::pow(10.0, static_cast<double>(precision));
    double r = method == "ceil" ? std::ceil(x * m) / m : method == "floor" ? std::floor(x * m) / m : std::nearbyint(x * m) / m;
    if (method != "common" && method != "ceil" && method != "floor")
      raise("FilterArgumentError", "method must be common, ceil or floor");
    return Value::number(r);
  }
  if (n == "sum") {
    Value attribute = kw_or(a, 0, "attribute", Value::none());
    Value total = kw_or(a, 1, "start", Value::integer(0));
    for (auto& item : iterate(v))
      total = eval_binary("+", total, attribute.is_none() ? item : attr_path(*this, item, to_str(attribute)));
    return total;
  }
  if (n == "min" || n == "max") {
    auto b = a.bind(n, {"case_sensitive", "attribute"});
    auto items = iterate(v);
    if (items.empty()) return Value::undefined("No aggregated item, sequence was empty.");
    Value best = items[0];
    auto key = [&](const Value& x) {
      return case_key(b[1].is_undefined() || b[1].is_none() ? x : attr_path(*this, x, to_str(b[1])), truthy(b[0]));
    };
    for (size_t k = 1; k < items.size(); ++k) {
      bool better = n == "min" ? less(key(items[k]), key(best)) : less(key(best), key(items[k]));
      if (better) best = items[k];
    }
    return best;
  }
  if (n == "indent") {
    Value width = kw_or(a, 0, "width", Value::integer(4));
    bool first = truthy(kw_or(a, 1, "first", Value::boolean(false)));
    bool blank = truthy(kw_or(a, 2, "blank", Value::boolean(false)));
    std::string ind = width.is_string() ? width.s : spaces(width, "indent");
    std::string s = soft_str(v) + "\n";
    auto lines = text::splitlines(s, false);
    std::string rv;
    if (blank) {
      for (size_t k = 0; k < lines.size(); ++k) rv += (k ? "\n" + ind : "") + lines[k];
    } else {
      rv = lines.empty() ? "" : lines[0];
      for (size_t k = 1; k < lines.size(); ++k) rv += "\n" + (lines[k].empty() ? "" : ind) + lines[k];
    }
    if (first) rv = ind + rv;
    return keep_markup(v, rv);
  }
  if (n == "center") {
    int64_t width = to_int(kw_or(a, 0, "width", Value::integer(80)));
    Args ca;
    ca.pos.push_back(Value::integer(width));
    return call_method(Value::str(soft_str(v)), "center", ca);
  }
  if (n == "escape" || n == "e") return v.is_markup() ? v : Value::markup(html_escape(soft_str(v)));
  if (n == "forceescape") return Value::markup(html_escape(soft_str(v)));
  if (n == "format") {
    if (!a.kw.empty()) {
      Value d = Value::new_dict();
      for (auto& [k, val] : a.kw) d.dict->set(Value::str(k), val);
      return eval_binary("%", v.is_string() ? v : Value::str(soft_str(v)), d);
    }
    return eval_binary("%", v.is_string() ? v : Value::str(soft_str(v)), Value::new_tuple(a.pos));
  }
  if (n == "attr") {
    if (a.pos.empty()) raise("TypeError", "attr() missing name");
    // Plain attribute access (no item fallback), under the sandbox rules.
    Value r = getattr(v, to_str(a.pos[0]));
    if (v.is_mapping() && r.type != Type::kFunction && !r.is_undefined())
      return Value::undefined("'dict object' has no attribute '" + to_str(a.pos[0]) + "'");
    return r;
  }
  if (n == "batch" || n == "slice") {
    int64_t count = to_int(kw_or(a, 0, n == "batch" ? "linecount" : "slices", Value::integer(1)));
    Value fill = kw_or(a, 1, "fill_with", Value::none());
    if (count <= 0) raise("ValueError", n + " size must be positive");
    auto items = iterate(v);
    std::vector<Value> out;
    if (n == "batch") {
      for (size_t k = 0; k < items.size(); k += count) {
        std::vector<Value> chunk(items.begin() + k, items.begin() + std::min(items.size(), size_t(k + count)));
        if (!fill.is_none()) while (int64_t(chunk.size()) < count) chunk.push_back(fill);
        out.push_back(Value::new_list(std::move(chunk)));
      }
    } else {
      size_t len = items.size(), per = len / count, extra = len % count, off = 0;
      for (int64_t k = 0; k < count; ++k) {
        size_t take = per + (size_t(k) < extra ? 1 : 0);
        std::vector<Value> chunk(items.begin() + off, items.begin() + off + take);
        off += take;
        if (!fill.is_none() && size_t(k) >= extra && extra) chunk.push_back(fill);
        out.push_back(Value::new_list(std::move(chunk)));
      }
    }
    return Value::generator(std::move(out));
  }
  if (n == "groupby") {
    auto b = a.bind("groupby", {"attribute", "default", "case_sensitive"});
    std::vector<Value> items = iterate(v);
    std::vector<std::pair<Value, Value>> keyed;
    for (auto& it : items) {
      Value k = attr_path(*this, it, to_str(b[0]));
      if (k.is_undefined() && !b[1].is_undefined()) k = b[1];
      keyed.emplace_back(case_key(k, truthy(b[2])), it);
    }
    std::stable_sort(keyed.begin(), keyed.end(), [](const auto& x, const auto& y) { return less(x.first, y.first); });
    std::vector<Value> out;
    for (size_t k = 0; k < keyed.size();) {
      std::vector<Value> group;
      size_t j = k;
      while (j < keyed.size() && equals(keyed[j].first, keyed[k].first)) group.push_back(keyed[j++].second);
      Value g = Value::new_tuple({keyed[k].first, Value::new_list(std::move(group))});
      g.list->fields = {"grouper", "list"};
      out.push_back(std::move(g));
      k = j;
    }
    return Value::new_list(std::move(out));
  }
  if (n == "truncate") {
    auto b = a.bind("truncate", {"length", "killwords", "end", "leeway"});
    int64_t len = b[0].is_undefined() ? 255 : to_int(b[0]);
    std::string end = b[2].is_undefined() ? "..." : to_str(b[2]);
    int64_t leeway = b[3].is_undefined() || b[3].is_none() ? 5 : to_int(b[3]);
    std::u32string u = text::decode(soft_str(v));
    std::u32string e = text::decode(end);
    if (int64_t(u.size()) <= len + leeway) return Value::str(soft_str(v));
    if (truthy(b[1])) return Value::str(text::encode(u.substr(0, std::max<int64_t>(0, len - int64_t(e.size())))) + end);
    std::u32string cut = u.substr(0, std::max<int64_t>(0, len - int64_t(e.size())));
    size_t sp = cut.rfind(U' ');
    if (sp != std::u32string::npos) cut = cut.substr(0, sp);
    return Value::str(text::encode(cut) + end);
  }
  if (n == "wordcount") return Value::integer(int64_t(text::split(soft_str(v), nullptr, -1).size()));
  if (n == "pprint") return Value::str(to_repr(v));
  if (n == "striptags") {
    std::string s = soft_str(v), out;
    bool in_tag = false;
    for (char c : s) {
      if (c == '<') in_tag = true;
      else if (c == '>' && in_tag) in_tag = false;
      else if (!in_tag) out += c;
    }
    auto words = text::split(out, nullptr, -1);
    std::string r;
    for (size_t k = 0; k < words.size(); ++k) r += (k ? " " : "") + words[k];
    return Value::str(r);
  }
  if (is_known_filter(n)) raise("TemplateRuntimeError", "filter '" + n + "' is not supported by nuri");
  raise("TemplateRuntimeError", "No filter named '" + n + "' found.");
}

bool Interp::call_test(const std::string& name, const Value& v, Args& a) {
  const std::string& n = name;
  auto arg = [&]() -> const Value& {
    if (a.pos.empty()) raise("TypeError", "test '" + n + "' expects an argument");
    return a.pos[0];
  };
  if (n == "defined") return !v.is_undefined();
  if (n == "undefined") return v.is_undefined();
  if (n == "none") return v.is_none();
  if (n == "string") return v.is_string();
  if (n == "mapping") return v.is_mapping();
  if (n == "iterable") return v.is_undefined() || v.is_string() || v.is_list() || v.is_mapping();
  if (n == "sequence") return v.is_undefined() || v.is_string() || (v.is_list() && !v.is_generator()) || v.is_mapping();
  if (n == "number") return v.is_number();
  if (n == "integer") return v.type == Type::kInt;
  if (n == "float") return v.type == Type::kFloat;
  if (n == "boolean") return v.type == Type::kBool;
  if (n == "true") return v.type == Type::kBool && v.b;
  if (n == "false") return v.type == Type::kBool && !v.b;
  if (n == "callable") return v.type == Type::kFunction;
  if (n == "escaped") return false;
  if (n == "lower") { std::string s = to_str(v); return text::lower(s) == s && text::upper(s) != s; }
  if (n == "upper") { std::string s = to_str(v); return text::upper(s) == s && text::lower(s) != s; }
  if (n == "even" || n == "odd") {
    if (!v.is_number() || v.type == Type::kFloat) raise("TypeError", "not all arguments converted during string formatting");
    return (to_int(v) % 2 == 0) == (n == "even");
  }
  if (n == "divisibleby") {
    int64_t d = to_int(arg());
    if (d == 0) raise("ZeroDivisionError", "integer division or modulo by zero");
    return to_int(v) % d == 0;
  }
  if (n == "eq" || n == "equalto" || n == "==") return equals(v, arg());
  if (n == "ne" || n == "!=") return !equals(v, arg());
  if (n == "lt" || n == "lessthan" || n == "<") return less(v, arg());
  if (n == "gt" || n == "greaterthan" || n == ">") return less(arg(), v);
  if (n == "le" || n == "<=") return !less(arg(), v);
  if (n == "ge" || n == ">=") return !less(v, arg());
  if (n == "in") {
    const Value& seq = arg();
    if (seq.is_string()) return v.is_string() && seq.s.find(v.s) != std::string::npos;
    if (seq.is_mapping()) return seq.dict->find(v) != nullptr;
    for (auto& x : iterate(seq)) if (equals(x, v)) return true;
    return false;
  }
  if (n == "sameas") {
    const Value& o = arg();
    if (v.type != o.type) return false;
    if (v.is_list()) return v.list == o.list;
    if (v.is_dict()) return v.dict == o.dict;
    if (v.type == Type::kFunction) return v.fn == o.fn;
    return equals(v, o);
  }
  if (n == "filter") return is_known_filter(to_str(arg()));
  if (n == "test") return is_known_test(to_str(arg()));
  raise("TemplateRuntimeError", "No test named '" + n + "' found.");
}

}  // namespace nuri::chat::jinja
