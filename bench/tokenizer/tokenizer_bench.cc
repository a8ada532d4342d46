// tokenizer_bench — encode throughput (MB/s, one thread) on 1 MB of deterministic mixed-script
// text: English prose, code, Cyrillic, CJK, Khmer, emoji, digits, whitespace runs.
// usage: tokenizer_bench [VOCAB.gguf|tokenizer.json] [--mb N] [--runs N]
// Default vocab: ../shared/vocab/ggml-vocab-qwen2.gguf.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace {

// Deterministic mixed-script text of about `bytes` bytes (xorshift-driven choice of fragments
// and of numbers, so words repeat like real text but not in a fixed cycle).
std::string make_text(size_t bytes) {
  static const char* kFragments[] = {
      "The quick brown fox jumps over the lazy dog. ",
      "Once upon a time, there was a little girl named Lily who loved to play outside. ",
      "I've been 'told he's there, 'RE you sure? 'M not sure I'll make it, 'D you like some tea? ",
      "int main(int argc, char** argv) {\n    return std::accumulate(v.begin(), v.end(), 0);\n}\n",
      "def tokenize(text: str) -> list[int]:\n    return [ord(c) for c in text if c.isalnum()]\n\n",
      "    if (x >= 0x7F && y != nullptr) { z += x * 3.14159; }\n",
      "Привет, мир! Это тестовая строка на русском языке. ",
      "нещо на Български и още малко текст. ",
      "我想在apple工作，今天天气很好。人工智能正在改变世界。",
      "東京は日本の首都です。ひらがなとカタカナも使います。",
      "한국어 문장도 조금 포함합니다. ",
      "កាន់តែពិសេសអាចខលចេញ ",
      "🚀 (normal) 😶‍🌫️ (multiple emojis concatenated) ✅ 🦙🦙 ",
      "Cửa Việt, Äpfel, résumé, naïve, façade, São Paulo. ",
      "\n\n\t\t  ------======= ''''''```````\"\"\"\"......!!!!!!?????? ",
      "Ελληνικά γράμματα και αριθμοί ",
      "العربية نص قصير ",
  };
  const size_t n_frag = sizeof(kFragments) / sizeof(kFragments[0]);
  uint64_t s = 0x9E3779B97F4A7C15ull;
  auto next = [&] {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
  };
  std::string out;
  out.reserve(bytes + 256);
  while (out.size() < bytes) {
    uint64_t r = next();
    if (r % 7 == 0) {
      out += std::to_string(next() % 100000);
      out += (r % 3 == 0) ? "\n" : " ";
    } else {
      out += kFragments[r % n_frag];
    }
  }
  // Cut at a UTF-8 boundary.
  size_t cut = bytes;
  while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
  out.resize(cut);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string vocab = std::string(NURI_SHARED_DIR) + "/vocab/ggml-vocab-qwen2.gguf";
  double mb = 1.0;
  int runs = 5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--mb") && i + 1 < argc) {
      mb = std::atof(argv[++i]);
    } else if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) {
      runs = std::atoi(argv[++i]);
    } else {
      vocab = argv[i];
    }
  }
  auto t0 = std::chrono::steady_clock::now();
  auto tok = nuri::tokenizer::Tokenizer::from_file(vocab);
  auto t1 = std::chrono::steady_clock::now();
  if (!tok.ok()) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", tok.error().c_str());
    return 1;
  }
  std::printf("vocab: %s (%s/%s, n_vocab %d), load %.1f ms\n", vocab.c_str(), tok->model_name().c_str(),
              tok->pre_name().c_str(), tok->n_vocab(), std::chrono::duration<double, std::milli>(t1 - t0).count());
  const std::string text = make_text(static_cast<size_t>(mb * 1024 * 1024));
  double best = 1e30, first = 0;
  size_t n_tokens = 0;
  for (int r = 0; r < runs; ++r) {
    auto a = std::chrono::steady_clock::now();
    auto ids = tok->encode(text, false, false);
    auto b = std::chrono::steady_clock::now();
    double s = std::chrono::duration<double>(b - a).count();
    if (r == 0) first = s;
    best = std::min(best, s);
    n_tokens = ids.size();
    if (r == 0 && tok->decode(ids) != text && tok->model_name() == "gpt2")
      std::printf("note: decode(encode(text)) differs from text (normalizer)\n");
  }
  const double mbytes = static_cast<double>(text.size()) / (1024.0 * 1024.0);
  std::printf("text: %.2f MiB, %zu tokens (%.2f bytes/token)\n", mbytes, n_tokens,
              static_cast<double>(text.size()) / static_cast<double>(n_tokens));
  std::printf("encode: first run %.1f ms (%.2f MB/s, cold word cache), best of %d %.1f ms (%.2f MB/s)\n",
              first * 1e3, mbytes / first, runs, best * 1e3, mbytes / best);
  return 0;
}
