// Unit tests: special-token parsing, streaming decode across split UTF-8, malformed GGUF
// metadata (built in memory with GgufWriter), tiny hand-checked vocabs, tokenizer.json loading,
// Unicode normalization.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "io/gguf.h"
#include "test_util.h"
#include "tokenizer/special_rules.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"
#include "vocab_cases.h"

namespace nuri::tokenizer {
namespace {

using io::GgufValue;
using io::GgufWriter;

std::string vocab_path(const std::string& name) {
  return test::shared_dir() + "/vocab/ggml-vocab-" + name + ".gguf";
}

Tokenizer load_vocab(const std::string& name) {
  auto t = Tokenizer::from_file(vocab_path(name));
  EXPECT_TRUE(t.ok()) << t.error();
  return t.ok() ? std::move(t).value() : Tokenizer();
}

// Builds a GGUF in memory and loads its tokenizer.
Result<Tokenizer> from_writer(const GgufWriter& w) {
  static std::vector<std::string> keep;  // parse() needs the buffer to outlive the file
  keep.push_back(w.serialize());
  const std::string& buf = keep.back();
  auto f = io::GgufFile::parse(reinterpret_cast<const uint8_t*>(buf.data()), buf.size(), "mem.gguf");
  if (!f.ok()) return f.status();
  return Tokenizer::from_gguf(*f);
}

// A tiny byte-level BPE vocab: all 256 mapped bytes, then "ab", "abc", "Ġa".
GgufWriter tiny_bpe() {
  std::vector<std::string> toks;
  for (int b = 0; b < 256; ++b) toks.push_back(unicode::byte_to_utf8(static_cast<uint8_t>(b)));
  toks.push_back("ab");      // 256
  toks.push_back("abc");     // 257
  toks.push_back("Ġa");      // 258
  toks.push_back("<|end|>");  // 259
  std::vector<int32_t> types(toks.size(), 1);
  types[259] = 3;
  GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::str("gpt2"));
  w.set("tokenizer.ggml.pre", GgufValue::str("gpt-2"));
  w.set("tokenizer.ggml.tokens", GgufValue::strings(toks));
  w.set("tokenizer.ggml.token_type", GgufValue::i32s(types));
  w.set("tokenizer.ggml.merges", GgufValue::strings({"a b", "ab c", "Ġ a"}));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(259));
  return w;
}

TEST(TokenizerUnit, TinyBpeMergesByRank) {
  auto t = from_writer(tiny_bpe());
  ASSERT_TRUE(t.ok()) << t.error();
  // "abc a": pre-tokens "abc" and " a"; a+b (rank 0) then ab+c (rank 1); Ġ+a (rank 2).
  EXPECT_EQ(t->encode("abc a", false, false), (std::vector<int32_t>{257, 258}));
  // "abd": a+b merges, d stays a byte token ('d' is byte 0x64 -> token id 'd' position).
  auto ids = t->encode("abd", false, false);
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_EQ(ids[0], 256);
  EXPECT_EQ(t->token_text(ids[1]), "d");
  EXPECT_EQ(t->decode(t->encode("abc a\n\xC3\xA9", false, false)), "abc a\n\xC3\xA9");
  EXPECT_TRUE(t->is_eog(259));
  EXPECT_FALSE(t->is_eog(256));
}

TEST(TokenizerUnit, SpecialTokensParsedOnlyWhenAsked) {
  auto t = from_writer(tiny_bpe());
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->encode("ab<|end|>", false, true), (std::vector<int32_t>{256, 259}));
  auto plain = t->encode("ab<|end|>", false, false);
  EXPECT_EQ(std::count(plain.begin(), plain.end(), 259), 0);
  EXPECT_EQ(t->decode(plain), "ab<|end|>");
  EXPECT_EQ(t->decode({256, 259}), "ab");
  EXPECT_EQ(t->decode({256, 259}, /*render_special=*/true), "ab<|end|>");
}

