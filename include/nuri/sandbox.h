// nuri/sandbox.h — run an untrusted program (model-written code) under kernel-enforced limits.
//
// Purpose: the safety layer under text-to-action. `run_sandboxed(argv, policy, stdin)` runs a
// program that must not read the user's files, reach the network, touch other processes, gain
// privileges or exhaust the machine, yet starts in milliseconds: no daemon, no container
// runtime, only what the Linux kernel gives.
//
// Layers (each one reported in SandboxOutcome::layers; a layer that cannot be set up makes the
// call fail with an error naming it, unless policy.allow_weaker, in which case it is listed in
// SandboxOutcome::not_enforced):
//  1. Namespaces: new user, PID, mount, network, IPC, UTS and cgroup namespaces. Inside, the
//     program runs as uid/gid 1000, mapped to the unprivileged host uid/gid 65534, with no
//     supplementary groups, no capabilities (bounding and ambient sets cleared) and no_new_privs.
//     Because the host uid is not root, RLIMIT_NPROC holds and files only root can read stay
//     unreadable even though nuri itself runs as root.
//  2. A minimal root file system (tmpfs, read-only after set-up): read-only binds of /usr and the
//     /lib*, /bin, /sbin entries (symlinks recreated), a few /etc files interpreters need,
//     synthesized /etc/passwd, /etc/group, /etc/hosts; a private scratch dir (/scratch, also the
//     working dir and HOME), private /tmp and /dev/shm (one size-capped tmpfs shared by the
//     three); a fresh /proc for the new PID namespace (/proc/sys read-only); /dev with only
//     null, zero, full, random, urandom (no tty). Nothing else of the host is visible unless a
//     `ro_paths`/`rw_paths` entry grants it, at the same path inside.
//  3. Landlock (second fence, same paths): read/execute on the system dirs, read-write on the
//     scratch dirs and rw grants; ABI >= 6 also scopes abstract unix sockets and signals.
//  4. seccomp (x86-64): ERRNO(EPERM) for system calls a sandboxed program never needs and that
//     widen the kernel's attack surface: the mount family (mount, umount2, pivot_root, fsopen,
//     fsconfig, fsmount, fspick, move_mount, open_tree, mount_setattr), chroot, ptrace,
//     process_vm_readv/writev, pidfd_getfd, kcmp, bpf, keyctl/add_key/request_key,
//     kexec_load/kexec_file_load, init/finit/delete_module, perf_event_open, userfaultfd,
//     io_uring_setup/enter/register, open_by_handle_at/name_to_handle_at, setns, unshare and
//     clone with namespace flags, the TIOCSTI and TIOCLINUX ioctls, acct, swapon/off, reboot,
//     clock/time setting, syslog, quotactl, iopl/ioperm, fanotify_init, lookup_dcookie,
//     personality changes, migrate_pages/move_pages. clone3 returns ENOSYS (its flags live in
//     memory seccomp cannot read, so libc falls back to clone, whose flags are checked).
//     Every call through the i386 (int 0x80) and x32 ABIs kills the process: those ABIs have
//     different syscall numbers, so a deny list written for x86-64 would not cover them.
//  5. Limits: rlimits for CPU, file size, open files, processes (RLIMIT_NPROC counts threads),
//     core=0, and address space when no memory cgroup is available; a cgroup (v2, or v1 memory +
//     pids hierarchies) where one is writable for memory (OOM kill => memory_exceeded, exit 137)
//     and pids. A wall-clock limit kills the sandbox's PID-namespace init, which makes the kernel
//     kill every process in the namespace (double-forked daemons included) before the call
//     returns; the call also ends the namespace when the program itself exits.
//  6. The init process inside clears its environment and argv memory, closes inherited file
//     descriptors and is non-dumpable; the program gets only fds 0, 1, 2 (pipes to nuri) and an
//     environment of PATH=/usr/local/bin:/usr/bin:/bin, HOME=/scratch, LANG=C.UTF-8 plus the
//     allow-listed variables.
//
// Grants: a --rw path is writable only where Unix permissions let host uid/gid 65534 write
// (nuri never changes host permissions or ownership); `nuri sandbox` warns when it cannot.
// Environment knobs (tests and diagnosis only): NURI_SANDBOX_SIMULATE_MISSING=landlock,seccomp,
// userns,cgroup pretends layers are missing (so the refusal / --allow-weaker paths can be tested:
// it can only make nuri refuse or, with allow_weaker, run weaker and say so);
// NURI_SANDBOX_TRACE=1 prints start-up step timings to stderr.
//
// Non-goals: persistent containers, images, GPU access, multi-architecture filters (x86-64 only).
// Invariants: after run_sandboxed returns, no process it started is alive; captured stdout and
// stderr are each at most policy.max_output_bytes; only fds 0, 1, 2 reach the program.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "nuri/status.h"

