// agent/sandbox/supervisor.h — the host side of one sandboxed run.
// Purpose: decide which layers can be enforced, build the ChildPlan, clone the sandbox's init,
// map its ids, place it in a cgroup, pump stdin, capture capped output, enforce the wall-clock
// limit and collect the outcome. Non-goals: option parsing (cmd_sandbox.cc), JSON (report.cc).
// Invariant: returns only after the sandbox's init has been reaped (so every process in the
// sandbox is gone) and the run's cgroup removed.
#pragma once

#include <string>
#include <vector>

#include "nuri/sandbox.h"

namespace nuri::sandbox::internal {

// stdin: from `stdin_fd` when >= 0, else from `stdin_data`.
Result<SandboxOutcome> supervise(const std::vector<std::string>& argv, const SandboxPolicy& policy,
                                 int stdin_fd, const std::string& stdin_data);

}  // namespace nuri::sandbox::internal
