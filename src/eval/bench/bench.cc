// eval/bench/bench.cc — gsm8k / mbpp / humaneval / bfcl loaders and scorers.
#include "eval/bench/bench.h"

#include <dirent.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>

#include "base/mmap.h"

namespace nuri::eval::bench {
namespace {

using ojson = nlohmann::ordered_json;

// JSON Lines: one object per non-empty line.
Result<std::vector<ojson>> read_jsonl(const std::string& path) {
  NURI_ASSIGN_OR_RETURN(std::string text, read_maybe_gzip(path));
  std::vector<ojson> out;
  std::istringstream in(text);
  std::string line;
  int no = 0;
  while (std::getline(in, line)) {
    ++no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ojson j = ojson::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Error(path + ":" + std::to_string(no) + ": not a JSON object");
    out.push_back(std::move(j));
  }
  return out;
}

std::string str(const ojson& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// "-12.50" -> "-12.5", "007" -> "7", "3." -> "3".
std::string normalize_number(std::string s) {
  s.erase(std::remove(s.begin(), s.end(), ','), s.end());
  bool neg = !s.empty() && s[0] == '-';
  if (neg) s.erase(0, 1);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  size_t z = 0;
  while (z + 1 < s.size() && s[z] == '0' && s[z + 1] != '.') ++z;
  s.erase(0, z);
  if (s.empty()) s = "0";
  if (neg && s != "0") s = "-" + s;
  return s;
}

// BFCL's tools use Python type names; JSON Schema wants object/number/array.
void fix_schema_types(ojson& j) {
  if (j.is_object()) {
    auto t = j.find("type");
    if (t != j.end() && t->is_string()) {
      const std::string v = t->get<std::string>();
      if (v == "dict") *t = "object";
      else if (v == "float") *t = "number";
      else if (v == "tuple") *t = "array";
      else if (v == "any") j.erase("type");
    }
    for (auto& [k, v] : j.items()) fix_schema_types(v);
  } else if (j.is_array()) {
    for (auto& v : j) fix_schema_types(v);
  }
}

std::string standardize(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (std::string(" ,./-_*^").find(c) != std::string::npos) continue;
    o += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return o;
}

bool allows_missing(const nlohmann::json& allowed) {
  if (!allowed.is_array()) return false;
  for (const auto& a : allowed)
    if (a.is_string() && a.get<std::string>().empty()) return true;
  return false;
}

bool value_equal(const nlohmann::json& v, const nlohmann::json& a);

// v against a list of allowed values (or one value when `allowed` is not a list).
bool value_allowed(const nlohmann::json& v, const nlohmann::json& allowed) {
  if (!allowed.is_array()) return value_equal(v, allowed);
  for (const auto& a : allowed)
    if (value_equal(v, a)) return true;
  return false;
}

bool value_equal(const nlohmann::json& v, const nlohmann::json& a) {
  if (v.is_number() && a.is_number()) {
    const double x = v.get<double>(), y = a.get<double>();
    return std::fabs(x - y) <= 1e-9 * std::max(1.0, std::fabs(y));
  }
  if (v.is_string() && a.is_string()) return standardize(v.get<std::string>()) == standardize(a.get<std::string>());
  if (v.is_boolean() && a.is_boolean()) return v.get<bool>() == a.get<bool>();
  if (v.is_array() && a.is_array()) {
    if (v.size() != a.size()) return false;
    for (size_t i = 0; i < v.size(); ++i)
      if (!value_equal(v[i], a[i])) return false;
    return true;
  }
  if (v.is_object() && a.is_object()) {  // a: {key: [allowed values]}
    for (const auto& [k, al] : a.items()) {
      auto it = v.find(k);
      if (it == v.end()) {
        if (!allows_missing(al)) return false;
      } else if (!value_allowed(*it, al)) {
        return false;
      }
    }
    for (const auto& [k, _] : v.items())
      if (!a.contains(k)) return false;
    return true;
  }
  return v.is_null() && a.is_null();
}

std::string dots_to_underscores(std::string s) {
  std::replace(s.begin(), s.end(), '.', '_');
  return s;
}

bool call_matches(const Call& c, const nlohmann::json& expected) {
  if (!expected.is_object() || expected.size() != 1) return false;
  const auto first = expected.begin();
  const std::string& name = first.key();
  const nlohmann::json& args = first.value();
  if (c.name != name && dots_to_underscores(c.name) != dots_to_underscores(name)) return false;
  if (!args.is_object() || !c.arguments.is_object()) return false;
  for (const auto& [k, allowed] : args.items()) {
    auto it = c.arguments.find(k);
    if (it == c.arguments.end()) {
      if (!allows_missing(allowed)) return false;
    } else if (!value_allowed(*it, allowed)) {
      return false;
    }
  }
  for (const auto& [k, _] : c.arguments.items())
    if (!args.contains(k)) return false;
  return true;
}

std::vector<std::string> bfcl_category_files(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string n = e->d_name;
      if (n.rfind("BFCL_", 0) == 0 && n.size() > 5 && n.substr(n.size() - 5) == ".json") out.push_back(n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::vector<BenchProblem>> load_bfcl_file(const std::string& dir, const std::string& name) {
  NURI_ASSIGN_OR_RETURN(auto qs, read_jsonl(dir + "/" + name));
  NURI_ASSIGN_OR_RETURN(auto as, read_jsonl(dir + "/possible_answer/" + name));
  std::map<std::string, nlohmann::json> answers;
  for (const auto& a : as) answers[str(a, "id")] = nlohmann::json::parse(a["ground_truth"].dump());
  std::vector<BenchProblem> out;
  for (const auto& q : qs) {
    BenchProblem p;
    p.task = Task::kBfcl;
    p.id = str(q, "id");
    auto it = answers.find(p.id);
    if (it == answers.end()) return Error(dir + "/possible_answer/" + name + ": no answer for " + p.id);
    p.expected_calls = it->second;
    const ojson& turns = q["question"];
    if (!turns.is_array() || turns.empty() || !turns[0].is_array())
      return Error(dir + "/" + name + ": " + p.id + ": 'question' is not a list of turns");
    p.messages = turns[0];
    for (const auto& m : p.messages)
      if (str(m, "role") == "user") p.user = str(m, "content");
    p.tools = ojson::array();
    for (ojson f : q["function"]) {
      ojson params = f.contains("parameters") ? f["parameters"] : ojson::object();
      fix_schema_types(params);
      p.tools.push_back({{"type", "function"},
                         {"function", {{"name", str(f, "name")}, {"description", str(f, "description")}, {"parameters", params}}}});
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

std::optional<Task> parse_task(const std::string& s) {
  if (s == "gsm8k") return Task::kGsm8k;
  if (s == "mbpp") return Task::kMbpp;
  if (s == "humaneval") return Task::kHumanEval;
  if (s == "bfcl") return Task::kBfcl;
  return std::nullopt;
}

const char* task_name(Task t) {
  switch (t) {
    case Task::kGsm8k: return "gsm8k";
    case Task::kMbpp: return "mbpp";
    case Task::kHumanEval: return "humaneval";
    case Task::kBfcl: return "bfcl";
  }
  return "?";
}

std::string default_data_path(Task t, const std::string& d) {
  switch (t) {
    case Task::kGsm8k: return d + "/gsm8k/test.jsonl";
    case Task::kMbpp: return d + "/mbpp/mbpp_test.jsonl";
    case Task::kHumanEval: return d + "/humaneval/HumanEval.jsonl.gz";
    case Task::kBfcl: return d + "/bfcl/v3";
  }
  return d;
}

Result<std::string> read_maybe_gzip(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");  // reads plain files unchanged
  if (!f) return Error("cannot open " + path);
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  int err = 0;
  const char* msg = n < 0 ? gzerror(f, &err) : nullptr;
  gzclose(f);
  if (n < 0) return Error(path + ": " + (msg ? msg : "read error"));
  return out;
}

Result<std::vector<BenchProblem>> load(Task t, const std::string& path, int n) {
  std::vector<BenchProblem> out;
  if (t == Task::kBfcl) {
    std::vector<std::vector<BenchProblem>> cats;
    if (is_directory(path)) {
      const auto files = bfcl_category_files(path);
      if (files.empty()) return Error(path + ": no BFCL_*.json category files");
      for (const auto& f : files) {
        NURI_ASSIGN_OR_RETURN(auto c, load_bfcl_file(path, f));
        cats.push_back(std::move(c));
      }
    } else {
      const auto slash = path.find_last_of('/');
      const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash);
      NURI_ASSIGN_OR_RETURN(auto c, load_bfcl_file(dir, path.substr(slash + 1)));
      cats.push_back(std::move(c));
    }
    // Interleaved by category, so the first n cover every category.
    for (size_t i = 0; n <= 0 || static_cast<int>(out.size()) < n; ++i) {
      bool any = false;
      for (auto& c : cats)
        if (i < c.size() && (n <= 0 || static_cast<int>(out.size()) < n)) {
          out.push_back(std::move(c[i]));
          any = true;
        }
      if (!any) break;
    }
    return out;
  }
  NURI_ASSIGN_OR_RETURN(auto rows, read_jsonl(path));
  for (size_t i = 0; i < rows.size() && (n <= 0 || static_cast<int>(out.size()) < n); ++i) {
    const ojson& r = rows[i];
    BenchProblem p;
    p.task = t;
    const std::string where = path + ":" + std::to_string(i + 1);
    if (t == Task::kGsm8k) {
      p.id = "gsm8k/" + std::to_string(i);
      const std::string a = str(r, "answer");
      const auto k = a.rfind("####");
      if (str(r, "question").empty() || k == std::string::npos) return Error(where + ": needs 'question' and an 'answer' with ####");
      auto num = last_number(a.substr(k + 4));
      if (!num) return Error(where + ": no number after ####");
      p.answer = *num;
      p.user = "Solve this math problem step by step. End your reply with the final answer as a number.\n\n" + str(r, "question");
    } else if (t == Task::kMbpp) {
      p.id = "mbpp/" + (r.contains("task_id") ? r["task_id"].dump() : std::to_string(i));
      const ojson& tests = r.contains("test") ? r["test"] : r.contains("test_list") ? r["test_list"] : ojson();
      const std::string prompt = r.contains("prompt") ? str(r, "prompt") : str(r, "text");
      if (prompt.empty() || !tests.is_array() || tests.empty()) return Error(where + ": needs 'prompt' and a 'test' list");
      std::string list;
      for (const auto& x : tests) list += (x.is_string() ? x.get<std::string>() : x.dump()) + "\n";
      p.user = "You are an expert Python programmer, and here is your task: " + prompt +
               " Your code should pass these tests:\n\n" + list + "\nWrite the code in a ```python code block.";
      p.tests = str(r, "test_setup_code") + "\n" + list;
    } else {  // humaneval
      p.id = str(r, "task_id");
      p.code_prefix = str(r, "prompt");
      p.answer = str(r, "entry_point");
      if (p.code_prefix.empty() || p.answer.empty() || str(r, "test").empty())
        return Error(where + ": needs 'prompt', 'entry_point' and 'test'");
      p.tests = str(r, "test") + "\n\ncheck(" + p.answer + ")\n";
      p.user = "Complete the following Python function. Reply with the whole function in a ```python code block.\n\n```python\n" +
               p.code_prefix + "```";
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::optional<std::string> last_number(const std::string& text) {
  std::optional<std::string> last;
  const size_t L = text.size();
  auto digit = [&](size_t i) { return i < L && std::isdigit(static_cast<unsigned char>(text[i])); };
  for (size_t i = 0; i < L;) {
    if (!digit(i)) {
      ++i;
      continue;
    }
    size_t b = i;
    if (b > 0 && text[b - 1] == '-') --b;
    size_t e = i;
    while (true) {
      while (digit(e)) ++e;
      if (e + 1 < L && text[e] == ',' && digit(e + 1) && digit(e + 2) && digit(e + 3) && !digit(e + 4)) {
        ++e;
        continue;
      }
      break;
    }
    if (e + 1 < L && text[e] == '.' && digit(e + 1)) {
      ++e;
      while (digit(e)) ++e;
    }
    last = normalize_number(text.substr(b, e - b));
    i = e;
  }
  return last;
}

bool check_gsm8k(const std::string& reply, const BenchProblem& p) {
  auto got = last_number(reply);
  if (!got) return false;
  const double x = std::strtod(got->c_str(), nullptr), y = std::strtod(p.answer.c_str(), nullptr);
  return *got == p.answer || std::fabs(x - y) <= 1e-9 * std::max(1.0, std::fabs(y));
}

std::string code_program(const std::string& reply, const BenchProblem& p) {
  std::string code;
  // The first ```python (or bare ```) fenced block, else the whole reply.
  size_t f = reply.find("```python");
  size_t skip = 9;
  if (f == std::string::npos) {
    f = reply.find("```");
    skip = 3;
  }
  if (f != std::string::npos) {
    size_t start = reply.find('\n', f + skip);
    start = start == std::string::npos ? reply.size() : start + 1;
    const size_t end = reply.find("```", start);
    code = reply.substr(start, end == std::string::npos ? std::string::npos : end - start);
  } else {
    code = reply;
  }
  if (p.task == Task::kHumanEval) {
    if (code.find("def " + p.answer + "(") == std::string::npos) {
      code = p.code_prefix + code;  // a completion of the function body
    } else {
      // The whole function: keep the prompt's imports and helpers it may rely on.
      std::string imports;
      std::istringstream in(p.code_prefix);
      std::string line;
      while (std::getline(in, line))
        if (line.rfind("import ", 0) == 0 || line.rfind("from ", 0) == 0) imports += line + "\n";
      code = imports + code;
    }
  }
  return code + "\n\n" + p.tests;
}

bool check_bfcl(const std::vector<Call>& calls, const BenchProblem& p) {
  const nlohmann::json& exp = p.expected_calls;
  if (!exp.is_array() || calls.size() != exp.size()) return false;
  // Each call paired with a distinct expected one (order free: parallel calls).
  std::vector<bool> used(exp.size(), false);
  std::function<bool(size_t)> assign = [&](size_t i) {
    if (i == calls.size()) return true;
    for (size_t j = 0; j < exp.size(); ++j) {
      if (used[j] || !call_matches(calls[i], exp[j])) continue;
      used[j] = true;
      if (assign(i + 1)) return true;
      used[j] = false;
    }
    return false;
  };
  return assign(0);
}

}  // namespace nuri::eval::bench