namespace nuri::sandbox {

enum class Network { kNone, kLoopback };

// Plain data. Zero means "no limit" only where stated.
struct SandboxPolicy {
  double wall_time_s = 10.0;              // > 0
  double cpu_time_s = 0.0;                // 0: none (the wall limit still applies)
  uint64_t memory_bytes = 512ull << 20;   // > 0
  uint32_t max_procs = 64;                // processes + threads, > 0
  uint64_t max_file_size_bytes = 64ull << 20;
  uint32_t max_open_files = 256;
  uint64_t max_output_bytes = 1024ull << 10;  // per stream (stdout, stderr)
  Network network = Network::kNone;
  std::vector<std::string> ro_paths;  // host paths, visible read-only at the same path
  std::vector<std::string> rw_paths;  // host paths, visible read-write (Unix permissions apply:
                                      // the program's host uid is 65534)
  // Allow-list: "NAME" copies NAME from nuri's environment (if set); "NAME=VALUE" sets it.
  std::vector<std::string> env;
  bool allow_weaker = false;  // run even if a layer cannot be set up (reported in not_enforced)
};

struct SandboxLayers {
  std::vector<std::string> namespaces;  // e.g. user, pid, mount, network, ipc, uts, cgroup
  int landlock_abi = 0;                 // 0: not enforced
  bool seccomp = false;
  bool no_new_privs = false;
  std::string uid_map;                    // "1000->65534"
  std::vector<std::pair<std::string, int64_t>> rlimits;  // name -> value (-1: unlimited)
  std::string cgroup;                     // "" when none; else "v1:/path" or "v2:/path"
  uint64_t cgroup_memory_bytes = 0;
  uint32_t cgroup_pids_max = 0;
};

struct SandboxOutcome {
  int exit_code = 0;      // the program's exit status when it exited normally, else -1
  int signal = 0;         // the signal that killed it, else 0
  bool timed_out = false;
  bool memory_exceeded = false;
  bool output_truncated = false;
  bool not_found = false;       // exec failed: ENOENT
  bool not_executable = false;  // exec failed: EACCES, ENOEXEC, ...
  double wall_ms = 0;
  double cpu_ms = 0;
  uint64_t peak_rss_kib = 0;
  std::string stdout_data;
  std::string stderr_data;
  SandboxLayers layers;
  std::vector<std::string> not_enforced;

  // The status a shell would see: own code; 124 wall-clock; 128+N signal; 126/127 exec errors.
  int shell_status() const;
};

// Checks the policy (limits in range, granted paths exist and are absolute after resolving).
Status validate_policy(const SandboxPolicy& policy);

// Runs argv[0] (resolved through the sandbox's PATH when it has no '/') with the policy,
// feeding `stdin_data` on its stdin. An error is nuri's own (bad policy, a layer that cannot be
// set up without allow_weaker); the program's failures are in the outcome.
Result<SandboxOutcome> run_sandboxed(const std::vector<std::string>& argv, const SandboxPolicy& policy,
                                     const std::string& stdin_data);

// Streaming variant for the CLI: stdin is read from `stdin_fd` (-1: empty) as the program
// consumes it; output is still captured (capped) in the outcome.
Result<SandboxOutcome> run_sandboxed_fd(const std::vector<std::string>& argv, const SandboxPolicy& policy,
                                        int stdin_fd);

// The `--report` JSON: {"exit_code", "signal", "timed_out", "memory_exceeded", "output_truncated",
// "wall_ms", "cpu_ms", "peak_rss_kib", "layers": {...}, "not_enforced": [...]}.
std::string report_json(const SandboxOutcome& outcome);

// What this kernel offers, without running anything (for `nuri sandbox --probe` and tests).
struct KernelSupport {
  bool user_namespaces = false;
  int landlock_abi = 0;
  bool seccomp = false;
  std::string cgroup;  // "" when no writable cgroup
};
KernelSupport probe_kernel();

}  // namespace nuri::sandbox
