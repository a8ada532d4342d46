// eval/synth/synth_action.cc — kind (b): text-to-action. A plain-language request answered with
// one fenced ```python block whose printed output is the answer. Programs are short and
// canonical (the numbers and strings of the request are copied verbatim into a fixed program
// per task) so a small model can learn to copy-adapt them. `answer` is what Python prints,
// computed here independently; tools/synth/verify.py executes every program to confirm.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "base/check.h"
#include "eval/synth/synth.h"

namespace nuri::eval::synth {

namespace {

const std::vector<std::string> kWords = {
    "the",   "quick", "brown", "fox",   "jumps", "over",  "lazy",  "dog",   "red",    "apple",  "green",
    "tree",  "blue",  "sky",   "small", "house", "river", "stone", "happy", "cat",    "sun",    "moon",
    "star",  "light", "water", "fire",  "cold",  "warm",  "rain",  "snow",  "bird",   "song",   "night",
    "day",   "open",  "door",  "road",  "city",  "cloud", "sea",   "book",  "paper",  "code",   "bread",
    "milk",  "fish",  "hill",  "lake",  "wind",  "gold",  "silver", "train", "clock", "garden", "window",
    "music", "table", "chair", "river", "plant", "world", "hello", "level", "radar", "noon"};

std::string words(Rng& rng, int lo, int hi) {
  int n = static_cast<int>(rng.range(lo, hi));
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? " " : "") + rng.pick(kWords);
  return s;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < s.size()) {
    size_t j = s.find(' ', i);
    if (j == std::string::npos) j = s.size();
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? " " : "") + v[i];
  return s;
}

std::string py_list(const std::vector<long long>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm).
long long days_from_civil(long long y, unsigned m, unsigned d) {
  y -= m <= 2;
  const long long era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<long long>(doe) - 719468;
}

unsigned days_in_month(long long y, unsigned m) {
  static const unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

struct Date {
  long long y;
  unsigned m, d;
  std::string iso() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", y, m, d);
    return buf;
  }
  long long days() const { return days_from_civil(y, m, d); }
};

Date random_date(Rng& rng) {
  Date t;
  t.y = rng.range(2000, 2030);
  t.m = static_cast<unsigned>(rng.range(1, 12));
  t.d = static_cast<unsigned>(rng.range(1, days_in_month(t.y, t.m)));
  return t;
}

std::string fill(std::string form, const std::string& key, const std::string& value) {
  size_t at;
  while ((at = form.find(key)) != std::string::npos) form.replace(at, key.size(), value);
  return form;
}

bool is_prime(long long k) {
  if (k < 2) return false;
  for (long long d = 2; d * d <= k; ++d)
    if (k % d == 0) return false;
  return true;
}

long long gcd(long long a, long long b) { return b == 0 ? a : gcd(b, a % b); }

std::vector<long long> random_list(Rng& rng, int lo_n, int hi_n, long long lo, long long hi) {
  std::vector<long long> v(static_cast<size_t>(rng.range(lo_n, hi_n)));
  for (auto& x : v) x = rng.range(lo, hi);
  return v;
}

struct Action {
  std::string task, user, code, answer;
};

