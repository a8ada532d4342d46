// Golden: BOS/EOS as llama.cpp adds them when a GGUF lacks tokenizer.ggml.add_{bos,eos,sep}_token
// (and when those keys override the defaults). Each ../shared/vocab file is rewritten with nuri's
// GGUF writer without the keys (or with the variant's keys, or with another tokenizer.ggml.pre),
// and nuri's tokenizer must add what llama.cpp adds. The expected values in
// data/llama_cpp_special_defaults.json come from llama.cpp itself (node-llama-cpp 3.22.1, the
// goldens' build), written by tools/parity/special_defaults.mjs — not from nuri.
#include <gtest/gtest.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "io/gguf.h"
#include "io/safetensors.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace nuri::tokenizer {
namespace {

const char* const kAddKeys[] = {"tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token",
                                "tokenizer.ggml.add_sep_token"};

nlohmann::json expected() {
  auto j = io::read_json_file(std::string(NURI_SOURCE_DIR) + "/tests/tokenizer/data/llama_cpp_special_defaults.json");
  EXPECT_TRUE(j.ok()) << j.error();
  return j.ok() ? *j : nlohmann::json();
}

// `src` without the add_* keys, with `set` applied (bools; "tokenizer.ggml.pre" as a string).
std::string rewrite(const io::GgufFile& src, const nlohmann::json& set) {
  io::GgufWriter w;
  for (const auto& [k, v] : src.metadata()) {
    bool drop = set.contains(k);
    for (const char* a : kAddKeys) drop = drop || k == a;
    if (!drop) w.set(k, v);
  }
  for (auto it = set.begin(); it != set.end(); ++it)
    w.set(it.key(), it->is_string() ? io::GgufValue::str(it->get<std::string>()) : io::GgufValue::boolean(it->get<bool>()));
  return w.serialize();
}

int32_t id_or_none(const nlohmann::json& j) { return j.is_number_integer() ? j.get<int32_t>() : -1; }

// Checks one rewritten vocabulary against llama.cpp's row.
void check(const std::string& what, const io::GgufFile& src, const nlohmann::json& set, const nlohmann::json& want) {
  ASSERT_FALSE(want.contains("error")) << what << ": llama.cpp failed to load it: " << want["error"];
  const std::string bytes = rewrite(src, set);
  auto f = io::GgufFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), what);
  ASSERT_TRUE(f.ok()) << f.error();
  auto tok = Tokenizer::from_gguf(*f);
  ASSERT_TRUE(tok.ok()) << what << ": " << tok.error();
  EXPECT_EQ(tok->add_bos(), want["add_bos"].get<bool>()) << what;
  EXPECT_EQ(tok->add_eos(), want["add_eos"].get<bool>()) << what;
  EXPECT_EQ(tok->bos_id(), id_or_none(want["bos"])) << what;
  EXPECT_EQ(tok->eos_id(), id_or_none(want["eos"])) << what;
  if (!want.contains("hello")) return;
  // encode(add_special) = [BOS] text [EOS], text tokenized as llama.cpp does; WordPiece also
  // ends with [SEP] (llama.cpp appends the separator for every WPM vocabulary).
  std::vector<int32_t> ids;
  if (want["add_bos"].get<bool>()) ids.push_back(tok->bos_id());
  for (const auto& x : want["hello"]) ids.push_back(x.get<int32_t>());
  if (want["add_eos"].get<bool>()) ids.push_back(tok->eos_id());
  if (tok->model_name() == "bert") ids.push_back(*tok->find_token("[SEP]"));
  EXPECT_EQ(tok->encode("Hello world", /*add_special=*/true, /*parse_special=*/false), ids) << what;
}

TEST(SpecialDefaults, EveryVocabWithoutOrWithTheKeysMatchesLlamaCpp) {
  NURI_REQUIRE_SHARED();
  const nlohmann::json exp = expected();
  ASSERT_TRUE(exp.contains("vocabs"));
  const nlohmann::json& variants = exp["variants"];
  int checked = 0;
  for (auto it = exp["vocabs"].begin(); it != exp["vocabs"].end(); ++it) {
    const std::string path = test::shared_dir() + "/vocab/" + it.key();
    auto src = io::GgufFile::open(path);
    ASSERT_TRUE(src.ok()) << src.error();
    for (auto v = variants.begin(); v != variants.end(); ++v) {
      check(it.key() + " [" + v.key() + "]", *src, v.value(), it.value()[v.key()]);
      ++checked;
    }
  }
  std::printf("[special] %d vocab x variant rows\n", checked);
  EXPECT_GE(checked, 19 * 3);
}

// The BPE defaults depend on tokenizer.ggml.pre: the gpt-2 vocabulary under each pre-tokenizer
// name whose defaults llama.cpp treats specially (llama-bpe, tekken, gemma4, roberta-bpe...).
TEST(SpecialDefaults, BpeDefaultsFollowThePreTokenizer) {
  NURI_REQUIRE_SHARED();
  const nlohmann::json exp = expected();
  ASSERT_TRUE(exp.contains("pre_on_gpt2"));
  auto src = io::GgufFile::open(test::shared_dir() + "/vocab/ggml-vocab-gpt-2.gguf");
  ASSERT_TRUE(src.ok()) << src.error();
  int n_bos = 0;
  for (auto it = exp["pre_on_gpt2"].begin(); it != exp["pre_on_gpt2"].end(); ++it) {
    check("gpt-2 vocab, pre " + it.key(), *src, {{"tokenizer.ggml.pre", it.key()}}, it.value());
    n_bos += it.value()["add_bos"].get<bool>();
  }
  EXPECT_GE(n_bos, 5);  // the table must hold both answers to mean anything
}

}  // namespace
}  // namespace nuri::tokenizer
