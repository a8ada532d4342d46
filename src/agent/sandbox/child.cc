// agent/sandbox/child.cc — the sandbox's init (PID 1 of the new PID namespace) and the program.
//
// Runs after clone(): no allocation, no stdio, no locks; only system calls over the ChildPlan
// (see plan.h). Any failure is reported on the status pipe as (step, errno, index) and the
// process exits; the supervisor turns it into a message naming the layer.
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>

#include "agent/sandbox/landlock.h"
#include "agent/sandbox/plan.h"

extern char** environ;

namespace nuri::sandbox::internal {
namespace {

// struct mount_attr (linux/mount.h, not in every distro header).
struct MountAttr {
  uint64_t attr_set;
  uint64_t attr_clr;
  uint64_t propagation;
  uint64_t userns_fd;
};
constexpr uint64_t kAttrRdonly = 0x1, kAttrNosuid = 0x2, kAttrNodev = 0x4, kAttrNoexec = 0x8;
constexpr unsigned kAtRecursive = 0x8000;

void send_status(int fd, StatusMsg::Kind kind, int step, int err, int index) {
  StatusMsg m{kind, step, err, index};
  ssize_t n;
  do {
    n = ::write(fd, &m, sizeof m);
  } while (n < 0 && errno == EINTR);
}

[[noreturn]] void fail(int status_fd, int step, int err, int index = -1) {
  send_status(status_fd, StatusMsg::kSetupError, step, err, index);
  ::_exit(125);
}

// "/proc/self/fd/<fd>" into buf (no snprintf: keep to plain memory operations).
void fd_path(int fd, char* buf) {
  const char* prefix = "/proc/self/fd/";
  size_t n = std::strlen(prefix);
  std::memcpy(buf, prefix, n);
  char digits[16];
  int k = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[k++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (k > 0) buf[n++] = digits[--k];
  buf[n] = '\0';
}

// mkdir -p; returns 0 or errno.
int mkdir_p(const char* path, mode_t mode) {
  char buf[PATH_MAX];
  size_t len = std::strlen(path);
  if (len == 0 || len >= sizeof buf) return ENAMETOOLONG;
  std::memcpy(buf, path, len + 1);
  for (size_t i = 1; i <= len; ++i) {
    if (buf[i] != '/' && buf[i] != '\0') continue;
    char saved = buf[i];
    buf[i] = '\0';
    if (::mkdir(buf, mode) != 0 && errno != EEXIST) return errno;
    buf[i] = saved;
  }
  return 0;
}

int parent_dirs(const char* path) {
  char buf[PATH_MAX];
  size_t len = std::strlen(path);
  if (len >= sizeof buf) return ENAMETOOLONG;
  std::memcpy(buf, path, len + 1);
  char* slash = std::strrchr(buf, '/');
  if (slash == nullptr || slash == buf) return 0;
  *slash = '\0';
  return mkdir_p(buf, 0755);
}

int make_file(const char* path) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return errno == EEXIST ? 0 : errno;
  ::close(fd);
  return 0;
}

int set_attrs(const char* target, uint64_t attrs) {
  MountAttr a{};
  a.attr_set = attrs;
  if (::syscall(SYS_mount_setattr, AT_FDCWD, target, kAtRecursive, &a, sizeof a) != 0) return errno;
  return 0;
}

// Bind mount src (an O_PATH fd, or a path when fd < 0) on target, then set flags recursively.
int bind(int src_fd, const char* src_path, const char* target, uint64_t attrs) {
  char src[64];
  if (src_fd >= 0) {
    fd_path(src_fd, src);
    src_path = src;
  }
  if (::mount(src_path, target, nullptr, MS_BIND | MS_REC, nullptr) != 0) return errno;
  return set_attrs(target, attrs);
}

int write_all(const char* path, const std::string& data) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return errno;
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return e;
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  ::close(fd);
  return 0;
}

int do_op(const MountOp& op) {
  const char* t = op.target.c_str();
  int rc = 0;
  switch (op.kind) {
    case MountOp::kMkdir:
      return mkdir_p(t, 0755);
    case MountOp::kSymlink:
      if ((rc = parent_dirs(t)) != 0) return rc;
      return ::symlink(op.link_target.c_str(), t) == 0 ? 0 : errno;
    case MountOp::kWriteFile:
      if ((rc = parent_dirs(t)) != 0) return rc;
      return write_all(t, op.link_target);
    case MountOp::kBindDir:
      if ((rc = mkdir_p(t, 0755)) != 0) return rc;
      return bind(op.src_fd, nullptr, t, kAttrNosuid | kAttrNodev | (op.read_only ? kAttrRdonly : 0));
    case MountOp::kBindFile:
      if ((rc = parent_dirs(t)) != 0 || (rc = make_file(t)) != 0) return rc;
      return bind(op.src_fd, nullptr, t, kAttrNosuid | kAttrNodev | (op.read_only ? kAttrRdonly : 0));
    case MountOp::kBindDev:
      if ((rc = parent_dirs(t)) != 0 || (rc = make_file(t)) != 0) return rc;
      return bind(op.src_fd, nullptr, t, kAttrNosuid | kAttrNoexec);
  }
  return EINVAL;
}

int bring_up_loopback() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return errno;
  struct ifreq ifr {};
  std::memcpy(ifr.ifr_name, "lo", 3);
  int rc = 0;
  if (::ioctl(s, SIOCGIFFLAGS, &ifr) != 0) {
    rc = errno;
  } else {
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(s, SIOCSIFFLAGS, &ifr) != 0) rc = errno;
  }
  ::close(s);
  return rc;
}