TEST(TokenizerUnit, QwenChatTokens) {
  NURI_REQUIRE_SHARED();
  Tokenizer t = load_vocab("qwen2");
  auto ids = t.encode("<|im_start|>user\nhi<|im_end|>", false, true);
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_TRUE(t.is_eog(151645));
  EXPECT_TRUE(t.is_eog(151643));
  auto plain = t.encode("<|im_start|>user", false, false);
  for (int32_t id : plain) EXPECT_LT(id, 151643) << "a merge produced a control token";
  EXPECT_EQ(t.decode(plain), "<|im_start|>user");
}

TEST(TokenizerUnit, StreamingHoldsSplitUtf8) {
  NURI_REQUIRE_SHARED();
  Tokenizer spm = load_vocab("llama-spm");
  // 🦙 is not in the llama vocab: byte fallback gives four <0xXX> tokens.
  auto ids = spm.encode("\xF0\x9F\xA6\x99", false, false);
  ASSERT_EQ(ids.size(), 5u);  // '▁' + 4 bytes
  StreamDecoder sd(spm);
  std::vector<std::string> parts;
  for (int32_t id : ids) parts.push_back(sd.push(id));
  EXPECT_EQ(parts[1], "");
  EXPECT_EQ(parts[2], "");
  EXPECT_EQ(parts[3], "");
  EXPECT_EQ(parts[4], "\xF0\x9F\xA6\x99");
  EXPECT_EQ(sd.flush(), "");

  Tokenizer q = load_vocab("qwen2");
  const std::string text = "Hello 🦙 wörld 世界 🚀!";
  std::string acc;
  StreamDecoder qs(q);
  for (int32_t id : q.encode(text, false, false)) {
    std::string p = qs.push(id);
    size_t i = 0;
    while (i < p.size()) {
      int len = unicode::utf8_complete_len(p, i);
      ASSERT_GT(len, 0) << "streamed an incomplete UTF-8 sequence";
      i += len;
    }
    acc += p;
  }
  acc += qs.flush();
  EXPECT_EQ(acc, text);
}

TEST(TokenizerUnit, MalformedMetadataIsAnError) {
  {
    // A gpt2 (BPE) vocab without merges.
    GgufWriter bad;
    std::vector<std::string> toks = {"a", "b"};
    bad.set("tokenizer.ggml.model", GgufValue::str("gpt2"));
    bad.set("tokenizer.ggml.tokens", GgufValue::strings(toks));
    auto t = from_writer(bad);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().find("merges"), std::string::npos) << t.error();
  }
  {
    GgufWriter w = tiny_bpe();
    w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(100000));
    auto t = from_writer(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().find("out of range"), std::string::npos) << t.error();
  }
  {
    GgufWriter w = tiny_bpe();
    w.set("tokenizer.ggml.scores", GgufValue::f32s({0.0f, 1.0f}));
    auto t = from_writer(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().find("scores"), std::string::npos) << t.error();
  }
  {
    GgufWriter w = tiny_bpe();
    w.set("tokenizer.ggml.token_type", GgufValue::i32s({1, 1, 1}));
    auto t = from_writer(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().find("token_type"), std::string::npos) << t.error();
  }
  {
    GgufWriter w = tiny_bpe();
    w.set("tokenizer.ggml.merges", GgufValue::strings({"abc"}));
    auto t = from_writer(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().find("merge"), std::string::npos) << t.error();
  }
  {
    GgufWriter w = tiny_bpe();
    w.set("tokenizer.ggml.merges", GgufValue::strings({"x y", "q r", "s t"}));
    auto t = from_writer(w);
    EXPECT_FALSE(t.ok());
  }
  {
    GgufWriter w = tiny_bpe();
    w.set("tokenizer.ggml.tokens", GgufValue::i32s({1, 2, 3}));
    auto t = from_writer(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().find("tokens"), std::string::npos) << t.error();
  }
  {
    GgufWriter w = tiny_bpe();
    w.set("tokenizer.ggml.model", GgufValue::str("no-such-model"));
    auto t = from_writer(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().find("unsupported"), std::string::npos) << t.error();
  }
  {
    GgufWriter w;
    w.set("general.architecture", GgufValue::str("llama"));
    auto t = from_writer(w);
    ASSERT_FALSE(t.ok());
    EXPECT_NE(t.error().find("tokenizer.ggml.model"), std::string::npos) << t.error();
  }
  {
    GgufWriter w = tiny_bpe();
    w.set("tokenizer.ggml.eos_token_id", GgufValue::str("x"));
    EXPECT_FALSE(from_writer(w).ok());
  }
}

