// agent/sandbox/landlock.cc — Landlock probe and restriction (raw system calls).
#include "agent/sandbox/landlock.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace nuri::sandbox::internal {
namespace {

constexpr uint32_t kCreateRulesetVersion = 1u << 0;
constexpr int kRulePathBeneath = 1;
constexpr uint64_t kNetBindTcp = 1ull << 0;
constexpr uint64_t kNetConnectTcp = 1ull << 1;
constexpr uint64_t kScopeAbstractUnixSocket = 1ull << 0;
constexpr uint64_t kScopeSignal = 1ull << 1;

struct RulesetAttr {
  uint64_t handled_access_fs;
  uint64_t handled_access_net;  // ABI 4
  uint64_t scoped;              // ABI 6
};

struct __attribute__((packed)) PathBeneathAttr {
  uint64_t allowed_access;
  int32_t parent_fd;
};

}  // namespace

uint64_t landlock_fs_rights(int abi) {
  if (abi <= 0) return 0;
  uint64_t r = (kLlMakeSym << 1) - 1;  // ABI 1: bits 0..12
  if (abi >= 2) r |= kLlRefer;
  if (abi >= 3) r |= kLlTruncate;
  if (abi >= 5) r |= kLlIoctlDev;
  return r;
}

int landlock_abi() {
  long v = ::syscall(SYS_landlock_create_ruleset, nullptr, 0, kCreateRulesetVersion);
  return v > 0 ? static_cast<int>(v) : 0;
}

int apply_landlock(const ChildPlan& plan) {
  const int abi = plan.landlock_abi;
  const uint64_t fs = landlock_fs_rights(abi);
  RulesetAttr attr{};
  attr.handled_access_fs = fs;
  size_t attr_size = sizeof(uint64_t);
  if (abi >= 4) {
    attr_size = 2 * sizeof(uint64_t);
    if (plan.net_handled) attr.handled_access_net = kNetBindTcp | kNetConnectTcp;
  }
  if (abi >= 6) {
    attr_size = sizeof(RulesetAttr);
    attr.scoped = kScopeAbstractUnixSocket | kScopeSignal;
  }
  int rs = static_cast<int>(::syscall(SYS_landlock_create_ruleset, &attr, attr_size, 0));
  if (rs < 0) return errno;
  for (const LandlockRule& rule : plan.landlock_rules) {
    int fd = ::open(rule.path.c_str(), O_PATH | O_CLOEXEC);
    if (fd < 0) continue;  // a path that is not there needs no rule
    PathBeneathAttr pb{};
    pb.allowed_access = rule.access & fs;
    pb.parent_fd = fd;
    // Rules on non-directories may only carry file rights.
    long rc = ::syscall(SYS_landlock_add_rule, rs, kRulePathBeneath, &pb, 0);
    if (rc < 0 && errno == EINVAL) {
      pb.allowed_access &= (kLlExecute | kLlWriteFile | kLlReadFile | kLlTruncate | kLlIoctlDev);
      rc = ::syscall(SYS_landlock_add_rule, rs, kRulePathBeneath, &pb, 0);
    }
    int saved = errno;
    ::close(fd);
    if (rc < 0) {
      ::close(rs);
      return saved;
    }
  }
  long rc = ::syscall(SYS_landlock_restrict_self, rs, 0);
  int saved = errno;
  ::close(rs);
  return rc < 0 ? saved : 0;
}

}  // namespace nuri::sandbox::internal
