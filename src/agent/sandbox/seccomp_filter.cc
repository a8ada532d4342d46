// agent/sandbox/seccomp_filter.cc — build the deny-list filter with libseccomp, export it as BPF.
#include "agent/sandbox/seccomp_filter.h"

#include <sched.h>
#include <seccomp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace nuri::sandbox::internal {
namespace {

constexpr unsigned kTiocsti = 0x5412;
constexpr unsigned kTioclinux = 0x541C;
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

// Calls newer than libseccomp's tables: x86-64 numbers.
struct RawCall {
  const char* name;
  int nr;
};
constexpr RawCall kRawCalls[] = {
    {"fsopen", 430},    {"fsconfig", 431},       {"fsmount", 432},      {"fspick", 433},
    {"move_mount", 429}, {"open_tree", 428},     {"mount_setattr", 442}, {"pidfd_getfd", 438},
    {"open_tree_attr", 467}, {"io_uring_setup", 425}, {"io_uring_enter", 426},
    {"io_uring_register", 427},
};

struct CtxDeleter {
  void operator()(void* ctx) const { seccomp_release(ctx); }
};

int resolve(const char* name) {
  int nr = seccomp_syscall_resolve_name(name);
  if (nr != __NR_SCMP_ERROR && nr >= 0) return nr;
  for (const RawCall& r : kRawCalls)
    if (std::strcmp(r.name, name) == 0) return r.nr;
  return -1;
}

}  // namespace

const std::vector<const char*>& seccomp_denied_names() {
  static const std::vector<const char*> kNames = {
      // mount family
      "mount", "umount2", "pivot_root", "chroot", "fsopen", "fsconfig", "fsmount", "fspick",
      "move_mount", "open_tree", "open_tree_attr", "mount_setattr",
      // other processes' memory and descriptors
      "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_getfd", "kcmp",
      "migrate_pages", "move_pages",
      // kernel attack surface
      "bpf", "keyctl", "add_key", "request_key", "kexec_load", "kexec_file_load", "init_module",
      "finit_module", "delete_module", "perf_event_open", "userfaultfd", "io_uring_setup",
      "io_uring_enter", "io_uring_register", "open_by_handle_at", "name_to_handle_at",
      "fanotify_init", "lookup_dcookie", "uselib", "ustat", "sysfs", "_sysctl", "nfsservctl",
      // namespaces
      "setns",
      // machine-wide state
      "acct", "swapon", "swapoff", "reboot", "settimeofday", "clock_settime", "clock_adjtime",
      "adjtimex", "syslog", "quotactl", "quotactl_fd", "iopl", "ioperm", "vhangup",
  };
  return kNames;
}

Result<std::vector<struct sock_filter>> build_seccomp_filter() {
  std::unique_ptr<void, CtxDeleter> ctx(seccomp_init(SCMP_ACT_ALLOW));
  if (!ctx) return Error("seccomp: seccomp_init failed");
  void* c = ctx.get();
  // A call through another ABI (i386 int 0x80, x32) kills the process.
  if (seccomp_attr_set(c, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
    return Error("seccomp: cannot set the bad-architecture action");
  // nuri sets no_new_privs itself, in a fixed order with Landlock.
  seccomp_attr_set(c, SCMP_FLTATR_CTL_NNP, 0);
  const uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
  for (const char* name : seccomp_denied_names()) {
    int nr = resolve(name);
    if (nr < 0) continue;  // not a call on this architecture
    int rc = seccomp_rule_add(c, eperm, nr, 0);
    if (rc != 0 && rc != -EEXIST)
      return Error(std::string("seccomp: cannot add a rule for ") + name + ": " + std::strerror(-rc));
  }
  // Namespace creation: unshare(2) and clone(2) with any CLONE_NEW* flag.
  const uint64_t ns_flags[] = {CLONE_NEWNS,  CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC,
                               CLONE_NEWUSER, CLONE_NEWPID,   CLONE_NEWNET, CLONE_NEWTIME};
  for (uint64_t f : ns_flags) {
    if (seccomp_rule_add(c, eperm, SCMP_SYS(unshare), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, f, f)) != 0 ||
        seccomp_rule_add(c, eperm, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, f, f)) != 0)
      return Error("seccomp: cannot add the namespace rules");
  }
  // clone3 passes its flags in memory the filter cannot read: ENOSYS makes libc use clone.
  if (seccomp_rule_add(c, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) != 0)
    return Error("seccomp: cannot add the clone3 rule");
  // Terminal injection (the kernel truncates the request to 32 bits).
  for (unsigned req : {kTiocsti, kTioclinux}) {
    if (seccomp_rule_add(c, eperm, SCMP_SYS(ioctl), 1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffu, req)) != 0)
      return Error("seccomp: cannot add the ioctl rules");
  }
  // Export the BPF program through a memfd.
  int fd = ::memfd_create("nuri-seccomp", MFD_CLOEXEC);
  if (fd < 0) return Error(std::string("seccomp: memfd_create: ") + std::strerror(errno));
  int rc = seccomp_export_bpf(c, fd);
  if (rc != 0) {
    ::close(fd);
    return Error(std::string("seccomp: export failed: ") + std::strerror(-rc));
  }
  struct stat st {};
  ::fstat(fd, &st);
  std::vector<struct sock_filter> prog(static_cast<size_t>(st.st_size) / sizeof(struct sock_filter));
  ssize_t n = ::pread(fd, prog.data(), prog.size() * sizeof(struct sock_filter), 0);
  ::close(fd);
  if (n != static_cast<ssize_t>(prog.size() * sizeof(struct sock_filter)) || prog.empty())
    return Error("seccomp: could not read back the compiled filter");
  return prog;
}

}  // namespace nuri::sandbox::internal
