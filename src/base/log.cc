#include "base/log.h"

#include <atomic>
#include <cstdarg>
#include <cstdio>

namespace nuri::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
const char* const kNames[] = {"debug", "info", "warn", "error"};
}  // namespace

void set_level(Level level) { g_level.store(static_cast<int>(level)); }
Level level() { return static_cast<Level>(g_level.load()); }

void write(Level lvl, const char* fmt, ...) {
  if (static_cast<int>(lvl) < g_level.load()) return;
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "nuri %s: %s\n", kNames[static_cast<int>(lvl)], buf);
}

}  // namespace nuri::log
