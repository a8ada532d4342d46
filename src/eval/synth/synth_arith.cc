// eval/synth/synth_arith.cc — kind (a): arithmetic and word problems, difficulty 1-4.
// Difficulty = number of reasoning lines before "Answer:" (arithmetic steps and comparisons).
// Reasoning format, one step per line: "<a> <op> <b> = <c>" with op in + - x // %, then
// "Answer: <n>". Levels 1-3 keep operands small; level 4 uses larger numbers and more steps.
#include <string>
#include <vector>

#include "base/check.h"
#include "eval/synth/synth.h"

namespace nuri::eval::synth {

namespace {

struct Person {
  const char* name;
  const char* he;   // subject pronoun, capitalised
  const char* him;  // object pronoun
};

const std::vector<Person> kPeople = {
    {"Tom", "He", "him"},   {"Anna", "She", "her"}, {"Ben", "He", "him"},   {"Mia", "She", "her"},
    {"Leo", "He", "him"},   {"Sara", "She", "her"}, {"Max", "He", "him"},   {"Lily", "She", "her"},
    {"Sam", "He", "him"},   {"Nora", "She", "her"}, {"Omar", "He", "him"},  {"Zoe", "She", "her"},
    {"Ivan", "He", "him"},  {"Emma", "She", "her"}, {"Ali", "He", "him"},   {"Kate", "She", "her"},
};
const std::vector<std::string> kItems = {"apples", "marbles", "stickers", "books",  "cookies", "coins",
                                         "pencils", "cards",  "stamps",   "shells", "eggs",    "balloons"};

std::string op_text(char op) {
  switch (op) {
    case '+': return " + ";
    case '-': return " - ";
    case '*': return " x ";
    case '/': return " // ";
    case '%': return " % ";
  }
  NURI_CHECK(false);
  return "";
}

long long apply(long long a, char op, long long b) {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    case '%': return a % b;
  }
  NURI_CHECK(false);
  return 0;
}

// Accumulates reasoning lines.
struct Work {
  std::vector<std::string> lines;
  long long step(long long a, char op, long long b) {
    long long r = apply(a, op, b);
    lines.push_back(std::to_string(a) + op_text(op) + std::to_string(b) + " = " + std::to_string(r));
    return r;
  }
  std::string finish(long long answer) const {
    std::string s;
    for (const auto& l : lines) s += l + "\n";
    return s + "Answer: " + std::to_string(answer);
  }
};

// Picks an operand for `op` applied to v at difficulty d; returns false if op does not fit.
// Levels 1-3 keep operands small (a small model can learn these facts); level 4 goes larger.
bool pick_operand(Rng& rng, long long v, char op, int d, long long& b) {
  bool big = d >= 4;
  switch (op) {
    case '+': b = rng.range(1, big ? 60 : 20); return v <= (big ? 400 : 80);
    case '-':
      if (v < 2) return false;
      b = rng.range(1, std::min<long long>(v - 1, big ? 60 : 20));
      return true;
    case '*':
      if (v > (big ? 40 : 12) || v < 1) return false;
      b = rng.range(2, big ? 9 : 5);
      return true;
    case '/':
    case '%':
      b = rng.range(2, 9);
      return v >= b;
  }
  return false;
}

// ---- expression chains: "((a + b) x c) - d" ------------------------------------------------
SynthSample arith_expr(Rng& rng, int d) {
  Work w;
  long long v = rng.range(2, d >= 4 ? 99 : 30);
  std::string expr = std::to_string(v);
  static const std::vector<char> kOps = {'+', '-', '*', '/', '%', '+', '-', '*'};
  for (int i = 0; i < d; ++i) {
    char op;
    long long b;
    do op = rng.pick(kOps);
    while (!pick_operand(rng, v, op, d, b));
    if (i > 0) {
      expr.insert(0, 1, '(');
      expr.push_back(')');
    }
    expr += op_text(op) + std::to_string(b);
    v = w.step(v, op, b);
  }
  static const std::vector<std::string> kForms = {"What is {}?", "Compute {}.", "Calculate {}.",
                                                  "{} = ?",      "Evaluate {}.", "What does {} equal?"};
  std::string form = rng.pick(kForms);
  form.replace(form.find("{}"), 2, expr);
  return {Kind::kArith, d, "expr", form, w.finish(v), std::to_string(v)};
}

// ---- word stories: a person's items change step by step ---------------------------------------
SynthSample arith_story(Rng& rng, int d) {
  const Person& p = rng.pick(kPeople);
  const std::string item = rng.pick(kItems);
  const std::string he = p.he;
  Work w;
  long long v = rng.range(d >= 4 ? 10 : 2, d >= 4 ? 99 : 30);
  std::string text = std::string(p.name) + " has " + std::to_string(v) + " " + item + ".";
  std::string question = "How many " + item + " does " + p.name + " have now?";
  int left = d;
  while (left > 0) {
    bool last = left == 1;
    int r = static_cast<int>(rng.range(0, 99));
    long long b;
    if (left >= 2 && r < 20 && v <= 200) {  // packs: k x m then add (two steps)
      long long k = rng.range(2, d >= 4 ? 9 : 5), m = rng.range(2, d >= 4 ? 12 : 9);
      static const std::vector<std::string> kBox = {"boxes", "bags", "packs"};
      std::string box = rng.pick(kBox);
      text += " " + he + " buys " + std::to_string(k) + " " + box + " with " + std::to_string(m) + " " + item +
              " in each.";
      long long add = w.step(k, '*', m);
      v = w.step(v, '+', add);
      left -= 2;
      continue;
    }
    if (last && r < 40 && v >= 4) {  // share or group as the final step
      b = rng.range(2, std::min<long long>(9, v));
      if (rng.coin(50)) {
        text += " " + he + " shares them equally among " + std::to_string(b) + " friends.";
        question = "How many " + item + " does each friend get?";
        v = w.step(v, '/', b);
      } else {
        text += " " + he + " puts them into groups of " + std::to_string(b) + ".";
        question = "How many " + item + " are left over?";
        v = w.step(v, '%', b);
      }
      left -= 1;
      continue;
    }
    if (r < 55 && v <= (d >= 4 ? 40 : 15) && rng.coin(40)) {
      long long k = rng.range(2, 3);
      text += std::string(" Then the number of ") + item + (k == 2 ? " doubles." : " triples.");
      v = w.step(v, '*', k);
      left -= 1;
      continue;
    }
    if (r < 75 && v >= 2) {
      pick_operand(rng, v, '-', d, b);
      static const std::vector<std::string> kLose = {"gives {} to a friend.", "loses {}.", "gives away {}.",
                                                     "sells {}."};
      std::string s = rng.pick(kLose);
      s.replace(s.find("{}"), 2, std::to_string(b));
      text += " " + he + " " + s;
      v = w.step(v, '-', b);
    } else {
      pick_operand(rng, v, '+', d, b);
      static const std::vector<std::string> kGain = {"buys {} more.", "finds {} more.", "gets {} more from a friend.",
                                                     "wins {} more."};
      std::string s = rng.pick(kGain);
      s.replace(s.find("{}"), 2, std::to_string(b));
      text += " " + he + " " + s;
      v = w.step(v, '+', b);
    }
    left -= 1;
  }
  return {Kind::kArith, d, "story", text + " " + question, w.finish(v), std::to_string(v)};
}

// ---- units: conversions ---------------------------------------------------------------------
struct Unit {
  const char* big;
  const char* small;
  int factor;
  const char* thing;  // "A movie lasts", "A rope is" ...
  const char* thing2;
  const char* tail;   // after the quantity: "" or " long"
};
const std::vector<Unit> kUnits = {
    {"hours", "minutes", 60, "A movie lasts", "Another movie lasts", ""},
    {"minutes", "seconds", 60, "A song lasts", "Another song lasts", ""},
    {"days", "hours", 24, "A trip takes", "Another trip takes", ""},
    {"weeks", "days", 7, "A course takes", "Another course takes", ""},
    {"meters", "centimeters", 100, "A rope is", "Another rope is", " long"},
    {"feet", "inches", 12, "A board is", "Another board is", " long"},
    {"kilograms", "grams", 1000, "A bag weighs", "Another bag weighs", ""},
    {"dollars", "cents", 100, "A toy costs", "Another toy costs", ""},
    {"years", "months", 12, "A project takes", "Another project takes", ""},
};

SynthSample arith_units(Rng& rng, int d) {
  const Unit& u = rng.pick(kUnits);
  std::string big = u.big, small = u.small;
  Work w;
  long long q = rng.range(2, d >= 4 ? 12 : 9);
  long long m = rng.range(1, std::min(u.factor - 1, 59));
  std::string user;
  long long v;
  if (d == 1) {
    static const std::vector<std::string> kForms = {"How many {s} are in {q} {b}?", "Convert {q} {b} to {s}.",
                                                    "{q} {b} is how many {s}?"};
    user = rng.pick(kForms);
    user.replace(user.find("{s}"), 3, small);
    user.replace(user.find("{q}"), 3, std::to_string(q));
    user.replace(user.find("{b}"), 3, big);
    v = w.step(q, '*', u.factor);
  } else {
    std::string qty = std::to_string(q) + " " + big + " and " + std::to_string(m) + " " + small;
    long long p = w.step(q, '*', u.factor);
    v = w.step(p, '+', m);
    if (d == 2) {
      user = std::string(u.thing) + " " + qty + u.tail + ". How many " + small + " is that?";
    } else if (d == 3) {
      if (rng.coin(50)) {
        long long k = rng.range(1, 40);
        user = std::string(u.thing) + " " + qty + u.tail + ". " + u.thing2 + " " + std::to_string(k) + " " + small +
               u.tail + ". How many " + small + " is that in total?";
        v = w.step(v, '+', k);
      } else {
        long long k = rng.range(1, std::min<long long>(v - 1, 40));
        user = std::string(u.thing) + " " + qty + u.tail + ". " + u.thing2 + " " + std::to_string(k) + " " + small +
               u.tail + ". How many " + small + " more is the first?";
        v = w.step(v, '-', k);
      }
    } else {
      long long q2 = rng.range(2, 12);
      user = std::string(u.thing) + " " + qty + u.tail + ". " + u.thing2 + " " + std::to_string(q2) + " " + big +
             u.tail + ". How many " + small + " is that in total?";
      long long p2 = w.step(q2, '*', u.factor);
      v = w.step(v, '+', p2);
    }
  }
  return {Kind::kArith, d, "units", user, w.finish(v), std::to_string(v)};
}

// ---- comparisons ----------------------------------------------------------------------------
// A random one-op expression with a small result; returns its text and fills the value.
std::string small_expr(Rng& rng, int d, long long& value) {
  static const std::vector<char> kOps = {'+', '-', '*'};
  for (;;) {
    long long a = rng.range(2, d >= 4 ? 60 : 20);
    char op = rng.pick(kOps);
    long long b;
    if (!pick_operand(rng, a, op, d, b)) continue;
    value = apply(a, op, b);
    return std::to_string(a) + op_text(op) + std::to_string(b);
  }
}

SynthSample arith_compare(Rng& rng, int d) {
  Work w;
  bool larger = rng.coin(70);
  std::string left, right;
  long long lv = 0, rv = 0;
  if (d == 1 && rng.coin(50)) {  // word form: how many more
    const Person& p1 = rng.pick(kPeople);
    const Person* p2 = &rng.pick(kPeople);
    while (p2 == &p1) p2 = &rng.pick(kPeople);
    const std::string item = rng.pick(kItems);
    long long a = rng.range(5, 60), b = rng.range(1, a - 1);
    std::string user = std::string(p1.name) + " has " + std::to_string(a) + " " + item + ". " + p2->name + " has " +
                       std::to_string(b) + " " + item + ". How many more " + item + " does " + p1.name + " have than " +
                       p2->name + "?";
    long long v = w.step(a, '-', b);
    return {Kind::kArith, d, "compare", user, w.finish(v), std::to_string(v)};
  }
  do {
    if (d == 1) {
      lv = rng.range(1, 99);
      rv = rng.range(1, 99);
      left = std::to_string(lv);
      right = std::to_string(rv);
    } else if (d == 2) {
      left = small_expr(rng, d, lv);
      rv = rng.range(std::max<long long>(1, lv - 15), lv + 15);
      right = std::to_string(rv);
    } else if (d == 3) {
      left = small_expr(rng, d, lv);
      right = small_expr(rng, d, rv);
    } else {
      long long a;
      left.assign(1, '(');
      left += small_expr(rng, d, a);
      left += ")";
      static const std::vector<char> kOps = {'+', '-', '*'};
      char op;
      long long b;
      do op = rng.pick(kOps);
      while (!pick_operand(rng, a, op, d, b));
      left += op_text(op) + std::to_string(b);
      lv = apply(a, op, b);
      right = small_expr(rng, d, rv);
    }
  } while (lv == rv || lv < 0 || rv < 0);
  // Re-derive the steps in order (the expressions were built without recording).
  auto record = [&](const std::string& e) {
    // e is "a op b" or "(a op b) op c"; replay it.
    size_t p = 0;
    std::string s = e;
    if (s[0] == '(') {
      size_t close = s.find(')');
      std::string inner = s.substr(1, close - 1);
      size_t sp = inner.find(' ');
      long long a = std::stoll(inner.substr(0, sp));
      char op = inner[sp + 1] == 'x' ? '*' : inner[sp + 1];
      long long b = std::stoll(inner.substr(inner.rfind(' ') + 1));
      long long r = w.step(a, op, b);
      std::string rest = s.substr(close + 1);  // " op c"
      char op2 = rest[1] == 'x' ? '*' : rest[1];
      long long c = std::stoll(rest.substr(rest.rfind(' ') + 1));
      w.step(r, op2, c);
      return;
    }
    size_t sp = s.find(' ', p);
    if (sp == std::string::npos) return;  // a plain number
    long long a = std::stoll(s.substr(0, sp));
    char op = s[sp + 1] == 'x' ? '*' : s[sp + 1];
    long long b = std::stoll(s.substr(s.rfind(' ') + 1));
    w.step(a, op, b);
  };
  record(left);
  record(right);
  long long hi = std::max(lv, rv), lo = std::min(lv, rv);
  if (larger) {
    w.lines.push_back(std::to_string(hi) + " > " + std::to_string(lo));
  } else {
    w.lines.push_back(std::to_string(lo) + " < " + std::to_string(hi));
  }
  long long ans = larger ? hi : lo;
  static const std::vector<std::string> kForms = {"Which is {w}, {l} or {r}?", "Which number is {w}: {l} or {r}?",
                                                  "What is the {w} of {l} and {r}?"};
  std::string user = rng.pick(kForms);
  user.replace(user.find("{w}"), 3, larger ? "larger" : "smaller");
  user.replace(user.find("{l}"), 3, left);
  user.replace(user.find("{r}"), 3, right);
  return {Kind::kArith, d, "compare", user, w.finish(ans), std::to_string(ans)};
}

}  // namespace

SynthSample generate_arith(Rng& rng, int difficulty) {
  NURI_CHECK(difficulty >= 1 && difficulty <= 4);
  int r = static_cast<int>(rng.range(0, 99));
  if (r < 35) return arith_story(rng, difficulty);
  if (r < 65) return arith_expr(rng, difficulty);
  if (r < 82) return arith_units(rng, difficulty);
  return arith_compare(rng, difficulty);
}

}  // namespace nuri::eval::synth