void reset_signals() {
  struct sigaction sa {};
  sa.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &sa, nullptr);  // EINVAL for KILL/STOP
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

bool wait_go(int fd) {
  char go = 0;
  ssize_t n;
  do {
    n = ::read(fd, &go, 1);
  } while (n < 0 && errno == EINTR);
  return n == 1;
}

// The program: fds, session, limits, identity, no_new_privs, Landlock, seccomp, exec.
[[noreturn]] void run_program(const ChildPlan& plan, int status_fd) {
  reset_signals();
  if (::dup2(plan.stdin_read, 0) < 0 || ::dup2(plan.stdout_write, 1) < 0 || ::dup2(plan.stderr_write, 2) < 0)
    fail(status_fd, kStepFork, errno);
  // Every other descriptor closes at exec (status_fd is needed until then).
  if (::syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */) != 0) {
    for (int fd = 3; fd < 65536; ++fd)
      if (fd != status_fd) ::close(fd);
    ::fcntl(status_fd, F_SETFD, FD_CLOEXEC);
  }
  if (::setsid() < 0) fail(status_fd, kStepSetsid, errno);
  if (plan.use_namespaces && ::chdir("/scratch") != 0) fail(status_fd, kStepChdir, errno);
  for (const RlimitSetting& r : plan.rlimits) {
    struct rlimit lim {r.value, r.value};
    if (r.resource == RLIMIT_CPU && r.value != RLIM_INFINITY) lim.rlim_max = r.value + 1;  // SIGXCPU, then SIGKILL
    if (::setrlimit(static_cast<__rlimit_resource>(r.resource), &lim) != 0) fail(status_fd, kStepRlimit, errno, r.resource);
  }
  // Capabilities: bounding and ambient sets first (needs CAP_SETPCAP), then the ids, then capset.
  for (int cap = 0; cap <= 63; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) fail(status_fd, kStepCaps, errno, cap);
  }
  ::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  const unsigned uid = plan.in_user_ns ? kInsideUid : kHostUid;
  const unsigned gid = plan.in_user_ns ? kInsideGid : kHostGid;
  // Raw system calls: glibc's wrappers would try to apply them to the parent's other threads
  // (copied thread list, no such threads here) and could wait for them forever.
  if (::syscall(SYS_setgroups, 0, nullptr) != 0) fail(status_fd, kStepIds, errno, 0);
  if (::syscall(SYS_setresgid, gid, gid, gid) != 0) fail(status_fd, kStepIds, errno, 1);
  if (::syscall(SYS_setresuid, uid, uid, uid) != 0) fail(status_fd, kStepIds, errno, 2);
  struct __user_cap_header_struct hdr {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] {};
  if (::syscall(SYS_capset, &hdr, data) != 0) fail(status_fd, kStepCaps, errno, -1);
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail(status_fd, kStepNoNewPrivs, errno);
  if (plan.landlock_abi > 0) {
    int rc = apply_landlock(plan);
    if (rc != 0) fail(status_fd, kStepLandlock, rc);
  }
  if (plan.use_seccomp) {
    if (::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &plan.seccomp_prog, 0, 0) != 0)
      fail(status_fd, kStepSeccomp, errno);
  }
  // The PATH search, done in advance over the sandbox's own PATH.
  int err = ENOENT;
  bool saw_eacces = false;
  for (const std::string& cand : plan.exec_candidates) {
    ::execve(cand.c_str(), plan.argv.data(), plan.envp.data());
    err = errno;
    if (err == EACCES) {
      saw_eacces = true;
      continue;
    }
    if (err != ENOENT && err != ENOTDIR) break;
  }
  if ((err == ENOENT || err == ENOTDIR) && saw_eacces) err = EACCES;
  send_status(status_fd, StatusMsg::kExecError, 0, err, -1);
  ::_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
}

