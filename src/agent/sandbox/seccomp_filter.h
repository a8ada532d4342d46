// agent/sandbox/seccomp_filter.h — the sandbox's system-call filter (x86-64).
// Purpose: compile, once and before clone, the BPF program the child loads with
// prctl(PR_SET_SECCOMP). What it refuses and why is listed in include/nuri/sandbox.h.
// Non-goals: an allow-list (ordinary programs use hundreds of calls; the deny list targets the
// ones that widen the kernel's attack surface), other architectures.
#pragma once

#include <linux/filter.h>

#include <vector>

#include "base/status.h"

namespace nuri::sandbox::internal {

// The compiled filter; the returned vector owns the instructions.
Result<std::vector<struct sock_filter>> build_seccomp_filter();

// Names of the calls refused with EPERM (for docs and tests).
const std::vector<const char*>& seccomp_denied_names();

}  // namespace nuri::sandbox::internal
