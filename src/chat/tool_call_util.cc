// chat/tool_call_util.cc — see tool_call_util.h.
#include "chat/tool_call_util.h"

#include <cctype>
#include <cstdlib>

namespace nuri::chat::detail {

size_t skip_ws(std::string_view s, size_t pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\n' || s[pos] == '\t' || s[pos] == '\r')) ++pos;
  return pos;
}

std::string_view trim(std::string_view s) {
  size_t b = skip_ws(s, 0);
  size_t e = s.size();
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\n' || s[e - 1] == '\t' || s[e - 1] == '\r')) --e;
  return s.substr(b, e - b);
}

namespace {

// End of a quoted string starting at s[pos] == quote, or kNpos.
size_t scan_string(std::string_view s, size_t pos, char quote) {
  for (size_t i = pos + 1; i < s.size(); ++i) {
    if (s[i] == '\\') {
      ++i;
    } else if (s[i] == quote) {
      return i + 1;
    }
  }
  return kNpos;
}

bool is_ident_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'; }

}  // namespace

size_t scan_json(std::string_view s, size_t pos) {
  if (pos >= s.size()) return kNpos;
  char c = s[pos];
  if (c == '"') return scan_string(s, pos, '"');
  if (c == '{' || c == '[') {
    int depth = 0;
    for (size_t i = pos; i < s.size(); ++i) {
      char d = s[i];
      if (d == '"') {
        i = scan_string(s, i, '"');
        if (i == kNpos) return kNpos;
        --i;
      } else if (d == '{' || d == '[') {
        ++depth;
      } else if (d == '}' || d == ']') {
        if (--depth == 0) return i + 1;
      }
    }
    return kNpos;
  }
  size_t i = pos;
  while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '-' || s[i] == '+' || s[i] == '.'))
    ++i;
  return i == pos ? kNpos : i;
}

bool read_json(std::string_view s, size_t* pos, json* out) {
  size_t b = skip_ws(s, *pos);
  size_t e = scan_json(s, b);
  if (e == kNpos) return false;
  json v = json::parse(s.substr(b, e - b), nullptr, false);
  if (v.is_discarded()) return false;
  *out = std::move(v);
  *pos = e;
  return true;
}

std::optional<json> parse_json_text(std::string_view s) {
  s = trim(s);
  if (s.empty()) return std::nullopt;
  json v = json::parse(s, nullptr, false);
  if (v.is_discarded()) return std::nullopt;
  return v;
}

namespace {

bool read_quoted(std::string_view s, size_t* pos, char q, json* out) {
  std::string r;
  size_t i = *pos + 1;
  for (; i < s.size() && s[i] != q; ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      r += s[i];
      continue;
    }
    char e = s[++i];
    switch (e) {
      case 'n': r += '\n'; break;
      case 't': r += '\t'; break;
      case 'r': r += '\r'; break;
      case 'b': r += '\b'; break;
      case 'f': r += '\f'; break;
      case 'u': {
        if (i + 4 >= s.size()) return false;
        // Reuse the JSON decoder for \uXXXX (and surrogate pairs).
        size_t n = (i + 10 < s.size() && s[i + 5] == '\\' && s[i + 6] == 'u') ? 10 : 4;
        json v = json::parse("\"\\" + std::string(s.substr(i, n + 1)) + "\"", nullptr, false);
        if (v.is_discarded()) return false;
        r += v.get<std::string>();
        i += n;
        break;
      }
      default: r += e;  // \\ \' \" and unknown escapes keep the character
    }
  }
  if (i >= s.size()) return false;
  *pos = i + 1;
  *out = r;
  return true;
}

bool read_literal_at(std::string_view s, size_t* pos, json* out, const LiteralOptions& opt, int depth);

