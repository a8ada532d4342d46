// nuri — one binary: run, chat, serve, agent, bench, eval, tokenize, inspect, gen, convert, sandbox...
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "command.h"

namespace nuri::cli {

static std::vector<Command>& registry() {
  static std::vector<Command> r;
  return r;
}
bool register_command(Command cmd) {
  registry().push_back(std::move(cmd));
  return true;
}
const std::vector<Command>& commands() { return registry(); }

}  // namespace nuri::cli

static void print_usage(FILE* out) {
  auto cmds = nuri::cli::commands();
  std::sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::fprintf(out, "nuri — local-first AI: inference engine, server, test-time compute, code agent\n\n");
  std::fprintf(out, "usage: nuri COMMAND [OPTIONS]    (nuri COMMAND --help for its options)\n\ncommands:\n");
  for (const auto& c : cmds) std::fprintf(out, "  %-12s %s\n", c.name.c_str(), c.summary.c_str());
}

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(stderr);
    return 1;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(stdout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::printf("nuri 0.1.0\n");
    return 0;
  }
  for (const auto& c : nuri::cli::commands()) {
    if (c.name == name) return c.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "nuri: unknown command '%s' (see nuri --help)\n", name.c_str());
  return 1;
}
