// eval/synth/synth_agent.h — kind (d): tasks for the code-acting agent (`nuri agent --tasks`).
// Purpose: seeded tasks over files the generator writes into the agent's workspace (CSV column
//   sums/means/maxima, row filters, JSON fields, line/word counts, most frequent words, date
//   arithmetic, result files), each with a host-side checker (expected answer or expected output
//   file) and a reference trajectory (the assistant replies of a correct run). In most families
//   the data sometimes deviates from the obvious format (';'-separated CSV, nested JSON, a header
//   line, day/month/year dates, a missing output folder): the reference trajectory then starts
//   with the natural program, which fails, and fixes it from the traceback (`needs_fix`).
// Non-goals: executing Python (the reference trajectories are verified by replaying them through
//   the agent loop: `nuri agent --tasks FILE --replay`).
// Invariants: output depends only on (seed, index); the expected answer is computed here in C++,
//   independently of the programs in the trajectory; a checker never trusts the agent's claim
//   for file tasks (it reads the workspace) and compares answers after normalisation only.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace nuri::eval::synth {

struct AgentTask {
  std::string id;       // "d-<seed>-<index>"
  std::string family;   // e.g. "csv_sum"
  std::string user;     // the task text
  std::vector<std::pair<std::string, std::string>> files;  // workspace files: relative path, content
  std::string expect_answer;   // non-empty: the final answer must equal this (normalised)
  std::string expect_file;     // non-empty: this workspace file must hold expect_content
  std::string expect_content;  // compared line by line, surrounding whitespace ignored
  bool needs_fix = false;      // the reference trajectory has a failing first program
  std::vector<std::string> replies;  // reference trajectory: assistant replies in order
};

AgentTask generate_agent_task(uint64_t seed, uint64_t index);
std::vector<AgentTask> generate_agent_tasks(uint64_t seed, int n);
const std::vector<std::string>& agent_task_families();

// One JSON Lines object: {"kind":"d","id","task","user","files":{path:content},"check":{...},
// "needs_fix","replies"}; "check" is {"answer": A} or {"file": F, "content": C}.
nlohmann::ordered_json agent_task_json(const AgentTask& t);
// Accepts the same object; "user" may be given as "prompt"; "check" and "replies" are optional.
Result<AgentTask> agent_task_from_json(const nlohmann::json& j);

struct TaskCheck {
  bool ok = false;
  std::string why;  // what did not match
};
// Runs after the agent finished: compares `answer` (when the task expects one) and reads
// `workspace`/expect_file (when it expects a file). A task without expectations passes when an
// answer was given.
TaskCheck check_agent_task(const AgentTask& t, bool answered, const std::string& answer, const std::string& workspace);

// Answer normalisation: trim, strip surrounding quotes/backticks and a trailing '.', lower case;
// numbers compare by value ("12" == "12.0").
bool answers_match(const std::string& got, const std::string& expected);

}  // namespace nuri::eval::synth
