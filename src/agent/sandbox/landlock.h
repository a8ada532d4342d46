// agent/sandbox/landlock.h — Landlock, the sandbox's second file-system fence.
// Purpose: probe the kernel's Landlock ABI and restrict the calling thread to a set of path
// rules. Non-goals: per-port network rules (the sandbox denies TCP entirely or not at all).
// Invariant: apply_landlock() allocates nothing (it runs in the child after clone).
#pragma once

#include <cstdint>

#include "agent/sandbox/plan.h"

namespace nuri::sandbox::internal {

// Landlock access rights (kernel ABI, defined here because distro headers lag the kernel).
constexpr uint64_t kLlExecute = 1ull << 0;
constexpr uint64_t kLlWriteFile = 1ull << 1;
constexpr uint64_t kLlReadFile = 1ull << 2;
constexpr uint64_t kLlReadDir = 1ull << 3;
constexpr uint64_t kLlRemoveDir = 1ull << 4;
constexpr uint64_t kLlRemoveFile = 1ull << 5;
constexpr uint64_t kLlMakeChar = 1ull << 6;
constexpr uint64_t kLlMakeDir = 1ull << 7;
constexpr uint64_t kLlMakeReg = 1ull << 8;
constexpr uint64_t kLlMakeSock = 1ull << 9;
constexpr uint64_t kLlMakeFifo = 1ull << 10;
constexpr uint64_t kLlMakeBlock = 1ull << 11;
constexpr uint64_t kLlMakeSym = 1ull << 12;
constexpr uint64_t kLlRefer = 1ull << 13;     // ABI 2
constexpr uint64_t kLlTruncate = 1ull << 14;  // ABI 3
constexpr uint64_t kLlIoctlDev = 1ull << 15;  // ABI 5

constexpr uint64_t kLlRead = kLlReadFile | kLlReadDir;
constexpr uint64_t kLlReadExec = kLlRead | kLlExecute;
// Everything a private writable tree needs (no device nodes: they cannot be used anyway).
constexpr uint64_t kLlReadWrite = kLlReadExec | kLlWriteFile | kLlRemoveDir | kLlRemoveFile |
                                  kLlMakeDir | kLlMakeReg | kLlMakeSock | kLlMakeFifo |
                                  kLlMakeSym | kLlRefer | kLlTruncate;
constexpr uint64_t kLlDevice = kLlReadFile | kLlWriteFile | kLlTruncate | kLlIoctlDev;

// The rights a given ABI knows; rules are masked with it.
uint64_t landlock_fs_rights(int abi);

// 0 when Landlock is unavailable (not built in, disabled at boot, or blocked).
int landlock_abi();

// Restricts the calling thread. Returns 0 or an errno. Needs no_new_privs (or CAP_SYS_ADMIN).
int apply_landlock(const ChildPlan& plan);

}  // namespace nuri::sandbox::internal
