// Regression tests for inputs the libFuzzer targets in fuzz/ found crashing a parser. Each case
// is the (minimised) crashing input; the parser must now return an error or a value, not abort.
#include <gtest/gtest.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "chat/chat_template.h"
#include "chat/jinja/jinja.h"
#include "io/safetensors.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace nuri {
namespace {

// fuzz_config_json: a config.json key of the wrong type threw nlohmann::type_error out of
// config_from_hf (model_type 128 -> "type must be string, but is number").
TEST(ParserRegression, ConfigJsonWrongTypesAreErrorsNotExceptions) {
  const char* crash = R"({"model_type": 128, "vocab_size": 512, "rms_norm_eps": 1e-05, "rope_theta": 10000.0,
                          "max_position_embeddings": 512, "tie_word_embeddings": false})";
  auto r = model::config_from_hf(nlohmann::json::parse(crash), "config.json");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("model_type"), std::string::npos) << r.error();
  const nlohmann::json base = {{"model_type", "llama"}, {"hidden_size", 64}, {"num_hidden_layers", 2},
                               {"num_attention_heads", 4}, {"intermediate_size", 128}, {"vocab_size", 512}};
  ASSERT_TRUE(model::config_from_hf(base, "config.json").ok());
  for (const char* k : {"tie_word_embeddings", "norm_topk_prob", "attention_bias", "use_sliding_window"}) {
    nlohmann::json j = base;
    j[k] = "yes";  // not a boolean: ignored
    EXPECT_TRUE(model::config_from_hf(j, "config.json").ok()) << k;
  }
  nlohmann::json big = base;
  big["hidden_size"] = int64_t{1} << 40;
  EXPECT_FALSE(model::config_from_hf(big, "config.json").ok());
  EXPECT_FALSE(model::config_from_hf(nlohmann::json::array({1, 2}), "config.json").ok());
}

// tokenizer_config.json: a chat_template list entry whose name is not a string.
TEST(ParserRegression, TokenizerConfigTemplateNameOfWrongType) {
  auto cfg = nlohmann::ordered_json::parse(R"({"chat_template": [{"name": 5, "template": "x"},
                                                                   {"name": "default", "template": "T"}]})");
  auto info = chat::parse_tokenizer_config(cfg);
  ASSERT_TRUE(info.ok()) << info.error();
  EXPECT_EQ(info->template_source, "T");
}

// fuzz_safetensors: a shape whose element count wraps around 64 bits ([2^62, 4] F32 = 0 bytes
// after the wrap) was accepted with n_bytes 0, so a reader trusting the shape ran off the data.
TEST(ParserRegression, SafetensorsElementCountOverflowIsRejected) {
  const std::string header = R"({"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}})";
  std::string file(8, '\0');
  const uint64_t n = header.size();
  std::memcpy(file.data(), &n, 8);
  file += header;
  const auto path = std::filesystem::temp_directory_path() / ("nuri_st_overflow_" + std::to_string(::getpid()) + ".safetensors");
  std::ofstream(path, std::ios::binary) << file;
  auto st = io::Safetensors::open(path.string());
  std::filesystem::remove(path);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().find("64 bits"), std::string::npos) << st.error();
}

// fuzz_jinja: a slice inside a tuple subscript (b[:1, 2]) dereferenced a null node (SEGV).
TEST(ParserRegression, JinjaSliceInTupleSubscriptIsAnError) {
  auto t = chat::jinja::Template::parse("{{ b[:1, 2] }}");
  ASSERT_TRUE(t.ok()) << t.error();
  auto r = t->render(nlohmann::ordered_json{{"b", {1, 2, 3}}});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("slice"), std::string::npos) << r.error();
}

// fuzz_jinja: signed 64-bit overflow in integer arithmetic (UBSan) and a '%8888888888d' width
// that asked for gigabytes of padding (a timeout).
TEST(ParserRegression, JinjaIntegerOverflowAndHugeWidthAreErrors) {
  for (const char* src : {"{{ 9223372036854775807 + 1 }}", "{{ -9223372036854775807 - 5 }}", "{{ 4294967296 * 4294967296 }}",
                          "{{ 10 ** 40 }}", "{{ '%8888888888d' % 1 }}", "{{ '{:99999999999}'.format(1) }}"}) {
    auto t = chat::jinja::Template::parse(src);
    if (!t.ok()) continue;  // a parse error is fine too
    auto r = t->render(nlohmann::ordered_json::object());
    EXPECT_FALSE(r.ok()) << src << " rendered " << (r.ok() ? r->size() : 0) << " bytes";
  }
  auto ok = chat::jinja::Template::parse("{{ 3 * 4 + 2 ** 10 - 1 }}{{ '%5d' % 7 }}");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok->render(nlohmann::ordered_json::object()), "1035    7");
}

// fuzz_jinja: tojson(indent=<huge>) and indent(<huge>) asked for an allocation of 2^63 bytes.
TEST(ParserRegression, JinjaHugeIndentIsAnError) {
  for (const char* src : {"{{ x | tojson(indent=6666666666666666) }}", "{{ 'a\nb' | indent(99999999999) }}"}) {
    auto t = chat::jinja::Template::parse(src);
    ASSERT_TRUE(t.ok()) << src << ": " << t.error();
    auto r = t->render(nlohmann::ordered_json{{"x", {1, 2}}});
    ASSERT_FALSE(r.ok()) << src;
    EXPECT_NE(r.error().find("indent too large"), std::string::npos) << r.error();
  }
  auto ok = chat::jinja::Template::parse("{{ x | tojson(indent=2) }}|{{ 'a\nb' | indent(3) }}");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok->render(nlohmann::ordered_json{{"x", {1}}}), "[\n  1\n]|a\n   b");
}

// fuzz_tokenizer_json: a Unigram model.unk_id past the vocabulary indexed past the token table.
TEST(ParserRegression, TokenizerJsonUnkIdOutsideVocabIsAnError) {
  const std::string json = R"({"model": {"type": "Unigram", "unk_id": 5,
                                         "vocab": [["<unk>", 0.0], ["\u2581a", -1.0], ["b", -2.0], ["\u2581", -3.0]]}})";
  const auto dir = std::filesystem::temp_directory_path() / ("nuri_tok_unk_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << json;
  auto tok = tokenizer::Tokenizer::from_hf_json((dir / "tokenizer.json").string());
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.error().find("unk_id"), std::string::npos) << tok.error();
}

// fuzz_tokenizer_json: a token id written as a huge float (3.5e30) was converted to int64 (UB).
TEST(ParserRegression, TokenizerJsonFloatIdIsAnError) {
  const std::string json = R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 3.55556e30}, "merges": []}})";
  const auto dir = std::filesystem::temp_directory_path() / ("nuri_tok_fid_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << json;
  auto tok = tokenizer::Tokenizer::from_hf_json((dir / "tokenizer.json").string());
  std::filesystem::remove_all(dir);
  ASSERT_FALSE(tok.ok());
  EXPECT_NE(tok.error().find("not an integer"), std::string::npos) << tok.error();
}

}  // namespace
}  // namespace nuri
