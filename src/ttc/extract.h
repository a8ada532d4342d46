// ttc/extract.h — answer extractors and verifiers: what a candidate answered, and how good it is.
// Purpose: turn one generated text into a comparable answer string (the unit the vote counts) and,
//   for best-of-n / beam, into a score. Extractors are pluggable by name: "answer" (the number or
//   text after the last `Answer:`), "number" (the last number), "boxed" (the last \boxed{...},
//   braces balanced), "python" (the trimmed stdout of the first ```python block run in nuri's
//   sandbox; a program that fails or times out answers nothing).
// Non-goals: semantic equivalence of answers (2/4 vs 1/2): answers are normalised only lightly
//   (numbers lose commas, a leading '+' and trailing zeros after a decimal point).
// Invariants: extract() never throws and never aborts on any text; the python extractor caches
//   results by program text (identical programs run once) and is thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "nuri/sandbox.h"

namespace nuri::ttc {

class Extractor {
 public:
  virtual ~Extractor() = default;
  virtual const char* name() const = 0;
  // The answer of `text`, or nullopt when it gives none (the candidate abstains from the vote).
  virtual std::optional<std::string> extract(const std::string& text) const = 0;
};

// Names: answer | number | boxed | python. Error names the valid ones.
Result<std::unique_ptr<Extractor>> make_extractor(const std::string& name);

// The individual extractors, for callers that want them directly (and for tests).
std::optional<std::string> extract_answer_line(const std::string& text);
std::optional<std::string> extract_last_number(const std::string& text);
std::optional<std::string> extract_boxed(const std::string& text);
// "1,234" -> "1234", "+5" -> "5", "2.50" -> "2.5", "3.0" -> "3", "-0" -> "0"; other text trimmed.
std::string normalize_answer(const std::string& s);

// One execution of a python program in the sandbox (policy: no network, 5 s wall by default).
struct Execution {
  bool ran = false;   // the sandbox started it
  int exit_code = -1;
  bool timed_out = false;
  std::string stdout_text;  // trailing whitespace removed
};

// Runs python programs in the sandbox; caches by (program, stdin). Thread-safe.
class PythonRunner {
 public:
  explicit PythonRunner(sandbox::SandboxPolicy policy = default_policy());
  static sandbox::SandboxPolicy default_policy();
  Execution run(const std::string& program, const std::string& stdin_data = "") const;
  // The sandbox layers this kernel could not enforce (set after the first run; empty if all).
  std::vector<std::string> not_enforced() const;

 private:
  sandbox::SandboxPolicy policy_;
  mutable std::mutex mu_;
  mutable std::map<std::pair<std::string, std::string>, Execution> cache_;
  mutable std::vector<std::string> not_enforced_;
};

// The body of the first ```python (or bare ```) fenced block (an unclosed one runs to the end);
// nullopt if none or blank.
std::optional<std::string> python_block(const std::string& text);

class PythonExtractor : public Extractor {
 public:
  explicit PythonExtractor(std::shared_ptr<PythonRunner> runner = std::make_shared<PythonRunner>())
      : runner_(std::move(runner)) {}
  const char* name() const override { return "python"; }
  std::optional<std::string> extract(const std::string& text) const override;
  const PythonRunner& runner() const { return *runner_; }

 private:
  std::shared_ptr<PythonRunner> runner_;
};

// A test a code answer must pass: feed `stdin_data`, expect exactly `expected` on stdout
// (trailing whitespace ignored on both sides).
struct TestCase {
  std::string stdin_data;
  std::string expected;
};

// Scores a candidate text in [0, 1] (higher is better), or nullopt when it cannot judge it (the
// strategy then falls back to the length-normalised logprob).
class Verifier {
 public:
  virtual ~Verifier() = default;
  virtual const char* name() const = 0;
  virtual std::optional<double> score(const std::string& text) const = 0;
};

// Execution verifier: runs the candidate's python block. With tests: the fraction passed. Without:
// 1 when it runs to exit 0 and prints something, else 0. No python block: 0.
class ExecutionVerifier : public Verifier {
 public:
  ExecutionVerifier(std::shared_ptr<PythonRunner> runner, std::vector<TestCase> tests)
      : runner_(std::move(runner)), tests_(std::move(tests)) {}
  const char* name() const override { return tests_.empty() ? "execution" : "tests"; }
  std::optional<double> score(const std::string& text) const override;

 private:
  std::shared_ptr<PythonRunner> runner_;
  std::vector<TestCase> tests_;
};

}  // namespace nuri::ttc

namespace nuri::ttc {

// Arithmetic step checker (a calculator as a process verifier): every "a op b = c" fragment
// (op: + - x * × / // %, integers) and every integer comparison "a < b", "a > b", "a <= b",
// "a >= b" in the text is recomputed. Score: the fraction that hold; nullopt when there is none.
class ArithmeticStepVerifier : public Verifier {
 public:
  const char* name() const override { return "steps"; }
  std::optional<double> score(const std::string& text) const override;
};
// (checked, correct) steps of a text — the counts behind ArithmeticStepVerifier.
std::pair<int, int> check_arithmetic_steps(const std::string& text);

// Grounded execution for text-to-action: the python block must run (exit 0, some output), and
// the data it works on must come from the request: every string literal with a letter or digit
// must occur in `request`, and so must every number of a list literal of two or more numbers.
// Score: 0 when it does not run, else the fraction of such literals found (1 when none).
class GroundedCodeVerifier : public Verifier {
 public:
  GroundedCodeVerifier(std::shared_ptr<PythonRunner> runner, std::string request)
      : runner_(std::move(runner)), request_(std::move(request)) {}
  const char* name() const override { return "grounded-execution"; }
  std::optional<double> score(const std::string& text) const override;

 private:
  std::shared_ptr<PythonRunner> runner_;
  std::string request_;
};
// (checked, found) literals of a program against a request.
std::pair<int, int> grounded_literals(const std::string& program, const std::string& request);

}  // namespace nuri::ttc
