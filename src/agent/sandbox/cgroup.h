// agent/sandbox/cgroup.h — a per-run cgroup for memory and process limits, where one is writable.
// Purpose: find a writable cgroup (v2 with memory+pids controllers, else the v1 memory and pids
// hierarchies), create a child of nuri's own cgroup per run, set memory.max / pids.max, read
// back OOM kills and peak usage, remove it afterwards.
// Non-goals: CPU shares or I/O weights; mounting cgroup file systems.
// Invariant: destroy() is called only after every process in the group has exited.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace nuri::sandbox::internal {

class RunCgroup {
 public:
  RunCgroup() = default;
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;
  ~RunCgroup() { destroy(); }

  // Creates the group with the limits. An error means "no writable cgroup here".
  Status create(uint64_t memory_bytes, uint32_t pids_max);
  // Moves a process (by host pid) into the group.
  Status add(pid_t pid);
  bool active() const { return !dirs_.empty(); }
  std::string describe() const { return describe_; }
  bool has_memory() const { return !mem_dir_.empty(); }
  bool has_pids() const { return !pids_dir_.empty(); }

  uint64_t oom_kills() const;
  uint64_t peak_memory_bytes() const;
  void destroy();

 private:
  int version_ = 0;
  std::vector<std::string> dirs_;  // created, removed in reverse
  std::string mem_dir_, pids_dir_;
  std::string describe_;
};

// Whether a cgroup could be created (creates and removes a probe group).
std::string probe_cgroup();

}  // namespace nuri::sandbox::internal
