// grammar/json_schema.cc — JSON Schema -> GBNF (see json_schema.h).
#include "grammar/json_schema.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

namespace nuri::grammar {

namespace {

using Json = nlohmann::ordered_json;

// Primitive rules (written once, on first use).
const std::map<std::string, std::string>& primitives() {
  static const std::map<std::string, std::string> k = {
      {"space", R"(" "?)"},
      {"boolean", R"(("true" | "false") space)"},
      {"null", R"("null" space)"},
      {"char", R"([^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" ([0-9a-cA-CefEF] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2})))"},
      {"string", R"("\"" char* "\"" space)"},
      {"integral-part", R"("0" | [1-9] [0-9]{0,15})"},
      {"decimal-part", R"([0-9]{1,16})"},
      {"number", R"("-"? integral-part ("." decimal-part)? ([eE] [-+]? [0-9]{1,3})? space)"},
      {"integer", R"("-"? integral-part space)"},
      {"value", R"(object | array | string | number | boolean | null)"},
      {"object", R"("{" space (string ":" space value ("," space string ":" space value)*)? "}" space)"},
      {"array", R"("[" space (value ("," space value)*)? "]" space)"},
      {"date", R"([0-9]{4} "-" (("0" [13578] | "1" [02]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) | ("0" [469] | "11") "-" ("0" [1-9] | [12] [0-9] | "30") | "02" "-" ("0" [1-9] | "1" [0-9] | "2" [0-8])))"},
      {"time", R"(([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]))"},
      {"date-time", R"(date "T" time)"},
      {"uuid", R"([0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12})"},
  };
  return k;
}

const std::map<std::string, std::vector<std::string>>& primitive_deps() {
  static const std::map<std::string, std::vector<std::string>> k = {
      {"boolean", {"space"}},
      {"null", {"space"}},
      {"string", {"char", "space"}},
      {"number", {"integral-part", "decimal-part", "space"}},
      {"integer", {"integral-part", "space"}},
      {"value", {"object", "array", "string", "number", "boolean", "null"}},
      {"object", {"string", "value", "space"}},
      {"array", {"value", "space"}},
      {"date-time", {"date", "time"}},
  };
  return k;
}

// A GBNF string literal for raw bytes.
std::string lit(const std::string& s) {
  std::string o = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      o += '\\';
      o += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      static const char* hex = "0123456789ABCDEF";
      o += "\\x";
      o += hex[c >> 4];
      o += hex[c & 15];
    } else {
      o += static_cast<char>(c);
    }
  }
  return o + "\"";
}

std::string digits_fixed(const std::string& lo, const std::string& hi);

// Decimal integers in [lo, hi] (lo <= hi, both >= 0), no leading zeros.
std::string uint_range(uint64_t lo, uint64_t hi) {
  std::string a = std::to_string(lo), b = std::to_string(hi);
  if (a.size() < b.size()) {
    uint64_t top = 1;
    for (size_t i = 0; i < a.size(); ++i) top *= 10;
    return "(" + uint_range(lo, top - 1) + " | " + uint_range(top, hi) + ")";
  }
  if (a.size() == 1) return "[" + a + "-" + b + "]";
  // Same length: the first digit is 1-9; the rest are fixed-width.
  return digits_fixed(a, b);
}

// Fixed-width digit strings in [lo, hi] (same length, leading zeros allowed).
std::string digits_fixed(const std::string& lo, const std::string& hi) {
  const size_t w = lo.size();
  if (w == 0) return "\"\"";
  if (lo == hi) return lit(lo);
  if (lo.find_first_not_of('0') == std::string::npos && hi.find_first_not_of('9') == std::string::npos)
    return w == 1 ? "[0-9]" : "[0-9]{" + std::to_string(w) + "}";
  const char a = lo[0], b = hi[0];
  if (w == 1) return std::string("[") + a + "-" + b + "]";
  const std::string rl = lo.substr(1), rh = hi.substr(1);
  if (a == b) return lit(std::string(1, a)) + " " + digits_fixed(rl, rh);
  std::vector<std::string> alts;
  alts.push_back(lit(std::string(1, a)) + " " + digits_fixed(rl, std::string(w - 1, '9')));
  if (a + 1 <= b - 1)
    alts.push_back(std::string("[") + static_cast<char>(a + 1) + "-" + static_cast<char>(b - 1) + "] " +
                   digits_fixed(std::string(w - 1, '0'), std::string(w - 1, '9')));
  alts.push_back(lit(std::string(1, b)) + " " + digits_fixed(std::string(w - 1, '0'), rh));
  std::string o = "(";
  for (size_t i = 0; i < alts.size(); ++i) o += (i ? " | " : "") + alts[i];
  return o + ")";
}

constexpr int64_t kMaxInt = 9999999999999999;  // 16 digits, as integral-part allows

