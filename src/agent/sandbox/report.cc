// agent/sandbox/report.cc — the `--report` JSON of one sandboxed run.
#include <cmath>
#include <nlohmann/json.hpp>

#include "nuri/sandbox.h"

namespace nuri::sandbox {

std::string report_json(const SandboxOutcome& o) {
  nlohmann::ordered_json j;
  j["exit_code"] = o.shell_status();
  j["signal"] = o.signal > 0 ? nlohmann::ordered_json(o.signal) : nlohmann::ordered_json(nullptr);
  j["timed_out"] = o.timed_out;
  j["memory_exceeded"] = o.memory_exceeded;
  j["output_truncated"] = o.output_truncated;
  j["wall_ms"] = std::round(o.wall_ms * 100) / 100;
  j["cpu_ms"] = std::round(o.cpu_ms * 100) / 100;
  j["peak_rss_kib"] = o.peak_rss_kib;
  nlohmann::ordered_json layers;
  layers["namespaces"] = o.layers.namespaces;
  layers["landlock_abi"] = o.layers.landlock_abi;
  layers["seccomp"] = o.layers.seccomp;
  nlohmann::ordered_json rl = nlohmann::ordered_json::object();
  for (const auto& [name, v] : o.layers.rlimits) rl[name] = v;
  layers["rlimits"] = rl;
  if (o.layers.cgroup.empty()) {
    layers["cgroup"] = nullptr;
  } else {
    layers["cgroup"] = {{"path", o.layers.cgroup},
                        {"memory_bytes", o.layers.cgroup_memory_bytes},
                        {"pids_max", o.layers.cgroup_pids_max}};
  }
  layers["no_new_privs"] = o.layers.no_new_privs;
  layers["uid_map"] = o.layers.uid_map;
  j["layers"] = layers;
  j["not_enforced"] = o.not_enforced;
  return j.dump();
}

}  // namespace nuri::sandbox
