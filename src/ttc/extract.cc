// ttc/extract.cc — answer extractors, the sandboxed python runner and verifiers.
#include "ttc/extract.h"

#include <cctype>
#include <cstring>

namespace nuri::ttc {

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::string rtrim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A number starting at text[i] (optional sign, digits with commas between digits, optional
// fraction). Returns its length, 0 when none starts there.
size_t number_at(const std::string& t, size_t i) {
  size_t j = i;
  if (j < t.size() && (t[j] == '-' || t[j] == '+')) ++j;
  const size_t digits_start = j;
  while (j < t.size() && (is_digit(t[j]) || (t[j] == ',' && j > digits_start && j + 1 < t.size() && is_digit(t[j + 1]) &&
                                             is_digit(t[j - 1]))))
    ++j;
  if (j == digits_start) return 0;
  if (j + 1 < t.size() && t[j] == '.' && is_digit(t[j + 1])) {
    ++j;
    while (j < t.size() && is_digit(t[j])) ++j;
  }
  return j - i;
}

}  // namespace

std::string normalize_answer(const std::string& raw) {
  std::string s = trim(raw);
  if (s.empty() || number_at(s, 0) != s.size()) return s;
  std::string out;
  for (char c : s)
    if (c != ',') out += c;
  if (out[0] == '+') out.erase(0, 1);
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  // Leading zeros: "007" -> "7", "-0" -> "0".
  const bool neg = out[0] == '-';
  size_t d = neg ? 1 : 0;
  while (d + 1 < out.size() && out[d] == '0' && is_digit(out[d + 1])) out.erase(d, 1);
  if (neg && out == "-0") out = "0";
  return out;
}

std::optional<std::string> extract_answer_line(const std::string& text) {
  const std::string key = "Answer:";
  const size_t at = text.rfind(key);
  if (at == std::string::npos) return std::nullopt;
  size_t i = at + key.size();
  const size_t eol = text.find('\n', i);
  std::string rest = trim(text.substr(i, eol == std::string::npos ? std::string::npos : eol - i));
  if (rest.empty()) return std::nullopt;
  if (const size_t n = number_at(rest, 0); n > 0) return normalize_answer(rest.substr(0, n));
  while (!rest.empty() && rest.back() == '.') rest.pop_back();
  if (rest.empty()) return std::nullopt;
  return normalize_answer(rest);
}

std::optional<std::string> extract_last_number(const std::string& text) {
  std::optional<std::string> last;
  for (size_t i = 0; i < text.size();) {
    // A number starts at a digit, or at a sign directly before a digit that does not follow a
    // letter or digit ("3-4" is 3 and 4, not 3 and -4).
    const bool sign_ok = (text[i] == '-' || text[i] == '+') &&
                         (i == 0 || !std::isalnum(static_cast<unsigned char>(text[i - 1])));
    if (is_digit(text[i]) || sign_ok) {
      const size_t n = number_at(text, i);
      if (n > 0) {
        last = normalize_answer(text.substr(i, n));
        i += n;
        continue;
      }
    }
    ++i;
  }
  return last;
}

std::optional<std::string> extract_boxed(const std::string& text) {
  const std::string key = "\\boxed{";
  size_t at = text.rfind(key);
  while (at != std::string::npos) {
    int depth = 1;
    size_t j = at + key.size();
    for (; j < text.size() && depth > 0; ++j) {
      if (text[j] == '{') ++depth;
      else if (text[j] == '}') --depth;
    }
    if (depth == 0) {
      std::string inner = trim(text.substr(at + key.size(), j - 1 - (at + key.size())));
      if (!inner.empty()) return normalize_answer(inner);
    }
    if (at == 0) break;
    at = text.rfind(key, at - 1);  // unbalanced or empty: try the one before
  }
  return std::nullopt;
}

std::optional<std::string> python_block(const std::string& text) {
  size_t at = text.find("```python");
  size_t body;
  if (at != std::string::npos) {
    body = at + 9;
  } else {
    at = text.find("```");
    if (at == std::string::npos) return std::nullopt;
    body = at + 3;
  }
  const size_t nl = text.find('\n', body);
  if (nl == std::string::npos) return std::nullopt;
  // An unclosed block (the reply was cut off) runs to the end of the text, as eval-synth's
  // greedy check does; a block with nothing but blanks is no program.
  const size_t end = text.find("```", nl + 1);
  std::string code = end == std::string::npos ? text.substr(nl + 1) : text.substr(nl + 1, end - (nl + 1));
  if (trim(code).empty()) return std::nullopt;
  return code;
}

sandbox::SandboxPolicy PythonRunner::default_policy() {
  sandbox::SandboxPolicy p;
  p.wall_time_s = 5;
  p.memory_bytes = 256ull << 20;
  p.allow_weaker = true;  // reported through not_enforced()
  return p;
}

PythonRunner::PythonRunner(sandbox::SandboxPolicy policy) : policy_(std::move(policy)) {}

Execution PythonRunner::run(const std::string& program, const std::string& stdin_data) const {
  const auto key = std::make_pair(program, stdin_data);
  {
    std::lock_guard lk(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) return it->second;
  }
  // The program goes in through `-c` so that stdin stays free for the test's input.
  Execution e;
  auto r = sandbox::run_sandboxed({"/usr/bin/python3", "-c", program}, policy_, stdin_data);
  if (r.ok()) {
    e.ran = true;
    e.exit_code = r->exit_code;
    e.timed_out = r->timed_out;
    e.stdout_text = rtrim(r->stdout_data);
  }
  std::lock_guard lk(mu_);
  if (r.ok() && not_enforced_.empty()) not_enforced_ = r->not_enforced;
  cache_.emplace(key, e);
  return e;
}

std::vector<std::string> PythonRunner::not_enforced() const {
  std::lock_guard lk(mu_);
  return not_enforced_;
}

std::optional<std::string> PythonExtractor::extract(const std::string& text) const {
  auto code = python_block(text);
  if (!code) return std::nullopt;
  Execution e = runner_->run(*code);
  if (!e.ran || e.exit_code != 0 || e.timed_out) return std::nullopt;
  return e.stdout_text;
}

namespace {

class FnExtractor : public Extractor {
 public:
  using Fn = std::optional<std::string> (*)(const std::string&);
  FnExtractor(const char* name, Fn fn) : name_(name), fn_(fn) {}
  const char* name() const override { return name_; }
  std::optional<std::string> extract(const std::string& text) const override { return fn_(text); }