// Integers >= lo with at most 16 digits.
std::string int_at_least(int64_t lo) {
  if (lo <= 0) {
    std::string neg = lo < 0 ? "\"-\" " + uint_range(1, static_cast<uint64_t>(-lo)) + " | " : "";
    return "(" + neg + "integral-part)";
  }
  return uint_range(static_cast<uint64_t>(lo), kMaxInt);
}

std::string int_between(int64_t lo, int64_t hi) {
  std::vector<std::string> alts;
  if (lo < 0) alts.push_back("\"-\" " + uint_range(static_cast<uint64_t>(std::max<int64_t>(-hi, 1)), static_cast<uint64_t>(-lo)));
  if (hi >= 0) alts.push_back(uint_range(static_cast<uint64_t>(std::max<int64_t>(lo, 0)), static_cast<uint64_t>(hi)));
  if (alts.size() == 1) return alts[0];
  return "(" + alts[0] + " | " + alts[1] + ")";
}

class Converter {
 public:
  explicit Converter(Json root, bool raw = false) : root_(std::move(root)), raw_(raw) {}

  // Raw mode: the root string schema's content only (json_schema_raw_string_gbnf).
  Result<std::string> run_raw() {
    const Json& s = root_;
    if (!s.is_object() || !(s.contains("format") || s.contains("pattern")))
      return err("", "a raw string grammar needs a string schema with 'format' or 'pattern'");
    NURI_TRY(check_keywords(s, ""));
    if (s.contains("minLength") || s.contains("maxLength"))
      return err("", "'format'/'pattern' together with minLength/maxLength is not supported");
    std::string body;
    if (s.contains("format")) {
      if (!s["format"].is_string()) return err("", "'format' must be a string");
      const std::string f = s["format"].get<std::string>();
      if (f != "date" && f != "time" && f != "date-time" && f != "uuid")
        return err("", "unsupported format '" + f + "' (supported: date, time, date-time, uuid)");
      body = use(f);
    } else {
      if (!s["pattern"].is_string()) return err("", "'pattern' must be a string");
      NURI_ASSIGN_OR_RETURN(body, regex_to_gbnf(s["pattern"].get<std::string>(), ""));
    }
    rules_.erase("space");
    std::string out = "root ::= " + body + "\n";
    for (const auto& [name, b] : rules_)
      if (name != "root") out += name + " ::= " + b + "\n";
    return out;
  }

  Result<std::string> run() {
    auto r = visit(root_, "root", "");
    if (!r.ok()) return r.status();
    if (*r != "root") rules_["root"] = *r;
    std::string out;
    // root first, then the rest in name order.
    out += "root ::= " + rules_["root"] + "\n";
    for (const auto& [name, body] : rules_)
      if (name != "root") out += name + " ::= " + body + "\n";
    return out;
  }

 private:
  Status err(const std::string& path, const std::string& msg) const {
    return Error("JSON schema" + std::string(path.empty() ? "" : " at " + path) + ": " + msg);
  }

  std::string use(const std::string& prim) {
    if (!rules_.count(prim)) {
      rules_[prim] = primitives().at(prim);
      auto it = primitive_deps().find(prim);
      if (it != primitive_deps().end())
        for (const auto& d : it->second) use(d);
    }
    return prim;
  }

  // A fresh rule name derived from a hint (letters, digits, '-').
  std::string name_for(const std::string& hint) {
    std::string n;
    for (char c : hint) n += (std::isalnum(static_cast<unsigned char>(c)) ? c : '-');
    if (n.empty()) n = "r";
    if (primitives().count(n)) n += "-x";
    std::string cand = n;
    for (int i = 2; rules_.count(cand) || reserved_.count(cand); ++i) cand = n + "-" + std::to_string(i);
    reserved_.insert(cand);
    return cand;
  }
  std::string add(const std::string& hint, const std::string& body) {
    auto it = by_body_.find(body);
    if (it != by_body_.end()) return it->second;
    std::string n = name_for(hint);
    rules_[n] = body;
    by_body_[body] = n;
    return n;
  }

  Result<Json> resolve(const std::string& ref, const std::string& path) {
    if (ref == "#") return root_;
    if (ref.rfind("#/", 0) != 0) return err(path, "$ref '" + ref + "' is not supported (only local refs like #/$defs/Name)");
    try {
      Json::json_pointer p(ref.substr(1));
      if (!root_.contains(p)) return err(path, "$ref '" + ref + "' points to nothing");
      return root_.at(p);
    } catch (const std::exception& e) {
      return err(path, "bad $ref '" + ref + "': " + e.what());
    }
  }

  Status check_keywords(const Json& s, const std::string& path) {
    static const std::set<std::string> kKnown = {
        "type", "properties", "required", "additionalProperties", "enum", "const", "items", "prefixItems",
        "minItems", "maxItems", "minLength", "maxLength", "pattern", "format", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "$ref", "$defs", "definitions", "anyOf", "oneOf", "allOf",
        "title", "description", "default", "examples", "$schema", "$id", "$comment", "readOnly", "writeOnly",
        "deprecated"};
    for (auto it = s.begin(); it != s.end(); ++it)
      if (!kKnown.count(it.key())) return err(path, "unsupported keyword '" + it.key() + "'");
    return Status::ok();
  }