TEST(TokenizerUnit, TinySpmScoresAndByteFallback) {
  // ▁ab has the best score, so "ab" -> [▁ab]; 'c' has no token -> <0x63>.
  std::vector<std::string> toks = {"<unk>", "<s>", "</s>", "\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "ab",
                                   "\xE2\x96\x81" "ab"};
  std::vector<float> scores = {0, 0, 0, -1, -2, -3, -4, -5, -1.5f};
  std::vector<int32_t> types = {2, 3, 3, 1, 1, 1, 1, 1, 1};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
    toks.push_back(buf);
    scores.push_back(0);
    types.push_back(6);
  }
  GgufWriter w;
  w.set("tokenizer.ggml.model", GgufValue::str("llama"));
  w.set("tokenizer.ggml.tokens", GgufValue::strings(toks));
  w.set("tokenizer.ggml.scores", GgufValue::f32s(scores));
  w.set("tokenizer.ggml.token_type", GgufValue::i32s(types));
  w.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  w.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
  auto t = from_writer(w);
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->encode("ab", false, false), (std::vector<int32_t>{8}));
  EXPECT_EQ(t->encode("ab", true, false), (std::vector<int32_t>{1, 8}));
  EXPECT_EQ(t->encode("abc", false, false), (std::vector<int32_t>{8, 9 + 0x63}));
  EXPECT_EQ(t->decode({1, 8, 9 + 0x63}), "abc");
  EXPECT_EQ(t->token_to_piece(8, false), " ab");
  EXPECT_EQ(t->token_to_piece(1, true), "<s>");
  EXPECT_EQ(t->token_to_piece(1, false), "");
}

TEST(TokenizerUnit, Unicode) {
  EXPECT_EQ(unicode::nfc("e\xCC\x81"), "\xC3\xA9");                 // e + U+0301 -> é
  EXPECT_EQ(unicode::nfd("\xC3\xA9"), "e\xCC\x81");
  EXPECT_EQ(unicode::nfc("\xE1\x84\x80\xE1\x85\xA1"), "\xEA\xB0\x80");  // ᄀ + ᅡ -> 가
  EXPECT_EQ(unicode::nfc("a\xCC\xA3\xCC\x87"), "\xE1\xBA\xA1\xCC\x87");  // a + dot below + dot above
  std::vector<uint32_t> low;
  unicode::append_lower(low, 0x130);  // İ -> i + combining dot above
  EXPECT_EQ(low, (std::vector<uint32_t>{0x69, 0x307}));
  EXPECT_TRUE(unicode::is_punct(0x3002));
  EXPECT_FALSE(unicode::is_punct('a'));
  EXPECT_EQ(unicode::cp_to_byte(unicode::byte_to_cp(' ')), ' ');
  EXPECT_EQ(unicode::byte_to_utf8(' '), "\xC4\xA0");  // Ġ
}

TEST(TokenizerUnit, BertLongWordIsUnknown) {
  NURI_REQUIRE_SHARED();
  Tokenizer t = load_vocab("bert-bge");
  std::string w(101, 'a');
  EXPECT_EQ(t.encode(w, false, false), (std::vector<int32_t>{100}));
  EXPECT_EQ(t.encode("hello", true, false), (std::vector<int32_t>{101, 7592, 102}));
}