 private:
  const char* name_;
  Fn fn_;
};

}  // namespace

Result<std::unique_ptr<Extractor>> make_extractor(const std::string& name) {
  if (name == "answer") return std::unique_ptr<Extractor>(new FnExtractor("answer", extract_answer_line));
  if (name == "number") return std::unique_ptr<Extractor>(new FnExtractor("number", extract_last_number));
  if (name == "boxed") return std::unique_ptr<Extractor>(new FnExtractor("boxed", extract_boxed));
  if (name == "python") return std::unique_ptr<Extractor>(new PythonExtractor());
  return Error("unknown answer extractor '" + name + "' (use answer, number, boxed or python)");
}

std::optional<double> ExecutionVerifier::score(const std::string& text) const {
  auto code = python_block(text);
  if (!code) return 0.0;
  if (tests_.empty()) {
    Execution e = runner_->run(*code);
    return (e.ran && e.exit_code == 0 && !e.timed_out && !e.stdout_text.empty()) ? 1.0 : 0.0;
  }
  int passed = 0;
  for (const auto& t : tests_) {
    Execution e = runner_->run(*code, t.stdin_data);
    passed += (e.ran && e.exit_code == 0 && !e.timed_out && e.stdout_text == rtrim(t.expected)) ? 1 : 0;
  }
  return static_cast<double>(passed) / static_cast<double>(tests_.size());
}

}  // namespace nuri::ttc

