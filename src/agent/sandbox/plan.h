// agent/sandbox/plan.h — everything the sandbox's child processes need, computed before clone.
//
// Purpose: after clone() the child may not allocate (the parent can be multi-threaded, and a
// malloc lock held by another thread would never be released in the child), so the supervisor
// prepares every path, buffer, fd and the seccomp program here, and child.cc only makes system
// calls over this plain data.
// Invariant: every `const char*` points into strings owned by the plan (or its owner), alive
// until the child has exec'd; fds listed here are open in the parent at clone time.
#pragma once

#include <linux/filter.h>
#include <sys/resource.h>

#include <cstdint>
#include <string>
#include <vector>

namespace nuri::sandbox::internal {

// The ids inside the sandbox and the host ids they map to.
constexpr unsigned kInsideUid = 1000;
constexpr unsigned kInsideGid = 1000;
constexpr unsigned kHostUid = 65534;
constexpr unsigned kHostGid = 65534;

// One step of building the root file system under the staging mount.
struct MountOp {
  enum Kind { kMkdir, kBindDir, kBindFile, kSymlink, kWriteFile, kBindDev } kind = kMkdir;
  std::string source;       // bind kinds: the host path, opened in the child's mount namespace
  int src_fd = -1;          // its O_PATH fd there
  std::string target;       // absolute path under the staging root
  std::string link_target;  // kSymlink: contents; kWriteFile: file contents
  bool read_only = true;
  std::string what;         // for error messages: the path as seen inside
};

struct LandlockRule {
  std::string path;     // path inside the sandbox (after pivot_root)
  uint64_t access = 0;  // LANDLOCK_ACCESS_FS_* (masked to the ABI at apply time)
};

struct RlimitSetting {
  int resource;
  rlim_t value;
};

// Messages from the sandbox (init or program child) to the supervisor on the status pipe.
struct StatusMsg {
  enum Kind : int32_t { kSetupError = 1, kExecError = 2, kExited = 3 } kind;
  int32_t step;   // kSetupError: a Step; kExited: wait status
  int32_t err;    // errno
  int32_t index;  // kSetupError: index into the mount ops, or -1
};

enum Step : int32_t {
  kStepWaitGo = 1,
  kStepMakePrivate,
  kStepRootTmpfs,
  kStepMountOp,
  kStepScratchTmpfs,
  kStepProc,
  kStepUserns,
  kStepPivot,
  kStepRootReadOnly,
  kStepHostname,
  kStepLoopback,
  kStepFork,
  kStepRlimit,
  kStepCaps,
  kStepIds,
  kStepNoNewPrivs,
  kStepLandlock,
  kStepSeccomp,
  kStepChdir,
  kStepSetsid,
  kStepDumpable,
};

const char* step_name(int step);

struct ChildPlan {
  // Pipes (fds in the parent, inherited by the child).
  int go_read = -1;       // parent writes one byte when uid maps and cgroups are ready
  int status_write = -1;  // StatusMsg records to the supervisor
  int stdin_read = -1, stdout_write = -1, stderr_write = -1;
  std::vector<int> close_in_child;  // the parent's ends, closed first thing in the child

  bool use_namespaces = true;
  bool in_user_ns = true;    // ids are mapped (else: root in the host user ns sets host ids)
  bool loopback = false;
  int landlock_abi = 0;      // 0: skip Landlock
  bool net_handled = false;  // Landlock: deny TCP bind/connect
  bool use_seccomp = false;
  struct sock_fprog seccomp_prog{};

  // Memory of nuri's argv/environment in the (copied) address space, wiped in the init.
  uintptr_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;

  std::string staging;       // host dir the new root tmpfs is mounted on (inside the mount ns)
  std::string root_tmpfs_opts;
  std::string store;         // staging + "/.store": the scratch tmpfs before it is split
  std::string store_opts;
  std::string store_home, store_tmp, store_shm;  // dirs in the store
  std::string root_scratch, root_tmp, root_shm;  // bind targets under staging
  std::string root_proc, root_proc_sys, root_max_userns;
  std::vector<MountOp> ops;           // system dirs, /etc, /dev (before the scratch mounts)
  std::vector<MountOp> grant_ops;     // --ro/--rw grants (after the scratch mounts)
  std::vector<LandlockRule> landlock_rules;
  std::vector<RlimitSetting> rlimits;

  // exec: candidate paths tried in order (the PATH search done in advance), argv, envp.
  std::vector<std::string> exec_candidates;
  std::vector<char*> argv;  // null-terminated, pointing into the caller's strings
  std::vector<char*> envp;  // null-terminated
};

// Runs in the cloned child (PID 1 of the new PID namespace). Never returns.
[[noreturn]] void run_init(const ChildPlan& plan);

}  // namespace nuri::sandbox::internal