bool read_sequence(std::string_view s, size_t* pos, char close, json* out, const LiteralOptions& opt, int depth) {
  json arr = json::array();
  size_t i = skip_ws(s, *pos + 1);
  while (i < s.size() && s[i] != close) {
    json v;
    if (!read_literal_at(s, &i, &v, opt, depth + 1)) return false;
    arr.push_back(std::move(v));
    i = skip_ws(s, i);
    if (i < s.size() && s[i] == ',') i = skip_ws(s, i + 1);
    else if (i < s.size() && s[i] != close) return false;
  }
  if (i >= s.size()) return false;
  *pos = i + 1;
  *out = std::move(arr);
  return true;
}

bool read_mapping(std::string_view s, size_t* pos, json* out, const LiteralOptions& opt, int depth) {
  json obj = json::object();
  size_t i = skip_ws(s, *pos + 1);
  while (i < s.size() && s[i] != '}') {
    json key;
    if (opt.bare_keys && i < s.size() && is_ident_char(s[i]) && s[i] != '-') {
      size_t b = i;
      while (i < s.size() && is_ident_char(s[i])) ++i;
      key = std::string(s.substr(b, i - b));
    } else if (!read_literal_at(s, &i, &key, opt, depth + 1) || !key.is_string()) {
      return false;
    }
    i = skip_ws(s, i);
    if (i >= s.size() || s[i] != ':') return false;
    json v;
    ++i;
    if (!read_literal_at(s, &i, &v, opt, depth + 1)) return false;
    obj[key.get<std::string>()] = std::move(v);
    i = skip_ws(s, i);
    if (i < s.size() && s[i] == ',') i = skip_ws(s, i + 1);
    else if (i < s.size() && s[i] != '}') return false;
  }
  if (i >= s.size()) return false;
  *pos = i + 1;
  *out = std::move(obj);
  return true;
}

bool read_literal_at(std::string_view s, size_t* pos, json* out, const LiteralOptions& opt, int depth) {
  if (depth > 64) return false;
  size_t i = skip_ws(s, *pos);
  if (i >= s.size()) return false;
  if (!opt.string_delim.empty() && s.substr(i, opt.string_delim.size()) == opt.string_delim) {
    size_t b = i + opt.string_delim.size();
    size_t e = s.find(opt.string_delim, b);
    if (e == kNpos) return false;
    *out = std::string(s.substr(b, e - b));
    *pos = e + opt.string_delim.size();
    return true;
  }
  char c = s[i];
  bool ok = false;
  if (c == '"' || c == '\'') ok = read_quoted(s, &i, c, out);
  else if (c == '[') ok = read_sequence(s, &i, ']', out, opt, depth);
  else if (c == '(') ok = read_sequence(s, &i, ')', out, opt, depth);
  else if (c == '{') ok = read_mapping(s, &i, out, opt, depth);
  else {
    size_t b = i;
    while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '-' || s[i] == '+' ||
                            s[i] == '.' || s[i] == '_'))
      ++i;
    std::string_view w = s.substr(b, i - b);
    if (w == "True" || w == "true") *out = true, ok = true;
    else if (w == "False" || w == "false") *out = false, ok = true;
    else if (w == "None" || w == "null") *out = nullptr, ok = true;
    else if (!w.empty()) {
      json v = json::parse(w, nullptr, false);
      ok = !v.is_discarded() && v.is_number();
      if (ok) *out = std::move(v);
    }
  }
  if (ok) *pos = i;
  return ok;
}

}  // namespace

bool read_literal(std::string_view s, size_t* pos, json* out, const LiteralOptions& opt) {
  return read_literal_at(s, pos, out, opt, 0);
}

std::optional<json> parse_literal_text(std::string_view s, const LiteralOptions& opt) {
  s = trim(s);
  size_t pos = 0;
  json v;
  if (!read_literal(s, &pos, &v, opt) || skip_ws(s, pos) != s.size()) return std::nullopt;
  return v;
}

