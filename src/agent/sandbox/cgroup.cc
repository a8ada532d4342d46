// agent/sandbox/cgroup.cc — per-run cgroup (v2, or v1 memory + pids).
#include "agent/sandbox/cgroup.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace nuri::sandbox::internal {
namespace {

struct Mount {
  std::string path;
  std::string fstype;  // cgroup or cgroup2
  std::string options; // super options (v1 controllers)
};

std::vector<Mount> cgroup_mounts() {
  std::vector<Mount> out;
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    // id parent maj:min root mountpoint options [optional...] - fstype source superoptions
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream left(line.substr(0, dash)), right(line.substr(dash + 3));
    std::string id, parent, dev, root, mnt;
    left >> id >> parent >> dev >> root >> mnt;
    std::string fstype, source, super;
    right >> fstype >> source >> super;
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    if (root != "/") continue;  // a bind of a sub-tree: paths would not line up
    out.push_back({mnt, fstype, super});
  }
  return out;
}

bool has_option(const std::string& opts, const std::string& name) {
  std::istringstream s(opts);
  std::string item;
  while (std::getline(s, item, ','))
    if (item == name) return true;
  return false;
}

// nuri's own cgroup path for a v1 controller ("memory") or v2 ("").
std::string own_path(const std::string& controller) {
  std::ifstream in("/proc/self/cgroup");
  std::string line;
  while (std::getline(in, line)) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctrls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (controller.empty() ? (line.compare(0, a, "0") == 0 && ctrls.empty()) : has_option(ctrls, controller))
      return path;
  }
  return "";
}

bool write_file(const std::string& path, const std::string& value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return false;
  ssize_t n = ::write(fd, value.data(), value.size());
  ::close(fd);
  return n == static_cast<ssize_t>(value.size());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uint64_t read_u64(const std::string& path) {
  std::string s = read_file(path);
  return s.empty() ? 0 : std::strtoull(s.c_str(), nullptr, 10);
}

// "key value" lines.
uint64_t read_key(const std::string& path, const std::string& key) {
  std::istringstream in(read_file(path));
  std::string k;
  uint64_t v;
  while (in >> k >> v)
    if (k == key) return v;
  return 0;
}

std::string unique_name() {
  static std::atomic<unsigned> counter{0};
  struct timespec ts {};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return "nuri-sandbox-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(ts.tv_nsec % 100000);
}

// Groups left behind by a nuri that was killed before it could remove them (empty by then: the
// sandbox died with its supervisor). A group whose creator is alive is never touched.
void sweep_stale(const std::string& base) {
  DIR* d = ::opendir(base.c_str());
  if (d == nullptr) return;
  const std::string prefix = "nuri-sandbox-";
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.compare(0, prefix.size(), prefix) != 0) continue;
    pid_t pid = static_cast<pid_t>(std::atoi(name.c_str() + prefix.size()));
    if (pid <= 0 || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    ::rmdir((base + "/" + name).c_str());
  }
  ::closedir(d);
}

std::string join(const std::string& mnt, const std::string& rel) {
  if (rel.empty() || rel == "/") return mnt;
  return mnt + rel;
}

}  // namespace

Status RunCgroup::create(uint64_t memory_bytes, uint32_t pids_max) {
  const std::vector<Mount> mounts = cgroup_mounts();
  const std::string name = unique_name();
  // cgroup v2 with both controllers available to a child of nuri's group.
  for (const Mount& m : mounts) {
    if (m.fstype != "cgroup2") continue;
    std::string base = join(m.path, own_path(""));
    std::istringstream cs(read_file(base + "/cgroup.controllers"));
    bool mem_ok = false, pids_ok = false;
    for (std::string c; cs >> c;) {
      mem_ok |= c == "memory";
      pids_ok |= c == "pids";
    }
    if (!mem_ok || !pids_ok) continue;
    std::string sub = read_file(base + "/cgroup.subtree_control");
    if (sub.find("memory") == std::string::npos || sub.find("pids") == std::string::npos)
      write_file(base + "/cgroup.subtree_control", "+memory +pids");
    sweep_stale(base);
    std::string dir = base + "/" + name;
    if (::mkdir(dir.c_str(), 0755) != 0) continue;
    dirs_.push_back(dir);
    if (!write_file(dir + "/memory.max", std::to_string(memory_bytes)) ||
        !write_file(dir + "/pids.max", std::to_string(pids_max))) {
      destroy();
      continue;
    }
    write_file(dir + "/memory.swap.max", "0");
    version_ = 2;
    mem_dir_ = pids_dir_ = dir;
    describe_ = "v2:" + dir;
    return Status::ok();
  }
  // cgroup v1: the memory and pids hierarchies (both needed).
  std::string mem_base, pids_base;
  for (const Mount& m : mounts) {
    if (m.fstype != "cgroup") continue;
    if (has_option(m.options, "memory")) mem_base = join(m.path, own_path("memory"));
    if (has_option(m.options, "pids")) pids_base = join(m.path, own_path("pids"));
  }
  if (mem_base.empty() || pids_base.empty()) return Error("no writable cgroup with memory and pids controllers");
  sweep_stale(mem_base);
  sweep_stale(pids_base);
  std::string mem = mem_base + "/" + name, pids = pids_base + "/" + name;
  if (::mkdir(mem.c_str(), 0755) != 0)
    return Error("cannot create a memory cgroup: " + std::string(std::strerror(errno)));
  dirs_.push_back(mem);
  if (::mkdir(pids.c_str(), 0755) != 0) {
    destroy();
    return Error("cannot create a pids cgroup: " + std::string(std::strerror(errno)));
  }
  dirs_.push_back(pids);
  if (!write_file(mem + "/memory.limit_in_bytes", std::to_string(memory_bytes)) ||
      !write_file(pids + "/pids.max", std::to_string(pids_max))) {
    destroy();
    return Error("cannot set cgroup limits");
  }
  write_file(mem + "/memory.memsw.limit_in_bytes", std::to_string(memory_bytes));  // no swap either
  write_file(mem + "/memory.swappiness", "0");
  version_ = 1;
  mem_dir_ = mem;
  pids_dir_ = pids;
  describe_ = "v1:" + mem + "," + pids;
  return Status::ok();
}

Status RunCgroup::add(pid_t pid) {
  for (const std::string& d : dirs_)
    if (!write_file(d + "/cgroup.procs", std::to_string(pid)))
      return Error("cannot move the sandbox into cgroup " + d + ": " + std::strerror(errno));
  return Status::ok();
}

uint64_t RunCgroup::oom_kills() const {
  if (mem_dir_.empty()) return 0;
  if (version_ == 2) return read_key(mem_dir_ + "/memory.events", "oom_kill");
  return read_key(mem_dir_ + "/memory.oom_control", "oom_kill");
}

uint64_t RunCgroup::peak_memory_bytes() const {
  if (mem_dir_.empty()) return 0;
  if (version_ == 2) return read_u64(mem_dir_ + "/memory.peak");
  return read_u64(mem_dir_ + "/memory.max_usage_in_bytes");
}

void RunCgroup::destroy() {
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    // The last tasks may take a moment to leave after the namespace's init is reaped.
    for (int i = 0; i < 200; ++i) {
      if (::rmdir(it->c_str()) == 0 || errno == ENOENT) break;
      ::usleep(1000);
    }
  }
  dirs_.clear();
  mem_dir_.clear();
  pids_dir_.clear();
}

std::string probe_cgroup() {
  RunCgroup g;
  if (!g.create(64ull << 20, 16).is_ok()) return "";
  return g.describe();
}

}  // namespace nuri::sandbox::internal
