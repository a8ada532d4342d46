// tests/agent/agent_test_util.h — a throw-away workspace the sandboxed program (host uid 65534)
// can write, and small file helpers.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace nuri::agent_test {

struct TempWorkspace {
  std::string root;  // parent dir (host only)
  std::string path;  // the workspace inside it
  TempWorkspace() {
    std::string t = "/tmp/nuri-agent-test-XXXXXX";
    if (::mkdtemp(t.data()) == nullptr) std::abort();
    root = t;
    path = root + "/ws";
    std::filesystem::create_directory(path);
    if (::chown(path.c_str(), 65534, 65534) != 0) ::chmod(path.c_str(), 0777);
  }
  ~TempWorkspace() {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(path + "/" + rel) << text;
  }
};

inline std::string read_text(const std::string& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline bool exists(const std::string& p) { return std::filesystem::exists(p); }

}  // namespace nuri::agent_test