Action make(Rng& rng, int which) {
  Action a;
  auto form = [&](const std::vector<std::string>& forms) { a.user = rng.pick(forms); };
  switch (which) {
    case 0: {  // sum of squares
      long long n = rng.range(2, 60);
      a.task = "sum_squares";
      form({"What is the sum of the squares of 1 to {n}?", "sum of the squares of 1 to {n}",
            "Add up the squares of the numbers from 1 to {n}."});
      a.user = fill(a.user, "{n}", std::to_string(n));
      a.code = "print(sum(i * i for i in range(1, " + std::to_string(n) + " + 1)))";
      a.answer = std::to_string(n * (n + 1) * (2 * n + 1) / 6);
      break;
    }
    case 1: {  // sum of a range
      long long lo = rng.range(1, 50), hi = lo + rng.range(1, 200);
      a.task = "sum_range";
      form({"What is the sum of all integers from {a} to {b}?", "sum of the numbers from {a} to {b}",
            "Add all whole numbers between {a} and {b}, inclusive."});
      a.user = fill(fill(a.user, "{a}", std::to_string(lo)), "{b}", std::to_string(hi));
      a.code = "print(sum(range(" + std::to_string(lo) + ", " + std::to_string(hi) + " + 1)))";
      a.answer = std::to_string((lo + hi) * (hi - lo + 1) / 2);
      break;
    }
    case 2: {  // days between dates
      Date x = random_date(rng), y = random_date(rng);
      if (y.days() < x.days()) std::swap(x, y);
      a.task = "days_between";
      form({"How many days are there between {a} and {b}?", "how many days between {a} and {b}",
            "Count the days from {a} to {b}."});
      a.user = fill(fill(a.user, "{a}", x.iso()), "{b}", y.iso());
      a.code = "from datetime import date\nprint((date.fromisoformat(\"" + y.iso() + "\") - date.fromisoformat(\"" +
               x.iso() + "\")).days)";
      a.answer = std::to_string(y.days() - x.days());
      break;
    }
    case 3: {  // weekday
      Date x = random_date(rng);
      static const char* kNames[] = {"Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"};
      a.task = "weekday";
      form({"What day of the week is {a}?", "which weekday was {a}", "On what day of the week does {a} fall?"});
      a.user = fill(a.user, "{a}", x.iso());
      a.code = "from datetime import date\nprint(date.fromisoformat(\"" + x.iso() + "\").strftime(\"%A\"))";
      long long dd = x.days() % 7;
      if (dd < 0) dd += 7;
      a.answer = kNames[dd];
      break;
    }
    case 4: {  // reverse the words
      std::string s = words(rng, 3, 6);
      a.task = "reverse_words";
      form({"Reverse the words of \"{s}\".", "reverse the words of: {s}", "Reverse the word order in \"{s}\"."});
      a.user = fill(a.user, "{s}", s);
      a.code = "print(\" \".join(\"" + s + "\".split()[::-1]))";
      auto w = split(s);
      std::reverse(w.begin(), w.end());
      a.answer = join(w);
      break;
    }
    case 5: {  // reverse a string
      std::string s = words(rng, 1, 3);
      a.task = "reverse_string";
      form({"Reverse the string \"{s}\".", "Write \"{s}\" backwards.", "reverse the text: {s}"});
      a.user = fill(a.user, "{s}", s);
      a.code = "print(\"" + s + "\"[::-1])";
      a.answer = std::string(s.rbegin(), s.rend());
      break;
    }
    case 6: {  // count vowels
      std::string s = words(rng, 2, 5);
      a.task = "count_vowels";
      form({"How many vowels are in \"{s}\"?", "count the vowels in: {s}", "Count the vowels in \"{s}\"."});
      a.user = fill(a.user, "{s}", s);
      a.code = "print(sum(1 for c in \"" + s + "\" if c in \"aeiou\"))";
      a.answer = std::to_string(std::count_if(s.begin(), s.end(), [](char c) {
        return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
      }));
      break;
    }
    case 7: {  // factorial
      long long n = rng.range(2, 20);
      a.task = "factorial";
      form({"What is {n} factorial?", "Compute the factorial of {n}.", "factorial of {n}"});
      a.user = fill(a.user, "{n}", std::to_string(n));
      a.code = "import math\nprint(math.factorial(" + std::to_string(n) + "))";
      unsigned long long f = 1;
      for (long long i = 2; i <= n; ++i) f *= static_cast<unsigned long long>(i);
      a.answer = std::to_string(f);
      break;
    }
    case 8: {  // fibonacci
      long long n = rng.range(1, 60);
      a.task = "fibonacci";
      form({"What is the {n}th Fibonacci number?", "Compute Fibonacci number {n} (F(0) = 0, F(1) = 1).",
            "fibonacci number {n}"});
      a.user = fill(a.user, "{n}th", std::to_string(n) + (n % 10 == 1 && n != 11 ? "st"
                                                          : n % 10 == 2 && n != 12 ? "nd"
                                                          : n % 10 == 3 && n != 13 ? "rd"
                                                                                   : "th"));
      a.user = fill(a.user, "{n}", std::to_string(n));
      a.code = "a, b = 0, 1\nfor _ in range(" + std::to_string(n) + "):\n    a, b = b, a + b\nprint(a)";
      unsigned long long x = 0, y = 1;
      for (long long i = 0; i < n; ++i) {
        unsigned long long t = x + y;
        x = y;
        y = t;
      }
      a.answer = std::to_string(x);
      break;
    }
    case 9: {  // uppercase
      std::string s = words(rng, 2, 5);
      a.task = "upper";
      form({"Convert \"{s}\" to upper case.", "uppercase this: {s}", "Write \"{s}\" in capital letters."});
      a.user = fill(a.user, "{s}", s);
      a.code = "print(\"" + s + "\".upper())";
      a.answer = s;
      for (auto& c : a.answer) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      break;
    }
    case 10: {  // count words
      std::string s = words(rng, 2, 9);
      a.task = "count_words";
      form({"How many words are in \"{s}\"?", "count the words in: {s}", "Count the words of \"{s}\"."});
      a.user = fill(a.user, "{s}", s);
      a.code = "print(len(\"" + s + "\".split()))";
      a.answer = std::to_string(split(s).size());
      break;
    }
    case 11: {  // count primes below n
      long long n = rng.range(10, 300);
      a.task = "count_primes";
      form({"How many prime numbers are less than {n}?", "count the primes below {n}",
            "Count the prime numbers smaller than {n}."});
      a.user = fill(a.user, "{n}", std::to_string(n));
      a.code = "print(sum(1 for k in range(2, " + std::to_string(n) +
               ") if all(k % d for d in range(2, int(k ** 0.5) + 1))))";
      long long c = 0;
      for (long long k = 2; k < n; ++k) c += is_prime(k);
      a.answer = std::to_string(c);
      break;
    }
    case 12: {  // gcd / lcm
      long long x = rng.range(2, 200), y = rng.range(2, 200);
      if (rng.coin(50)) {
        a.task = "gcd";
        form({"What is the greatest common divisor of {a} and {b}?", "gcd of {a} and {b}",
              "Find the greatest common divisor of {a} and {b}."});
        a.code = "import math\nprint(math.gcd(" + std::to_string(x) + ", " + std::to_string(y) + "))";
        a.answer = std::to_string(gcd(x, y));
      } else {
        a.task = "lcm";
        form({"What is the least common multiple of {a} and {b}?", "lcm of {a} and {b}",
              "Find the least common multiple of {a} and {b}."});
        a.code = "import math\nprint(math.lcm(" + std::to_string(x) + ", " + std::to_string(y) + "))";
        a.answer = std::to_string(x / gcd(x, y) * y);
      }
      a.user = fill(fill(a.user, "{a}", std::to_string(x)), "{b}", std::to_string(y));
      break;
    }
    case 13: {  // sort a list
      auto v = random_list(rng, 3, 8, 0, 99);
      a.task = "sort_list";
      form({"Sort the numbers {l} in increasing order.", "sort this list: {l}", "Put {l} in ascending order."});
      a.user = fill(a.user, "{l}", py_list(v));
      a.code = "print(sorted(" + py_list(v) + "))";
      std::sort(v.begin(), v.end());
      a.answer = py_list(v);
      break;
    }
    case 14: {  // max / min / sum of a list
      auto v = random_list(rng, 3, 8, 0, 999);
      int k = static_cast<int>(rng.range(0, 2));
      const char* fn = k == 0 ? "max" : k == 1 ? "min" : "sum";
      a.task = std::string("list_") + fn;
      if (k == 0) form({"What is the largest number in {l}?", "max of {l}", "Find the biggest value in {l}."});
      if (k == 1) form({"What is the smallest number in {l}?", "min of {l}", "Find the smallest value in {l}."});
      if (k == 2) form({"What is the sum of {l}?", "add up the numbers {l}", "Find the total of {l}."});
      a.user = fill(a.user, "{l}", py_list(v));
      a.code = std::string("print(") + fn + "(" + py_list(v) + "))";
      long long r = k == 0 ? *std::max_element(v.begin(), v.end())
                   : k == 1 ? *std::min_element(v.begin(), v.end())
                            : [&] { long long s = 0; for (auto x : v) s += x; return s; }();
      a.answer = std::to_string(r);
      break;
    }
    case 15: {  // digit sum
      long long n = rng.range(10, 99999999);
      a.task = "digit_sum";
      form({"What is the sum of the digits of {n}?", "sum of digits of {n}", "Add up the digits of {n}."});
      a.user = fill(a.user, "{n}", std::to_string(n));
      a.code = "print(sum(int(d) for d in str(" + std::to_string(n) + ")))";
      long long s = 0;
      for (long long t = n; t > 0; t /= 10) s += t % 10;
      a.answer = std::to_string(s);
      break;
    }
    case 16: {  // power
      long long b = rng.range(2, 12), e = rng.range(2, 12);
      a.task = "power";
      form({"What is {a} to the power of {b}?", "{a} raised to the power {b}", "Compute {a}^{b}."});
      a.user = fill(fill(a.user, "{a}", std::to_string(b)), "{b}", std::to_string(e));
      a.code = "print(" + std::to_string(b) + " ** " + std::to_string(e) + ")";
      long long r = 1;
      for (long long i = 0; i < e; ++i) r *= b;
      a.answer = std::to_string(r);
      break;
    }
    case 17: {  // count a letter
      std::string s = words(rng, 2, 5);
      std::string letter(1, s[static_cast<size_t>(rng.range(0, static_cast<int64_t>(s.size()) - 1))]);
      if (letter == " ") letter = "e";
      a.task = "count_letter";
      form({"How many times does the letter {c} appear in \"{s}\"?", "count the letter {c} in: {s}",
            "Count how often \"{c}\" occurs in \"{s}\"."});
      a.user = fill(fill(a.user, "{c}", letter), "{s}", s);
      a.code = "print(\"" + s + "\".count(\"" + letter + "\"))";
      a.answer = std::to_string(std::count(s.begin(), s.end(), letter[0]));
      break;
    }
    case 18: {  // even numbers in a range
      long long lo = rng.range(1, 60), hi = lo + rng.range(2, 16);
      a.task = "evens";
      form({"List the even numbers from {a} to {b}.", "even numbers between {a} and {b}",
            "Which numbers from {a} to {b} are even?"});
      a.user = fill(fill(a.user, "{a}", std::to_string(lo)), "{b}", std::to_string(hi));
      a.code = "print([k for k in range(" + std::to_string(lo) + ", " + std::to_string(hi) + " + 1) if k % 2 == 0])";
      std::vector<long long> v;
      for (long long k = lo; k <= hi; ++k)
        if (k % 2 == 0) v.push_back(k);
      a.answer = py_list(v);
      break;
    }
    case 19: {  // palindrome
      std::string s = rng.coin(40) ? rng.pick(std::vector<std::string>{"level", "radar", "noon", "racecar", "refer",
                                                                        "civic", "kayak", "madam", "rotor", "stats"})
                                   : rng.pick(kWords);
      a.task = "palindrome";
      form({"Is \"{s}\" a palindrome?", "check if {s} is a palindrome", "Is the word \"{s}\" the same backwards?"});
      a.user = fill(a.user, "{s}", s);
      a.code = "s = \"" + s + "\"\nprint(s == s[::-1])";
      a.answer = std::string(s.rbegin(), s.rend()) == s ? "True" : "False";
      break;
    }
    case 20: {  // sort words
      std::string s = words(rng, 3, 6);
      a.task = "sort_words";
      form({"Sort the words of \"{s}\" alphabetically.", "sort these words: {s}",
            "Put the words in \"{s}\" in alphabetical order."});
      a.user = fill(a.user, "{s}", s);
      a.code = "print(\" \".join(sorted(\"" + s + "\".split())))";
      auto w = split(s);
      std::sort(w.begin(), w.end());
      a.answer = join(w);
      break;
    }
    default: NURI_CHECK(false);
  }
  return a;
}

}  // namespace

constexpr int kNumActions = 21;

SynthSample generate_action(Rng& rng) {
  int which = static_cast<int>(rng.range(0, kNumActions - 1));
  Action a = make(rng, which);
  SynthSample s;
  s.kind = Kind::kAction;
  s.difficulty = 0;
  s.task = a.task;
  s.user = a.user;
  s.assistant = "```python\n" + a.code + "\n```";
  s.answer = a.answer;
  return s;
}

}  // namespace nuri::eval::synth
