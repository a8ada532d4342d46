// tests/sandbox/escape_test.cc — escape attempts against `nuri sandbox`, asserted from the host.
//
// The host side plants things the sandboxed program must not reach: secret files in the project
// checkout and in $HOME, a secret in nuri's environment, a victim process, TCP/UDP servers on
// 127.0.0.1, abstract and path unix sockets, granted read-only and read-write dirs. Each attempt
// (Python or shell) prints BLOCKED when the attack failed and ESCAPED when it worked; the test
// checks that, the exit status / limits in the --report JSON, and that the host is unchanged.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "sandbox_test_util.h"

namespace nuri::sandbox_test {
namespace {

// Python prelude: libc via ctypes, chk() turns -1 into OSError, T-style wrapper added per attempt.
const char kPyPrelude[] =
    "import os, sys, socket, ctypes, signal, errno, time\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "def chk(r):\n"
    "    if r == -1 or r is None:\n"
    "        e = ctypes.get_errno(); raise OSError(e, os.strerror(e))\n"
    "    return r\n";

// Wraps `body` so that success prints ESCAPED and any exception prints BLOCKED <reason>.
std::string attempt_py(const std::string& body) {
  std::string code = kPyPrelude;
  code += "try:\n";
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) code += "    " + line + "\n";
  code += "    print('ESCAPED')\nexcept BaseException as e:\n    print('BLOCKED', type(e).__name__, e)\n";
  return code;
}
std::string raw_py(const std::string& body) { return std::string(kPyPrelude) + body; }
// Shell: success of `cmd` prints ESCAPED.
std::string attempt_sh(const std::string& cmd) {
  return "if " + cmd + "; then echo ESCAPED; else echo \"BLOCKED rc=$?\"; fi";
}

struct Host {
  std::string token;  // random, unique to this test run
  std::string project_secret_path, project_secret;
  std::string home_secret_path, home_secret;
  std::string env_secret;
  std::string host_tmp_file, host_shm_file;
  std::string ro_dir, rw_dir, pwned_path;
  pid_t victim = -1;
  int tcp_fd = -1, udp_fd = -1, abs_fd = -1, path_fd = -1;
  int tcp_port = 0, udp_port = 0;
  std::string abstract_name, unix_path;
  std::atomic<int> tcp_accepts{0}, udp_datagrams{0}, unix_accepts{0};
  std::atomic<bool> stop{false};
  std::thread server;
};

Host* g_host = nullptr;

struct Attempt {
  std::string name;
  std::string category;
  std::vector<std::string> flags;
  std::vector<std::string> program;
  std::string expect_marker = "BLOCKED";  // stdout must contain it
  std::function<void(const SbRun&)> check;  // extra host-side checks (EXPECT_*)
  SbRun run;
};

std::string subst(std::string s) {
  const Host& h = *g_host;
  const std::pair<std::string, std::string> vars[] = {
      {"{PROJ}", h.project_secret_path}, {"{HOMESEC}", h.home_secret_path}, {"{VICTIM}", std::to_string(h.victim)},
      {"{TCP}", std::to_string(h.tcp_port)}, {"{UDP}", std::to_string(h.udp_port)}, {"{ABS}", h.abstract_name},
      {"{UPATH}", h.unix_path}, {"{RO}", h.ro_dir}, {"{RW}", h.rw_dir}, {"{TOKEN}", h.token},
      {"{HOSTTMP}", h.host_tmp_file}, {"{HOSTSHM}", h.host_shm_file}, {"{PWNED}", h.pwned_path},
      {"{SRC}", NURI_SOURCE_DIR}};
  for (const auto& [k, v] : vars) {
    for (size_t p = s.find(k); p != std::string::npos; p = s.find(k, p + v.size())) s.replace(p, k.size(), v);
  }
  return s;
}

Attempt A(std::string category, std::string name, std::vector<std::string> program,
          std::vector<std::string> flags = {}) {
  Attempt a;
  a.category = std::move(category);
  a.name = std::move(name);
  for (auto& p : program) p = subst(p);
  for (auto& f : flags) f = subst(f);
  a.program = std::move(program);
  a.flags = std::move(flags);
  return a;
}

Attempt PY(std::string cat, std::string name, const std::string& body, std::vector<std::string> flags = {}) {
  return A(std::move(cat), std::move(name), py(attempt_py(body)), std::move(flags));
}
Attempt SH(std::string cat, std::string name, const std::string& cmd, std::vector<std::string> flags = {}) {
  return A(std::move(cat), std::move(name), sh(attempt_sh(cmd)), std::move(flags));
}

int listen_tcp(int type, int* port) {
  int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  if (type == SOCK_STREAM) ::listen(fd, 16);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  *port = ntohs(a.sin_port);
  return fd;
}

int listen_unix(const std::string& name, bool abstract) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  size_t off = abstract ? 1 : 0;
  std::memcpy(a.sun_path + off, name.data(), name.size());
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + off + name.size()));
  ::listen(fd, 16);
  return fd;
}