void build_root(const ChildPlan& plan, int status_fd) {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) fail(status_fd, kStepMakePrivate, errno);
  // Sources are opened here, in the new mount namespace (a mount of another namespace cannot be
  // bound), and before the staging tmpfs hides anything beneath it.
  for (int pass = 0; pass < 2; ++pass) {
    const std::vector<MountOp>& ops = pass == 0 ? plan.ops : plan.grant_ops;
    for (size_t i = 0; i < ops.size(); ++i) {
      MountOp& op = const_cast<MountOp&>(ops[i]);  // this process's own copy of the plan
      if (op.kind != MountOp::kBindDir && op.kind != MountOp::kBindFile && op.kind != MountOp::kBindDev) continue;
      op.src_fd = ::open(op.source.c_str(), O_PATH | O_CLOEXEC | (op.kind == MountOp::kBindDev ? 0 : O_NOFOLLOW));
      if (op.src_fd < 0) fail(status_fd, kStepMountOp, errno, static_cast<int>(pass == 0 ? i : plan.ops.size() + i));
    }
  }
  // Files made while building the root belong to the sandbox user (an unmapped owner could
  // not create them at all); the root is read-only before the program starts.
  if (plan.in_user_ns) {
    ::syscall(SYS_setfsgid, kInsideGid);
    ::syscall(SYS_setfsuid, kInsideUid);
  }
  const char* root = plan.staging.c_str();
  if (::mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, plan.root_tmpfs_opts.c_str()) != 0)
    fail(status_fd, kStepRootTmpfs, errno);
  for (size_t i = 0; i < plan.ops.size(); ++i) {
    int rc = do_op(plan.ops[i]);
    if (rc != 0) fail(status_fd, kStepMountOp, rc, static_cast<int>(i));
  }
  // One size-capped tmpfs split into /scratch, /tmp and /dev/shm.
  int rc = mkdir_p(plan.store.c_str(), 0700);
  if (rc != 0) fail(status_fd, kStepScratchTmpfs, rc, 0);
  if (::mount("tmpfs", plan.store.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, plan.store_opts.c_str()) != 0)
    fail(status_fd, kStepScratchTmpfs, errno, 1);
  if (::mkdir(plan.store_home.c_str(), 0755) != 0 || ::mkdir(plan.store_tmp.c_str(), 01777) != 0 ||
      ::mkdir(plan.store_shm.c_str(), 01777) != 0)
    fail(status_fd, kStepScratchTmpfs, errno, 2);
  ::chmod(plan.store_tmp.c_str(), 01777);
  ::chmod(plan.store_shm.c_str(), 01777);
  const std::string* pairs[3][2] = {{&plan.store_home, &plan.root_scratch},
                                    {&plan.store_tmp, &plan.root_tmp},
                                    {&plan.store_shm, &plan.root_shm}};
  for (auto& p : pairs) {
    if ((rc = mkdir_p(p[1]->c_str(), 0755)) != 0) fail(status_fd, kStepScratchTmpfs, rc, 3);
    if ((rc = bind(-1, p[0]->c_str(), p[1]->c_str(), kAttrNosuid | kAttrNodev)) != 0)
      fail(status_fd, kStepScratchTmpfs, rc, 4);
  }
  if (::umount2(plan.store.c_str(), MNT_DETACH) != 0) fail(status_fd, kStepScratchTmpfs, errno, 5);
  ::rmdir(plan.store.c_str());
  for (size_t i = 0; i < plan.grant_ops.size(); ++i) {
    rc = do_op(plan.grant_ops[i]);
    if (rc != 0) fail(status_fd, kStepMountOp, rc, static_cast<int>(plan.ops.size() + i));
  }
  // The host sources are mounted; drop the handles on them.
  for (const MountOp& op : plan.ops)
    if (op.src_fd >= 0) ::close(op.src_fd);
  for (const MountOp& op : plan.grant_ops)
    if (op.src_fd >= 0) ::close(op.src_fd);
  // A fresh /proc for the new PID namespace; /proc/sys read-only.
  if ((rc = mkdir_p(plan.root_proc.c_str(), 0555)) != 0) fail(status_fd, kStepProc, rc, 0);
  if (::mount("proc", plan.root_proc.c_str(), "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0)
    fail(status_fd, kStepProc, errno, 1);
  if (plan.in_user_ns) {
    // No nested user namespaces: the second fence after seccomp's unshare/clone rules.
    int fd = ::open(plan.root_max_userns.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 || ::write(fd, "0", 1) != 1) fail(status_fd, kStepUserns, errno);
    ::close(fd);
  }
  if ((rc = bind(-1, plan.root_proc_sys.c_str(), plan.root_proc_sys.c_str(),
                 kAttrRdonly | kAttrNosuid | kAttrNodev | kAttrNoexec)) != 0)
    fail(status_fd, kStepProc, rc, 2);
  // Enter the new root; the host's root is detached.
  if (::chdir(root) != 0) fail(status_fd, kStepPivot, errno, 0);
  if (::syscall(SYS_pivot_root, ".", ".") != 0) fail(status_fd, kStepPivot, errno, 1);
  if (::umount2(".", MNT_DETACH) != 0) fail(status_fd, kStepPivot, errno, 2);
  if (::chdir("/") != 0) fail(status_fd, kStepPivot, errno, 3);
  if (::mount(nullptr, "/", nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
    fail(status_fd, kStepRootReadOnly, errno);
  if (::sethostname("sandbox", 7) != 0) fail(status_fd, kStepHostname, errno);
  if (plan.loopback && (rc = bring_up_loopback()) != 0) fail(status_fd, kStepLoopback, rc);
}

}  // namespace

[[noreturn]] void run_init(const ChildPlan& plan) {
  for (int fd : plan.close_in_child) ::close(fd);
  int status_fd = plan.status_write;
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // Wait until the supervisor has written the id maps; EOF means it died.
  if (!wait_go(plan.go_read)) ::_exit(125);
  // Expose nothing of nuri: non-dumpable (no ptrace, no /proc/1/mem or environ), argv and
  // environment memory wiped.
  if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0) fail(status_fd, kStepDumpable, errno);
  if (plan.arg_end > plan.arg_start) std::memset(reinterpret_cast<void*>(plan.arg_start), 0, plan.arg_end - plan.arg_start);
  if (plan.env_end > plan.env_start) std::memset(reinterpret_cast<void*>(plan.env_start), 0, plan.env_end - plan.env_start);
  environ = nullptr;
  ::prctl(PR_SET_NAME, "sandbox-init", 0, 0, 0);
  ::umask(0);
  if (plan.use_namespaces) {
    build_root(plan, status_fd);
  }
  ::umask(022);
  // Credential changes (setfsuid above) clear the parent-death signal: set it again, before the
  // last read on the go pipe (EOF there if the supervisor died before this point).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
  // ... and until it has moved us into the run's cgroup, before the program starts.
  if (!wait_go(plan.go_read)) ::_exit(125);
  ::close(plan.go_read);
  long pid = ::syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, 0);
  if (pid < 0) fail(status_fd, kStepFork, errno);
  if (pid == 0) run_program(plan, status_fd);
  // Keep only the status pipe; no tty, no stdio.
  if (status_fd != 3) {
    if (::dup2(status_fd, 3) < 0) ::_exit(125);
    status_fd = 3;
  }
  ::syscall(SYS_close_range, 4u, ~0u, 0u);
  ::close(0);
  ::close(1);
  ::close(2);
  // Reap everything; when the program itself exits, report and exit: the kernel then kills
  // every process left in the namespace (daemons included).
  for (;;) {
    int st = 0;
    pid_t w = ::waitpid(-1, &st, __WALL);
    if (w < 0) {
      if (errno == EINTR) continue;
      ::_exit(125);
    }
    if (w == pid) {
      send_status(status_fd, StatusMsg::kExited, st, 0, -1);
      ::_exit(0);
    }
  }
}

const char* step_name(int step) {
  switch (step) {
    case kStepWaitGo: return "start-up";
    case kStepMakePrivate: return "mount namespace (making mounts private)";
    case kStepRootTmpfs: return "minimal root file system (tmpfs)";
    case kStepMountOp: return "minimal root file system";
    case kStepScratchTmpfs: return "scratch file system (tmpfs)";
    case kStepProc: return "/proc for the PID namespace";
    case kStepUserns: return "user namespace limit (user.max_user_namespaces)";
    case kStepPivot: return "pivot_root";
    case kStepRootReadOnly: return "read-only root";
    case kStepHostname: return "UTS namespace (hostname)";
    case kStepLoopback: return "network namespace (loopback up)";
    case kStepFork: return "starting the program";
    case kStepRlimit: return "rlimits";
    case kStepCaps: return "dropping capabilities";
    case kStepIds: return "unprivileged uid/gid";
    case kStepNoNewPrivs: return "no_new_privs";
    case kStepLandlock: return "landlock";
    case kStepSeccomp: return "seccomp";
    case kStepChdir: return "scratch working directory";
    case kStepSetsid: return "new session";
    case kStepDumpable: return "non-dumpable init";
  }
  return "unknown step";
}

}  // namespace nuri::sandbox::internal
