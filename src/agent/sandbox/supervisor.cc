// agent/sandbox/supervisor.cc — one sandboxed run, host side (see supervisor.h).
#include "agent/sandbox/supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "agent/sandbox/cgroup.h"
#include "agent/sandbox/landlock.h"
#include "agent/sandbox/plan.h"
#include "agent/sandbox/seccomp_filter.h"

namespace nuri::sandbox::internal {
namespace {

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

// /etc entries interpreters and ordinary tools read (bound read-only when present).
const char* const kEtcEntries[] = {
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "localtime", "timezone",
    "nsswitch.conf", "host.conf", "gai.conf", "protocols", "services", "mime.types", "magic",
    "magic.mime", "ssl/certs", "ssl/openssl.cnf", "ca-certificates", "os-release",
    "debian_version", "inputrc", "perl", "python3", "python3.11", "python3.12", "python3.13",
};
const char* const kSystemDirs[] = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32"};
const char* const kDevNodes[] = {"null", "zero", "full", "random", "urandom"};
const char* const kPathDirs[] = {"/usr/local/bin", "/usr/bin", "/bin"};
constexpr const char* kSandboxPath = "/usr/local/bin:/usr/bin:/bin";

// Tests can pretend a layer is missing (to check refusal and --allow-weaker); this can only
// make nuri refuse, or run weaker when the caller already allowed it.
bool simulate_missing(const char* layer) {
  const char* v = std::getenv("NURI_SANDBOX_SIMULATE_MISSING");
  if (v == nullptr) return false;
  std::string s = std::string(",") + v + ",";
  return s.find(std::string(",") + layer + ",") != std::string::npos;
}

struct Fds {
  std::vector<int> fds;
  ~Fds() {
    for (int fd : fds)
      if (fd >= 0) ::close(fd);
  }
  int add(int fd) {
    fds.push_back(fd);
    return fd;
  }
  void close(int& fd) {
    if (fd < 0) return;
    for (int& f : fds)
      if (f == fd) f = -1;
    ::close(fd);
    fd = -1;
  }
};

Status make_pipe(Fds& fds, int out[2]) {
  if (::pipe2(out, O_CLOEXEC) != 0) return Error(std::string("pipe: ") + std::strerror(errno));
  fds.add(out[0]);
  fds.add(out[1]);
  return Status::ok();
}

void set_nonblock(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

// The whole file with one read() per 64 KiB (istreambuf_iterator is byte by byte).
bool read_small_file(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return false;
  out->clear();
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::close(fd);
      return n == 0;
    }
    out->append(buf, static_cast<size_t>(n));
  }
}

// arg_start arg_end env_start env_end: fields 48..51 of /proc/self/stat.
void own_arg_env(ChildPlan& plan) {
  std::string s;
  if (!read_small_file("/proc/self/stat", &s)) return;
  size_t p = s.rfind(')');
  if (p == std::string::npos) return;
  std::istringstream rest(s.substr(p + 2));
  std::string field;
  std::vector<std::string> f;
  while (rest >> field) f.push_back(field);
  // After "pid (comm) ", field 3 (state) is f[0]; field N is f[N-3].
  if (f.size() < 49) return;
  plan.arg_start = std::strtoull(f[45].c_str(), nullptr, 10);
  plan.arg_end = std::strtoull(f[46].c_str(), nullptr, 10);
  plan.env_start = std::strtoull(f[47].c_str(), nullptr, 10);
  plan.env_end = std::strtoull(f[48].c_str(), nullptr, 10);
}

// Adds the bind (or symlink) of host path `host` at the same path under the staging root.
Status add_host_entry(std::vector<MountOp>& ops, const std::string& staging, const std::string& host,
                      bool read_only, bool required, bool copy_small = false) {
  struct stat st {};
  if (::lstat(host.c_str(), &st) != 0) {
    if (!required) return Status::ok();
    return Error(host + ": " + std::strerror(errno));
  }
  MountOp op;
  op.target = staging + host;
  op.what = host;
  op.read_only = read_only;
  if (S_ISLNK(st.st_mode)) {
    char buf[4096];
    ssize_t n = ::readlink(host.c_str(), buf, sizeof buf - 1);
    if (n < 0) return Error(host + ": " + std::strerror(errno));
    op.kind = MountOp::kSymlink;
    op.link_target.assign(buf, static_cast<size_t>(n));
    ops.push_back(std::move(op));
    return Status::ok();
  }
  op.source = host;
  op.kind = S_ISDIR(st.st_mode) ? MountOp::kBindDir : MountOp::kBindFile;
  // Small world-readable system files are copied into the root tmpfs: a write is much cheaper
  // than a bind mount (and its teardown).
  if (copy_small && S_ISREG(st.st_mode) && (st.st_mode & S_IROTH) && st.st_size <= (256 << 10)) {
    std::string data;
    if (read_small_file(host, &data)) {
      op.kind = MountOp::kWriteFile;
      op.link_target = std::move(data);
      op.source.clear();
    }
  }
  ops.push_back(std::move(op));
  return Status::ok();
}

MountOp write_op(const std::string& staging, const std::string& path, std::string contents) {
  MountOp op;
  op.kind = MountOp::kWriteFile;
  op.target = staging + path;
  op.link_target = std::move(contents);
  op.what = path;
  return op;
}

MountOp symlink_op(const std::string& staging, const std::string& path, const std::string& to) {
  MountOp op;
  op.kind = MountOp::kSymlink;
  op.target = staging + path;
  op.link_target = to;
  op.what = path;
  return op;
}

// The host directory the new root is mounted on, inside the sandbox's own mount namespace. It
// must not lie in a granted tree: a recursive bind of that tree would copy the staging mount.
std::string pick_staging(const std::vector<std::pair<std::string, bool>>& grants) {
  for (const char* d : {"/tmp", "/mnt", "/var/tmp", "/media", "/srv", "/opt", "/boot", "/home", "/etc"}) {
    struct stat st {};
    if (::lstat(d, &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    const std::string dir = d;
    bool inside_grant = false;
    for (const auto& g : grants)
      inside_grant |= dir == g.first || dir.rfind(g.first + "/", 0) == 0;
    if (!inside_grant) return dir;
  }
  return "";
}

}  // namespace

Result<SandboxOutcome> supervise(const std::vector<std::string>& argv, const SandboxPolicy& policy,
                                 int stdin_fd, const std::string& stdin_data) {
  using Clock = std::chrono::steady_clock;
  SandboxOutcome out;
  SandboxLayers& L = out.layers;
  const auto t_enter = Clock::now();
  // fds 0-2 must be open, or a pipe created below could land on them and be clobbered by dup2.
  for (int fd = 0; fd <= 2; ++fd)
    if (::fcntl(fd, F_GETFD) < 0) ::open("/dev/null", O_RDWR);
  Fds fds;
  ChildPlan plan;

  // ---- Which layers this kernel gives.
  std::vector<std::string> missing;  // layers that cannot be set up
  plan.landlock_abi = simulate_missing("landlock") ? 0 : landlock_abi();
  if (plan.landlock_abi == 0) missing.push_back("landlock");
  std::vector<struct sock_filter> filter;
  if (!simulate_missing("seccomp")) {
    auto f = build_seccomp_filter();
    if (f.ok()) filter = std::move(f).value();
  }
  plan.use_seccomp = !filter.empty();
  if (!plan.use_seccomp) missing.push_back("seccomp");
  if (!missing.empty() && !policy.allow_weaker)
    return Error("sandbox: cannot set up the " + missing.front() +
                 " layer on this kernel (pass --allow-weaker to run without it)");
  plan.seccomp_prog.len = static_cast<unsigned short>(filter.size());
  plan.seccomp_prog.filter = filter.data();
  plan.net_handled = policy.network == Network::kNone;
  plan.loopback = policy.network == Network::kLoopback;

  RunCgroup cgroup;
  bool have_cgroup = false;
  if (!simulate_missing("cgroup")) have_cgroup = cgroup.create(policy.memory_bytes, policy.max_procs + 1).is_ok();

  // ---- The root file system.
  // Grants, parents before children.
  std::vector<std::pair<std::string, bool>> grants;  // canonical path, read-only
  for (const auto& p : policy.ro_paths) grants.push_back({p, true});
  for (const auto& p : policy.rw_paths) grants.push_back({p, false});
  for (auto& g : grants) {
    char* real = ::realpath(g.first.c_str(), nullptr);
    if (real == nullptr) return Error("sandbox: granted path " + g.first + ": " + std::strerror(errno));
    g.first = real;
    std::free(real);
  }
  std::sort(grants.begin(), grants.end());
  plan.staging = pick_staging(grants);
  if (plan.staging.empty()) return Error("sandbox: no directory to stage the root file system on");
  const std::string& S = plan.staging;
  plan.root_tmpfs_opts = "mode=0755,size=4m,nr_inodes=4096";
  const unsigned fs_uid = kInsideUid, fs_gid = kInsideGid;  // rewritten below without a user ns
  for (const char* d : kSystemDirs) NURI_TRY(add_host_entry(plan.ops, S, std::string("/") + d, true, d == kSystemDirs[0]));
  MountOp etc;
  etc.kind = MountOp::kMkdir;
  etc.target = S + "/etc";
  etc.what = "/etc";
  plan.ops.push_back(etc);
  for (const char* e : kEtcEntries) NURI_TRY(add_host_entry(plan.ops, S, std::string("/etc/") + e, true, false, true));
  plan.ops.push_back(write_op(S, "/etc/passwd",
                              "root:x:0:0:root:/root:/usr/sbin/nologin\n"
                              "sandbox:x:1000:1000:sandbox:/scratch:/bin/sh\n"
                              "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"));
  plan.ops.push_back(write_op(S, "/etc/group", "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n"));
  plan.ops.push_back(write_op(S, "/etc/hosts", "127.0.0.1\tlocalhost sandbox\n::1\tlocalhost ip6-localhost ip6-loopback\n"));
  plan.ops.push_back(write_op(S, "/etc/hostname", "sandbox\n"));
  for (const char* d : kDevNodes) {
    std::string p = std::string("/dev/") + d;
    MountOp op;
    op.kind = MountOp::kBindDev;
    op.source = p;
    op.target = S + p;
    op.what = p;
    plan.ops.push_back(std::move(op));
  }
  plan.ops.push_back(symlink_op(S, "/dev/fd", "/proc/self/fd"));
  plan.ops.push_back(symlink_op(S, "/dev/stdin", "/proc/self/fd/0"));
  plan.ops.push_back(symlink_op(S, "/dev/stdout", "/proc/self/fd/1"));
  plan.ops.push_back(symlink_op(S, "/dev/stderr", "/proc/self/fd/2"));
  plan.store = S + "/.store";
  plan.store_home = plan.store + "/home";
  plan.store_tmp = plan.store + "/tmp";
  plan.store_shm = plan.store + "/shm";
  plan.root_scratch = S + "/scratch";
  plan.root_tmp = S + "/tmp";
  plan.root_shm = S + "/dev/shm";
  plan.root_proc = S + "/proc";
  plan.root_proc_sys = S + "/proc/sys";
  plan.root_max_userns = S + "/proc/sys/user/max_user_namespaces";
  for (const auto& g : grants) NURI_TRY(add_host_entry(plan.grant_ops, S, g.first, g.second, true));
  for (MountOp& op : plan.grant_ops)
    if (op.kind == MountOp::kSymlink) return Error("sandbox: granted path " + op.what + " is a symbolic link");

  // ---- Landlock rules (paths inside the sandbox).
  plan.landlock_rules.push_back({"/", kLlReadDir});
  for (const char* d : kSystemDirs) plan.landlock_rules.push_back({std::string("/") + d, kLlReadExec});
  plan.landlock_rules.push_back({"/etc", kLlRead});
  plan.landlock_rules.push_back({"/proc", kLlRead});
  plan.landlock_rules.push_back({"/dev", kLlReadDir});
  for (const char* d : kDevNodes) plan.landlock_rules.push_back({std::string("/dev/") + d, kLlDevice});
  for (const char* d : {"/scratch", "/tmp", "/dev/shm"}) plan.landlock_rules.push_back({d, kLlReadWrite});
  for (const auto& g : grants) plan.landlock_rules.push_back({g.first, g.second ? kLlReadExec : kLlReadWrite});

  // ---- Limits.
  auto add_rlimit = [&](int res, const char* name, rlim_t v) {
    plan.rlimits.push_back({res, v});
    L.rlimits.push_back({name, v == RLIM_INFINITY ? -1 : static_cast<int64_t>(v)});
  };
  add_rlimit(RLIMIT_NPROC, "nproc", policy.max_procs);
  add_rlimit(RLIMIT_FSIZE, "fsize_bytes", policy.max_file_size_bytes);
  add_rlimit(RLIMIT_NOFILE, "nofile", policy.max_open_files);
  add_rlimit(RLIMIT_CORE, "core_bytes", 0);
  if (policy.cpu_time_s > 0)
    add_rlimit(RLIMIT_CPU, "cpu_s", static_cast<rlim_t>(std::max(1.0, std::ceil(policy.cpu_time_s))));
  // With a memory cgroup the cgroup is the memory limit (an address-space limit would fail
  // ordinary threaded programs long before they use the memory); without one, RLIMIT_AS.
  if (!(have_cgroup && cgroup.has_memory())) add_rlimit(RLIMIT_AS, "as_bytes", policy.memory_bytes);
  uint64_t tmpfs_bytes = std::max<uint64_t>(policy.memory_bytes, 1 << 20);

  // ---- exec: argv, PATH search candidates, environment.
  if (argv.empty() || argv[0].empty()) return Error("sandbox: no program given");
  if (argv[0].find('/') != std::string::npos) {
    plan.exec_candidates.push_back(argv[0]);
  } else {
    for (const char* d : kPathDirs) plan.exec_candidates.push_back(std::string(d) + "/" + argv[0]);
  }
  for (const std::string& a : argv) plan.argv.push_back(const_cast<char*>(a.c_str()));
  plan.argv.push_back(nullptr);
  std::vector<std::string> env = {std::string("PATH=") + kSandboxPath, "HOME=/scratch", "LANG=C.UTF-8"};
  for (const std::string& e : policy.env) {
    std::string name = e.substr(0, e.find('='));
    std::string entry = e;
    if (e.find('=') == std::string::npos) {
      const char* v = std::getenv(e.c_str());
      if (v == nullptr) continue;
      entry = e + "=" + v;
    }
    env.erase(std::remove_if(env.begin(), env.end(), [&](const std::string& x) { return x.compare(0, name.size() + 1, name + "=") == 0; }),
              env.end());
    env.push_back(entry);
  }
  for (const std::string& e : env) plan.envp.push_back(const_cast<char*>(e.c_str()));
  plan.envp.push_back(nullptr);

  // ---- Pipes.
  int go[2], status[2], in[2], o[2], e[2];
  NURI_TRY(make_pipe(fds, go));
  NURI_TRY(make_pipe(fds, status));
  NURI_TRY(make_pipe(fds, in));
  NURI_TRY(make_pipe(fds, o));
  NURI_TRY(make_pipe(fds, e));
  plan.go_read = go[0];
  plan.status_write = status[1];
  plan.stdin_read = in[0];
  plan.stdout_write = o[1];
  plan.stderr_write = e[1];
  plan.close_in_child = {go[1], status[0], in[1], o[0], e[0]};
  own_arg_env(plan);

  // ---- Clone the sandbox's init into new namespaces.
  const bool root = ::geteuid() == 0;
  unsigned long ns = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP;
  plan.in_user_ns = !simulate_missing("userns");
  if (!plan.in_user_ns) {
    if (!policy.allow_weaker)
      return Error("sandbox: cannot set up the user-namespace layer (pass --allow-weaker to run without it)");
    if (!root) return Error("sandbox: without user namespaces only root can create the other namespaces");
  }
  std::string tmpfs_ids;
  if (!plan.in_user_ns) tmpfs_ids = ",uid=" + std::to_string(kHostUid) + ",gid=" + std::to_string(kHostGid);
  else tmpfs_ids = ",uid=" + std::to_string(fs_uid) + ",gid=" + std::to_string(fs_gid);
  plan.store_opts = "mode=0755,size=" + std::to_string(tmpfs_bytes) + tmpfs_ids;

  // SIGPIPE from a program that closes its stdin: blocked here, consumed below.
  sigset_t pipe_set, old_mask;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  ::pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  struct MaskRestore {
    sigset_t pipe_set, old;
    ~MaskRestore() {
      struct timespec zero {};
      while (::sigtimedwait(&pipe_set, nullptr, &zero) > 0) {
      }
      ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
    }
  } mask_restore{pipe_set, old_mask};

  const auto t0 = Clock::now();
  // NURI_SANDBOX_TRACE=1: timings of the start-up steps on stderr (for the start-up benchmark).
  const bool trace = std::getenv("NURI_SANDBOX_TRACE") != nullptr;
  if (trace) std::fprintf(stderr, "[sandbox] %8.3f ms prepared\n", std::chrono::duration<double, std::milli>(t0 - t_enter).count());
  auto tr = [&](const char* what) {
    if (trace) std::fprintf(stderr, "[sandbox] %8.3f ms %s\n", std::chrono::duration<double, std::milli>(Clock::now() - t0).count(), what);
  };
  int pidfd = -1;
  unsigned long flags = ns | (plan.in_user_ns ? CLONE_NEWUSER : 0) | CLONE_PIDFD | SIGCHLD;
  long pid = ::syscall(SYS_clone, flags, nullptr, &pidfd, nullptr, 0);
  if (pid == 0) run_init(plan);
  if (pid < 0) {
    int err = errno;
    if (plan.in_user_ns && (err == EPERM || err == EINVAL || err == ENOSPC || err == EUSERS))
      return Error(std::string("sandbox: cannot set up the user-namespace layer: clone: ") + std::strerror(err) +
                   (policy.allow_weaker ? "" : " (pass --allow-weaker to run without it)"));
    return Error(std::string("sandbox: cannot create the namespaces: clone: ") + std::strerror(err));
  }
  fds.add(pidfd);
  tr("cloned");
  for (int fd : {go[0], status[1], in[0], o[1], e[1]}) {
    int f = fd;
    fds.close(f);
  }

  auto abort_child = [&](Status st) -> Status {
    ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
    ::waitpid(static_cast<pid_t>(pid), nullptr, __WALL);
    return st;
  };
  if (plan.in_user_ns) {
    const std::string base = "/proc/" + std::to_string(pid);
    const std::string umap = std::to_string(kInsideUid) + " " + std::to_string(kHostUid) + " 1\n";
    const std::string gmap = std::to_string(kInsideGid) + " " + std::to_string(kHostGid) + " 1\n";
    for (auto [file, text] : {std::pair{"/uid_map", umap}, std::pair{"/gid_map", gmap}}) {
      int fd = ::open((base + file).c_str(), O_WRONLY | O_CLOEXEC);
      bool ok = fd >= 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
      int err = errno;
      if (fd >= 0) ::close(fd);
      if (!ok)
        return abort_child(Error(std::string("sandbox: cannot set up the user-namespace layer: writing ") + file +
                                 ": " + std::strerror(err)));
    }
  }
  // Two go bytes: the first once the id maps are written (the init builds the root file system
  // meanwhile), the second once it is in the cgroup (a cgroup v1 move can wait for an RCU grace
  // period; the init waits for it only before it starts the program).
  auto send_go = [&]() -> bool {
    char b = 1;
    return ::write(go[1], &b, 1) == 1;
  };
  tr("maps");
  if (!send_go()) return abort_child(Error("sandbox: cannot start the sandbox's init"));
  if (have_cgroup) {
    Status st = cgroup.add(static_cast<pid_t>(pid));
    if (!st.is_ok()) return abort_child(Error("sandbox: " + st.message()));
  }
  if (!send_go()) return abort_child(Error("sandbox: cannot start the sandbox's init"));
  fds.close(go[1]);
  tr("go");
  // ---- Report what is enforced.
  L.namespaces = {"pid", "mount", "network", "ipc", "uts", "cgroup"};
  if (plan.in_user_ns) L.namespaces.insert(L.namespaces.begin(), "user");
  else out.not_enforced.push_back("user namespace");
  L.landlock_abi = plan.landlock_abi;
  if (plan.landlock_abi == 0) out.not_enforced.push_back("landlock");
  L.seccomp = plan.use_seccomp;
  if (!plan.use_seccomp) out.not_enforced.push_back("seccomp");
  L.no_new_privs = true;
  L.uid_map = plan.in_user_ns ? std::to_string(kInsideUid) + "->" + std::to_string(kHostUid)
                              : "host uid " + std::to_string(kHostUid);
  if (have_cgroup) {
    L.cgroup = cgroup.describe();
    L.cgroup_memory_bytes = policy.memory_bytes;
    L.cgroup_pids_max = policy.max_procs + 1;
  } else {
    out.not_enforced.push_back("cgroup");
  }

  // ---- Supervise: stdin pump, capped output, wall clock, exit.
  int in_w = in[1], out_r = o[0], err_r = e[0], status_r = status[0];
  set_nonblock(in_w);
  set_nonblock(out_r);
  set_nonblock(err_r);
  std::string pending = stdin_fd >= 0 ? std::string() : stdin_data;
  size_t pending_off = 0;
  bool stdin_eof = stdin_fd < 0;
  if (stdin_fd < 0 && pending.empty()) fds.close(in_w);
  const auto deadline = t0 + std::chrono::microseconds(static_cast<int64_t>(policy.wall_time_s * 1e6));
  bool exited = false;
  int init_status = 0;
  struct rusage ru {};
  StatusMsg first_error{};
  bool have_error = false, have_exit = false;
  int program_status = 0;
  std::string status_buf;

  auto read_stream = [&](int& fd, std::string& dst) {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n > 0) {
        size_t room = policy.max_output_bytes > dst.size() ? policy.max_output_bytes - dst.size() : 0;
        size_t take = std::min<size_t>(room, static_cast<size_t>(n));
        dst.append(buf, take);
        if (take < static_cast<size_t>(n)) out.output_truncated = true;
        continue;
      }
      if (n == 0) fds.close(fd);
      else if (errno == EINTR) continue;
      return;
    }
  };
  auto read_status = [&]() {
    char buf[256];
    for (;;) {
      ssize_t n = ::read(status_r, buf, sizeof buf);
      if (n > 0) {
        status_buf.append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) fds.close(status_r);
      else if (errno == EINTR) continue;
      break;
    }
    while (status_buf.size() >= sizeof(StatusMsg)) {
      StatusMsg m;
      std::memcpy(&m, status_buf.data(), sizeof m);
      status_buf.erase(0, sizeof m);
      if ((m.kind == StatusMsg::kSetupError || m.kind == StatusMsg::kExecError) && !have_error) {
        first_error = m;
        have_error = true;
      } else if (m.kind == StatusMsg::kExited) {
        have_exit = true;
        tr("exit status received");
        program_status = m.step;
      }
    }
  };
  set_nonblock(status_r);