  Result<int64_t> get_int(const Json& s, const char* key, const std::string& path) {
    const Json& v = s[key];
    if (!v.is_number_integer() && !(v.is_number_float() && v.get<double>() == static_cast<double>(static_cast<int64_t>(v.get<double>()))))
      return err(path, std::string("'") + key + "' must be an integer");
    const int64_t x = v.is_number_integer() ? v.get<int64_t>() : static_cast<int64_t>(v.get<double>());
    return x;
  }
  Result<int64_t> get_count(const Json& s, const char* key, const std::string& path) {
    NURI_ASSIGN_OR_RETURN(int64_t x, get_int(s, key, path));
    if (x < 0 || x > 100000) return err(path, std::string("'") + key + "' must be between 0 and 100000");
    return x;
  }

  // Returns a GBNF expression (a rule name, or an inline expression) for schema s.
  Result<std::string> visit(const Json& s, const std::string& hint, const std::string& path) {
    if (++depth_ > 200) return err(path, "schema nests too deeply");
    struct Guard {
      int* d;
      ~Guard() { --*d; }
    } guard{&depth_};
    if (s.is_boolean()) {
      if (s.get<bool>()) return use("value");
      return err(path, "schema 'false' matches nothing");
    }
    if (!s.is_object()) return err(path, "a schema must be an object or a boolean");
    NURI_TRY(check_keywords(s, path));
    if (s.contains("$ref")) {
      if (!s["$ref"].is_string()) return err(path, "'$ref' must be a string");
      const std::string ref = s["$ref"].get<std::string>();
      auto it = refs_.find(ref);
      if (it != refs_.end()) return it->second;
      std::string n = name_for(ref == "#" ? "root-ref" : ref.substr(ref.rfind('/') + 1));
      refs_[ref] = n;
      NURI_ASSIGN_OR_RETURN(Json target, resolve(ref, path));
      NURI_ASSIGN_OR_RETURN(std::string body, visit(target, n, ref));
      rules_[n] = body;
      return n;
    }
    if (s.contains("const")) return add(hint, lit(s["const"].dump()) + " " + use("space"));
    if (s.contains("enum")) {
      if (!s["enum"].is_array() || s["enum"].empty()) return err(path, "'enum' must be a non-empty array");
      std::string body = "(";
      for (size_t i = 0; i < s["enum"].size(); ++i) body += (i ? " | " : "") + lit(s["enum"][i].dump());
      return add(hint, body + ") " + use("space"));
    }
    for (const char* k : {"anyOf", "oneOf"}) {
      if (!s.contains(k)) continue;
      if (!s[k].is_array() || s[k].empty()) return err(path, std::string("'") + k + "' must be a non-empty array");
      std::string body;
      for (size_t i = 0; i < s[k].size(); ++i) {
        NURI_ASSIGN_OR_RETURN(std::string e, visit(s[k][i], hint + "-" + std::to_string(i), path + "/" + k + "/" + std::to_string(i)));
        body += (i ? " | " : "") + e;
      }
      return add(hint, body);
    }
    if (s.contains("allOf")) return visit_all_of(s, hint, path);
    if (s.contains("type") && s["type"].is_array()) {
      if (s["type"].empty()) return err(path, "'type' must not be an empty array");
      std::string body;
      for (size_t i = 0; i < s["type"].size(); ++i) {
        Json one = s;
        one["type"] = s["type"][i];
        NURI_ASSIGN_OR_RETURN(std::string e, visit(one, hint + "-" + std::to_string(i), path));
        body += (i ? " | " : "") + e;
      }
      return add(hint, body);
    }
    std::string type;
    if (s.contains("type")) {
      if (!s["type"].is_string()) return err(path, "'type' must be a string or an array of strings");
      type = s["type"].get<std::string>();
    } else if (s.contains("properties") || s.contains("additionalProperties")) {
      type = "object";
    } else if (s.contains("items") || s.contains("prefixItems")) {
      type = "array";
    } else if (s.contains("pattern") || s.contains("format") || s.contains("minLength") || s.contains("maxLength")) {
      type = "string";
    } else {
      return use("value");
    }
    if (type == "object") return visit_object(s, hint, path);
    if (type == "array") return visit_array(s, hint, path);
    if (type == "string") return visit_string(s, hint, path);
    if (type == "integer") return visit_integer(s, hint, path);
    if (type == "number") {
      for (const char* k : {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})
        if (s.contains(k)) return err(path, std::string("'") + k + "' is supported only for type integer");
      return use("number");
    }
    if (type == "boolean") return use("boolean");
    if (type == "null") return use("null");
    return err(path, "unsupported type '" + type + "'");
  }

