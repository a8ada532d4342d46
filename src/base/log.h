// base/log.h — leveled logging to stderr. stdout belongs to command output only.
#pragma once

#include <string>

namespace nuri::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kQuiet = 4 };

void set_level(Level level);
Level level();
void write(Level level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace nuri::log

#define NURI_LOG_DEBUG(...) ::nuri::log::write(::nuri::log::Level::kDebug, __VA_ARGS__)
#define NURI_LOG_INFO(...) ::nuri::log::write(::nuri::log::Level::kInfo, __VA_ARGS__)
#define NURI_LOG_WARN(...) ::nuri::log::write(::nuri::log::Level::kWarn, __VA_ARGS__)
#define NURI_LOG_ERROR(...) ::nuri::log::write(::nuri::log::Level::kError, __VA_ARGS__)
