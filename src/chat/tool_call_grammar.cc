// chat/tool_call_grammar.cc — GBNF for a family's call syntax with schema-checked arguments.
// Each tool's parameter schema becomes rules prefixed "tN-" (JSON-bodied families) or one rule
// set per parameter "tN-pM-" (XML families: string parameters are free text without '<', others
// JSON; Gemma 4 and pythonic calls: top-level strings in the family's quotes, booleans in
// Python's spelling for pythonic, other values JSON, which their literal readers accept). The
// wrapper text copies what the family's template renders, so a constrained reply looks like the
// model's own calls.
#include <algorithm>
#include <cctype>

#include "chat/tool_call_util.h"

namespace nuri::chat {

using detail::json;

std::string prefix_gbnf_rules(std::string_view g, std::string_view prefix) {
  std::string r;
  r.reserve(g.size() + 64);
  size_t i = 0;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; };
  while (i < g.size()) {
    char c = g[i];
    if (c == '"' || c == '[') {  // literal or class: copy through the closing quote/bracket
      char close = c == '"' ? '"' : ']';
      size_t j = i + 1;
      while (j < g.size() && g[j] != close) j += (g[j] == '\\') ? 2 : 1;
      j = std::min(j + 1, g.size());
      r.append(g.substr(i, j - i));
      i = j;
    } else if (c == '#') {
      size_t j = g.find('\n', i);
      if (j == std::string_view::npos) j = g.size();
      i = j;
    } else if (c == '{') {
      size_t j = g.find('}', i);
      j = j == std::string_view::npos ? g.size() : j + 1;
      r.append(g.substr(i, j - i));
      i = j;
    } else if (word(c)) {
      size_t j = i;
      while (j < g.size() && word(g[j])) ++j;
      r.append(prefix);
      r.append(g.substr(i, j - i));
      i = j;
    } else {
      r += c;
      ++i;
    }
  }
  return r;
}

namespace {

std::string lit(std::string_view s) {
  std::string r = "\"";
  for (char c : s) {
    switch (c) {
      case '"': r += "\\\""; break;
      case '\\': r += "\\\\"; break;
      case '\n': r += "\\n"; break;
      case '\r': r += "\\r"; break;
      case '\t': r += "\\t"; break;
      default: r += c;
    }
  }
  return r + "\"";
}

// XML families write string values raw: an enum/const of strings becomes literal alternatives,
// any other string schema free text without '<', of minLength..maxLength code points when given
// (pattern and format are not enforced).
// Returns "" when the schema is not a string schema (its value is written as JSON).
std::string raw_string_value(const json& s) {
  if (!s.is_object()) return "";
  std::vector<std::string> vals;
  if (s.contains("const") && s["const"].is_string()) vals.push_back(s["const"].get<std::string>());
  if (s.contains("enum") && s["enum"].is_array()) {
    for (const auto& v : s["enum"]) {
      if (!v.is_string()) return "";
      vals.push_back(v.get<std::string>());
    }
  }
  auto t = s.find("type");
  bool str = (t != s.end() && t->is_string() && *t == "string") || !vals.empty();
  if (!str) return "";
  if (vals.empty()) {
    auto count = [&](const char* k, int64_t dflt) {
      auto it = s.find(k);
      if (it == s.end() || !it->is_number_integer() || it->get<int64_t>() < 0) return dflt;
      return std::min<int64_t>(it->get<int64_t>(), 100000);
    };
    const int64_t mn = count("minLength", 0), mx = count("maxLength", -1);
    if (mn == 0 && mx < 0) return "xml-text";
    if (mx >= 0 && mx < mn) return "xml-text";  // contradictory: the JSON Schema side reports it for JSON families
    return "[^<]{" + std::to_string(mn) + "," + (mx < 0 ? "" : std::to_string(mx)) + "}";
  }
  std::string alt = "(";
  for (size_t i = 0; i < vals.size(); ++i) alt += (i ? " | " : "") + lit(vals[i]);
  return alt + ")";
}

struct Builder {
  const SchemaToGbnf& conv;
  std::string rules;
  int counter = 0;
  const SchemaToGbnf* raw = nullptr;  // ToolGrammarOptions::raw_string_to_gbnf