  while (!exited) {
    struct pollfd pfd[6];
    int n = 0, i_pid = -1, i_out = -1, i_err = -1, i_st = -1, i_inw = -1, i_src = -1;
    pfd[i_pid = n++] = {pidfd, POLLIN, 0};
    if (out_r >= 0) pfd[i_out = n++] = {out_r, POLLIN, 0};
    if (err_r >= 0) pfd[i_err = n++] = {err_r, POLLIN, 0};
    if (status_r >= 0) pfd[i_st = n++] = {status_r, POLLIN, 0};
    if (in_w >= 0 && pending_off < pending.size()) pfd[i_inw = n++] = {in_w, POLLOUT, 0};
    if (in_w >= 0 && pending_off >= pending.size() && !stdin_eof) pfd[i_src = n++] = {stdin_fd, POLLIN, 0};
    auto now = Clock::now();
    int timeout_ms = -1;
    if (!out.timed_out) {
      if (now >= deadline) {
        out.timed_out = true;
        ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0);
      } else {
        timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count()) + 1;
      }
    }
    int rc = ::poll(pfd, static_cast<nfds_t>(n), timeout_ms);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return abort_child(Error(std::string("sandbox: poll: ") + std::strerror(errno)));
    }
    if (i_out >= 0 && pfd[i_out].revents) read_stream(out_r, out.stdout_data);
    if (i_err >= 0 && pfd[i_err].revents) read_stream(err_r, out.stderr_data);
    if (i_st >= 0 && pfd[i_st].revents) read_status();
    if (i_inw >= 0 && pfd[i_inw].revents) {
      ssize_t w = ::write(in_w, pending.data() + pending_off, pending.size() - pending_off);
      if (w > 0) pending_off += static_cast<size_t>(w);
      else if (w < 0 && errno != EAGAIN && errno != EINTR) {
        fds.close(in_w);  // the program closed its stdin
        stdin_eof = true;
      }
      if (in_w >= 0 && pending_off >= pending.size() && stdin_eof) fds.close(in_w);
    }
    if (i_src >= 0 && pfd[i_src].revents) {
      char buf[65536];
      ssize_t r = ::read(stdin_fd, buf, sizeof buf);
      if (r > 0) {
        pending.assign(buf, static_cast<size_t>(r));
        pending_off = 0;
      } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
        stdin_eof = true;
        fds.close(in_w);
      }
    }
    if (pfd[i_pid].revents) {
      pid_t w = ::wait4(static_cast<pid_t>(pid), &init_status, __WALL, &ru);
      if (w == pid) exited = true;
      tr("init reaped");
    }
  }
  const auto t1 = Clock::now();
  // Every process of the sandbox is gone: take what is left in the pipes without waiting.
  if (out_r >= 0) read_stream(out_r, out.stdout_data);
  if (err_r >= 0) read_stream(err_r, out.stderr_data);
  if (status_r >= 0) read_status();

  out.wall_ms = std::chrono::duration<double, std::milli>(t1 - t0).count();
  out.cpu_ms = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
  out.peak_rss_kib = static_cast<uint64_t>(ru.ru_maxrss);
  if (have_cgroup && cgroup.has_memory()) {
    out.memory_exceeded = cgroup.oom_kills() > 0;
  } else {
    // RLIMIT_AS only: an allocation that fails leaves no trace; a peak RSS near the limit is the
    // best evidence the limit was what stopped the program.
    out.memory_exceeded = out.peak_rss_kib * 1024.0 >= 0.85 * static_cast<double>(policy.memory_bytes);
  }
  cgroup.destroy();
  tr("cgroup removed");

  if (have_error && first_error.kind == StatusMsg::kSetupError) {
    std::string where = step_name(first_error.step);
    int idx = first_error.index;
    if (first_error.step == kStepMountOp && idx >= 0) {
      size_t i = static_cast<size_t>(idx);
      const MountOp* op = i < plan.ops.size() ? &plan.ops[i]
                          : i - plan.ops.size() < plan.grant_ops.size() ? &plan.grant_ops[i - plan.ops.size()]
                                                                        : nullptr;
      if (op != nullptr) where += " (" + op->what + ")";
    }
    return Error("sandbox: cannot set up the " + where + " layer: " + std::strerror(first_error.err));
  }
  if (out.timed_out) {
    out.signal = SIGKILL;
    out.exit_code = -1;
  } else if (have_error && first_error.kind == StatusMsg::kExecError) {
    out.not_found = first_error.err == ENOENT || first_error.err == ENOTDIR;
    out.not_executable = !out.not_found;
    out.exit_code = out.not_found ? 127 : 126;
    out.stderr_data += "nuri sandbox: " + argv[0] + ": " + std::strerror(first_error.err) + "\n";
  } else if (have_exit) {
    if (WIFEXITED(program_status)) {
      out.exit_code = WEXITSTATUS(program_status);
    } else if (WIFSIGNALED(program_status)) {
      out.signal = WTERMSIG(program_status);
      out.exit_code = -1;
    }
  } else if (WIFSIGNALED(init_status)) {
    // The init itself was killed (by the OOM killer, or by a signal from outside).
    out.signal = WTERMSIG(init_status);
    out.exit_code = -1;
  } else {
    return Error("sandbox: the sandbox's init exited without a status (code " +
                 std::to_string(WIFEXITED(init_status) ? WEXITSTATUS(init_status) : -1) + ")");
  }
  return out;
}

}  // namespace nuri::sandbox::internal