const json* param_schema(const json& tools, std::string_view name, std::string_view key) {
  if (!tools.is_array()) return nullptr;
  for (const auto& t : tools) {
    const json& f = t.contains("function") ? t["function"] : t;
    if (!f.is_object() || !f.contains("name") || f["name"] != name) continue;
    const json* p = f.contains("parameters") ? &f["parameters"] : nullptr;
    if (!p || !p->is_object() || !p->contains("properties") || !(*p)["properties"].is_object()) return nullptr;
    auto it = (*p)["properties"].find(std::string(key));
    return it == (*p)["properties"].end() ? nullptr : &*it;
  }
  return nullptr;
}

namespace {

bool schema_is_string(const json* schema) {
  if (!schema || !schema->is_object()) return false;
  auto it = schema->find("type");
  if (it != schema->end()) {
    if (it->is_string()) return *it == "string";
    if (it->is_array()) return it->size() == 1 && (*it)[0] == "string";
  }
  auto e = schema->find("enum");
  if (e != schema->end() && e->is_array() && !e->empty()) {
    for (const auto& v : *e)
      if (!v.is_string()) return false;
    return true;
  }
  return false;
}

}  // namespace

json typed_value(std::string_view raw, const json* schema) {
  if (schema_is_string(schema)) return std::string(raw);
  if (auto v = parse_json_text(raw)) return *v;
  if (auto v = parse_literal_text(raw)) return *v;
  return std::string(raw);
}

json decode_arguments(const json& args) {
  if (args.is_string()) {
    if (auto v = parse_json_text(args.get<std::string>())) return *v;
  }
  return args;
}

bool call_from_object(const json& obj, ToolCall* out) {
  if (!obj.is_object()) return false;
  const json* o = &obj;
  if (obj.contains("function") && obj["function"].is_object()) o = &obj["function"];
  const char* name_keys[] = {"name", "tool_name", "function_name"};
  const char* arg_keys[] = {"arguments", "parameters", "args", "input"};
  for (const char* nk : name_keys) {
    auto n = o->find(nk);
    if (n == o->end() || !n->is_string()) continue;
    out->name = n->get<std::string>();
    out->arguments = json::object();
    for (const char* ak : arg_keys) {
      auto a = o->find(ak);
      if (a != o->end()) {
        out->arguments = decode_arguments(*a);
        break;
      }
    }
    for (const char* ik : {"id", "tool_call_id"}) {
      auto id = obj.find(ik);
      if (id != obj.end() && id->is_string()) out->id = id->get<std::string>();
    }
    return !out->name.empty();
  }
  // {"NAME": {args}} (Apertus).
  if (o->size() == 1 && o->begin().value().is_object()) {
    out->name = o->begin().key();
    out->arguments = o->begin().value();
    return true;
  }
  return false;
}

size_t partial_suffix(std::string_view s, std::string_view marker) {
  size_t n = std::min(s.size(), marker.size() - (marker.empty() ? 0 : 1));
  for (size_t k = n; k > 0; --k)
    if (s.substr(s.size() - k) == marker.substr(0, k)) return k;
  return 0;
}

std::string split_reasoning(const ToolCallSyntax& syn, std::string_view text, std::string* reasoning) {
  if (syn.think_close.empty()) return std::string(text);
  size_t close = text.find(syn.think_close);
  size_t open = syn.think_open.empty() ? kNpos : text.find(syn.think_open);
  if (close == kNpos) {
    // Unfinished reasoning: everything after an opening marker at the start is reasoning.
    if (open != kNpos && trim(text.substr(0, open)).empty()) {
      *reasoning = std::string(trim(text.substr(open + syn.think_open.size())));
      return "";
    }
    return std::string(text);
  }
  // The prompt may already hold the opening marker: then text starts inside the reasoning.
  size_t b = (open != kNpos && open < close) ? open + syn.think_open.size() : 0;
  std::string before = (open != kNpos && open < close) ? std::string(text.substr(0, open)) : "";
  *reasoning = std::string(trim(text.substr(b, close - b)));
  return before + std::string(text.substr(close + syn.think_close.size()));
}

}  // namespace nuri::chat::detail
