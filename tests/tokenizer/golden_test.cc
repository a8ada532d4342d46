// Golden: every ../shared/vocab/*.inp/.out pair must tokenize to exactly the HF ids, through the
// library and (for a few vocabs) through `nuri tokenize --ids`.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>

#include "io/gguf.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "vocab_cases.h"

namespace nuri::tokenizer {
namespace {

std::string vocab_dir() { return test::shared_dir() + "/vocab"; }

std::string short_name(const std::string& path) {
  std::string n = path.substr(path.rfind('/') + 1);
  if (n.rfind("ggml-vocab-", 0) == 0) n = n.substr(11);
  return n.substr(0, n.size() - 5);
}

TEST(TokenizerGolden, EveryVocabCaseMatchesHf) {
  NURI_REQUIRE_SHARED();
  auto vocabs = test::list_vocabs(vocab_dir(), true);
  ASSERT_FALSE(vocabs.empty());
  size_t total = 0, total_pass = 0;
  for (const std::string& path : vocabs) {
    auto cases = test::load_vocab_cases(path);
    ASSERT_FALSE(cases.empty()) << path << ": .inp/.out case counts differ or are empty";
    auto f = io::GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error();
    auto tok = Tokenizer::from_gguf(*f);
    ASSERT_TRUE(tok.ok()) << path << ": " << tok.error();
    size_t pass = 0;
    for (const auto& c : cases) {
      auto ids = tok->encode(c.text, /*add_special=*/false, /*parse_special=*/false);
      if (ids == c.ids) {
        ++pass;
      } else {
        ADD_FAILURE() << short_name(path) << ": text '" << c.text << "'\n  expected " << test::ids_to_string(c.ids)
                      << "\n  got      " << test::ids_to_string(ids);
      }
    }
    std::printf("[vocab] %-16s %zu/%zu\n", short_name(path).c_str(), pass, cases.size());
    total += cases.size();
    total_pass += pass;
  }
  std::printf("[vocab] total %zu/%zu\n", total_pass, total);
  EXPECT_EQ(total_pass, total);
}

// Byte-level BPE: decode(encode(s)) == s (== NFC(s) where the vocab normalizes to NFC).
TEST(TokenizerGolden, ByteLevelRoundTrip) {
  NURI_REQUIRE_SHARED();
  for (const std::string& path : test::list_vocabs(vocab_dir(), true)) {
    auto f = io::GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error();
    auto tok = Tokenizer::from_gguf(*f);
    ASSERT_TRUE(tok.ok()) << tok.error();
    if (tok->model_name() != "gpt2") continue;
    const std::string pre = tok->pre_name();
    const bool nfc = pre == "qwen2" || pre == "command-r" || pre == "mpt";
    size_t pass = 0, n = 0;
    for (const auto& c : test::load_vocab_cases(path)) {
      std::string want = nfc ? unicode::nfc(c.text) : c.text;
      std::string got = tok->decode(tok->encode(c.text, false, false));
      ++n;
      if (got == want) {
        ++pass;
      } else {
        ADD_FAILURE() << short_name(path) << ": round trip of '" << c.text << "' gave '" << got << "'";
      }
    }
    std::printf("[roundtrip] %-16s %zu/%zu\n", short_name(path).c_str(), pass, n);
  }
}

// The acceptance interface: `nuri tokenize -m FILE --ids -- TEXT` prints exactly the ids.
TEST(TokenizerGolden, CliIdsMatch) {
  NURI_REQUIRE_SHARED();
  for (const char* name : {"qwen2", "llama-spm", "bert-bge"}) {
    std::string path = vocab_dir() + "/ggml-vocab-" + name + ".gguf";
    auto cases = test::load_vocab_cases(path);
    ASSERT_FALSE(cases.empty());
    size_t pass = 0, n = 0;
    for (size_t i = 0; i < cases.size(); i += 3) {  // a sample keeps this fast
      const auto& c = cases[i];
      auto r = test::run_cmd(test::nuri_binary() + " tokenize -m " + test::shell_quote(path) + " --ids -- " +
                             test::shell_quote(c.text));
      ASSERT_EQ(r.exit_code, 0);
      ++n;
      std::string want = test::ids_to_string(c.ids) + "\n";
      if (r.out == want) {
        ++pass;
      } else {
        ADD_FAILURE() << name << ": cli gave '" << r.out << "' want '" << want << "' for '" << c.text << "'";
      }
    }
    std::printf("[cli] %-16s %zu/%zu\n", name, pass, n);
  }
}

// Vocabs without cases must still load and tokenize/detokenize something sensible.
TEST(TokenizerGolden, AllVocabsLoad) {
  NURI_REQUIRE_SHARED();
  for (const std::string& path : test::list_vocabs(vocab_dir(), false)) {
    auto f = io::GgufFile::open(path);
    ASSERT_TRUE(f.ok()) << f.error();
    auto tok = Tokenizer::from_gguf(*f);
    ASSERT_TRUE(tok.ok()) << path << ": " << tok.error();
    const std::string text = "Hello world, 123 times!";
    auto ids = tok->encode(text, false, false);
    EXPECT_FALSE(ids.empty()) << path;
    for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < tok->n_vocab()) << path;
    std::string back = tok->decode(ids);
    if (tok->model_name() == "bert") {
      EXPECT_EQ(back, "hello world , 123 times !") << path;
    } else {
      EXPECT_EQ(back, text) << path << " (" << tok->model_name() << ")";
    }
  }
}

}  // namespace
}  // namespace nuri::tokenizer