  // A raw (XML-family) string value for `s`, "" when `s` is not a string schema. With a raw
  // converter, format and pattern are enforced; without one such strings are free text.
  Result<std::string> raw_string(const json& s, const std::string& prefix) {
    std::string v = raw_string_value(s);
    if (v.empty() || !raw || !*raw || !s.is_object() || s.contains("enum") || s.contains("const") ||
        !(s.contains("format") || s.contains("pattern")))
      return v;
    Result<std::string> g = (*raw)(s);
    if (!g.ok()) return g.status();
    rules += prefix_gbnf_rules(*g, prefix);
    rules += "\n";
    return prefix + "root";
  }

  // Adds the rules for `schema` and returns the name of its root rule.
  Result<std::string> schema_rule(const json& schema, const std::string& prefix) {
    Result<std::string> g = conv(schema);
    if (!g.ok()) return g.status();
    rules += prefix_gbnf_rules(*g, prefix);
    rules += "\n";
    return prefix + "root";
  }
};

json params_of(const json& fn) {
  if (fn.contains("parameters") && fn["parameters"].is_object()) return fn["parameters"];
  return json{{"type", "object"}, {"properties", json::object()}};
}

// XML-family parameters: one expression per property, required ones first in schema order.
Result<std::string> xml_params(Builder* b, const json& params, const std::string& prefix,
                               const std::function<std::string(const std::string& key, const std::string& value,
                                                               bool is_string)>& one) {
  std::string expr;
  if (!params.contains("properties") || !params["properties"].is_object()) return std::string("\"\"");
  std::vector<std::string> req;
  if (params.contains("required") && params["required"].is_array())
    for (const auto& r : params["required"]) req.push_back(r.get<std::string>());
  int j = 0;
  for (bool required_pass : {true, false}) {
    for (const auto& [key, schema] : params["properties"].items()) {
      bool is_req = std::find(req.begin(), req.end(), key) != req.end();
      if (is_req != required_pass) continue;
      Result<std::string> raw = b->raw_string(schema, prefix + "p" + std::to_string(j) + "-raw-");
      if (!raw.ok()) return Status(raw.status().with_context("property '" + key + "'"));
      std::string value = *raw;
      bool str = !value.empty();
      if (!str) {
        Result<std::string> r = b->schema_rule(schema, prefix + "p" + std::to_string(j) + "-");
        if (!r.ok()) return Status(r.status().with_context("property '" + key + "'"));
        value = *r;
      }
      ++j;
      std::string e = one(key, value, str);
      expr += is_req ? " " + e : " (" + e + ")?";
    }
  }
  return expr.empty() ? std::string("\"\"") : expr;
}

// Optional newline and bounded whitespace: templates of one family differ in layout.
constexpr const char* kNl = "\"\\n\"?";
constexpr const char* kWs = "[ \\t\\n]{0,8}";

// MiniMax-M3 element content for a schema: raw text for strings, <item> children for arrays,
// property children for objects with required properties (as the template renders them),
// JSON text otherwise (its parser reads element text that is not markup as JSON).
constexpr const char* kMm3Sep = "]<]minimax[>[";
Result<std::string> mm3_value(Builder* b, const json& s, const std::string& prefix, int depth) {
  if (depth > 16) return Error("schema nests too deeply for the minimax-m3 call syntax");
  NURI_ASSIGN_OR_RETURN(std::string raw, b->raw_string(s, prefix + "raw-"));
  if (!raw.empty()) return raw;
  const std::string S = lit(kMm3Sep);
  auto type_is = [&](const char* t) { return s.is_object() && s.contains("type") && s["type"].is_string() && s["type"] == t; };
  auto count = [&](const char* k, int64_t dflt) {
    auto it = s.find(k);
    return it != s.end() && it->is_number_integer() && it->get<int64_t>() >= 0 ? std::min<int64_t>(it->get<int64_t>(), 100000) : dflt;
  };
  if (type_is("array") && s.contains("items") && s["items"].is_object() && !s.contains("prefixItems")) {
    const int64_t mn = count("minItems", 0), mx = count("maxItems", -1);
    if (mx < 0 || mx >= mn) {
      NURI_ASSIGN_OR_RETURN(std::string item, mm3_value(b, s["items"], prefix + "i", depth + 1));
      if (mx == 0) return lit("[]");
      // An element without children reads as "": an empty array is written as JSON.
      const std::string items = "(" + S + " " + lit("<item>") + " " + item + " " + S + " " + lit("</item>") + "){" +
                                std::to_string(std::max<int64_t>(mn, 1)) + "," + (mx < 0 ? "" : std::to_string(mx)) + "}";
      return mn == 0 ? "(" + lit("[]") + " | " + items + ")" : items;
    }
  }
  if (type_is("object") && s.contains("properties") && s["properties"].is_object() && s.contains("required") &&
      s["required"].is_array() && !s["required"].empty() &&
      !(s.contains("additionalProperties") && !(s["additionalProperties"].is_boolean() && !s["additionalProperties"].get<bool>()))) {
    std::string expr;
    int j = 0;
    for (bool required_pass : {true, false}) {
      for (const auto& [key, sub] : s["properties"].items()) {
        bool is_req = false;
        for (const auto& r : s["required"]) is_req = is_req || (r.is_string() && r.get<std::string>() == key);
        if (is_req != required_pass) continue;
        NURI_ASSIGN_OR_RETURN(std::string v, mm3_value(b, sub, prefix + "p" + std::to_string(j++) + "-", depth + 1));
        const std::string e = "(" + S + " " + lit("<" + key + ">") + " " + v + " " + S + " " + lit("</" + key + ">") + ")";
        expr += is_req ? " " + e : " " + e + "?";
      }
    }
    return "(" + expr + ")";
  }
  return b->schema_rule(s, prefix);
}

// "k<sep>v" items joined by `comma`, required properties first (in schema order), then the
// optional ones, each of which may be left out. `value(key, schema, j)` gives a value expression.
Result<std::string> kv_list(Builder* b, const json& params, const std::string& prefix, const std::string& comma,
                            const std::function<Result<std::string>(const std::string&, const json&, int)>& item) {
  if (!params.contains("properties") || !params["properties"].is_object()) return std::string("\"\"");
  std::vector<std::string> req_names;
  if (params.contains("required") && params["required"].is_array())
    for (const auto& r : params["required"]) req_names.push_back(r.get<std::string>());
  std::vector<std::string> req, opt;
  int j = 0;
  for (bool required_pass : {true, false}) {
    for (const auto& [key, sub] : params["properties"].items()) {
      const bool is_req = std::find(req_names.begin(), req_names.end(), key) != req_names.end();
      if (is_req != required_pass) continue;
      Result<std::string> e = item(key, sub, j++);
      if (!e.ok()) return Status(e.status().with_context("property '" + key + "'"));
      (is_req ? req : opt).push_back("(" + *e + ")");
    }
  }
  std::string body;
  for (size_t k = 0; k < req.size(); ++k) body += (k ? " " + comma + " " : "") + req[k];
  if (opt.empty()) return body.empty() ? std::string("\"\"") : body;
  // T_k: a non-empty, in-order selection of opt[k..]:  T_k ::= opt_k (comma T_k+1)? | T_k+1
  std::string next;
  for (size_t k = opt.size(); k-- > 0;) {
    const std::string name = prefix + "kv" + std::to_string(k);
    std::string rule = name + " ::= " + opt[k];
    if (!next.empty()) rule += " (" + comma + " " + next + ")? | " + next;
    b->rules += rule + "\n";
    next = name;
  }
  return req.empty() ? "(" + next + ")?" : body + " (" + comma + " " + next + ")?";
}

// A Python single-quoted string of minLength..maxLength characters (pythonic calls).
std::string py_string(const json& s) {
  std::vector<std::string> vals;
  if (s.is_object() && s.contains("enum") && s["enum"].is_array())
    for (const auto& v : s["enum"])
      if (v.is_string()) vals.push_back(v.get<std::string>());
  if (s.is_object() && s.contains("const") && s["const"].is_string()) vals.push_back(s["const"].get<std::string>());
  if (!vals.empty()) {
    std::string alt = "(";
    for (size_t k = 0; k < vals.size(); ++k) {
      std::string q = "'";
      for (char c : vals[k]) {
        if (c == '\'' || c == '\\') q += '\\';
        q += c;
      }
      alt += (k ? " | " : "") + lit(q + "'");
    }
    return alt + ")";
  }
  auto count = [&](const char* k, int64_t dflt) {
    auto it = s.find(k);
    return it != s.end() && it->is_number_integer() && it->get<int64_t>() >= 0 ? std::min<int64_t>(it->get<int64_t>(), 100000) : dflt;
  };
  int64_t mn = count("minLength", 0), mx = count("maxLength", -1);
  if (mx >= 0 && mx < mn) mx = -1;
  return "\"'\" ([^'\\\\\\x00-\\x1F] | \"\\\\\" ['\\\\]){" + std::to_string(mn) + "," + (mx < 0 ? "" : std::to_string(mx)) +
         "} \"'\"";
}

Result<std::string> one_call(Builder* b, const ToolCallSyntax& syn, const json& fn, int i) {
  using K = ToolCallKind;
  const std::string name = fn["name"].get<std::string>();
  const std::string prefix = "t" + std::to_string(i) + "-";
  const json params = params_of(fn);
  auto args = [&]() { return b->schema_rule(params, prefix); };
  switch (syn.kind) {
    case K::kJsonTagged: {
      auto a = args();
      if (!a.ok()) return a;
      if (syn.name == "command-r")
        return lit("{\"tool_call_id\": \"") + " [0-9]{1,3} " + lit("\", \"tool_name\": \"" + name + "\", \"parameters\": ") +
               " " + *a + " " + lit("}");
      if (syn.name == "apertus") return lit("{\"" + name + "\": ") + " " + *a + " " + lit("}");
      return lit("{\"name\": \"" + name + "\", \"arguments\": ") + " " + *a + " " + lit("}");
    }
    case K::kLlama3Json: {
      auto a = args();
      if (!a.ok()) return a;
      return lit("{\"name\": \"" + name + "\", \"parameters\": ") + " " + *a + " " + lit("}");
    }
    case K::kFunctionaryV31: {
      auto a = args();
      if (!a.ok()) return a;
      return lit("<function=" + name + ">") + " " + *a + " " + lit("</function>");
    }
    case K::kFunctionaryV32: {
      auto a = args();
      if (!a.ok()) return a;
      return lit(name + "\n") + " " + *a;
    }
    case K::kMistral: {
      auto a = args();
      if (!a.ok()) return a;
      if (syn.param_open.empty())  // Nemo: one array of {"name", "arguments", "id"}
        return lit("{\"name\": \"" + name + "\", \"arguments\": ") + " " + *a + " " + lit(", \"id\": \"") +
               " [a-zA-Z0-9]{9} " + lit("\"}");
      std::string id = syn.call_open.empty() ? "" : " " + lit(syn.call_open) + " [a-zA-Z0-9]{9}";
      return lit("[TOOL_CALLS]" + name) + id + " " + lit("[ARGS]") + " " + *a;
    }
    case K::kDeepSeek: {
      auto a = args();
      if (!a.ok()) return a;
      if (syn.name == "deepseek-r1")
        return lit(syn.call_open + "function" + syn.param_open + name + "\n```json\n") + " " + *a + " " +
               lit("\n```" + syn.call_close);
      return lit(syn.call_open + name + syn.param_open) + " " + *a + " " + lit(syn.call_close);
    }
    case K::kKimiK2: {
      auto a = args();
      if (!a.ok()) return a;
      return lit(syn.call_open + "functions." + name + ":") + " [0-9] " + lit(syn.param_open) + " " + *a + " " +
             lit(syn.call_close);
    }
    case K::kHarmony: {
      auto a = args();
      if (!a.ok()) return a;
      return lit(" to=functions." + name + "<|channel|>commentary json<|message|>") + " " + *a;
    }
    case K::kSolar: {
      auto a = args();
      if (!a.ok()) return a;
      return lit(syn.call_open) + " [a-zA-Z0-9_]{1,24} " + lit("<|tool_call:name|>" + name + "<|tool_call:args|>") +
             " " + *a + " " + lit(syn.call_close);
    }
    case K::kXmlFunction: {
      auto p = xml_params(b, params, prefix, [&](const std::string& k, const std::string& v, bool) {
        return "(" + lit(syn.param_open + k + ">") + " " + kNl + " " + v + " " + kNl + " " + lit(syn.param_close) + " " +
               kNl + ")";
      });
      if (!p.ok()) return p;
      return lit(syn.call_open + "\n<function=" + name + ">\n") + *p + " " + lit("</function>\n" + syn.call_close);
    }
    case K::kArgKeyValue: {
      std::string ko = syn.param_open, kc = "</" + ko.substr(1);
      std::string vo = ko;
      vo.replace(vo.find("arg_key"), 7, "arg_value");
      std::string vc = "</" + vo.substr(1);
      auto p = xml_params(b, params, prefix, [&](const std::string& k, const std::string& v, bool) {
        return "(" + lit(ko + k + kc) + " " + kNl + " " + lit(vo) + " " + v + " " + lit(vc) + " " + kNl + ")";
      });
      if (!p.ok()) return p;
      std::string head = syn.call_open + name + syn.param_close;
      return lit(head) + " " + kNl + *p + " " + kNl + " " + lit(syn.call_close);
    }
    case K::kXmlInvoke: {
      bool dsml = syn.name == "deepseek-dsml";
      auto p = xml_params(b, params, prefix, [&](const std::string& k, const std::string& v, bool str) {
        std::string attrs = dsml ? (str ? "\" string=\"true\">" : "\" string=\"false\">") : "\">";
        return "(" + lit(syn.param_open + k + attrs) + " " + v + " " + lit(syn.param_close) + " " + kNl + ")";
      });
      if (!p.ok()) return p;
      return lit(syn.call_open + name + "\">") + " " + kNl + *p + " " + kNl + " " + lit(syn.call_close);
    }
    case K::kKimiK3: {
      // <|open|>call tool="NAME" index="N"<|sep|> <|open|>argument key="K" type="T"<|sep|>V<|close|>argument<|sep|>...
      // type "string": V is raw text; any other type: V is JSON (T from the schema's type).
      auto p = xml_params(b, params, prefix, [&](const std::string& k, const std::string& v, bool str) {
        const json& ps = params["properties"][k];
        std::string type = "(\"number\" | \"boolean\" | \"null\" | \"object\" | \"array\")";
        if (ps.is_object() && ps.contains("type") && ps["type"].is_string()) {
          const std::string t = ps["type"].get<std::string>();
          if (t == "integer" || t == "number") type = lit("number");
          else if (t == "boolean" || t == "null" || t == "object" || t == "array") type = lit(t);
        }
        const std::string head = syn.param_open + k + "\" type=\"";
        return "(" + (str ? lit(head + "string\"<|sep|>") : lit(head) + " " + type + " " + lit("\"<|sep|>")) + " " + v + " " +
               lit(syn.param_close) + ")";
      });
      if (!p.ok()) return p;
      return lit(syn.call_open + name + "\" index=\"") + " [1-9] [0-9]? " + lit("\"<|sep|>") + *p + " " + lit(syn.call_close);
    }
    case K::kGemma4: {
      // <|tool_call>call:NAME{k:<|"|>text<|"|>,n:1}<tool_call|>: bare keys, top-level strings in
      // the family's <|"|> quotes, other values as JSON (which its literal reader also reads).
      auto list = kv_list(b, params, prefix, lit(","), [&](const std::string& k, const json& sub, int j) -> Result<std::string> {
        bool bare = !k.empty() && k[0] != '-';
        for (char c : k) bare = bare && (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-');
        const std::string key = bare ? lit(k + ":") : lit(json(k).dump() + ":");
        const bool checked = sub.is_object() && (sub.contains("format") || sub.contains("pattern"));
        const std::string raw = checked ? "" : raw_string_value(sub);  // format/pattern: a JSON string
        if (!raw.empty()) return key + " " + lit("<|\"|>") + " " + raw + " " + lit("<|\"|>");
        NURI_ASSIGN_OR_RETURN(std::string v, b->schema_rule(sub, prefix + "p" + std::to_string(j) + "-"));
        return key + " " + v;
      });
      if (!list.ok()) return list;
      return lit(syn.call_open + name + "{") + " " + *list + " " + lit("}" + syn.call_close);
    }
    case K::kPythonic: {
      // [NAME(k='text', n=1)]: strings single-quoted, other values as JSON (true/false/null are
      // read like True/False/None).
      auto list = kv_list(b, params, prefix, lit(", "), [&](const std::string& k, const json& sub, int j) -> Result<std::string> {
        const bool checked = sub.is_object() && (sub.contains("format") || sub.contains("pattern"));
        if (!checked && !raw_string_value(sub).empty()) return lit(k + "=") + " " + py_string(sub);
        if (sub.is_object() && sub.contains("type") && sub["type"] == "boolean" && !sub.contains("enum") &&
            !sub.contains("const"))
          return lit(k + "=") + " (\"True\" | \"False\")";
        NURI_ASSIGN_OR_RETURN(std::string v, b->schema_rule(sub, prefix + "p" + std::to_string(j) + "-"));
        return lit(k + "=") + " " + v;
      });
      if (!list.ok()) return list;
      return lit(name + "(") + " " + *list + " " + lit(")");
    }
    case K::kMiniMaxM3: {
      // ]<]minimax[>[<invoke name="NAME">]<]minimax[>[<K>V]<]minimax[>[</K>...]<]minimax[>[</invoke>\n
      const std::string S = lit(kMm3Sep);
      std::string expr;
      if (params.contains("properties") && params["properties"].is_object()) {
        std::vector<std::string> req;
        if (params.contains("required") && params["required"].is_array())
          for (const auto& r : params["required"]) req.push_back(r.get<std::string>());
        int j = 0;
        for (bool required_pass : {true, false}) {
          for (const auto& [key, sub] : params["properties"].items()) {
            const bool is_req = std::find(req.begin(), req.end(), key) != req.end();
            if (is_req != required_pass) continue;
            Result<std::string> v = mm3_value(b, sub, prefix + "p" + std::to_string(j++) + "-", 0);
            if (!v.ok()) return Status(v.status().with_context("property '" + key + "'"));
            const std::string e = "(" + S + " " + lit("<" + key + ">") + " " + *v + " " + S + " " + lit("</" + key + ">") + ")";
            expr += is_req ? " " + e : " " + e + "?";
          }
        }
      }
      return S + " " + lit("<invoke name=\"" + name + "\">") + expr + " " + S + " " + lit("</invoke>\n");
    }
    default:
      return Error("constrained tool calls are not supported for the '" + syn.name +
                   "' call syntax (its arguments are not JSON)");
  }
}

}  // namespace

Result<std::string> tool_call_grammar(const ToolCallSyntax& syn, const json& tools, const SchemaToGbnf& conv,
                                      const ToolGrammarOptions& opts) {
  using K = ToolCallKind;
  if (syn.kind == K::kNone) return Error("the chat template has no tool-call syntax");
  if (Status s = validate_tools(tools); !s) return s;
  Builder b{conv, {}, 0, &opts.raw_string_to_gbnf};
  std::vector<std::string> alts;
  for (size_t i = 0; i < tools.size(); ++i) {
    const json& fn = tools[i]["function"];
    if (!opts.only_function.empty() && fn["name"] != opts.only_function) continue;
    Result<std::string> c = one_call(&b, syn, fn, static_cast<int>(i));
    if (!c.ok()) return Status(c.status().with_context("tool '" + fn["name"].get<std::string>() + "'"));
    alts.push_back(*c);
  }
  if (alts.empty()) return Error("tool_choice names function '" + opts.only_function + "', which is not in tools");
  std::string call = "call ::= ";
  for (size_t i = 0; i < alts.size(); ++i) call += (i ? " | " : "") + std::string("(") + alts[i] + ")";
  // How calls are put together: separator between calls, block before/after.
  std::string sep = "\"\\n\"", pre, post;
  switch (syn.kind) {
    case K::kJsonTagged:
      if (syn.name == "hermes") {
        pre = lit(syn.open + "\n");
        post = lit("\n" + syn.close);
        sep = lit("\n" + syn.close) + " " + kNl + " " + lit(syn.open + "\n");
      } else if (syn.name == "minimax-m1") {
        pre = lit(syn.open + "\n");
        post = lit("\n" + syn.close);
        sep = "\"\\n\"";
      } else if (syn.name == "gigachat") {
        pre = lit(syn.open) + " " + kNl;
        post = lit(syn.close);
        sep = "";  // one call per message
      } else {
        pre = lit(syn.open + "[") + " " + kWs;
        post = kWs + std::string(" ") + lit("]" + syn.close);
        sep = lit(",") + " " + kWs;
      }
      break;
    case K::kLlama3Json: sep = ""; break;
    case K::kFunctionaryV31: sep = "\"\""; break;
    case K::kFunctionaryV32: sep = "\">>>\""; break;
    case K::kMistral:
      if (syn.param_open.empty()) {
        pre = lit(syn.open + "[");
        post = lit("]");
        sep = lit(", ");
      } else {
        sep = "\"\"";
      }
      break;
    case K::kDeepSeek:
      pre = lit(syn.open);
      post = lit(syn.close);
      sep = kNl;
      break;
    case K::kKimiK2:
    case K::kKimiK3:
    case K::kSolar:
      pre = lit(syn.open);
      post = lit(syn.close);
      if (syn.kind == K::kKimiK3) post += " (" + lit("<|close|>message<|sep|>") + ")?";  // the turn's close, as rendered
      sep = "\"\"";
      break;
    case K::kHarmony: sep = ""; break;
    case K::kGemma4: sep = "\"\""; break;
    case K::kPythonic:
      pre = lit(syn.open + "[");
      post = lit("]" + syn.close);
      sep = lit(", ");
      break;
    case K::kMiniMaxM3:
      pre = "(" + lit(kMm3Sep) + ")? " + lit(syn.open + "\n");  // the separator may end the generation prompt
      post = lit(std::string(kMm3Sep) + syn.close);
      sep = "\"\"";
      break;
    case K::kXmlFunction: sep = kNl; break;
    case K::kArgKeyValue:
      pre = syn.open.empty() ? "" : lit(syn.open + "\n");
      post = syn.close.empty() ? "" : lit("\n" + syn.close);
      sep = kNl;
      break;
    case K::kXmlInvoke:
      pre = syn.open.empty() ? "" : lit(syn.open) + " " + kNl;
      post = syn.close.empty() ? "" : kNl + std::string(" ") + lit(syn.close);
      sep = kNl;
      break;
    default: break;
  }
  std::string calls = (opts.parallel && !sep.empty()) ? "call (" + sep + " call)*" : "call";
  std::string g = "root ::= " + pre + (pre.empty() ? "" : " ") + calls + (post.empty() ? "" : " " + post) + "\n";
  g += call + "\n";
  g += "xml-text ::= [^<]*\n";
  g += b.rules;
  return g;
}

}  // namespace nuri::chat
