// chat/tool_call_json.cc — families whose call arguments are a JSON object in the text:
//   tagged JSON (Hermes/Qwen, Apriel, Nemotron, MiniMax-M1, Command-R, Apertus, GigaChat, Granite),
//   Llama 3.x, Functionary v3.1/v3.2, Mistral, DeepSeek R1/V3, Kimi-K2, gpt-oss harmony, Solar.
#include <cctype>

#include "chat/tool_call_parsers.h"

namespace nuri::chat::detail {

namespace {

bool starts_at(std::string_view s, size_t pos, std::string_view m) {
  return !m.empty() && s.size() >= pos + m.size() && s.substr(pos, m.size()) == m;
}

// One or more call objects, or one array of them, separated by whitespace, ',' or ';'.
bool json_calls(std::string_view body, std::vector<ToolCall>* calls) {
  size_t pos = skip_ws(body, 0);
  size_t n0 = calls->size();
  while (pos < body.size()) {
    json v;
    if (!read_json(body, &pos, &v)) return false;
    if (v.is_array()) {
      for (const auto& e : v) {
        ToolCall c;
        if (!call_from_object(e, &c)) return false;
        calls->push_back(std::move(c));
      }
    } else {
      ToolCall c;
      if (!call_from_object(v, &c)) return false;
      calls->push_back(std::move(c));
    }
    pos = skip_ws(body, pos);
    while (pos < body.size() && (body[pos] == ',' || body[pos] == ';')) pos = skip_ws(body, pos + 1);
  }
  return calls->size() > n0;
}

bool tagged_body(const ToolCallSyntax&, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  return json_calls(body, calls);
}

// Arguments JSON (object, or a JSON string holding one) filling the whole of `s`.
bool args_only(std::string_view s, json* args) {
  auto v = parse_json_text(s);
  if (!v) return false;
  *args = decode_arguments(*v);
  return true;
}

// <function=NAME>{json}  (the opening "<function=" is consumed by scan_blocks).
bool functionary31_body(const ToolCallSyntax&, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  size_t gt = body.find('>');
  if (gt == kNpos) return false;
  ToolCall c;
  c.name = std::string(trim(body.substr(0, gt)));
  if (c.name.empty() || !args_only(body.substr(gt + 1), &c.arguments)) return false;
  calls->push_back(std::move(c));
  return true;
}

// NAME[CALL_ID]id[ARGS]{json}, or a JSON array of call objects.
bool mistral_body(const ToolCallSyntax&, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  if (trim(body).substr(0, 1) == "[") return json_calls(body, calls);
  size_t args = body.find("[ARGS]");
  if (args == kNpos) return false;
  ToolCall c;
  std::string_view head = body.substr(0, args);
  size_t id = head.find("[CALL_ID]");
  if (id != kNpos) {
    c.id = std::string(trim(head.substr(id + 9)));
    head = head.substr(0, id);
  }
  c.name = std::string(trim(head));
  if (c.name.empty() || !args_only(body.substr(args + 6), &c.arguments)) return false;
  calls->push_back(std::move(c));
  return true;
}

// One DeepSeek call: "function<sep>NAME\n```json\n{..}\n```" (R1) or "NAME<sep>{..}" (V3.1).
bool deepseek_call(const ToolCallSyntax& syn, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  const std::string& sep = syn.param_open;
  size_t s = body.find(sep);
  if (s == kNpos) return false;
  ToolCall c;
  std::string_view head = trim(body.substr(0, s)), rest = body.substr(s + sep.size());
  if (head == "function") {
    size_t nl = rest.find('\n');
    if (nl == kNpos) return false;
    c.name = std::string(trim(rest.substr(0, nl)));
    std::string_view js = trim(rest.substr(nl + 1));
    if (js.substr(0, 3) == "```") {
      size_t nl2 = js.find('\n');
      size_t end = js.rfind("```");
      if (nl2 == kNpos || end == kNpos || end <= nl2) return false;
      js = js.substr(nl2 + 1, end - nl2 - 1);
    }
    if (!args_only(js, &c.arguments)) return false;
  } else {
    c.name = std::string(head);
    if (!args_only(rest, &c.arguments)) return false;
  }
  if (c.name.empty()) return false;
  calls->push_back(std::move(c));
  return true;
}

bool deepseek_body(const ToolCallSyntax& syn, std::string_view body, const json& tools, std::vector<ToolCall>* calls) {
  ParsedOutput inner;
  scan_blocks(syn, body, syn.call_open, syn.call_close, deepseek_call, tools, &inner);
  if (inner.tool_calls.empty() || !trim(inner.content).empty()) return false;
  for (auto& c : inner.tool_calls) calls->push_back(std::move(c));
  return true;
}

// functions.NAME:IDX<|tool_call_argument_begin|>{json}
bool kimi_call(const ToolCallSyntax& syn, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  size_t a = body.find(syn.param_open);
  if (a == kNpos) return false;
  ToolCall c;
  std::string_view id = trim(body.substr(0, a));
  c.id = std::string(id);
  std::string_view name = id;
  if (name.substr(0, 10) == "functions.") name = name.substr(10);
  size_t colon = name.rfind(':');
  if (colon != kNpos) name = name.substr(0, colon);
  c.name = std::string(name);
  if (c.name.empty() || !args_only(body.substr(a + syn.param_open.size()), &c.arguments)) return false;
  calls->push_back(std::move(c));
  return true;
}

bool kimi_body(const ToolCallSyntax& syn, std::string_view body, const json& tools, std::vector<ToolCall>* calls) {
  ParsedOutput inner;
  scan_blocks(syn, body, syn.call_open, syn.call_close, kimi_call, tools, &inner);
  if (inner.tool_calls.empty() || !trim(inner.content).empty()) return false;
  for (auto& c : inner.tool_calls) calls->push_back(std::move(c));
  return true;
}

// ID<|tool_call:name|>NAME<|tool_call:args|>{json}
bool solar_call(const ToolCallSyntax&, std::string_view body, const json&, std::vector<ToolCall>* calls) {
  size_t n = body.find("<|tool_call:name|>"), a = body.find("<|tool_call:args|>");
  if (n == kNpos || a == kNpos || a < n) return false;
  ToolCall c;
  c.id = std::string(trim(body.substr(0, n)));
  c.name = std::string(trim(body.substr(n + 18, a - n - 18)));
  if (c.name.empty() || !args_only(body.substr(a + 18), &c.arguments)) return false;
  calls->push_back(std::move(c));
  return true;
}

bool solar_body(const ToolCallSyntax& syn, std::string_view body, const json& tools, std::vector<ToolCall>* calls) {
  ParsedOutput inner;
  scan_blocks(syn, body, syn.call_open, syn.call_close, solar_call, tools, &inner);
  if (inner.tool_calls.empty() || !trim(inner.content).empty()) return false;
  for (auto& c : inner.tool_calls) calls->push_back(std::move(c));
  return true;
}

// Llama 3.x: the whole reply is the call(s): bare JSON, or after <|python_tag|>.
void parse_llama3(std::string_view text, ParsedOutput* out) {
  std::string_view t = trim(text);
  bool tagged = t.substr(0, 14) == "<|python_tag|>";
  if (tagged) t = trim(t.substr(14));
  std::vector<ToolCall> calls;
  if (!t.empty() && t[0] == '{' && json_calls(t, &calls)) {
    out->tool_calls = std::move(calls);
    return;
  }
  if (tagged) {  // built-in tool: brave_search.call(query="...")
    size_t dot = t.find(".call(");
    if (dot != kNpos && t.back() == ')') {
      ToolCall c;
      c.name = std::string(t.substr(0, dot));
      std::string_view a = t.substr(dot + 6, t.size() - dot - 7);
      json args = json::object();
      size_t pos = 0;
      bool ok = true;
      while (ok && skip_ws(a, pos) < a.size()) {
        pos = skip_ws(a, pos);
        size_t eq = a.find('=', pos);
        if (eq == kNpos) { ok = false; break; }
        std::string key(trim(a.substr(pos, eq - pos)));
        pos = eq + 1;
        json v;
        ok = read_literal(a, &pos, &v);
        args[key] = v;
        pos = skip_ws(a, pos);
        if (pos < a.size() && a[pos] == ',') ++pos;
      }
      if (ok && !c.name.empty()) {
        c.arguments = std::move(args);
        out->tool_calls.push_back(std::move(c));
        return;
      }
    }
  }
  out->content = std::string(text);
}

// Functionary v3.2: segments after ">>>" are "RECIPIENT\nBODY"; the prompt ends with ">>>",
// so the text starts inside the first segment. Recipient "all" is content.
void parse_functionary32(std::string_view text, ParsedOutput* out) {
  size_t pos = 0;
  if (starts_at(text, 0, ">>>")) pos = 3;
  while (pos <= text.size()) {
    size_t next = text.find(">>>", pos);
    std::string_view seg = text.substr(pos, next == kNpos ? kNpos : next - pos);
    size_t nl = seg.find('\n');
    std::string_view name = trim(seg.substr(0, nl));
    std::string_view body = nl == kNpos ? std::string_view() : seg.substr(nl + 1);
    ToolCall c;
    bool is_name = !name.empty() && name.find(' ') == kNpos && nl != kNpos;
    if (is_name && name == "all") {
      out->content += std::string(body);
    } else if (is_name && args_only(body, &c.arguments)) {
      c.name = std::string(name);
      out->tool_calls.push_back(std::move(c));
    } else if (is_name && name == "python") {
      c.name = "python";
      c.arguments = json{{"code", std::string(body)}};
      out->tool_calls.push_back(std::move(c));
    } else {
      out->content += std::string(seg);
    }
    if (next == kNpos) break;
    pos = next + 3;
  }
}

// gpt-oss: messages "[<|start|>assistant][ to=functions.NAME]<|channel|>CH[ json]<|message|>BODY<|end|/|call|>".
void parse_harmony(std::string_view text, ParsedOutput* out) {
  if (text.find("<|message|>") == kNpos) {
    out->content = std::string(text);
    return;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t m = text.find("<|message|>", pos);
    if (m == kNpos) break;
    std::string_view header = text.substr(pos, m - pos);
    size_t b = m + 11, e = text.size(), next = text.size();
    for (std::string_view end : {"<|end|>", "<|call|>", "<|return|>", "<|start|>"}) {
      size_t p = text.find(end, b);
      if (p != kNpos && p < e) e = p, next = p + (end == "<|start|>" ? 0 : end.size());
    }
    std::string_view body = text.substr(b, e - b);
    size_t to = header.find("to=functions.");
    ToolCall c;
    if (to != kNpos) {
      size_t ne = to + 13;
      while (ne < header.size() && !std::isspace(static_cast<unsigned char>(header[ne])) && header[ne] != '<') ++ne;
      c.name = std::string(header.substr(to + 13, ne - to - 13));
      if (!c.name.empty() && args_only(body, &c.arguments)) out->tool_calls.push_back(std::move(c));
      else out->content += std::string(body);
    } else if (header.find("analysis") != kNpos) {
      out->reasoning_content += std::string(body);
    } else {
      out->content += std::string(body);
    }
    pos = next;
    if (starts_at(text, pos, "<|start|>")) pos += 9;
  }
}

}  // namespace

void scan_blocks(const ToolCallSyntax& syn, std::string_view text, std::string_view open, std::string_view close,
                 BodyParser body, const json& tools, ParsedOutput* out) {
  size_t pos = 0;
  while (true) {
    size_t b = find(text, open, pos);
    if (b == kNpos) break;
    out->content += std::string(text.substr(pos, b - pos));
    size_t bs = b + open.size();
    size_t be = close.empty() ? kNpos : text.find(close, bs);
    size_t next = be == kNpos ? text.size() : be + close.size();
    if (be == kNpos) be = text.size();
    std::vector<ToolCall> calls;
    if (body(syn, text.substr(bs, be - bs), tools, &calls)) {
      for (auto& c : calls) out->tool_calls.push_back(std::move(c));
    } else {
      out->content += std::string(text.substr(b, next - b));
    }
    pos = next;
  }
  out->content += std::string(text.substr(std::min(pos, text.size())));
}

void parse_json_family(const ToolCallSyntax& syn, std::string_view text, const json& tools, ParsedOutput* out) {
  using K = ToolCallKind;
  switch (syn.kind) {
    case K::kJsonTagged: scan_blocks(syn, text, syn.open, syn.close, tagged_body, tools, out); break;
    case K::kFunctionaryV31: {
      // <|python_tag|>CODE is the python tool.
      size_t py = text.find("<|python_tag|>");
      std::string_view head = text.substr(0, py);
      scan_blocks(syn, head, syn.open, syn.close, functionary31_body, tools, out);
      if (py != kNpos) {
        ToolCall c;
        c.name = "python";
        c.arguments = json{{"code", std::string(text.substr(py + 14))}};
        out->tool_calls.push_back(std::move(c));
      }
      break;
    }
    case K::kFunctionaryV32: parse_functionary32(text, out); break;
    case K::kMistral: {
      // Consecutive [TOOL_CALLS] blocks: each ends where the next begins.
      size_t first = text.find(syn.open);
      if (first == kNpos) { out->content = std::string(text); break; }
      out->content = std::string(text.substr(0, first));
      size_t pos = first;
      while (pos < text.size()) {
        size_t bs = pos + syn.open.size();
        size_t next = text.find(syn.open, bs);
        std::string_view blk = text.substr(bs, next == kNpos ? kNpos : next - bs);
        std::vector<ToolCall> calls;
        if (mistral_body(syn, blk, tools, &calls)) {
          for (auto& c : calls) out->tool_calls.push_back(std::move(c));
        } else {
          out->content += std::string(text.substr(pos, next == kNpos ? kNpos : next - pos));
        }
        if (next == kNpos) break;
        pos = next;
      }
      break;
    }
    case K::kDeepSeek:
      if (text.find(syn.open) != kNpos) scan_blocks(syn, text, syn.open, syn.close, deepseek_body, tools, out);
      else scan_blocks(syn, text, syn.call_open, syn.call_close, deepseek_call, tools, out);
      break;
    case K::kKimiK2:
      if (text.find(syn.open) != kNpos) scan_blocks(syn, text, syn.open, syn.close, kimi_body, tools, out);
      else scan_blocks(syn, text, syn.call_open, syn.call_close, kimi_call, tools, out);
      break;
    case K::kSolar:
      if (text.find(syn.open) != kNpos) scan_blocks(syn, text, syn.open, syn.close, solar_body, tools, out);
      else scan_blocks(syn, text, syn.call_open, syn.call_close, solar_call, tools, out);
      break;
    case K::kLlama3Json: parse_llama3(text, out); break;
    case K::kHarmony: parse_harmony(text, out); break;
    default: out->content = std::string(text);
  }
}

void parse_calls(const ToolCallSyntax& syn, std::string_view text, const json& tools, ParsedOutput* out) {
  using K = ToolCallKind;
  switch (syn.kind) {
    case K::kNone: out->content = std::string(text); break;
    case K::kXmlFunction:
    case K::kArgKeyValue:
    case K::kXmlInvoke:
    case K::kMiniMaxM3:
    case K::kKimiK3:
    case K::kGemma4:
    case K::kPythonic: parse_xml_family(syn, text, tools, out); break;
    default: parse_json_family(syn, text, tools, out);
  }
  out->content = std::string(trim(out->content));
  out->reasoning_content = std::string(trim(out->reasoning_content));
}

std::vector<std::string_view> start_markers(const ToolCallSyntax& syn) {
  std::vector<std::string_view> m;
  for (const std::string* s : {&syn.open, &syn.call_open})
    if (!s->empty()) m.push_back(*s);
  if (syn.kind == ToolCallKind::kLlama3Json || syn.kind == ToolCallKind::kFunctionaryV31) m.push_back("<|python_tag|>");
  if (syn.kind == ToolCallKind::kHarmony) m.push_back("<|");
  if (syn.kind == ToolCallKind::kMiniMaxM3) m.push_back("]<]minimax[>[");
  return m;
}

bool starts_with_call(const ToolCallSyntax& syn, std::string_view text) {
  std::string_view t = trim(text);
  if (syn.kind == ToolCallKind::kLlama3Json) return t.empty() || t[0] == '{';
  if (syn.kind == ToolCallKind::kFunctionaryV32) return true;  // recipient line decides
  return false;
}

}  // namespace nuri::chat::detail
