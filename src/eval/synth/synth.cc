// eval/synth/synth.cc — PRNG, dispatch, answer extraction and checks (see synth.h).
#include "eval/synth/synth.h"

#include <cctype>
#include <sstream>

#include "base/check.h"

namespace nuri::eval::synth {

namespace {

uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Parses an integer (optional '-') at s[pos..]; advances pos. Commas inside are skipped.
std::optional<long long> parse_int(const std::string& s, size_t& pos) {
  size_t p = pos;
  bool neg = false;
  if (p < s.size() && s[p] == '-') { neg = true; ++p; }
  if (p >= s.size() || !std::isdigit(static_cast<unsigned char>(s[p]))) return std::nullopt;
  long long v = 0;
  while (p < s.size() && (std::isdigit(static_cast<unsigned char>(s[p])) ||
                          (s[p] == ',' && p + 1 < s.size() && std::isdigit(static_cast<unsigned char>(s[p + 1]))))) {
    if (s[p] != ',') {
      if (v > 100000000000000000LL) return std::nullopt;
      v = v * 10 + (s[p] - '0');
    }
    ++p;
  }
  pos = p;
  return neg ? -v : v;
}

}  // namespace

uint64_t Rng::next() {
  state_ += 0x9e3779b97f4a7c15ULL;
  return mix64(state_);
}

int64_t Rng::range(int64_t lo, int64_t hi) {
  NURI_CHECK(lo <= hi);
  uint64_t span = static_cast<uint64_t>(hi - lo) + 1;
  return lo + static_cast<int64_t>(next() % span);  // modulo bias is irrelevant here
}

uint64_t sample_seed(uint64_t seed, uint64_t index, Kind kind) {
  return mix64(mix64(seed * 4 + static_cast<uint64_t>(kind)) ^ (index + 0x632be59bd9b4e019ULL));
}

SynthSample generate_one(uint64_t seed, uint64_t index, Kind kind) {
  NURI_CHECK(kind != Kind::kAll);
  Rng rng(sample_seed(seed, index, kind));
  switch (kind) {
    case Kind::kArith: return generate_arith(rng, 1 + static_cast<int>(index % 4));
    case Kind::kAction: return generate_action(rng);
    case Kind::kChat: return generate_chat(rng, index);
    case Kind::kAll: break;
  }
  NURI_CHECK(false);
  return {};
}

std::vector<SynthSample> generate(uint64_t seed, int n, Kind kind) {
  std::vector<SynthSample> out;
  if (n <= 0) return out;
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    Kind k = kind;
    if (kind == Kind::kAll) {
      Rng pick(sample_seed(seed, static_cast<uint64_t>(i), Kind::kAll));
      int64_t r = pick.range(0, 99);
      k = r < 60 ? Kind::kArith : (r < 95 ? Kind::kAction : Kind::kChat);
    }
    out.push_back(generate_one(seed, static_cast<uint64_t>(i), k));
  }
  return out;
}

std::optional<std::string> extract_answer_a(const std::string& text) {
  size_t at = text.rfind("Answer:");
  if (at == std::string::npos) return std::nullopt;
  size_t p = at + 7;
  while (p < text.size() && (text[p] == ' ' || text[p] == '\t')) ++p;
  auto v = parse_int(text, p);
  if (!v) return std::nullopt;
  return std::to_string(*v);
}

bool check_answer_a(const std::string& model_text, const SynthSample& sample) {
  auto a = extract_answer_a(model_text);
  return a.has_value() && *a == sample.answer;
}

std::string check_reasoning_a(const SynthSample& s) {
  std::istringstream in(s.assistant);
  std::string line;
  int steps = 0;
  while (std::getline(in, line)) {
    // Every "<int> <op> <int> = <int>" fragment in the line must be right.
    for (size_t i = 0; i < line.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(line[i])) || (i > 0 && std::isdigit(static_cast<unsigned char>(line[i - 1]))))
        continue;
      size_t p = i;
      auto a = parse_int(line, p);
      if (!a) continue;
      std::string rest = line.substr(p);
      std::string op;
      for (const char* o : {" + ", " - ", " x ", " // ", " % "}) {
        if (rest.rfind(o, 0) == 0) { op = o; break; }
      }
      if (op.empty()) continue;
      size_t q = p + op.size();
      auto b = parse_int(line, q);
      if (!b) continue;
      if (line.compare(q, 3, " = ") != 0) continue;
      size_t r = q + 3;
      auto c = parse_int(line, r);
      if (!c) return "unparsable result in: " + line;
      long long want = 0;
      if (op == " + ") want = *a + *b;
      else if (op == " - ") want = *a - *b;
      else if (op == " x ") want = *a * *b;
      else if (*b == 0) return "division by zero in: " + line;
      else if (op == " // ") want = *a / *b;
      else want = *a % *b;
      if (want != *c) return "wrong step: " + line;
      ++steps;
      i = r;
    }
  }
  if (s.difficulty >= 2 && steps == 0) return "no checked steps";
  auto ans = extract_answer_a(s.assistant);
  if (!ans) return "no Answer: line";
  if (*ans != s.answer) return "Answer " + *ans + " != expected " + s.answer;
  return "";
}

std::optional<std::string> extract_python_block(const std::string& text) {
  size_t at = text.find("```python");
  size_t body;
  if (at != std::string::npos) {
    body = text.find('\n', at);
  } else {
    at = text.find("```");
    if (at == std::string::npos) return std::nullopt;
    body = text.find('\n', at);
  }
  if (body == std::string::npos) return std::nullopt;
  ++body;
  size_t end = text.find("```", body);
  std::string code = end == std::string::npos ? text.substr(body) : text.substr(body, end - body);
  if (trim(code).empty()) return std::nullopt;
  return code;
}

std::optional<Kind> parse_kind(const std::string& s) {
  if (s == "a" || s == "arith") return Kind::kArith;
  if (s == "b" || s == "action") return Kind::kAction;
  if (s == "c" || s == "chat") return Kind::kChat;
  if (s == "all") return Kind::kAll;
  return std::nullopt;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kArith: return "a";
    case Kind::kAction: return "b";
    case Kind::kChat: return "c";
    case Kind::kAll: return "all";
  }
  return "?";
}

std::string render_chatml(const std::string& user, const std::string* assistant) {
  std::string s = "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n";
  if (assistant) s += *assistant + "<|im_end|>\n";
  return s;
}

}  // namespace nuri::eval::synth
