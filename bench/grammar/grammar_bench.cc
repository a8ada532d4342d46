// grammar_bench — per-token mask cost of the grammar matcher on a real vocabulary.
// Usage: grammar_bench [vocab.gguf] [passes]
// Builds the token trie once (timed separately), compiles a typical JSON schema (an object with
// string, number, integer, enum, boolean and array properties), tokenizes a realistic output and
// walks it token by token: fill_mask() then accept(). Prints the median / p90 / max µs per token
// (thread CPU time, so that a loaded machine's waiting is not counted) for the first pass (cold: a fresh matcher) and for later passes with fresh matchers.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdlib>
#include <cstdio>
#include <string>
#include <vector>

#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "tokenizer/tokenizer.h"

namespace {

double now_us() {
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
// CPU time of this thread: on a loaded machine wall time mostly measures waiting for a core.
double cpu_us() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

const char* kSchema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 40},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "email": {"type": "string"},
    "score": {"type": "number"},
    "role": {"enum": ["admin", "editor", "viewer"]},
    "active": {"type": "boolean"},
    "tags": {"type": "array", "items": {"type": "string", "maxLength": 20}, "maxItems": 5}
  },
  "required": ["name", "age", "email", "score", "role", "active", "tags"],
  "additionalProperties": false
})";

const char* kOutput =
    R"({"name": "Ada Lovelace", "age": 36, "email": "ada.lovelace@analytical-engine.org", "score": 98.25, "role": "editor", "active": true, "tags": ["mathematics", "poetry", "computing pioneer"]})";

}  // namespace

int main(int argc, char** argv) {
  std::string vocab_path = argc > 1 && argv[1][0] ? argv[1] : std::string(NURI_SHARED_DIR) + "/vocab/ggml-vocab-qwen2.gguf";
  const int passes = argc > 2 ? std::atoi(argv[2]) : 5;
  auto tok = nuri::tokenizer::Tokenizer::from_file(vocab_path);
  if (!tok.ok()) {
    std::fprintf(stderr, "grammar_bench: %s\n", tok.error().c_str());
    return 1;
  }
  double t0 = now_us();
  auto vocab = nuri::grammar::Vocab::from_tokenizer(*tok);
  double t_vocab = now_us() - t0;
  t0 = now_us();
  auto gbnf = nuri::grammar::json_schema_to_gbnf(kSchema);
  if (!gbnf.ok()) {
    std::fprintf(stderr, "grammar_bench: %s\n", gbnf.error().c_str());
    return 1;
  }
  auto g = nuri::grammar::Grammar::parse(*gbnf);
  if (!g.ok()) {
    std::fprintf(stderr, "grammar_bench: %s\n%s\n", g.error().c_str(), gbnf->c_str());
    return 1;
  }
  double t_compile = now_us() - t0;
  std::vector<int32_t> ids = tok->encode(kOutput, false, false);
  std::vector<uint32_t> mask(nuri::grammar::mask_words(vocab->n_vocab()));
  std::printf("vocab %s: %d tokens, %zu trie nodes, built in %.1f ms; schema compiled in %.2f ms; output %zu tokens\n",
              vocab_path.c_str(), vocab->n_vocab(), vocab->nodes().size(), t_vocab / 1e3, t_compile / 1e3, ids.size());
  std::vector<double> cold, warm;
  for (int p = 0; p < passes; ++p) {
    nuri::grammar::Matcher m(*g, vocab);
    for (int32_t id : ids) {
      double a = cpu_us();
      int32_t n = m.fill_mask(mask.data());
      double b = cpu_us();
      (p == 0 ? cold : warm).push_back(b - a);
      if (p == 0 && std::getenv("GRAMMAR_BENCH_TRACE"))
        std::fprintf(stderr, "%9.1f us  %6d allowed  %7lld nodes  next '%s'\n", b - a, n, static_cast<long long>(m.last_nodes_visited()), tok->token_to_piece(id, false).c_str());
      if (n == 0 || !((mask[id >> 5] >> (id & 31)) & 1) || !m.accept(id)) {
        std::fprintf(stderr, "grammar_bench: token %d ('%s') not allowed\n", id, tok->token_to_piece(id, false).c_str());
        return 1;
      }
    }
    if (!m.is_complete()) {
      std::fprintf(stderr, "grammar_bench: output not complete\n");
      return 1;
    }
  }
  auto report = [](const char* name, std::vector<double> v) {
    if (v.empty()) return;
    std::sort(v.begin(), v.end());
    double sum = 0;
    for (double x : v) sum += x;
    std::printf("%-28s median %8.1f us/token  p90 %8.1f  max %8.1f  mean %8.1f  (%zu tokens)\n", name, v[v.size() / 2],
                v[v.size() * 9 / 10], v.back(), sum / v.size(), v.size());
  };
  report("first pass (fresh matcher)", cold);
  report("later passes (fresh each)", warm);
  return 0;
}