class SandboxEscape : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    g_host = new Host();
    Host& h = *g_host;
    std::random_device rd;
    h.token = "tok" + std::to_string(rd()) + std::to_string(::getpid());
    h.project_secret = "PROJECT-SECRET-" + h.token;
    h.home_secret = "HOME-SECRET-" + h.token;
    h.env_secret = "ENV-SECRET-" + h.token;
    h.project_secret_path = std::string(NURI_SOURCE_DIR) + "/.sandbox-escape-secret-" + h.token;
    const char* home = std::getenv("HOME");
    h.home_secret_path = std::string(home ? home : "/root") + "/.nuri-sandbox-secret-" + h.token;
    write_file(h.project_secret_path, h.project_secret, 0600);
    write_file(h.home_secret_path, h.home_secret, 0600);
    h.host_tmp_file = "/tmp/nuri-sbtest-hosttmp-" + h.token;
    write_file(h.host_tmp_file, "host tmp", 0644);
    h.host_shm_file = "/dev/shm/nuri-sbtest-" + h.token;
    write_file(h.host_shm_file, "host shm", 0644);
    h.pwned_path = std::string(NURI_SOURCE_DIR) + "/.sandbox-pwned-" + h.token;
    h.ro_dir = make_temp_dir("ro");
    ::chmod(h.ro_dir.c_str(), 0755);
    write_file(h.ro_dir + "/data.txt", "read-only data\n", 0644);
    (void)::symlink(h.home_secret_path.c_str(), (h.ro_dir + "/escape_link").c_str());
    h.rw_dir = make_temp_dir("rw");
    ::chmod(h.rw_dir.c_str(), 0777);  // writable by the sandbox's host uid
    // A victim process of the host.
    h.victim = ::fork();
    if (h.victim == 0) {
      ::execl("/bin/sleep", "sleep", "600", static_cast<char*>(nullptr));
      ::_exit(1);
    }
    h.tcp_fd = listen_tcp(SOCK_STREAM, &h.tcp_port);
    h.udp_fd = listen_tcp(SOCK_DGRAM, &h.udp_port);
    h.abstract_name = "nuri-sbtest-abstract-" + h.token;
    h.abs_fd = listen_unix(h.abstract_name, true);
    h.unix_path = "/tmp/nuri-sbtest-sock-" + h.token;
    h.path_fd = listen_unix(h.unix_path, false);
    h.server = std::thread([&h] {
      while (!h.stop) {
        pollfd p[4] = {{h.tcp_fd, POLLIN, 0}, {h.udp_fd, POLLIN, 0}, {h.abs_fd, POLLIN, 0}, {h.path_fd, POLLIN, 0}};
        if (::poll(p, 4, 100) <= 0) continue;
        if (p[0].revents) {
          int c = ::accept(h.tcp_fd, nullptr, nullptr);
          if (c >= 0) ++h.tcp_accepts, ::close(c);
        }
        if (p[1].revents) {
          char b[256];
          if (::recv(h.udp_fd, b, sizeof b, MSG_DONTWAIT) >= 0) ++h.udp_datagrams;
        }
        for (int i : {2, 3}) {
          if (p[i].revents) {
            int c = ::accept(p[i].fd, nullptr, nullptr);
            if (c >= 0) ++h.unix_accepts, ::close(c);
          }
        }
      }
    });
  }
  static void TearDownTestSuite() {
    Host& h = *g_host;
    h.stop = true;
    h.server.join();
    for (int fd : {h.tcp_fd, h.udp_fd, h.abs_fd, h.path_fd}) ::close(fd);
    ::kill(h.victim, SIGKILL);
    ::waitpid(h.victim, nullptr, 0);
    for (const std::string& p : {h.project_secret_path, h.home_secret_path, h.host_tmp_file, h.host_shm_file,
                                 h.unix_path, h.pwned_path})
      ::unlink(p.c_str());
    remove_tree(h.ro_dir);
    remove_tree(h.rw_dir);
    delete g_host;
    g_host = nullptr;
  }
};

