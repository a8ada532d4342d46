// apps/nuri/command.h — subcommand registry for the single `nuri` binary.
// Each cmd_*.cc file registers itself with NURI_COMMAND; main.cc dispatches on argv[1].
// A command gets argv with argv[0] == its own name and returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace nuri::cli {

using CommandFn = int (*)(int argc, char** argv);

struct Command {
  std::string name;
  std::string summary;
  CommandFn run;
};

bool register_command(Command cmd);
const std::vector<Command>& commands();

}  // namespace nuri::cli

#define NURI_COMMAND(name, summary, fn) \
  static const bool NURI_CMD_CONCAT(nuri_cmd_registered_, __LINE__) = ::nuri::cli::register_command({name, summary, fn})
#define NURI_CMD_CONCAT_INNER(a, b) a##b
#define NURI_CMD_CONCAT(a, b) NURI_CMD_CONCAT_INNER(a, b)
