// chat/tool_call_xml.cc — families whose arguments are written one parameter at a time
//   (Qwen3-Coder/Seed-OSS <parameter=K>, GLM <arg_key>, MiniMax-M2/DSML/glimmer/MiniCPM
//   <parameter name="K">, MiniMax-M3 <K>..</K>, Kimi-K3 argument key=) or as literals
//   (Gemma 4 call:NAME{..}, LFM2.5 pythonic [NAME(k=v)]). Values are typed by the tool schema.
#include <cctype>

#include "chat/tool_call_parsers.h"

namespace nuri::chat::detail {

namespace {

std::string_view strip_one_newline(std::string_view v) {
  if (!v.empty() && v.front() == '\n') v.remove_prefix(1);
  if (!v.empty() && v.back() == '\n') v.remove_suffix(1);
  return v;
}

// Appends the calls parsed from `body` (text after `call_open`, up to `call_close`).
bool calls_between(const ToolCallSyntax& syn, std::string_view body, const json& tools, std::vector<ToolCall>* calls,
                   BodyParser one) {
  ParsedOutput inner;
  scan_blocks(syn, body, syn.call_open, syn.call_close, one, tools, &inner);
  if (inner.tool_calls.empty() || !trim(inner.content).empty()) return false;
  for (auto& c : inner.tool_calls) calls->push_back(std::move(c));
  return true;
}

// <function=NAME>\n<parameter=K>\nV\n</parameter>...</function>   (after <tool_call>)
bool xml_function_call(const ToolCallSyntax& syn, std::string_view body, const json& tools,
                       std::vector<ToolCall>* calls) {
  size_t f = body.find("<function=");
  if (f == kNpos || !trim(body.substr(0, f)).empty()) return false;
  size_t gt = body.find('>', f);
  if (gt == kNpos) return false;
  ToolCall c;
  c.name = std::string(trim(body.substr(f + 10, gt - f - 10)));
  size_t end = body.rfind("</function>");
  std::string_view params = body.substr(gt + 1, (end == kNpos || end < gt ? body.size() : end) - gt - 1);
  size_t pos = 0;
  while (true) {
    size_t p = params.find(syn.param_open, pos);
    if (p == kNpos) {
      if (!trim(params.substr(pos)).empty()) return false;
      break;
    }
    if (!trim(params.substr(pos, p - pos)).empty()) return false;
    size_t kend = params.find('>', p);
    if (kend == kNpos) return false;
    std::string key(trim(params.substr(p + syn.param_open.size(), kend - p - syn.param_open.size())));
    size_t vend = params.find(syn.param_close, kend);
    if (vend == kNpos) vend = params.size();
    std::string_view raw = strip_one_newline(params.substr(kend + 1, vend - kend - 1));
    c.arguments[key] = typed_value(raw, param_schema(tools, c.name, key));
    pos = std::min(params.size(), vend + syn.param_close.size());
  }
  if (c.name.empty()) return false;
  calls->push_back(std::move(c));
  return true;
}

// GLM: NAME[<tool_sep>|\n]<arg_key>K</arg_key>\n<arg_value>V</arg_value>...
bool arg_kv_call(const ToolCallSyntax& syn, std::string_view body, const json& tools, std::vector<ToolCall>* calls) {
  const std::string& ko = syn.param_open;  // <arg_key[:suffix]>
  std::string kc = "</" + ko.substr(1);
  std::string vo = ko;
  vo.replace(vo.find("arg_key"), 7, "arg_value");
  std::string vc = "</" + vo.substr(1);
  size_t k = body.find(ko);
  ToolCall c;
  std::string_view head = body.substr(0, k);
  if (!syn.param_close.empty()) {  // explicit name separator (Hunyuan <tool_sep:opensource>)
    size_t s = head.find(syn.param_close);
    if (s != kNpos) head = head.substr(0, s);
  }
  c.name = std::string(trim(head));
  if (c.name.empty() || c.name.find_first_of("<>\n") != std::string::npos) return false;
  while (k != kNpos) {
    size_t ke = body.find(kc, k);
    if (ke == kNpos) return false;
    std::string key(trim(body.substr(k + ko.size(), ke - k - ko.size())));
    size_t v = body.find(vo, ke);
    if (v == kNpos) return false;
    size_t ve = body.find(vc, v);
    if (ve == kNpos) ve = body.size();
    std::string_view raw = body.substr(v + vo.size(), ve - v - vo.size());
    c.arguments[key] = typed_value(raw, param_schema(tools, c.name, key));
    k = body.find(ko, ve);
  }
  calls->push_back(std::move(c));
  return true;
}

// Attribute value attr="..." inside a tag header.
std::string attr(std::string_view header, std::string_view name) {
  std::string pat = std::string(name) + "=\"";
  size_t p = header.find(pat);
  if (p == kNpos) return "";
  size_t e = header.find('"', p + pat.size());
  return e == kNpos ? "" : std::string(header.substr(p + pat.size(), e - p - pat.size()));
}

// NAME">...<PARAM name="K"[ string="true"]>V</PARAM>...   (after <invoke name=")
bool invoke_call(const ToolCallSyntax& syn, std::string_view body, const json& tools, std::vector<ToolCall>* calls) {
  size_t q = body.find('"');
  size_t gt = q == kNpos ? kNpos : body.find('>', q);
  if (gt == kNpos) return false;
  ToolCall c;
  c.name = std::string(body.substr(0, q));
  size_t pos = gt + 1;
  while (true) {
    size_t p = body.find(syn.param_open, pos);
    if (p == kNpos) {
      if (!trim(body.substr(pos)).empty()) return false;
      break;
    }
    if (!trim(body.substr(pos, p - pos)).empty()) return false;
    size_t hb = p + syn.param_open.size();
    size_t kq = body.find('"', hb);
    size_t he = kq == kNpos ? kNpos : body.find('>', kq);
    if (he == kNpos) return false;
    std::string key(body.substr(hb, kq - hb));
    std::string str_attr = attr(body.substr(kq, he - kq), "string");
    size_t ve = body.find(syn.param_close, he);
    if (ve == kNpos) ve = body.size();
    std::string_view raw = body.substr(he + 1, ve - he - 1);
    if (str_attr == "true") c.arguments[key] = std::string(raw);
    else if (str_attr == "false") c.arguments[key] = typed_value(raw, nullptr);
    else c.arguments[key] = typed_value(raw, param_schema(tools, c.name, key));
    pos = std::min(body.size(), ve + syn.param_close.size());
  }
  if (c.name.empty()) return false;
  calls->push_back(std::move(c));
  return true;
}

// MiniMax-M3 element content: text, or child elements (<item> children make an array).
bool mm3_value(std::string_view s, const json* schema, json* out, int depth) {
  if (depth > 32) return false;
  std::string_view t = trim(s);
  if (t.empty() || t[0] != '<') {
    *out = typed_value(s, schema);
    return true;
  }
  json obj = json::object(), arr = json::array();
  bool items = false;
  size_t pos = 0;
  while (pos < t.size()) {
    pos = skip_ws(t, pos);
    if (pos >= t.size()) break;
    if (t[pos] != '<') return false;
    size_t gt = t.find('>', pos);
    if (gt == kNpos) return false;
    std::string tag(t.substr(pos + 1, gt - pos - 1));
    std::string close = "</" + tag + ">";
    // Matching close tag (same-name nesting counted).
    size_t depth_n = 1, scan = gt + 1, ce = kNpos;
    std::string open = "<" + tag + ">";
    while (depth_n > 0) {
      size_t o = t.find(open, scan), c = t.find(close, scan);
      if (c == kNpos) return false;
      if (o != kNpos && o < c) { ++depth_n; scan = o + open.size(); }
      else { if (--depth_n == 0) ce = c; scan = c + close.size(); }
    }
    const json* sub = nullptr;
    if (schema && schema->is_object()) {
      if (tag == "item" && schema->contains("items")) sub = &(*schema)["items"];
      else if (schema->contains("properties") && (*schema)["properties"].contains(tag)) sub = &(*schema)["properties"][tag];
    }
    json v;
    if (!mm3_value(t.substr(gt + 1, ce - gt - 1), sub, &v, depth + 1)) return false;
    if (tag == "item") { items = true; arr.push_back(std::move(v)); }
    else obj[tag] = std::move(v);
    pos = ce + close.size();
  }
  *out = items && obj.empty() ? arr : obj;
  return true;
}

bool mm3_call(const ToolCallSyntax&, std::string_view body, const json& tools, std::vector<ToolCall>* calls) {
  size_t q = body.find('"');
  size_t gt = q == kNpos ? kNpos : body.find('>', q);
  if (gt == kNpos) return false;
  ToolCall c;
  c.name = std::string(body.substr(0, q));
  json schema = nullptr;
  if (tools.is_array())
    for (const auto& t : tools)
      if (t.contains("function") && t["function"].value("name", "") == c.name && t["function"].contains("parameters"))
        schema = t["function"]["parameters"];
  json v;
  std::string_view inner = body.substr(gt + 1);
  if (trim(inner).empty()) v = json::object();
  else if (!mm3_value(inner, &schema, &v, 0) || !v.is_object()) return false;
  c.arguments = std::move(v);
  calls->push_back(std::move(c));
  return true;
}

// Kimi-K3: NAME" index="1"<|sep|><|open|>argument key="K" type="T"<|sep|>V<|close|>argument<|sep|>...
bool kimi3_call(const ToolCallSyntax& syn, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  size_t q = body.find('"');
  size_t sep = body.find("<|sep|>");
  if (q == kNpos || sep == kNpos || sep < q) return false;
  ToolCall c;
  c.name = std::string(body.substr(0, q));
  size_t pos = sep + 7;
  while (true) {
    size_t p = body.find(syn.param_open, pos);
    if (p == kNpos) {
      if (!trim(body.substr(pos)).empty()) return false;
      break;
    }
    size_t hb = p + syn.param_open.size();
    size_t kq = body.find('"', hb), hs = body.find("<|sep|>", hb);
    if (kq == kNpos || hs == kNpos) return false;
    std::string key(body.substr(hb, kq - hb));
    std::string type = attr(body.substr(kq, hs - kq), "type");
    size_t ve = body.find(syn.param_close, hs);
    if (ve == kNpos) ve = body.size();
    std::string_view raw = body.substr(hs + 7, ve - hs - 7);
    if (type == "string") c.arguments[key] = std::string(raw);
    else c.arguments[key] = typed_value(raw, nullptr);
    pos = std::min(body.size(), ve + syn.param_close.size());
  }
  if (c.name.empty()) return false;
  calls->push_back(std::move(c));
  return true;
}

// Gemma 4: NAME{k:<|"|>v<|"|>,n:1}   (after <|tool_call>call:)
bool gemma4_call(const ToolCallSyntax&, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  size_t br = body.find('{');
  if (br == kNpos) return false;
  ToolCall c;
  c.name = std::string(trim(body.substr(0, br)));
  LiteralOptions opt;
  opt.string_delim = "<|\"|>";
  opt.bare_keys = true;
  auto v = parse_literal_text(body.substr(br), opt);
  if (c.name.empty() || !v || !v->is_object()) return false;
  c.arguments = std::move(*v);
  calls->push_back(std::move(c));
  return true;
}

// LFM2.5: [NAME(k=v, ...), NAME2()]
bool pythonic_body(const ToolCallSyntax&, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  std::string_view t = trim(body);
  if (t.size() < 2 || t.front() != '[' || t.back() != ']') return false;
  t = t.substr(1, t.size() - 2);
  size_t pos = skip_ws(t, 0);
  while (pos < t.size()) {
    size_t paren = t.find('(', pos);
    if (paren == kNpos) return false;
    ToolCall c;
    c.name = std::string(trim(t.substr(pos, paren - pos)));
    for (char ch : c.name)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-')) return false;
    pos = skip_ws(t, paren + 1);
    while (pos < t.size() && t[pos] != ')') {
      size_t eq = t.find('=', pos);
      if (eq == kNpos) return false;
      std::string key(trim(t.substr(pos, eq - pos)));
      pos = eq + 1;
      json v;
      if (!read_literal(t, &pos, &v)) return false;
      c.arguments[key] = std::move(v);
      pos = skip_ws(t, pos);
      if (pos < t.size() && t[pos] == ',') pos = skip_ws(t, pos + 1);
    }
    if (pos >= t.size() || c.name.empty()) return false;
    calls->push_back(std::move(c));
    pos = skip_ws(t, pos + 1);
    if (pos < t.size() && t[pos] == ',') pos = skip_ws(t, pos + 1);
  }
  return !calls->empty();
}

bool xml_function_body(const ToolCallSyntax& s, std::string_view b, const json& t, std::vector<ToolCall>* c) {
  return xml_function_call(s, b, t, c);
}
bool arg_kv_body(const ToolCallSyntax& s, std::string_view b, const json& t, std::vector<ToolCall>* c) {
  return arg_kv_call(s, b, t, c);
}
bool invoke_body(const ToolCallSyntax& s, std::string_view b, const json& t, std::vector<ToolCall>* c) {
  return calls_between(s, b, t, c, invoke_call);
}
bool mm3_body(const ToolCallSyntax& s, std::string_view b, const json& t, std::vector<ToolCall>* c) {
  return calls_between(s, b, t, c, mm3_call);
}
bool kimi3_body(const ToolCallSyntax& s, std::string_view b, const json& t, std::vector<ToolCall>* c) {
  return calls_between(s, b, t, c, kimi3_call);
}

// Removes every occurrence of `what` from s.
std::string erase_all(std::string_view s, std::string_view what) {
  std::string r;
  size_t pos = 0;
  while (true) {
    size_t p = s.find(what, pos);
    r += s.substr(pos, p == kNpos ? kNpos : p - pos);
    if (p == kNpos) return r;
    pos = p + what.size();
  }
}

// glimmer writes each call as its own message header " to=NAME<|message|>" before the block.
std::string strip_glimmer_headers(std::string_view s) {
  std::string r;
  size_t pos = 0;
  while (true) {
    size_t to = s.find(" to=", pos);
    size_t msg = to == kNpos ? kNpos : s.find("<|message|>", to);
    if (msg == kNpos || s.substr(to, msg - to).find_first_of(" \n", 1) != kNpos) {
      r += s.substr(pos);
      return r;
    }
    size_t b = to;
    const std::string_view lead = "<|eom|><|start|>assistant";
    if (b >= lead.size() && s.substr(b - lead.size(), lead.size()) == lead) b -= lead.size();
    r += s.substr(pos, b - pos);
    pos = msg + 11;
  }
}

}  // namespace

void parse_xml_family(const ToolCallSyntax& syn, std::string_view text, const json& tools, ParsedOutput* out) {
  using K = ToolCallKind;
  switch (syn.kind) {
    case K::kXmlFunction: scan_blocks(syn, text, syn.call_open, syn.call_close, xml_function_body, tools, out); break;
    case K::kArgKeyValue: {
      std::string t(text);
      if (!syn.open.empty()) t = erase_all(erase_all(t, syn.open), syn.close);
      scan_blocks(syn, t, syn.call_open, syn.call_close, arg_kv_body, tools, out);
      break;
    }
    case K::kXmlInvoke: {
      std::string t = syn.name == "glimmer" ? strip_glimmer_headers(text) : std::string(text);
      if (syn.open.empty()) scan_blocks(syn, t, syn.call_open, syn.call_close, invoke_call, tools, out);
      else scan_blocks(syn, t, syn.open, syn.close, invoke_body, tools, out);
      break;
    }
    case K::kMiniMaxM3: {
      std::string t = erase_all(text, "]<]minimax[>[");
      scan_blocks(syn, t, syn.open, syn.close, mm3_body, tools, out);
      break;
    }
    case K::kKimiK3: {
      // Content sits in <|open|>response<|sep|>..<|close|>response<|sep|>.
      std::string t = erase_all(erase_all(text, "<|open|>response<|sep|>"), "<|close|>response<|sep|>");
      for (std::string_view tail : {"<|close|>message<|sep|>", "<|end_of_msg|>"}) t = erase_all(t, tail);
      scan_blocks(syn, t, syn.open, syn.close, kimi3_body, tools, out);
      break;
    }
    case K::kGemma4: scan_blocks(syn, text, syn.call_open, syn.call_close, gemma4_call, tools, out); break;
    case K::kPythonic: scan_blocks(syn, text, syn.open, syn.close, pythonic_body, tools, out); break;
    default: out->content = std::string(text);
  }
}

}  // namespace nuri::chat::detail
