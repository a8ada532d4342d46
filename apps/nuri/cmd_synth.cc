// nuri synth — write seeded synthetic chat samples (kinds a/b/c) or agent tasks (kind d) as JSON Lines.
// Each line: {"kind","difficulty","task","user","assistant","answer","text"} where "text" is the
// ChatML rendering used for training. Kind (a) samples are re-checked before they are written
// (every "x op y = z" line recomputed); rejects are counted and reported on stderr.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "command.h"
#include "eval/synth/synth.h"
#include "eval/synth/synth_agent.h"

namespace {

int run_synth(int argc, char** argv) {
  namespace sy = nuri::eval::synth;
  CLI::App app{"Generate seeded synthetic training/eval data (a: arithmetic, b: text-to-Python, c: chat)"};
  uint64_t seed = 1;
  int n = 1000;
  std::string kind_s = "all", out_path = "-";
  app.add_option("--seed", seed, "generator seed (held-out sets must use a seed never used in training)");
  app.add_option("--n", n, "number of samples")->check(CLI::NonNegativeNumber);
  app.add_option("--kind", kind_s, "a | b | c | all | d (agent tasks: files, checker, reference trajectory)")->check(CLI::IsMember({"a", "b", "c", "d", "all"}));
  app.add_option("-o,--output", out_path, "output .jsonl file ('-' = stdout)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (out_path != "-") {
    file.open(out_path);
    if (!file) {
      std::fprintf(stderr, "nuri synth: cannot open %s for writing\n", out_path.c_str());
      return 1;
    }
    out = &file;
  }
  if (kind_s == "d") {  // agent tasks: not chat samples, one task object per line
    int fixes = 0;
    for (const auto& t : sy::generate_agent_tasks(seed, n)) {
      fixes += t.needs_fix;
      *out << sy::agent_task_json(t).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    }
    out->flush();
    std::fprintf(stderr, "nuri synth: kind d: %d tasks, %d with a failing first program\n", n, fixes);
    return 0;
  }
  auto kind = sy::parse_kind(kind_s);
  auto samples = sy::generate(seed, n, *kind);
  std::map<std::string, int> kept, rejected;
  for (const auto& s : samples) {
    std::string key = sy::kind_name(s.kind);
    if (s.kind == sy::Kind::kArith) {
      std::string err = sy::check_reasoning_a(s);
      if (!err.empty()) {
        ++rejected[key];
        std::fprintf(stderr, "nuri synth: reject (a): %s\n", err.c_str());
        continue;
      }
    }
    if (s.kind == sy::Kind::kAction && !sy::extract_python_block(s.assistant)) {
      ++rejected[key];
      continue;
    }
    ++kept[key];
    nlohmann::json j = {{"kind", key},      {"difficulty", s.difficulty}, {"task", s.task},
                        {"user", s.user},   {"assistant", s.assistant},   {"answer", s.answer},
                        {"text", sy::render_chatml(s.user, &s.assistant)}};
    *out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  out->flush();
  for (const char* k : {"a", "b", "c"})
    if (kept.count(k) || rejected.count(k))
      std::fprintf(stderr, "nuri synth: kind %s: kept %d, rejected %d\n", k, kept[k], rejected[k]);
  return 0;
}

}  // namespace

NURI_COMMAND("synth", "generate seeded synthetic chat data (arithmetic, text-to-Python, chat) as JSONL", run_synth);
