// eval/bench/bench.h — public benchmarks for `nuri compare --eval gsm8k|mbpp|humaneval|bfcl`:
// loaders for the files in ../shared/eval (or any copy, --data) and the scorers.
// Purpose: one BenchProblem per question: the user message (and tools) to send, and what a
//   correct reply is. gsm8k: the last number of the reply equals the number after "####".
//   mbpp / humaneval: the reply's code plus the problem's tests, run as one Python program by the
//   caller (in nuri's sandbox), passes when it exits 0. bfcl: the reply's tool calls (parsed by
//   the caller with the template family's parser) match the possible answers: same number of
//   calls, each paired with an expected one of the same name whose every argument is present
//   with an allowed value (or absent where "" is allowed), and no unexpected arguments.
// Non-goals: running models, sandboxes or tool-call parsers (the command layer does: this module
//   sits below chat and agent); multi-turn BFCL categories; pass@k with sampling.
// Invariants: loaders read at most n problems in file order and fail with the file and line on
//   malformed input; scorers are pure functions of their inputs.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace nuri::eval::bench {

enum class Task { kGsm8k, kMbpp, kHumanEval, kBfcl };
std::optional<Task> parse_task(const std::string& s);  // "gsm8k", "mbpp", "humaneval", "bfcl"
const char* task_name(Task t);

struct BenchProblem {
  Task task = Task::kGsm8k;
  std::string id;
  std::string user;             // the user message
  nlohmann::ordered_json messages;  // bfcl: the first turn's messages (system + user), else null
  nlohmann::ordered_json tools;  // bfcl: OpenAI tools array (null otherwise)
  std::string answer;           // gsm8k: the final number
  std::string code_prefix;      // humaneval: the prompt (signature + docstring) the code completes
  std::string tests;            // mbpp / humaneval: Python run after the candidate's code
  nlohmann::json expected_calls;  // bfcl: [{"name": {"arg": [allowed, ...]}}, ...]
};

// Default file of a task under an eval directory (e.g. DIR/gsm8k/test.jsonl); bfcl: DIR/bfcl/v3.
std::string default_data_path(Task t, const std::string& eval_dir);
// The first n problems (n <= 0: all). bfcl: `path` is a version folder (v3, v4: every category
// file with its possible_answer/ twin, problems interleaved by category) or one category file.
Result<std::vector<BenchProblem>> load(Task t, const std::string& path, int n);

// gsm8k: the last number in `text` ("1,234" -> "1234", "-3.50" -> "-3.5"); nullopt if none.
std::optional<std::string> last_number(const std::string& text);
bool check_gsm8k(const std::string& reply, const BenchProblem& p);

// mbpp / humaneval: the program to run: the reply's code (its ```python block, else the whole
// reply; humaneval: after the prompt unless the reply defines the entry point itself) + tests.
std::string code_program(const std::string& reply, const BenchProblem& p);

struct Call {
  std::string name;
  nlohmann::json arguments;  // object
};
bool check_bfcl(const std::vector<Call>& calls, const BenchProblem& p);

// Reads a whole file, gunzipping it when it starts with the gzip magic.
Result<std::string> read_maybe_gzip(const std::string& path);

}  // namespace nuri::eval::bench
