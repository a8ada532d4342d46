// tests/tokenizer/vocab_cases.h — reads ../shared/vocab/*.inp / *.out pairs.
// .inp: test strings, each followed by "\n__ggml_vocab_test__\n" (the last separator may be
// missing). .out: one line of space-separated ids per string (HF AutoTokenizer, no specials).
#pragma once

#include <dirent.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace nuri::test {

struct VocabCase {
  std::string text;
  std::vector<int32_t> ids;
};

inline std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::vector<VocabCase> load_vocab_cases(const std::string& gguf_path) {
  std::string inp = read_all(gguf_path + ".inp");
  std::string out = read_all(gguf_path + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> texts;
  size_t pos = 0;
  for (;;) {
    size_t f = inp.find(sep, pos);
    if (f == std::string::npos) {
      if (pos < inp.size()) texts.push_back(inp.substr(pos));
      break;
    }
    texts.push_back(inp.substr(pos, f - pos));
    pos = f + sep.size();
  }
  std::vector<std::string> lines;
  pos = 0;
  while (pos < out.size()) {
    size_t f = out.find('\n', pos);
    if (f == std::string::npos) f = out.size();
    lines.push_back(out.substr(pos, f - pos));
    pos = f + 1;
  }
  std::vector<VocabCase> cases;
  for (size_t i = 0; i < texts.size() && i < lines.size(); ++i) {
    VocabCase c;
    c.text = texts[i];
    std::istringstream ls(lines[i]);
    int64_t x;
    while (ls >> x) c.ids.push_back(static_cast<int32_t>(x));
    cases.push_back(std::move(c));
  }
  if (texts.size() != lines.size()) cases.clear();  // the caller reports the mismatch
  return cases;
}

// GGUF files in dir that have .inp/.out pairs (sorted), or all GGUF files.
inline std::vector<std::string> list_vocabs(const std::string& dir, bool with_cases_only) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n.size() < 5 || n.compare(n.size() - 5, 5, ".gguf") != 0) continue;
      std::string p = dir + "/" + n;
      if (with_cases_only && !std::ifstream(p + ".inp").good()) continue;
      out.push_back(p);
    }
    ::closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

inline std::string ids_to_string(const std::vector<int32_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ' ';
    s += std::to_string(v[i]);
  }
  return s;
}

}  // namespace nuri::test