std::vector<Attempt> build_attempts() {
  const Host& h = *g_host;
  std::vector<Attempt> v;
  const std::string ro = "--ro=" + h.ro_dir, rw = "--rw=" + h.rw_dir;
  // ---- Reading host files.
  v.push_back(PY("read", "py-read-project-secret", "print(open('{PROJ}').read())"));
  v.push_back(SH("read", "sh-cat-project-secret", "cat {PROJ}"));
  v.push_back(PY("read", "py-read-home-secret", "print(open('{HOMESEC}').read())"));
  v.push_back(SH("read", "sh-cat-home-secret", "cat {HOMESEC}"));
  v.push_back(SH("read", "sh-cat-etc-shadow", "cat /etc/shadow"));
  v.push_back(PY("read", "py-shadow-via-proc1-root", "print(open('/proc/1/root/etc/shadow').read())"));
  v.push_back(PY("read", "py-proc1-environ", "print(open('/proc/1/environ','rb').read())"));
  v.push_back(PY("read", "py-proc1-mem", "f=open('/proc/1/mem','rb'); m=open('/proc/1/maps').read(); print(m)"));
  v.push_back(A("read", "py-scan-all-proc", py(raw_py(
      "found=[]\n"
      "for p in os.listdir('/proc'):\n"
      "    if not p.isdigit() or int(p) == os.getpid(): continue\n"
      "    for f in ('environ','cmdline'):\n"
      "        try: found.append(open('/proc/%s/%s'%(p,f),'rb').read())\n"
      "        except OSError: pass\n"
      "blob=b'\\n'.join(found)\n"
      "print('ESCAPED' if b'SECRET' in blob or b'--report' in blob else 'BLOCKED scanned', len(found))\n"))));
  v.push_back(PY("read", "py-host-victim-proc", "print(open('/proc/{VICTIM}/cmdline').read())"));
  v.push_back(SH("read", "sh-host-dirs-visible",
                 "test -e /work || test -e /root || test -e /home || test -e {SRC} || test -e {HOSTTMP} || test -e {HOSTSHM}"));
  v.push_back(PY("read", "py-dotdot-from-scratch", "os.chdir('/scratch'); print(open('../../../../../..{PROJ}').read())"));
  v.push_back(SH("read", "sh-symlink-in-scratch", "ln -s {HOMESEC} /scratch/l && cat /scratch/l"));
  v.push_back(SH("read", "sh-host-symlink-in-granted-dir", "cat {RO}/escape_link", {ro}));
  v.push_back(PY("read", "py-open-by-handle",
                 "buf=ctypes.create_string_buffer(136); buf[0:4]=(128).to_bytes(4,'little'); mid=ctypes.c_int()\n"
                 "chk(libc.name_to_handle_at(-100, b'/etc/hosts', buf, ctypes.byref(mid), 0))\n"
                 "chk(libc.open_by_handle_at(3, buf, 0))"));
  // ---- Writing outside the scratch dir (and link tricks).
  v.push_back(SH("write", "sh-write-usr", "echo x > /usr/bin/nuri-evil"));
  v.push_back(SH("write", "sh-append-etc-passwd", "echo 'evil:x:0:0::/:/bin/sh' >> /etc/passwd"));
  v.push_back(SH("write", "sh-touch-root", "touch /evil"));
  // When the checkout lives under /tmp the write succeeds, but only into the sandbox's private
  // /tmp; whether it reached the host is checked host-side below ({SRC}/evil must not exist).
  v.push_back(PY("write", "py-recreate-project-path",
                 "os.makedirs('{SRC}', exist_ok=True); open('{SRC}/evil','w').write('x')\n"
                 "if '{SRC}'.startswith('/tmp/'): raise RuntimeError('wrote only into the private /tmp')"));
  v.push_back(SH("write", "sh-write-granted-ro", "{ echo x > {RO}/new || echo y >> {RO}/data.txt; }", {ro}));
  v.push_back(SH("write", "sh-chmod-granted-ro", "chmod 777 {RO}/data.txt", {ro}));
  v.push_back(SH("write", "sh-write-through-symlink-in-rw", "ln -sf {PWNED} {RW}/lnk && echo pwned > {RW}/lnk", {rw}));
  v.push_back(SH("write", "sh-hardlink-granted-ro-file", "ln {RO}/data.txt /scratch/h && echo x >> /scratch/h", {ro}));
  v.push_back(SH("write", "sh-hardlink-etc-passwd", "ln /etc/passwd /tmp/p && echo x >> /tmp/p"));
  v.push_back(SH("write", "sh-proc-sysrq-drop-caches", "{ echo 3 > /proc/sys/vm/drop_caches || echo b > /proc/sysrq-trigger; }"));
  v.push_back(PY("write", "py-mknod-device", "chk(libc.mknod(b'/scratch/sda', 0o60600, os.makedev(8,0)))"));
  // ---- Network.
  v.push_back(PY("net", "py-tcp-host-server", "s=socket.create_connection(('127.0.0.1',{TCP}),timeout=2)"));
  v.push_back(PY("net", "py-tcp-host-server-loopback", "s=socket.create_connection(('127.0.0.1',{TCP}),timeout=2)",
                 {"--net", "loopback"}));
  v.push_back(PY("net", "py-udp-to-host", "s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'x',('127.0.0.1',{UDP}))"));
  v.push_back(PY("net", "py-dns-lookup", "print(socket.getaddrinfo('example.com', 80))"));
  v.push_back(PY("net", "py-raw-socket", "socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)"));
  v.push_back(PY("net", "py-packet-socket", "socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)"));
  v.push_back(PY("net", "py-abstract-unix-socket", "s=socket.socket(socket.AF_UNIX); s.connect('\\0{ABS}')"));
  v.push_back(PY("net", "py-path-unix-socket", "s=socket.socket(socket.AF_UNIX); s.connect('{UPATH}')"));
  v.push_back(PY("net", "py-tcp6-host", "s=socket.create_connection(('::1',{TCP}),timeout=2)"));
  v.push_back(SH("net", "sh-configure-interface", "ip addr add 10.9.9.9/8 dev lo 2>&1 && ip link set lo up"));
  // ---- Signals and ptrace against a host process (and the sandbox's init).
  v.push_back(SH("signal", "sh-kill-host-victim", "kill -9 {VICTIM}"));
  {
    Attempt a = A("signal", "py-kill-everything", py(raw_py(
        "try: os.kill(-1, signal.SIGKILL)\nexcept OSError as e: print('BLOCKED kill(-1):', e)\nelse: print('BLOCKED kill(-1) reached only the sandbox')\n")));
    v.push_back(a);
  }
  v.push_back(PY("signal", "py-ptrace-host-victim", "chk(libc.ptrace(16, {VICTIM}, 0, 0))"));
  v.push_back(PY("signal", "py-ptrace-init", "chk(libc.ptrace(16, 1, 0, 0))"));
  v.push_back(PY("signal", "py-process-vm-readv-init",
                 "buf=ctypes.create_string_buffer(64)\n"
                 "class IOV(ctypes.Structure): _fields_=[('b',ctypes.c_void_p),('l',ctypes.c_size_t)]\n"
                 "l=IOV(ctypes.addressof(buf),64); r=IOV(0x400000,64)\n"
                 "chk(libc.process_vm_readv(1, ctypes.byref(l), 1, ctypes.byref(r), 1, 0))"));
  v.push_back(PY("signal", "py-pidfd-open-host-victim", "chk(libc.syscall(434, {VICTIM}, 0))"));
  v.push_back(PY("signal", "py-kill-sandbox-init", "os.kill(1, signal.SIGKILL); time.sleep(0.2)"));
  // ---- Privilege.
  v.push_back(PY("priv", "py-setuid-0", "chk(libc.setuid(0))"));
  v.push_back(PY("priv", "py-mount-tmpfs", "chk(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None))"));
  v.push_back(PY("priv", "py-chroot", "chk(libc.chroot(b'/tmp'))"));
  v.push_back(SH("priv", "sh-unshare-user-ns", "unshare -Ur id"));
  v.push_back(PY("priv", "py-unshare-newuser", "chk(libc.unshare(0x10000000))"));
  v.push_back(PY("priv", "py-clone3-newuser",
                 "args=(ctypes.c_uint64*11)(); args[0]=0x10000000\n"
                 "pid=chk(libc.syscall(435, ctypes.byref(args), 88))\n"
                 "if pid==0: os._exit(0)"));
  v.push_back(PY("priv", "py-finit-module", "fd=os.open('/dev/null', os.O_RDONLY); chk(libc.syscall(313, fd, b'', 0))"));
  v.push_back(SH("priv", "sh-sysctl-hostname", "echo evil > /proc/sys/kernel/hostname"));
  v.push_back(PY("priv", "py-sethostname", "chk(libc.sethostname(b'evil', 4))"));
  v.push_back(SH("priv", "sh-setuid-binary-su", "su -c id root 2>&1 | grep -q 'uid=0'"));
  v.push_back(PY("priv", "py-capabilities-held",
                 "eff=[l for l in open('/proc/self/status') if l.startswith('CapEff')][0].split()[1]\n"
                 "assert int(eff,16)!=0, 'CapEff is zero'"));
  v.push_back(PY("priv", "py-kernel-surface-calls",
                 "ok=[]\n"
                 "for name,nr,args in (('bpf',321,(0,0,0)),('keyctl',250,(0,0,0)),('userfaultfd',323,(0,)),"
                 "('perf_event_open',298,(0,0,-1,-1,0)),('io_uring_setup',425,(1,0)),('kexec_load',246,(0,0,0,0))):\n"
                 "    if libc.syscall(nr,*args) >= 0: ok.append(name)\n"
                 "assert ok, 'all refused'"));
  v.push_back(PY("priv", "py-tiocsti", "import fcntl, termios; fcntl.ioctl(0, termios.TIOCSTI, b'x')"));
  {
    Attempt a = A("priv", "py-i386-int80", py(raw_py(
        "import mmap\n"
        "m=mmap.mmap(-1,4096,prot=mmap.PROT_READ|mmap.PROT_WRITE|mmap.PROT_EXEC)\n"
        "m.write(bytes([0xb8,20,0,0,0,0xcd,0x80,0xc3]))\n"
        "f=ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(m)))\n"
        "print('ESCAPED i386 getpid', f())\n")));
    a.expect_marker = "";
    a.check = [](const SbRun& r) { EXPECT_EQ(r.status, 128 + SIGSYS); };
    v.push_back(a);
  }
  {
    Attempt a = A("priv", "py-x32-syscall", py(raw_py("print('ESCAPED x32', libc.syscall(39 | 0x40000000))\n")));
    a.expect_marker = "";
    a.check = [](const SbRun& r) { EXPECT_EQ(r.status, 128 + SIGSYS); };
    v.push_back(a);
  }
  // ---- Resources.
  {
    Attempt a = A("resource", "sh-fork-bomb", {"/bin/bash", "-c", "b(){ b|b& }; b; sleep 5; echo done " + h.token},
                  {"--time-limit", "2"});
    a.expect_marker = "";
    a.check = [](const SbRun& r) {
      EXPECT_LT(r.seconds, 8.0);
    };
    v.push_back(a);
  }
  {
    Attempt a = A("resource", "py-fork-bomb", py(raw_py(
        "n=0\n"
        "while True:\n"
        "    try:\n"
        "        if os.fork()==0:\n"
        "            time.sleep(30); os._exit(0)\n"
        "        n+=1\n"
        "    except OSError as e:\n"
        "        print('BLOCKED fork failed after', n, e); break\n"
        "assert n < 64\n")), {"--time-limit", "3"});
    v.push_back(a);
  }
  {
    Attempt a = A("resource", "py-thread-bomb", py(raw_py(
        "import threading\nts=[]\n"
        "try:\n"
        "    for i in range(2000):\n"
        "        t=threading.Thread(target=time.sleep, args=(5,), daemon=True); t.start(); ts.append(t)\n"
        "    print('ESCAPED', len(ts))\n"
        "except RuntimeError as e: print('BLOCKED threads', len(ts), e, flush=True)\n"
        "os._exit(0)\n")), {"--time-limit", "3"});
    v.push_back(a);
  }
  {
    Attempt a = A("resource", "py-memory-bomb", py(raw_py("a=[]\nwhile True: a.append(bytearray(10**7))\n")));
    a.expect_marker = "";
    a.check = [](const SbRun& r) {
      // With a memory cgroup the OOM killer ends it (137); with RLIMIT_AS only, the allocation
      // fails (MemoryError, exit 1). Either way the report says the memory limit was hit.
      if (r.report["layers"]["cgroup"].is_null()) {
        EXPECT_EQ(r.status, 1);
      } else {
        EXPECT_EQ(r.status, 137);
      }
      EXPECT_TRUE(r.report.value("memory_exceeded", false)) << r.report.dump();
    };
    v.push_back(a);
  }
  {
    Attempt a = A("resource", "sh-disk-fill", sh(
        "i=0; while dd if=/dev/zero of=/scratch/fill$i bs=1M count=48 2>/dev/null; do i=$((i+1)); done; "
        "echo BLOCKED disk full after $i files"), {"--time-limit", "20", "--memory-limit", "256"});
    a.expect_marker = "";
    a.check = [](const SbRun& r) {
      // Either the tmpfs filled up (ENOSPC) or the memory cgroup killed the writer.
      EXPECT_TRUE(r.out.find("BLOCKED disk full") != std::string::npos || r.status == 137) << r.out << r.status;
      EXPECT_FALSE(r.report.value("timed_out", true));
    };
    v.push_back(a);
  }
  {
    Attempt a = A("resource", "sh-file-size-limit", sh("dd if=/dev/zero of=/scratch/big bs=1M count=100"),
                  {"--max-file-size", "8"});
    a.expect_marker = "";
    a.check = [](const SbRun& r) { EXPECT_EQ(r.status, 128 + SIGXFSZ); };
    v.push_back(a);
  }
  {
    Attempt a = A("resource", "sh-output-flood", sh("yes nuri-flood"), {"--time-limit", "2", "--max-output", "64"});
    a.expect_marker = "";
    a.check = [](const SbRun& r) {
      EXPECT_LE(r.out.size(), 64u * 1024u);
      EXPECT_GE(r.out.size(), 60u * 1024u);
      EXPECT_TRUE(r.report.value("output_truncated", false));
      EXPECT_EQ(r.status, 124);
    };
    v.push_back(a);
  }
  {
    Attempt a = A("resource", "py-infinite-loop", py("while True: pass"), {"--time-limit", "1"});
    a.expect_marker = "";
    a.check = [](const SbRun& r) {
      EXPECT_EQ(r.status, 124);
      EXPECT_TRUE(r.report.value("timed_out", false));
      EXPECT_LT(r.seconds, 4.0);
    };
    v.push_back(a);
  }
  {
    Attempt a = A("resource", "py-cpu-limit", py("while True: pass"), {"--cpu-limit", "1", "--time-limit", "10"});
    a.expect_marker = "";
    a.check = [](const SbRun& r) {
      EXPECT_TRUE(r.status == 128 + SIGXCPU || r.status == 137) << r.status;
      EXPECT_FALSE(r.report.value("timed_out", true));
    };
    v.push_back(a);
  }
  {
    // A double-forked daemon that tries to outlive the wall-clock limit and then write.
    std::string marker = h.rw_dir + "/daemon-timeout-" + h.token;
    Attempt a = A("resource", "sh-daemon-outlives-timeout",
                  sh("(setsid sh -c 'sleep 2; echo alive > " + marker + "; sleep 30 " + h.token + "' &); sleep 30"),
                  {"--time-limit", "1", rw});
    a.expect_marker = "";
    a.check = [marker](const SbRun& r) {
      EXPECT_EQ(r.status, 124);
      EXPECT_TRUE(processes_with(g_host->token + " ").empty());
      ::sleep(3);
      EXPECT_FALSE(nuri::test::path_exists(marker)) << "the daemon wrote after nuri returned";
    };
    v.push_back(a);
  }
  {
    std::string marker = h.rw_dir + "/daemon-exit-" + h.token;
    Attempt a = A("resource", "sh-daemon-outlives-exit",
                  sh("(setsid sh -c 'sleep 1; echo alive > " + marker + "' &); echo BLOCKED main exits"), {rw});
    a.check = [marker](const SbRun& r) {
      EXPECT_EQ(r.status, 0);
      ::sleep(2);
      EXPECT_FALSE(nuri::test::path_exists(marker)) << "the daemon wrote after nuri returned";
    };
    v.push_back(a);
  }
  // ---- Environment and inherited descriptors.
  {
    Attempt a = A("env", "py-environment-leak", py(raw_py(
        "env=dict(os.environ)\n"
        "print('ESCAPED' if any('SECRET' in v for v in env.values()) or 'NURI_TEST_SECRET' in env else 'BLOCKED', sorted(env))\n")));
    a.check = [](const SbRun& r) {
      EXPECT_NE(r.out.find("'HOME', 'LANG', 'PATH'"), std::string::npos) << r.out;
    };
    v.push_back(a);
  }
  {
    Attempt a = A("env", "py-inherited-fds", py(raw_py(
        "leak=[]\n"
        "for fd in range(3, 1024):\n"
        "    try: leak.append(os.read(fd, 4096))\n"
        "    except OSError: pass\n"
        "print('ESCAPED' if leak else 'BLOCKED no fd beyond 2', os.listdir('/proc/self/fd'))\n")));
    v.push_back(a);
  }
  return v;
}