// tokenizer.json written from a GGUF vocab (as a converter would) must give the HF goldens.
void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream f(path, std::ios::binary);
  f << j.dump();
}

TEST(TokenizerUnit, HfJsonByteLevelMatchesGoldens) {
  NURI_REQUIRE_SHARED();
  auto f = io::GgufFile::open(vocab_path("qwen2"));
  ASSERT_TRUE(f.ok()) << f.error();
  auto toks = *f->get_string_array("tokenizer.ggml.tokens");
  auto types = *f->get_int_array("tokenizer.ggml.token_type");
  auto merges = *f->get_string_array("tokenizer.ggml.merges");
  nlohmann::json vocab = nlohmann::json::object(), added = nlohmann::json::array();
  for (size_t i = 0; i < toks.size(); ++i) {
    if (types[i] == 1) {
      vocab[toks[i]] = i;
    } else {
      added.push_back({{"id", i}, {"content", toks[i]}, {"special", types[i] == 3}});
    }
  }
  nlohmann::json mj = nlohmann::json::array();
  for (size_t i = 0; i < merges.size(); ++i) {
    if (i % 2) {
      mj.push_back(merges[i]);
    } else {  // the newer [a, b] form for half of them
      size_t sp = merges[i].find(' ', 1);
      mj.push_back({merges[i].substr(0, sp), merges[i].substr(sp + 1)});
    }
  }
  nlohmann::json j = {
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern",
            {{"Regex",
              R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)"}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", mj}, {"byte_fallback", false}}}};
  auto dir = std::filesystem::temp_directory_path() / ("nuri_tok_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  write_json((dir / "tokenizer.json").string(), j);
  write_json((dir / "tokenizer_config.json").string(),
             {{"eos_token", "<|im_end|>"}, {"add_bos_token", false}});
  auto t = Tokenizer::from_file(dir.string());
  ASSERT_TRUE(t.ok()) << t.error();
  EXPECT_EQ(t->eos_id(), 151645);
  size_t pass = 0;
  auto cases = test::load_vocab_cases(vocab_path("qwen2"));
  for (const auto& c : cases) {
    auto ids = t->encode(c.text, false, false);
    if (ids == c.ids) ++pass;
    else ADD_FAILURE() << "tokenizer.json: '" << c.text << "'";
    EXPECT_EQ(t->decode(ids), unicode::nfc(c.text));
  }
  std::printf("[hf-json] qwen2 %zu/%zu\n", pass, cases.size());
  std::filesystem::remove_all(dir);
}

TEST(TokenizerUnit, HfJsonWordPieceMatchesGoldens) {
  NURI_REQUIRE_SHARED();
  auto f = io::GgufFile::open(vocab_path("bert-bge"));
  ASSERT_TRUE(f.ok()) << f.error();
  auto toks = *f->get_string_array("tokenizer.ggml.tokens");
  const std::string space = "\xE2\x96\x81";
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < toks.size(); ++i) {
    std::string t = toks[i];
    if (t.rfind(space, 0) == 0) t = t.substr(space.size());
    else if (!(t.size() > 1 && t.front() == '[' && t.back() == ']')) t = "##" + t;
    if (!vocab.contains(t)) vocab[t] = i;
  }
  nlohmann::json j = {
      {"normalizer", {{"type", "BertNormalizer"}, {"lowercase", true}, {"clean_text", true},
                      {"handle_chinese_chars", true}, {"strip_accents", nullptr}}},
      {"pre_tokenizer", {{"type", "BertPreTokenizer"}}},
      {"post_processor", {{"type", "BertProcessing"}, {"sep", {"[SEP]", 102}}, {"cls", {"[CLS]", 101}}}},
      {"model", {{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                 {"max_input_chars_per_word", 100}, {"vocab", vocab}}}};
  std::string path = (std::filesystem::temp_directory_path() / ("nuri_wp_" + std::to_string(::getpid()) + ".json")).string();
  write_json(path, j);
  auto t = Tokenizer::from_hf_json(path);
  ASSERT_TRUE(t.ok()) << t.error();
  size_t pass = 0;
  auto cases = test::load_vocab_cases(vocab_path("bert-bge"));
  for (const auto& c : cases) {
    if (t->encode(c.text, false, false) == c.ids) ++pass;
    else ADD_FAILURE() << "tokenizer.json wordpiece: '" << c.text << "'";
  }
  EXPECT_EQ(t->encode("hello", true, false), (std::vector<int32_t>{101, 7592, 102}));
  std::printf("[hf-json] bert-bge %zu/%zu\n", pass, cases.size());
  std::remove(path.c_str());
}