namespace nuri::ttc {

namespace {

// Integer at t[i] (optional '-' directly before digits); advances i.
std::optional<long long> int_at(const std::string& t, size_t& i) {
  size_t j = i;
  bool neg = false;
  if (j < t.size() && t[j] == '-') neg = true, ++j;
  if (j >= t.size() || !is_digit(t[j])) return std::nullopt;
  long long v = 0;
  while (j < t.size() && is_digit(t[j])) {
    if (v > 100000000000000000LL) return std::nullopt;  // too long to be a step of ours
    v = v * 10 + (t[j] - '0');
    ++j;
  }
  i = j;
  return neg ? -v : v;
}

// Operator after spaces at t[i] (longest first); advances i past it and the spaces after.
std::string op_at(const std::string& t, size_t& i) {
  size_t j = i;
  while (j < t.size() && t[j] == ' ') ++j;
  static const char* kOps[] = {"//", "<=", ">=", "×", "+", "-", "x", "*", "/", "%", "<", ">", "="};
  for (const char* o : kOps) {
    const size_t n = std::strlen(o);
    if (t.compare(j, n, o) == 0) {
      j += n;
      while (j < t.size() && t[j] == ' ') ++j;
      i = j;
      return o;
    }
  }
  return "";
}

}  // namespace

std::pair<int, int> check_arithmetic_steps(const std::string& text) {
  int checked = 0, correct = 0;
  for (size_t i = 0; i < text.size();) {
    const bool starts = (is_digit(text[i]) || (text[i] == '-' && i + 1 < text.size() && is_digit(text[i + 1]))) &&
                        (i == 0 || !(std::isalnum(static_cast<unsigned char>(text[i - 1])) || text[i - 1] == '.'));
    if (!starts) {
      ++i;
      continue;
    }
    size_t p = i;
    auto a = int_at(text, p);
    if (!a) {
      ++i;
      continue;
    }
    size_t q = p;
    const std::string op = op_at(text, q);
    auto b = op.empty() || op == "=" ? std::nullopt : int_at(text, q);
    if (!b) {
      i = p;
      continue;
    }
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      const bool holds = op == "<" ? *a < *b : op == ">" ? *a > *b : op == "<=" ? *a <= *b : *a >= *b;
      ++checked;
      correct += holds;
      i = q;
      continue;
    }
    size_t r = q;
    if (op_at(text, r) != "=") {
      i = q;
      continue;
    }
    auto c = int_at(text, r);
    ++checked;
    if (c) {
      std::optional<long long> want;
      if (op == "+") want = *a + *b;
      else if (op == "-") want = *a - *b;
      else if (op == "x" || op == "*" || op == "×") want = *a * *b;
      else if (*b != 0 && op == "//") want = (*a / *b) - ((*a % *b != 0 && ((*a < 0) != (*b < 0))) ? 1 : 0);
      else if (*b != 0 && op == "/" && *a % *b == 0) want = *a / *b;
      else if (*b != 0 && op == "%") want = ((*a % *b) + *b) % *b;
      correct += want && *want == *c;
      i = r;
    } else {
      i = r;
    }
  }
  return {checked, correct};
}

std::optional<double> ArithmeticStepVerifier::score(const std::string& text) const {
  auto [checked, correct] = check_arithmetic_steps(text);
  if (checked == 0) return std::nullopt;
  return static_cast<double>(correct) / checked;
}

std::pair<int, int> grounded_literals(const std::string& program, const std::string& request) {
  int checked = 0, found = 0;
  for (size_t i = 0; i < program.size(); ++i) {
    const char c = program[i];
    if (c == '"' || c == '\'') {
      const size_t end = program.find(c, i + 1);
      const size_t nl = program.find('\n', i + 1);
      if (end == std::string::npos || (nl != std::string::npos && nl < end)) continue;
      const std::string lit = program.substr(i + 1, end - i - 1);
      i = end;
      bool alnum = false;
      for (char ch : lit) alnum |= std::isalnum(static_cast<unsigned char>(ch)) != 0;
      if (!alnum || lit.find('%') != std::string::npos) continue;  // separators, format strings
      ++checked;
      found += request.find(lit) != std::string::npos;
    } else if (c == '[') {
      // A list literal of numbers: [n, n, ...]
      size_t j = i + 1;
      std::vector<std::string> nums;
      bool ok = true;
      while (j < program.size() && ok) {
        while (j < program.size() && program[j] == ' ') ++j;
        size_t n = number_at(program, j);
        if (n == 0) {
          ok = false;
          break;
        }
        nums.push_back(program.substr(j, n));
        j += n;
        while (j < program.size() && program[j] == ' ') ++j;
        if (j < program.size() && program[j] == ',') ++j;
        else if (j < program.size() && program[j] == ']') break;
        else ok = false;
      }
      if (!ok || nums.size() < 2 || j >= program.size()) continue;
      for (const auto& n : nums) {
        ++checked;
        // As a whole number of the request, not a digit run inside a longer one.
        bool hit = false;
        for (size_t at = request.find(n); at != std::string::npos && !hit; at = request.find(n, at + 1)) {
          const bool left = at == 0 || !is_digit(request[at - 1]);
          const bool right = at + n.size() >= request.size() || !is_digit(request[at + n.size()]);
          hit = left && right;
        }
        found += hit;
      }
      i = j;
    }
  }
  return {checked, found};
}

std::optional<double> GroundedCodeVerifier::score(const std::string& text) const {
  auto code = python_block(text);
  if (!code) return 0.0;
  Execution e = runner_->run(*code);
  if (!e.ran || e.exit_code != 0 || e.timed_out || e.stdout_text.empty()) return 0.0;
  auto [checked, found] = grounded_literals(*code, request_);
  return checked == 0 ? 1.0 : static_cast<double>(found) / checked;
}

}  // namespace nuri::ttc