TEST_F(SandboxEscape, AllAttemptsFailAndHostIsUnchanged) {
  Host& h = *g_host;
  std::vector<Attempt> attempts = build_attempts();
  ASSERT_GE(attempts.size(), 40u);
  const std::vector<std::string> env = {"NURI_TEST_SECRET=" + h.env_secret};
  // A descriptor on a secret, open without O_CLOEXEC: inherited by nuri, never by the program.
  int secret_fd = ::open(h.home_secret_path.c_str(), O_RDONLY);
  ASSERT_GE(secret_fd, 0);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next++) < attempts.size();) {
      Attempt& a = attempts[i];
      a.run = sandbox(a.flags, a.program, "", env);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 0; t < 4; ++t) pool.emplace_back(worker);
  for (auto& t : pool) t.join();
  ::close(secret_fd);

  for (Attempt& a : attempts) {
    SCOPED_TRACE(a.category + "/" + a.name);
    const SbRun& r = a.run;
    EXPECT_NE(r.status, 125) << "nuri error: " << r.err;
    EXPECT_EQ(r.out.find("ESCAPED"), std::string::npos) << r.out;
    if (!a.expect_marker.empty()) {
      EXPECT_NE(r.out.find(a.expect_marker), std::string::npos) << r.out << r.err;
    }
    for (const std::string* secret : {&h.project_secret, &h.home_secret, &h.env_secret}) {
      EXPECT_EQ(r.out.find(*secret), std::string::npos);
      EXPECT_EQ(r.err.find(*secret), std::string::npos);
    }
    ASSERT_TRUE(r.report.is_object()) << "no report: " << r.err;
    EXPECT_EQ(r.report["exit_code"].get<int>(), r.status);
    if (a.check) a.check(r);
    // The reason, for the log: exit status, limits hit, the program's own words.
    std::string why = r.out.substr(0, r.out.find('\n')).substr(0, 90);
    std::printf("%-9s %-34s exit=%-3d timed_out=%d mem=%d trunc=%d  %s\n", a.category.c_str(), a.name.c_str(), r.status,
                r.report.value("timed_out", false), r.report.value("memory_exceeded", false),
                r.report.value("output_truncated", false), why.c_str());
  }
  // The host is unchanged.
  EXPECT_TRUE(pid_alive(h.victim)) << "the host's victim process was killed";
  EXPECT_EQ(h.tcp_accepts.load(), 0);
  EXPECT_EQ(h.udp_datagrams.load(), 0);
  EXPECT_EQ(h.unix_accepts.load(), 0);
  EXPECT_EQ(read_file(h.project_secret_path), h.project_secret);
  EXPECT_EQ(read_file(h.home_secret_path), h.home_secret);
  EXPECT_EQ(read_file(h.ro_dir + "/data.txt"), "read-only data\n");
  EXPECT_FALSE(nuri::test::path_exists(h.ro_dir + "/new"));
  EXPECT_FALSE(nuri::test::path_exists(h.pwned_path));
  EXPECT_FALSE(nuri::test::path_exists("/usr/bin/nuri-evil"));
  EXPECT_FALSE(nuri::test::path_exists(std::string(NURI_SOURCE_DIR) + "/evil"));
  EXPECT_EQ(read_file("/etc/passwd").find("evil:x:0:0"), std::string::npos);
  EXPECT_TRUE(processes_with(h.token + " ").empty()) << "a sandboxed process is still running";
  struct stat st {};
  ASSERT_EQ(::stat(h.ro_dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

}  // namespace
}  // namespace nuri::sandbox_test