TEST(TokenizerUnit, HfJsonErrorsAreClear) {
  std::string path = (std::filesystem::temp_directory_path() / ("nuri_bad_" + std::to_string(::getpid()) + ".json")).string();
  write_json(path, {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}}}});
  auto t = Tokenizer::from_hf_json(path);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().find("merges"), std::string::npos) << t.error();
  {
    std::ofstream o(path);
    o << "{ not json";
  }
  t = Tokenizer::from_hf_json(path);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().find("invalid tokenizer.json"), std::string::npos) << t.error();
  std::remove(path.c_str());
  EXPECT_FALSE(Tokenizer::from_hf_json("/nonexistent/tokenizer.json").ok());
}

// HF directories: what transformers adds with add_special_tokens=True — the post-processor's
// template (BOS before $A, EOS after it; Bert/Roberta cls ... sep), overridden by
// tokenizer_config.json's add_bos_token / add_eos_token.
TEST(TokenizerUnit, HfSpecialFlagsFromPostProcessorAndConfig) {
  auto lookup = [](const std::string& t) -> int32_t {
    if (t == "<|begin_of_text|>") return 7;
    if (t == "</s>") return 2;
    if (t == "<s>") return 1;
    return -1;
  };
  using nlohmann::json;
  const json llama3 = {{"type", "Sequence"},
                       {"processors",
                        {{{"type", "ByteLevel"}},
                         {{"type", "TemplateProcessing"},
                          {"single", {{{"SpecialToken", {{"id", "<|begin_of_text|>"}, {"type_id", 0}}}},
                                      {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}}}}}};
  auto a = detail::hf_special(llama3, json(), lookup);
  EXPECT_TRUE(a.flags.add_bos);
  EXPECT_FALSE(a.flags.add_eos);
  EXPECT_EQ(a.bos_id, 7);
  auto b = detail::hf_special(llama3, {{"add_bos_token", false}, {"add_eos_token", true}}, lookup);
  EXPECT_FALSE(b.flags.add_bos);
  EXPECT_TRUE(b.flags.add_eos);
  const json roberta = {{"type", "RobertaProcessing"}, {"sep", {"</s>", 2}}, {"cls", {"<s>", 1}}};
  auto c = detail::hf_special(roberta, json(), lookup);
  EXPECT_TRUE(c.flags.add_bos && c.flags.add_eos);
  EXPECT_EQ(c.bos_id, 1);
  EXPECT_EQ(c.eos_id, 2);
  auto d = detail::hf_special(json(), json(), lookup);  // no post-processor, no config: nothing
  EXPECT_FALSE(d.flags.add_bos || d.flags.add_eos);
  auto e = detail::hf_special(json(), {{"add_bos_token", true}}, lookup);
  EXPECT_TRUE(e.flags.add_bos);
  // A malformed post-processor is ignored, not a crash.
  auto f = detail::hf_special({{"type", "TemplateProcessing"}, {"single", 3}}, json(), lookup);
  EXPECT_FALSE(f.flags.add_bos);
}

}  // namespace
}  // namespace nuri::tokenizer
