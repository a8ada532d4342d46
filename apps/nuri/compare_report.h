// apps/nuri/compare_report.h — the report of `nuri compare`: one row per model (accuracy per
// task, speed, memory, size) rendered as a markdown table, an SVG bar chart and JSON.
// Non-goals: running the models (cmd_compare.cc does, through eval-synth and bench).
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace nuri::cli {

struct TaskScore {
  int correct = 0, total = 0;
  double accuracy() const { return total > 0 ? static_cast<double>(correct) / total : 0.0; }
};

struct CompareRow {
  std::string name;  // as given to -m
  std::string path;  // what it resolved to
  uint64_t file_bytes = 0;
  std::map<std::string, TaskScore> tasks;  // task name -> score, e.g. "arith", "action"
  double eval_seconds = 0;
  double prefill_tok_s = 0, decode_tok_s = 0;
  double peak_rss_mib_bench = 0, peak_rss_mib_eval = 0;
};

struct CompareReport {
  std::string eval;  // "synth"
  int n = 0;
  uint64_t seed = 0;
  int bench_prompt = 0, bench_gen = 0;
  std::vector<CompareRow> rows;
  std::vector<std::string> task_names() const;  // union over rows, in a stable order
};

std::string report_markdown(const CompareReport& r);
std::string report_svg(const CompareReport& r);
nlohmann::json report_json(const CompareReport& r);

}  // namespace nuri::cli
