// eval/synth/synth_agent.cc — kind (d): agent tasks over workspace files, with checkers and
// reference trajectories (see synth_agent.h).
#include "eval/synth/synth_agent.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "eval/synth/synth.h"

namespace nuri::eval::synth {

namespace {

const std::vector<std::string> kItems = {"apple", "pear",  "plum",  "lemon", "melon", "grape", "kiwi",
                                         "mango", "peach", "cherry", "fig",  "lime",  "onion", "carrot"};
const std::vector<std::string> kNames = {"anna", "ben",  "carl", "dora", "emil", "fay",  "gus",  "hana",
                                         "ivan", "jill", "kurt", "lena", "max",  "nina", "otto", "pia"};
const std::vector<std::string> kWords = {"red",  "blue", "sun",  "moon", "tree", "rain", "bird", "fish",
                                         "road", "star", "lake", "wind", "door", "book", "snow", "leaf"};
const std::vector<std::string> kCsvFiles = {"sales.csv", "stock.csv", "orders.csv", "data.csv", "shop.csv"};
const std::vector<std::string> kCols = {"qty", "price", "count", "weight", "cost"};
const std::vector<std::string> kTxtFiles = {"notes.txt", "log.txt", "story.txt", "text.txt", "words.txt"};
const std::vector<std::string> kNumFiles = {"nums.txt", "numbers.txt", "values.txt"};
const std::vector<std::string> kJsonKeys = {"port", "timeout", "retries", "workers", "level"};
const std::vector<std::string> kOutDirs = {"out", "results", "report"};
const std::vector<std::string> kOutFiles = {"total.txt", "result.txt", "answer.txt"};

const std::vector<std::string> kFamilies = {"csv_sum",   "csv_max",    "csv_mean",   "filter_rows",
                                            "json_field", "nums_sum",  "date_diff",  "write_sum",
                                            "count_lines", "count_word", "most_common"};

std::string code_block(const std::string& thought, const std::string& code) {
  return "Thought: " + thought + "\n```python\n" + code + "```";
}
std::string final_reply(const std::string& answer) { return "Final answer: " + answer; }
std::string inspect_reply(const std::string& thought, const std::string& file) {
  return code_block(thought, "print(read_file('" + file + "'))\n");
}

// Distinct picks from a list.
std::vector<std::string> pick_distinct(Rng& rng, const std::vector<std::string>& from, size_t n) {
  std::vector<std::string> pool = from, out;
  for (size_t i = 0; i < n && !pool.empty(); ++i) {
    size_t k = rng.index(pool.size());
    out.push_back(pool[k]);
    pool.erase(pool.begin() + static_cast<std::ptrdiff_t>(k));
  }
  return out;
}

struct Table {
  std::string file, key_col, col, other_col;
  std::vector<std::string> keys;
  std::vector<long long> vals, other;
  char sep = ',';
  std::string text() const {
    std::string s = key_col + sep + col + sep + other_col + "\n";
    for (size_t i = 0; i < keys.size(); ++i)
      s += keys[i] + sep + std::to_string(vals[i]) + sep + std::to_string(other[i]) + "\n";
    return s;
  }
};

Table make_table(Rng& rng, bool semicolon, bool people) {
  Table t;
  t.file = people ? "people.csv" : rng.pick(kCsvFiles);
  size_t n = static_cast<size_t>(rng.range(4, 6));
  if (people) {
    t.key_col = "name";
    t.col = "age";
    t.other_col = "score";
    t.keys = pick_distinct(rng, kNames, n);
    for (size_t i = 0; i < n; ++i) t.vals.push_back(rng.range(18, 60)), t.other.push_back(rng.range(1, 99));
  } else {
    auto cols = pick_distinct(rng, kCols, 2);
    t.key_col = "item";
    t.col = cols[0];
    t.other_col = cols[1];
    t.keys = pick_distinct(rng, kItems, n);
    for (size_t i = 0; i < n; ++i) t.vals.push_back(rng.range(1, 50)), t.other.push_back(rng.range(1, 50));
  }
  t.sep = semicolon ? ';' : ',';
  return t;
}

std::string reader_line(const Table& t, bool fixed) {
  return "rows = list(csv.DictReader(open('" + t.file + "')" + (fixed && t.sep == ';' ? ", delimiter=';'" : "") +
         "))\n";
}

const char* kSemicolonThought = "the columns are separated by ';', not ','.";
const char* kKeyErrorThought = "the program failed with a KeyError. Let me look at the file.";

// Fills a CSV family: natural code (comma reader) and, when the file uses ';', the fix.
void csv_task(AgentTask& t, Rng& rng, const std::string& family, bool fix) {
  Table tb = make_table(rng, fix, family == "filter_rows");
  std::string body, thought, answer;
  if (family == "csv_sum") {
    long long s = 0;
    for (long long v : tb.vals) s += v;
    answer = std::to_string(s);
    t.user = "What is the total of the " + tb.col + " column in " + tb.file + "?";
    thought = "sum the " + tb.col + " column of " + tb.file + ".";
    body = "print(sum(int(r['" + tb.col + "']) for r in rows))\n";
  } else if (family == "csv_max") {
    // A unique maximum.
    size_t best = rng.index(tb.vals.size());
    long long mx = *std::max_element(tb.vals.begin(), tb.vals.end());
    tb.vals[best] = mx + rng.range(1, 9);
    answer = tb.keys[best];
    t.user = "Which " + tb.key_col + " in " + tb.file + " has the highest " + tb.col + "?";
    thought = "find the row of " + tb.file + " with the largest " + tb.col + ".";
    body = "print(max(rows, key=lambda r: int(r['" + tb.col + "']))['" + tb.key_col + "'])\n";
  } else if (family == "csv_mean") {
    // An exact mean: the last value makes the sum divisible by the row count.
    long long s = 0;
    for (size_t i = 0; i + 1 < tb.vals.size(); ++i) s += tb.vals[i];
    long long n = static_cast<long long>(tb.vals.size());
    long long last = n - (s % n);
    if (last < 1) last += n;
    while (last < 5) last += n;
    tb.vals.back() = last;
    s += last;
    answer = std::to_string(s / n);
    t.user = "What is the average " + tb.col + " in " + tb.file + "?";
    thought = "average the " + tb.col + " column of " + tb.file + ".";
    body = "vals = [int(r['" + tb.col + "']) for r in rows]\nprint(sum(vals) / len(vals))\n";
  } else {  // filter_rows
    long long limit = rng.range(25, 45);
    bool any = std::any_of(tb.vals.begin(), tb.vals.end(), [&](long long v) { return v > limit; });
    if (!any) tb.vals[0] = limit + rng.range(1, 10);
    std::string names;
    for (size_t i = 0; i < tb.keys.size(); ++i)
      if (tb.vals[i] > limit) names += tb.keys[i] + "\n";
    t.expect_file = "old.txt";
    t.expect_content = names;
    t.user = "Write the names of the people in people.csv who are older than " + std::to_string(limit) +
             " to old.txt, one per line.";
    thought = "filter people.csv by age and write the names to old.txt.";
    body = "names = [r['name'] for r in rows if int(r['age']) > " + std::to_string(limit) +
           "]\nopen('old.txt', 'w').write('\\n'.join(names) + '\\n')\nprint(len(names))\n";
    answer = "";
  }
  t.files.push_back({tb.file, tb.text()});
  t.expect_answer = answer;
  std::string done = answer.empty() ? "old.txt written" : answer;
  if (family == "csv_mean") done = answer;  // the checker compares numbers, "12" == "12.0"
  if (family == "filter_rows") done = "wrote the names to old.txt";
  const std::string natural = "import csv\n" + reader_line(tb, false) + body;
  if (!fix) {
    bool look_first = rng.coin(50);
    if (look_first) t.replies.push_back(inspect_reply("first look at " + tb.file + ".", tb.file));
    t.replies.push_back(code_block(thought, natural));
  } else {
    t.replies.push_back(code_block(thought, natural));
    t.replies.push_back(inspect_reply(kKeyErrorThought, tb.file));
    t.replies.push_back(code_block(kSemicolonThought, "import csv\n" + reader_line(tb, true) + body));
  }
  t.replies.push_back(final_reply(family == "csv_mean" ? answer + ".0" : done));
}

void json_task(AgentTask& t, Rng& rng, bool fix) {
  auto keys = pick_distinct(rng, kJsonKeys, 3);
  std::vector<long long> vals;
  for (int i = 0; i < 3; ++i) vals.push_back(rng.range(2, 9000));
  const std::string name = rng.pick(kItems);
  size_t want = rng.index(3);
  std::string inner;
  for (size_t i = 0; i < 3; ++i) inner += (i ? ", " : "") + std::string("\"") + keys[i] + "\": " + std::to_string(vals[i]);
  std::string text = fix ? "{\"name\": \"" + name + "\", \"settings\": {" + inner + "}}\n"
                         : "{\"name\": \"" + name + "\", " + inner + "}\n";
  t.files.push_back({"config.json", text});
  t.user = "What is the value of " + keys[want] + " in config.json?";
  t.expect_answer = std::to_string(vals[want]);
  const std::string natural = "import json\nprint(json.load(open('config.json'))['" + keys[want] + "'])\n";
  if (!fix) {
    if (rng.coin(50)) t.replies.push_back(inspect_reply("first look at config.json.", "config.json"));
    t.replies.push_back(code_block("read " + keys[want] + " from config.json.", natural));
  } else {
    t.replies.push_back(code_block("read " + keys[want] + " from config.json.", natural));
    t.replies.push_back(inspect_reply(kKeyErrorThought, "config.json"));
    t.replies.push_back(code_block("the value is inside \"settings\".",
                                   "import json\nprint(json.load(open('config.json'))['settings']['" + keys[want] +
                                       "'])\n"));
  }
  t.replies.push_back(final_reply(t.expect_answer));
}

// Numbers one per line; the fix variant has a header line.
std::string numbers_text(Rng& rng, bool header, long long* sum) {
  int n = static_cast<int>(rng.range(4, 7));
  std::string s = header ? "values\n" : "";
  *sum = 0;
  for (int i = 0; i < n; ++i) {
    long long v = rng.range(1, 99);
    *sum += v;
    s += std::to_string(v) + "\n";
  }
  return s;
}

void nums_task(AgentTask& t, Rng& rng, bool fix) {
  const std::string file = rng.pick(kNumFiles);
  long long sum = 0;
  t.files.push_back({file, numbers_text(rng, fix, &sum)});
  t.user = "What is the sum of the numbers in " + file + "?";
  t.expect_answer = std::to_string(sum);
  const std::string natural = "print(sum(int(x) for x in open('" + file + "')))\n";
  if (!fix) {
    if (rng.coin(50)) t.replies.push_back(inspect_reply("first look at " + file + ".", file));
    t.replies.push_back(code_block("add up the lines of " + file + ".", natural));
  } else {
    t.replies.push_back(code_block("add up the lines of " + file + ".", natural));
    t.replies.push_back(inspect_reply("the program failed with a ValueError. Let me look at the file.", file));
    t.replies.push_back(code_block("the first line is a header; add up only the numbers.",
                                   "print(sum(int(x) for x in open('" + file + "') if x.strip().isdigit()))\n"));
  }
  t.replies.push_back(final_reply(t.expect_answer));
}

void date_task(AgentTask& t, Rng& rng, bool fix) {
  long long y1 = rng.range(2018, 2025), y2 = y1 + rng.range(0, 1);
  unsigned m1 = static_cast<unsigned>(rng.range(1, 12)), m2 = static_cast<unsigned>(rng.range(1, 12));
  unsigned d1 = static_cast<unsigned>(rng.range(1, 28)), d2 = static_cast<unsigned>(rng.range(1, 28));
  auto civil = [](long long y, unsigned m, unsigned d) {  // days since 1970-01-01
    y -= m <= 2;
    const long long era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    return era * 146097 + static_cast<long long>(yoe * 365 + yoe / 4 - yoe / 100 + doy) - 719468;
  };
  long long diff = std::llabs(civil(y2, m2, d2) - civil(y1, m1, d1));
  char a[16], b[16];
  if (fix) {
    std::snprintf(a, sizeof a, "%02u/%02u/%04lld", d1, m1, y1);
    std::snprintf(b, sizeof b, "%02u/%02u/%04lld", d2, m2, y2);
  } else {
    std::snprintf(a, sizeof a, "%04lld-%02u-%02u", y1, m1, d1);
    std::snprintf(b, sizeof b, "%04lld-%02u-%02u", y2, m2, d2);
  }
  t.files.push_back({"dates.txt", std::string(a) + "\n" + b + "\n"});
  t.user = "How many days are there between the two dates in dates.txt?";
  t.expect_answer = std::to_string(diff);
  auto code = [](const char* fmt) {
    return std::string("from datetime import datetime\na, b = [datetime.strptime(x.strip(), '") + fmt +
           "') for x in open('dates.txt')]\nprint(abs((b - a).days))\n";
  };
  if (!fix) {
    if (rng.coin(50)) t.replies.push_back(inspect_reply("first look at dates.txt.", "dates.txt"));
    t.replies.push_back(code_block("parse both dates and subtract.", code("%Y-%m-%d")));
  } else {
    t.replies.push_back(code_block("parse both dates and subtract.", code("%Y-%m-%d")));
    t.replies.push_back(code_block("the dates are written day/month/year.", code("%d/%m/%Y")));
  }
  t.replies.push_back(final_reply(t.expect_answer));
}

void write_sum_task(AgentTask& t, Rng& rng, bool fix) {
  const std::string file = rng.pick(kNumFiles);
  long long sum = 0;
  t.files.push_back({file, numbers_text(rng, false, &sum)});
  const std::string out = (fix ? rng.pick(kOutDirs) + "/" : std::string()) + rng.pick(kOutFiles);
  t.user = "Write the sum of the numbers in " + file + " to " + out + ".";
  t.expect_file = out;
  t.expect_content = std::to_string(sum) + "\n";
  const std::string body = "total = sum(int(x) for x in open('" + file + "'))\nopen('" + out +
                           "', 'w').write(str(total) + '\\n')\nprint(total)\n";
  t.replies.push_back(code_block("sum " + file + " and write the total to " + out + ".", body));
  if (fix) {
    const std::string dir = out.substr(0, out.find('/'));
    t.replies.push_back(code_block("the folder " + dir + " does not exist; create it first.",
                                   "import os\nos.makedirs('" + dir + "', exist_ok=True)\n" + body));
  }
  t.replies.push_back(final_reply("wrote " + std::to_string(sum) + " to " + out));
}

std::string words_text(Rng& rng, const std::vector<std::string>& vocab, int lines, int per_line) {
  std::string s;
  for (int i = 0; i < lines; ++i) {
    for (int j = 0; j < per_line; ++j) s += (j ? " " : "") + rng.pick(vocab);
    s += "\n";
  }
  return s;
}

void text_task(AgentTask& t, Rng& rng, const std::string& family) {
  const std::string file = rng.pick(kTxtFiles);
  auto vocab = pick_distinct(rng, kWords, 6);
  int lines = static_cast<int>(rng.range(3, 8)), per = static_cast<int>(rng.range(2, 4));
  std::string text = words_text(rng, vocab, lines, per);
  std::istringstream in(text);
  std::map<std::string, int> freq;
  for (std::string w; in >> w;) ++freq[w];
  std::string code;
  if (family == "count_lines") {
    t.user = "How many lines does " + file + " have?";
    t.expect_answer = std::to_string(lines);
    code = "print(len(open('" + file + "').read().splitlines()))\n";
  } else if (family == "count_word") {
    std::string w = rng.pick(vocab);
    t.user = "How many times does the word '" + w + "' appear in " + file + "?";
    t.expect_answer = std::to_string(freq.count(w) ? freq[w] : 0);
    code = "print(open('" + file + "').read().split().count('" + w + "'))\n";
  } else {  // most_common: make the top word unique
    std::string top = rng.pick(vocab);
    int best = 0;
    for (const auto& [w, c] : freq) best = std::max(best, c);
    int add = best + 1 - (freq.count(top) ? freq[top] : 0);
    for (int i = 0; i < add; ++i) text += top + "\n";
    t.user = "What is the most frequent word in " + file + "?";
    t.expect_answer = top;
    code = "from collections import Counter\nprint(Counter(open('" + file + "').read().split()).most_common(1)[0][0])\n";
  }
  t.files.push_back({file, text});
  if (rng.coin(50)) t.replies.push_back(inspect_reply("first look at " + file + ".", file));
  t.replies.push_back(code_block("compute it from " + file + ".", code));
  t.replies.push_back(final_reply(t.expect_answer));
}

std::string norm(std::string s) {
  auto strip = [&] {
    size_t b = 0, e = s.size();
    while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
    while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
    s = s.substr(b, e - b);
  };
  strip();
  if (!s.empty() && s.back() == '.') s.pop_back();
  while (s.size() >= 2 && (s[0] == '"' || s[0] == '\'' || s[0] == '`') && s.back() == s[0]) s = s.substr(1, s.size() - 2);
  strip();
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool as_number(const std::string& s, double* v) {
  if (s.empty()) return false;
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return end && *end == '\0' && std::isfinite(*v);
}

std::vector<std::string> content_lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) {
    std::string n = norm(line);
    if (!n.empty()) out.push_back(n);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& agent_task_families() { return kFamilies; }

AgentTask generate_agent_task(uint64_t seed, uint64_t index) {
  constexpr int kFixPercentOfFixable = 28;
  Rng rng(sample_seed(seed, index, Kind::kAll) ^ 0xd1b54a32d192ed03ULL);
  AgentTask t;
  t.id = "d-" + std::to_string(seed) + "-" + std::to_string(index);
  t.family = kFamilies[index % kFamilies.size()];
  const bool can_fix = t.family != "count_lines" && t.family != "count_word" && t.family != "most_common";
  // 8 of the 11 families can need a fix; 28 % of those is 20 % of all trajectories (issue 15).
  const bool fix = can_fix && rng.coin(kFixPercentOfFixable);
  t.needs_fix = fix;
  if (t.family == "csv_sum" || t.family == "csv_max" || t.family == "csv_mean" || t.family == "filter_rows")
    csv_task(t, rng, t.family, fix);
  else if (t.family == "json_field") json_task(t, rng, fix);
  else if (t.family == "nums_sum") nums_task(t, rng, fix);
  else if (t.family == "date_diff") date_task(t, rng, fix);
  else if (t.family == "write_sum") write_sum_task(t, rng, fix);
  else text_task(t, rng, t.family);
  return t;
}

std::vector<AgentTask> generate_agent_tasks(uint64_t seed, int n) {
  std::vector<AgentTask> out;
  for (int i = 0; i < n; ++i) out.push_back(generate_agent_task(seed, static_cast<uint64_t>(i)));
  return out;
}

nlohmann::ordered_json agent_task_json(const AgentTask& t) {
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  for (const auto& [p, c] : t.files) files[p] = c;
  nlohmann::ordered_json check = nlohmann::ordered_json::object();
  if (!t.expect_answer.empty()) check["answer"] = t.expect_answer;
  if (!t.expect_file.empty()) check["file"] = t.expect_file, check["content"] = t.expect_content;
  return {{"kind", "d"},       {"id", t.id},     {"task", t.family},         {"user", t.user},
          {"files", files},    {"check", check}, {"needs_fix", t.needs_fix}, {"replies", t.replies}};
}

Result<AgentTask> agent_task_from_json(const nlohmann::json& j) {
  if (!j.is_object()) return Error("a task line must be a JSON object");
  AgentTask t;
  auto str = [&](const char* k) { return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string(); };
  t.id = str("id");
  t.family = str("task");
  t.user = str("user");
  if (t.user.empty()) t.user = str("prompt");
  if (t.user.empty()) return Error("task has no \"user\" (or \"prompt\") text");
  if (j.contains("files")) {
    if (!j["files"].is_object()) return Error("\"files\" must be an object {path: content}");
    for (auto it = j["files"].begin(); it != j["files"].end(); ++it) {
      if (!it.value().is_string()) return Error("file " + it.key() + ": content must be a string");
      const std::string& p = it.key();
      if (p.empty() || p[0] == '/' || p.find("..") != std::string::npos)
        return Error("file path '" + p + "' must be relative, without '..'");
      t.files.push_back({p, it.value().get<std::string>()});
    }
  }
  if (j.contains("check") && j["check"].is_object()) {
    const auto& c = j["check"];
    if (c.contains("answer")) t.expect_answer = c["answer"].is_string() ? c["answer"].get<std::string>() : c["answer"].dump();
    if (c.contains("file") && c["file"].is_string()) {
      t.expect_file = c["file"];
      t.expect_content = c.contains("content") && c["content"].is_string() ? c["content"].get<std::string>() : "";
    }
  }
  t.needs_fix = j.contains("needs_fix") && j["needs_fix"].is_boolean() && j["needs_fix"].get<bool>();
  if (j.contains("replies") && j["replies"].is_array())
    for (const auto& r : j["replies"])
      if (r.is_string()) t.replies.push_back(r);
  return t;
}

bool answers_match(const std::string& got, const std::string& expected) {
  std::string g = norm(got), e = norm(expected);
  double a, b;
  if (as_number(e, &b) && as_number(g, &a)) return std::fabs(a - b) <= 1e-9 * std::max(1.0, std::fabs(b));
  return g == e;
}

TaskCheck check_agent_task(const AgentTask& t, bool answered, const std::string& answer, const std::string& workspace) {
  TaskCheck c;
  if (!t.expect_answer.empty()) {
    if (!answered) return {false, "no final answer"};
    if (!answers_match(answer, t.expect_answer)) return {false, "answer '" + answer + "' != '" + t.expect_answer + "'"};
  }
  if (!t.expect_file.empty()) {
    std::ifstream in(workspace + "/" + t.expect_file, std::ios::binary);
    if (!in) return {false, "file " + t.expect_file + " was not written"};
    std::stringstream ss;
    ss << in.rdbuf();
    if (content_lines(ss.str()) != content_lines(t.expect_content))
      return {false, "file " + t.expect_file + " does not hold the expected content"};
  }
  if (t.expect_answer.empty() && t.expect_file.empty() && !answered) return {false, "no final answer"};
  c.ok = true;
  return c;
}

}  // namespace nuri::eval::synth