  Result<std::string> visit_all_of(const Json& s, const std::string& hint, const std::string& path) {
    if (!s["allOf"].is_array() || s["allOf"].empty()) return err(path, "'allOf' must be a non-empty array");
    Json merged = Json::object();
    merged["type"] = "object";
    merged["properties"] = Json::object();
    Json required = Json::array();
    for (size_t i = 0; i < s["allOf"].size(); ++i) {
      Json part = s["allOf"][i];
      const std::string pp = path + "/allOf/" + std::to_string(i);
      for (int hops = 0; part.is_object() && part.contains("$ref") && hops < 32; ++hops) {
        NURI_ASSIGN_OR_RETURN(Json t, resolve(part["$ref"].get<std::string>(), pp));
        part = t;
      }
      if (!part.is_object() || (part.contains("type") && part["type"] != "object") ||
          !(part.contains("properties") || part.contains("required") || part.contains("type")))
        return err(pp, "'allOf' is supported only for object schemas");
      NURI_TRY(check_keywords(part, pp));
      for (const char* k : {"anyOf", "oneOf", "allOf", "items", "prefixItems", "enum", "const"})
        if (part.contains(k)) return err(pp, std::string("'") + k + "' inside 'allOf' is not supported");
      if (part.contains("properties"))
        for (auto it = part["properties"].begin(); it != part["properties"].end(); ++it) merged["properties"][it.key()] = it.value();
      if (part.contains("required"))
        for (const auto& r : part["required"]) required.push_back(r);
      if (part.contains("additionalProperties")) merged["additionalProperties"] = part["additionalProperties"];
    }
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (it.key() == "allOf") continue;
      if (it.key() == "properties")
        for (auto p = it.value().begin(); p != it.value().end(); ++p) merged["properties"][p.key()] = p.value();
      else if (it.key() == "required")
        for (const auto& r : it.value()) required.push_back(r);
      else if (it.key() != "type" && it.key() != "$defs" && it.key() != "definitions")
        merged[it.key()] = it.value();
    }
    merged["required"] = required;
    return visit_object(merged, hint, path);
  }

  // A JSON string (with quotes) whose content is anything except exactly one of `names`.
  std::string key_not_in(const std::vector<std::string>& names, const std::string& hint) {
    // Trie over the names' bytes; at each prefix: stop (if not a name), leave the trie with any
    // other char (then any chars), or follow a child.
    struct T {
      std::map<unsigned char, int> kids;
      bool end = false;
    };
    std::vector<T> t(1);
    for (const auto& n : names) {
      int cur = 0;
      for (unsigned char c : n) {
        auto it = t[cur].kids.find(c);
        if (it == t[cur].kids.end()) {
          t.push_back({});
          int id = static_cast<int>(t.size()) - 1;
          t[cur].kids[c] = id;
          cur = id;
        } else {
          cur = it->second;
        }
      }
      t[cur].end = true;
    }
    use("char");
    use("space");
    std::vector<std::string> names_of(t.size());
    for (size_t i = 0; i < t.size(); ++i) names_of[i] = name_for(hint + "-key");
    for (size_t i = 0; i < t.size(); ++i) {
      std::vector<std::string> alts;
      if (!t[i].end) alts.push_back("\"\\\"\" space");
      // Any char that is not a child byte (ASCII children only; names are matched byte-wise).
      std::string excl;
      for (auto& [c, id] : t[i].kids) {
        if (c < 0x80 && c != '"' && c != '\\' && c >= 0x20) {
          if (c == ']' || c == '[' || c == '^' || c == '-') excl += '\\';
          excl += static_cast<char>(c);
        }
      }
      alts.push_back("[^\"\\\\\\x7F\\x00-\\x1F" + excl + "] char* \"\\\"\" space");
      alts.push_back("\"\\\\\" ([\"\\\\/bfnrt] | \"u\" [0-9a-fA-F]{4}) char* \"\\\"\" space");
      for (auto& [c, id] : t[i].kids) alts.push_back(lit(std::string(1, static_cast<char>(c))) + " " + names_of[id]);
      std::string body;
      for (size_t k = 0; k < alts.size(); ++k) body += (k ? " | " : "") + alts[k];
      rules_[names_of[i]] = body;
    }
    return "\"\\\"\" " + names_of[0];
  }

  Result<std::string> visit_object(const Json& s, const std::string& hint, const std::string& path) {
    Json props = s.contains("properties") ? s["properties"] : Json::object();
    if (!props.is_object()) return err(path, "'properties' must be an object");
    std::set<std::string> required;
    if (s.contains("required")) {
      if (!s["required"].is_array()) return err(path, "'required' must be an array of property names");
      for (const auto& r : s["required"]) {
        if (!r.is_string()) return err(path, "'required' must be an array of property names");
        if (!props.contains(r.get<std::string>()))
          return err(path, "required property '" + r.get<std::string>() + "' is not in 'properties'");
        required.insert(r.get<std::string>());
      }
    }
    // Extra keys: with no properties, any (unless additionalProperties: false); with properties,
    // only when additionalProperties says so.
    std::string extra;
    const bool has_ap = s.contains("additionalProperties");
    const bool ap_allows = has_ap ? !(s["additionalProperties"].is_boolean() && !s["additionalProperties"].get<bool>())
                                  : props.empty();
    if (ap_allows) {
      std::string value = use("value");
      if (has_ap && s["additionalProperties"].is_object()) {
        NURI_ASSIGN_OR_RETURN(value, visit(s["additionalProperties"], hint + "-additional", path + "/additionalProperties"));
      }
      std::vector<std::string> names;
      for (auto it = props.begin(); it != props.end(); ++it) names.push_back(it.key());
      bool ascii = true;
      for (const auto& n : names)
        for (unsigned char c : n) ascii = ascii && c < 0x80;
      // Non-ASCII names: plain string keys (an extra key could then repeat a declared name).
      std::string key = names.empty() || !ascii ? use("string") : key_not_in(names, hint);
      extra = add(hint + "-extra-kv", key + " \":\" " + use("space") + " " + value);
    }
    std::vector<std::string> req_kv, opt_kv;
    for (auto it = props.begin(); it != props.end(); ++it) {
      NURI_ASSIGN_OR_RETURN(std::string v, visit(it.value(), hint + "-" + it.key(), path + "/properties/" + it.key()));
      std::string kv = add(hint + "-" + it.key() + "-kv", lit(Json(it.key()).dump()) + " " + use("space") + " \":\" space " + v);
      (required.count(it.key()) ? req_kv : opt_kv).push_back(kv);
    }
    use("space");
    std::string body = "\"{\" space ";
    if (!req_kv.empty()) {
      for (size_t i = 0; i < req_kv.size(); ++i) body += (i ? "\",\" space " : "") + req_kv[i] + " ";
      for (const auto& o : opt_kv) body += "(\",\" space " + o + ")? ";
      if (!extra.empty()) body += "(\",\" space " + extra + ")* ";
    } else if (!opt_kv.empty() || !extra.empty()) {
      // T_i ::= kv_i ("," space T_{i+1})? | T_{i+1};  T_{n} ::= extra ("," space extra)*
      std::string next;
      if (!extra.empty()) next = add(hint + "-rest", extra + " (\",\" space " + extra + ")*");
      for (size_t i = opt_kv.size(); i-- > 0;) {
        std::string b = opt_kv[i] + (next.empty() ? "" : " (\",\" space " + next + ")?");
        if (!next.empty()) b += " | " + next;
        next = add(hint + "-rest", b);
      }
      body += "(" + next + ")? ";
    }
    body += "\"}\" space";
    return add(hint, body);
  }

  Result<std::string> visit_array(const Json& s, const std::string& hint, const std::string& path) {
    int64_t mn = 0, mx = -1;
    if (s.contains("minItems")) { NURI_ASSIGN_OR_RETURN(mn, get_count(s, "minItems", path)); }
    if (s.contains("maxItems")) { NURI_ASSIGN_OR_RETURN(mx, get_count(s, "maxItems", path)); }
    if (mx >= 0 && mx < mn) return err(path, "maxItems is below minItems");
    std::vector<std::string> prefix;
    if (s.contains("prefixItems")) {
      if (!s["prefixItems"].is_array()) return err(path, "'prefixItems' must be an array of schemas");
      for (size_t i = 0; i < s["prefixItems"].size(); ++i) {
        NURI_ASSIGN_OR_RETURN(std::string e, visit(s["prefixItems"][i], hint + "-" + std::to_string(i), path + "/prefixItems/" + std::to_string(i)));
        prefix.push_back(e);
      }
    }
    std::string item;
    bool more = true;
    if (s.contains("items")) {
      if (s["items"].is_boolean() && !s["items"].get<bool>()) more = false;
      else if (s["items"].is_array()) return err(path, "'items' as an array (old tuple form) is not supported; use 'prefixItems'");
      else { NURI_ASSIGN_OR_RETURN(item, visit(s["items"], hint + "-item", path + "/items")); }
    } else {
      item = use("value");
    }
    use("space");
    const int64_t np = static_cast<int64_t>(prefix.size());
    if (mx >= 0 && np > mx) return err(path, "prefixItems has more entries than maxItems allows");
    if (!more && mn > np) return err(path, "minItems needs more items than prefixItems with items: false allows");
    std::string body = "\"[\" space ";
    if (np > 0) {
      for (int64_t i = 0; i < np; ++i) body += (i ? "\",\" space " : "") + prefix[i] + " ";
      if (more) {
        const int64_t lo = std::max<int64_t>(mn - np, 0);
        const int64_t hi = mx < 0 ? -1 : mx - np;
        if (hi != 0) body += "(\",\" space " + item + "){" + std::to_string(lo) + "," + (hi < 0 ? "" : std::to_string(hi)) + "} ";
      }
    } else if (mx != 0) {
      const std::string rest = "(\",\" space " + item + "){" + std::to_string(std::max<int64_t>(mn - 1, 0)) + "," +
                               (mx < 0 ? "" : std::to_string(mx - 1)) + "}";
      if (mn >= 1) body += item + " " + rest + " ";
      else body += "(" + item + " " + rest + ")? ";
    }
    body += "\"]\" space";
    return add(hint, body);
  }

  Result<std::string> visit_integer(const Json& s, const std::string& hint, const std::string& path) {
    bool has_lo = false, has_hi = false;
    int64_t lo = 0, hi = 0;
    auto bound = [&](const char* k, int64_t adj, bool is_lo) -> Status {
      if (!s.contains(k)) return Status::ok();
      if (!s[k].is_number()) return err(path, std::string("'") + k + "' must be a number");
      const double d = s[k].get<double>();
      if (d < -9e15 || d > 9e15) return err(path, std::string("'") + k + "' is outside the 16-digit integer range");
      int64_t v = is_lo ? static_cast<int64_t>(std::ceil(d)) : static_cast<int64_t>(std::floor(d));
      if (adj && static_cast<double>(v) == d) v += adj;
      if (is_lo) {
        lo = has_lo ? std::max(lo, v) : v;
        has_lo = true;
      } else {
        hi = has_hi ? std::min(hi, v) : v;
        has_hi = true;
      }
      return Status::ok();
    };
    NURI_TRY(bound("minimum", 0, true));
    NURI_TRY(bound("exclusiveMinimum", 1, true));
    NURI_TRY(bound("maximum", 0, false));
    NURI_TRY(bound("exclusiveMaximum", -1, false));
    if (!has_lo && !has_hi) return use("integer");
    use("integral-part");
    use("space");
    if (has_lo && has_hi && lo > hi) return err(path, "minimum is above maximum: no integer fits");
    std::string e;
    if (has_lo && has_hi) e = int_between(lo, hi);
    else if (has_lo) e = int_at_least(lo);
    else if (hi >= 0) e = "(\"-\" [1-9] [0-9]{0,15} | " + uint_range(0, static_cast<uint64_t>(hi)) + ")";
    else e = "\"-\" " + int_at_least(-hi);
    return add(hint, e + " space");
  }

  Result<std::string> visit_string(const Json& s, const std::string& hint, const std::string& path) {
    use("space");
    int64_t mn = 0, mx = -1;
    if (s.contains("minLength")) { NURI_ASSIGN_OR_RETURN(mn, get_count(s, "minLength", path)); }
    if (s.contains("maxLength")) { NURI_ASSIGN_OR_RETURN(mx, get_count(s, "maxLength", path)); }
    if (mx >= 0 && mx < mn) return err(path, "maxLength is below minLength");
    const bool lens = s.contains("minLength") || s.contains("maxLength");
    if (s.contains("format")) {
      if (!s["format"].is_string()) return err(path, "'format' must be a string");
      const std::string f = s["format"].get<std::string>();
      if (f != "date" && f != "time" && f != "date-time" && f != "uuid")
        return err(path, "unsupported format '" + f + "' (supported: date, time, date-time, uuid)");
      if (lens || s.contains("pattern")) return err(path, "'format' together with a length or 'pattern' is not supported");
      return add(hint, "\"\\\"\" " + use(f) + " \"\\\"\" space");
    }
    if (s.contains("pattern")) {
      if (!s["pattern"].is_string()) return err(path, "'pattern' must be a string");
      if (lens) return err(path, "'pattern' together with minLength/maxLength is not supported");
      NURI_ASSIGN_OR_RETURN(std::string e, regex_to_gbnf(s["pattern"].get<std::string>(), path));
      return add(hint, "\"\\\"\" " + e + " \"\\\"\" space");
    }
    if (!lens) return use("string");
    use("char");
    return add(hint, "\"\\\"\" char{" + std::to_string(mn) + "," + (mx < 0 ? "" : std::to_string(mx)) + "} \"\\\"\" space");
  }

  // ---- pattern (regex subset) -> GBNF ----
  Result<std::string> regex_to_gbnf(const std::string& re, const std::string& path) {
    std::string p = re;
    if (!p.empty() && p[0] == '^') p = p.substr(1);
    if (!p.empty() && p.back() == '$' && (p.size() < 2 || p[p.size() - 2] != '\\')) p.pop_back();
    size_t i = 0;
    auto r = regex_alt(p, i, path);
    if (!r.ok()) return r.status();
    if (i != p.size()) return err(path, "pattern: unexpected '" + std::string(1, p[i]) + "' at offset " + std::to_string(i));
    use("space");
    return "(" + *r + ")";
  }

  // A char as GBNF class item: JSON string content must escape '"', '\' and control chars, so
  // those are left out (the grammar then matches a subset of the pattern's language).
  static bool json_plain(uint32_t c) { return c >= 0x20 && c != '"' && c != '\\' && c != 0x7F; }
  static std::string cls_item(uint32_t c) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\U%08X", c);
    return buf;
  }

  Result<std::string> regex_alt(const std::string& p, size_t& i, const std::string& path) {
    std::string out;
    NURI_ASSIGN_OR_RETURN(std::string first, regex_seq(p, i, path));
    out = first;
    while (i < p.size() && p[i] == '|') {
      ++i;
      NURI_ASSIGN_OR_RETURN(std::string next, regex_seq(p, i, path));
      out += " | " + next;
    }
    return out;
  }

  // Reads one (possibly multi-byte) character of the pattern.
  static uint32_t read_cp(const std::string& p, size_t& i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    int n = c < 0x80 ? 0 : (c >> 5) == 6 ? 1 : (c >> 4) == 14 ? 2 : 3;
    uint32_t v = n == 0 ? c : n == 1 ? (c & 0x1F) : n == 2 ? (c & 0x0F) : (c & 0x07);
    ++i;
    for (int k = 0; k < n && i < p.size(); ++k, ++i) v = (v << 6) | (static_cast<unsigned char>(p[i]) & 0x3F);
    return v;
  }

  // Class items for \d \w \s (positive), or a single escaped char.
  Result<std::string> class_escape(char e, bool* is_set, uint32_t* cp, const std::string& path) {
    *is_set = true;
    switch (e) {
      case 'd': return std::string("0-9");
      case 'w': return std::string("a-zA-Z0-9_");
      case 's': return std::string(" ");  // \t \n \r would need JSON escapes
      case 'D': case 'W': case 'S': case 'b': case 'B':
        return err(path, std::string("pattern: '\\") + e + "' is not supported");
      default: break;
    }
    *is_set = false;
    switch (e) {
      case 'n': *cp = '\n'; break;
      case 't': *cp = '\t'; break;
      case 'r': *cp = '\r'; break;
      default:
        if (std::isalnum(static_cast<unsigned char>(e))) return err(path, std::string("pattern: '\\") + e + "' is not supported");
        *cp = static_cast<unsigned char>(e);
    }
    return std::string();
  }

  Result<std::string> regex_seq(const std::string& p, size_t& i, const std::string& path) {
    std::vector<std::string> items;
    while (i < p.size() && p[i] != '|' && p[i] != ')') {
      std::string atom;
      const char c = p[i];
      if (c == '(') {
        ++i;
        if (p.compare(i, 2, "?:") == 0) i += 2;
        else if (i < p.size() && p[i] == '?') return err(path, "pattern: lookaround and named groups are not supported");
        NURI_ASSIGN_OR_RETURN(std::string inner, regex_alt(p, i, path));
        if (i >= p.size() || p[i] != ')') return err(path, "pattern: unbalanced '('");
        ++i;
        atom = "(" + inner + ")";
      } else if (c == '[') {
        ++i;
        bool neg = false;
        if (i < p.size() && p[i] == '^') {
          neg = true;
          ++i;
        }
        std::string items_s;
        bool first = true;
        while (i < p.size() && (p[i] != ']' || first)) {
          first = false;
          uint32_t lo;
          if (p[i] == '\\') {
            if (i + 1 >= p.size()) return err(path, "pattern: dangling '\\'");
            bool set;
            NURI_ASSIGN_OR_RETURN(std::string cls, class_escape(p[i + 1], &set, &lo, path));
            i += 2;
            if (set) {
              items_s += cls;
              continue;
            }
          } else {
            lo = read_cp(p, i);
          }
          uint32_t hi = lo;
          if (i + 1 < p.size() && p[i] == '-' && p[i + 1] != ']') {
            ++i;
            if (p[i] == '\\') {
              bool set;
              NURI_ASSIGN_OR_RETURN(std::string cls, class_escape(p[i + 1], &set, &hi, path));
              if (set) return err(path, "pattern: a class escape cannot end a range");
              i += 2;
            } else {
              hi = read_cp(p, i);
            }
          }
          if (hi < lo) return err(path, "pattern: reversed range in character class");
          if (neg) items_s += cls_item(lo) + "-" + cls_item(hi);
          else {
            // Keep only JSON-plain characters of the range.
            for (auto [a, b] : plain_parts(lo, hi)) {
              // Raw mode: '<' left out of the range.
              std::vector<std::pair<uint32_t, uint32_t>> parts = {{a, b}};
              if (raw_ && a <= '<' && '<' <= b) {
                parts.clear();
                if (a < '<') parts.push_back({a, '<' - 1});
                if (b > '<') parts.push_back({'<' + 1, b});
              }
              for (auto [x, y] : parts) items_s += cls_item(x) + (x == y ? "" : "-" + cls_item(y));
            }
          }
        }
        if (i >= p.size()) return err(path, "pattern: unterminated '['");
        ++i;
        if (neg) atom = "[^" + items_s + "\\x00-\\x1F\"\\\\\\x7F" + (raw_ ? "<" : "") + "]";
        else if (items_s.empty()) return err(path, "pattern: a character class matches no JSON-plain character");
        else atom = "[" + items_s + "]";
      } else if (c == '.') {
        ++i;
        atom = raw_ ? "[^\\x00-\\x1F\"\\\\\\x7F<]" : "[^\\x00-\\x1F\"\\\\\\x7F]";
      } else if (c == '\\') {
        if (i + 1 >= p.size()) return err(path, "pattern: dangling '\\'");
        bool set;
        uint32_t cp = 0;
        NURI_ASSIGN_OR_RETURN(std::string cls, class_escape(p[i + 1], &set, &cp, path));
        i += 2;
        if (set) atom = "[" + cls + "]";
        else if (raw_ && (cp == '<' || cp < 0x20)) return err(path, "pattern: this call syntax cannot carry '<' or control characters raw");
        else if (raw_ && !json_plain(cp)) atom = lit(std::string(1, static_cast<char>(cp)));
        else if (!json_plain(cp)) atom = lit(cp == '"' ? "\\\"" : cp == '\\' ? "\\\\" : cp == '\n' ? "\\n" : cp == '\t' ? "\\t" : "\\r");
        else if (raw_ && cp == '<') return err(path, "pattern: this call syntax cannot carry '<' raw");
        else atom = "[" + cls_item(cp) + "]";
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        return err(path, std::string("pattern: '") + c + "' has nothing to repeat");
      } else if (c == '^' || c == '$') {
        return err(path, "pattern: anchors are supported only at the start and end");
      } else {
        uint32_t cp = read_cp(p, i);
        if (cp < 0x20 || cp == 0x7F) return err(path, "pattern: raw control characters are not supported");
        if (raw_ && cp == '<') return err(path, "pattern: this call syntax cannot carry '<' raw");
        if (cp == '"') atom = raw_ ? lit("\"") : lit("\\\"");
        else atom = "[" + cls_item(cp) + "]";
      }
      // Quantifier.
      if (i < p.size()) {
        const char q = p[i];
        if (q == '*' || q == '+' || q == '?') {
          atom += q;
          ++i;
        } else if (q == '{') {
          size_t close = p.find('}', i);
          if (close == std::string::npos) return err(path, "pattern: unterminated '{'");
          std::string body = p.substr(i + 1, close - i - 1);
          if (body.empty() || body.find_first_not_of("0123456789,") != std::string::npos)
            return err(path, "pattern: bad repetition '{" + body + "}'");
          atom = "(" + atom + "){" + body + "}";
          i = close + 1;
        }
        if (i < p.size() && (p[i] == '?' || p[i] == '+')) ++i;  // lazy/possessive: same language
      }
      items.push_back(atom);
    }
    if (items.empty()) return std::string("\"\"");
    std::string out;
    for (size_t k = 0; k < items.size(); ++k) out += (k ? " " : "") + items[k];
    return out;
  }

  static std::vector<std::pair<uint32_t, uint32_t>> plain_parts(uint32_t lo, uint32_t hi) {
    static const uint32_t kBad[4][2] = {{0, 0x1F}, {0x22, 0x22}, {0x5C, 0x5C}, {0x7F, 0x7F}};
    std::vector<std::pair<uint32_t, uint32_t>> out;
    uint32_t cur = lo;
    for (const auto& b : kBad) {
      if (b[1] < cur) continue;
      if (b[0] > hi) break;
      if (b[0] > cur) out.push_back({cur, std::min(hi, b[0] - 1)});
      cur = std::max(cur, b[1] + 1);
      if (cur > hi) return out;
    }
    if (cur <= hi) out.push_back({cur, hi});
    return out;
  }

  Json root_;
  bool raw_ = false;  // run_raw(): characters as written raw, never '<'
  std::map<std::string, std::string> rules_;
  std::map<std::string, std::string> by_body_;
  std::map<std::string, std::string> refs_;
  std::set<std::string> reserved_;
  int depth_ = 0;
};

}  // namespace

Result<std::string> json_schema_raw_string_gbnf(std::string_view schema_json) {
  Json schema = Json::parse(schema_json.begin(), schema_json.end(), nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return Error("JSON schema: not valid JSON");
  Converter c(std::move(schema), /*raw=*/true);
  return c.run_raw();
}

Result<std::string> json_schema_to_gbnf(std::string_view schema_json) {
  Json schema = Json::parse(schema_json.begin(), schema_json.end(), nullptr, /*allow_exceptions=*/false);
  if (schema.is_discarded()) return Error("JSON schema: not valid JSON");
  Converter c(std::move(schema));
  return c.run();
}

}  // namespace nuri::grammar
