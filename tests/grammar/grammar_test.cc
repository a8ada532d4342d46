// GBNF parser errors (line/column), left recursion, and the matcher on hand-written cases; the
// trie mask against accepting each token one by one.
#include <gtest/gtest.h>

#include "grammar/grammar.h"
#include "grammar/json_schema.h"
#include "test_util.h"
#include "tokenizer/tokenizer.h"

namespace {

using nuri::grammar::Grammar;
using nuri::grammar::Matcher;
using nuri::grammar::Vocab;

std::shared_ptr<const Grammar> parse_ok(const std::string& g) {
  auto r = Grammar::parse(g);
  EXPECT_TRUE(r.ok()) << r.error() << "\n" << g;
  return r.ok() ? *r : nullptr;
}

std::string parse_err(const std::string& g) {
  auto r = Grammar::parse(g);
  EXPECT_FALSE(r.ok()) << g;
  return r.ok() ? "" : r.error();
}

// Whole-string match through the byte-level matcher.
bool matches(const std::shared_ptr<const Grammar>& g, const std::string& s) {
  auto v = Vocab::build({"x"}, {});
  Matcher m(g, v);
  return m.accept_bytes(s) && m.is_complete();
}
bool prefix_ok(const std::shared_ptr<const Grammar>& g, const std::string& s) {
  auto v = Vocab::build({"x"}, {});
  Matcher m(g, v);
  return m.accept_bytes(s);
}

TEST(Gbnf, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(parse_err("root ::= \"a\"\nfoo ::= \"b\" )\n"), "line 2, column 13: expected end of line after rule 'foo', found ')'");
  EXPECT_EQ(parse_err("root ::= \"a\n"), "line 1, column 10: unterminated string literal (newline before the closing quote)");
  EXPECT_EQ(parse_err("root ::= [a-\n"), "line 1, column 10: unterminated character class");
  EXPECT_EQ(parse_err("root  \"a\""), "line 1, column 7: expected '::=' after rule name 'root', found '\"'");
  EXPECT_EQ(parse_err("root ::= x\n"), "line 1, column 10: undefined rule 'x'");
  EXPECT_EQ(parse_err("root ::= (\"a\" | \"b\"\n"), "line 2, column 1: expected ')' to close the group opened at line 1, column 10, found end of grammar");
  EXPECT_EQ(parse_err("root ::= \"a\"{3,2}"), "line 1, column 13: repetition {m,n} has n < m");
  EXPECT_EQ(parse_err("root ::= * \"a\""), "line 1, column 10: '*' has nothing before it to repeat");
  EXPECT_EQ(parse_err("root ::= \"\\q\""), "line 1, column 11: unknown escape '\\q'");
  EXPECT_EQ(parse_err("# only a comment\n"), "grammar is empty (expected rules like: root ::= \"yes\" | \"no\")");
  EXPECT_EQ(parse_err("start ::= \"a\""), "grammar has no rule named 'root' (the start rule)");
  EXPECT_EQ(parse_err("root ::= [z-a]"), "line 1, column 13: character range is reversed");
  EXPECT_EQ(parse_err("root ::= \"a\"\nroot ::= \"b\""), "line 2, column 1: rule 'root' is defined twice");
}

TEST(Gbnf, LeftRecursionIsRejected) {
  std::string e = parse_err("root ::= expr\nexpr ::= expr \"+\" term | term\nterm ::= [0-9]\n");
  EXPECT_NE(e.find("left recursion"), std::string::npos) << e;
  EXPECT_NE(e.find("'expr'"), std::string::npos) << e;
  EXPECT_EQ(e.rfind("line 2, column 1:", 0), 0u) << e;
  // Indirect, through a nullable prefix.
  e = parse_err("root ::= a\na ::= \"x\"? b\nb ::= a \"y\" | \"z\"\n");
  EXPECT_NE(e.find("left recursion"), std::string::npos) << e;
  e = parse_err("root ::= (\"a\"?)*\n");
  EXPECT_NE(e.find("empty string"), std::string::npos) << e;
  // Right recursion is fine.
  EXPECT_TRUE(Grammar::parse("root ::= \"a\" root | \"b\"").ok());
}

TEST(Gbnf, SyntaxCoverage) {
  auto g = parse_ok(R"(# comment
root ::= greeting " " name ("!" | "?")   # trailing comment
greeting ::= "hi" | "hello"
  | "hey"
name ::= [A-Z] [a-z]{1,4}
)");
  EXPECT_TRUE(matches(g, "hi Bob!"));
  EXPECT_TRUE(matches(g, "hey Alice?"));
  EXPECT_FALSE(matches(g, "hey Alicia?"));  // 5 lower-case letters
  EXPECT_FALSE(matches(g, "hey A!"));
  EXPECT_FALSE(matches(g, "yo Bob!"));
  EXPECT_TRUE(prefix_ok(g, "hel"));
  EXPECT_FALSE(matches(g, "hel"));

  auto rep = parse_ok("root ::= \"a\"{2} \"b\"{,2} \"c\"{1,} \"d\"? [^x-z]*");
  EXPECT_TRUE(matches(rep, "aac"));
  EXPECT_TRUE(matches(rep, "aabbcccdw"));
  EXPECT_FALSE(matches(rep, "ac"));
  EXPECT_FALSE(matches(rep, "aabbbc"));
  EXPECT_FALSE(matches(rep, "aacy"));
  EXPECT_TRUE(matches(rep, "aac\xC3\xA9\xE2\x82\xAC"));  // é€ are outside x-z

  auto esc = parse_ok(R"(root ::= "\x41\u00e9\n\t\"\\" [\]\[\-] "\U0001F600")");
  EXPECT_TRUE(matches(esc, "A\xC3\xA9\n\t\"\\]\xF0\x9F\x98\x80"));
  EXPECT_TRUE(matches(esc, "A\xC3\xA9\n\t\"\\-\xF0\x9F\x98\x80"));
  EXPECT_FALSE(matches(esc, "A\xC3\xA9\n\t\"\\x\xF0\x9F\x98\x80"));

  auto dot = parse_ok("root ::= . . \"!\"");
  EXPECT_TRUE(matches(dot, "\xE4\xB8\xADx!"));
  EXPECT_FALSE(matches(dot, "x!"));
  EXPECT_FALSE(matches(dot, "\xE4\xB8x!"));  // truncated code point
  // Nested groups over several lines.
  auto nested = parse_ok("root ::= (\n  \"a\" (\"b\" | \"c\")*\n  | \"d\"\n)+\n");
  EXPECT_TRUE(matches(nested, "abcbad"));
  EXPECT_FALSE(matches(nested, "abx"));
}

TEST(Gbnf, PartialUtf8AcrossBytes) {
  auto g = parse_ok("root ::= [\\u00e0-\\u00ff]+ \"!\"");  // à..ÿ: C3 A0..C3 BF
  auto v = Vocab::build({"x"}, {});
  Matcher m(g, v);
  EXPECT_TRUE(m.accept_bytes("\xC3"));
  EXPECT_FALSE(m.is_complete());
  EXPECT_FALSE(m.accept_bytes("\x80"));  // U+00C0 is outside the class
  EXPECT_TRUE(m.accept_bytes("\xA9"));   // é
  EXPECT_FALSE(m.accept_bytes("\xC4"));  // U+0100.. cannot match
  EXPECT_TRUE(m.accept_bytes("!"));
  EXPECT_TRUE(m.is_complete());
}

TEST(Matcher, MaskEqualsTokenByTokenAcceptance) {
  // Tokens that span several elements, partial UTF-8 pieces, duplicates, and an EOG token.
  std::vector<std::string> pieces = {"{", "\"", "\"a", "ab", "\":", "\": ", "1", "12", "}", " ",
                                     "\xC3", "\xA9", "\xC3\xA9", "a\xC3", "", "}\n", "\"}", "a", "b", "\"a\":1}"};
  const int32_t eog = static_cast<int32_t>(pieces.size());
  pieces.push_back("");
  auto v = Vocab::build(pieces, {eog});
  auto g = parse_ok(R"(root ::= "{" "\"" [a-z\u00e9]* "\":" " "? [0-9]+ "}")");
  Matcher m(g, v);
  std::vector<uint32_t> mask(nuri::grammar::mask_words(v->n_vocab()));
  std::string text;
  // Walk a fixed path; at each step compare the mask with accepting each token in a fresh matcher.
  for (const char* step : {"{", "\"a", "\xC3", "\xA9", "b", "\": ", "12", "}"}) {
    int32_t n = m.fill_mask(mask.data());
    int32_t expect_n = 0;
    for (int32_t t = 0; t < v->n_vocab(); ++t) {
      Matcher ref(g, v);
      bool ok = ref.accept_bytes(text) && ref.accept(t);
      expect_n += ok;
      EXPECT_EQ(ok, ((mask[t >> 5] >> (t & 31)) & 1) != 0) << "after '" << text << "' token " << t;
    }
    EXPECT_EQ(n, expect_n);
    int32_t tok = -1;
    for (int32_t t = 0; t < v->n_vocab(); ++t)
      if (v->piece(t) == step) tok = t;
    ASSERT_GE(tok, 0);
    ASSERT_TRUE(m.accept(tok)) << step;
    text += step;
  }
  EXPECT_TRUE(m.is_complete());
  m.fill_mask(mask.data());
  for (int32_t t = 0; t < v->n_vocab(); ++t) EXPECT_EQ((mask[t >> 5] >> (t & 31)) & 1, t == eog ? 1u : 0u) << t;
  EXPECT_TRUE(m.accept(eog));
  EXPECT_TRUE(m.finished());
}

TEST(Matcher, ClassMaskCacheStaysBounded) {
  // 52 grammars with distinct character classes under '*' (each one a cached class mask): the
  // vocabulary keeps at most kMaxClassMasks of them, and masks stay exact after entries are dropped.
  std::vector<std::string> pieces = {"<", ">", "a", "ab", "abc", "zz", "q", "09", "a1", "m>", "<a", "k", "xyz", "0"};
  auto v = Vocab::build(pieces, {});
  std::vector<uint32_t> mask(nuri::grammar::mask_words(v->n_vocab()));
  size_t most = 0;
  for (int round = 0; round < 2; ++round) {
    for (int j = 0; j < 52; ++j) {
      std::string cls = std::string("a-") + static_cast<char>('a' + j % 26) + (j >= 26 ? "0-9" : "");
      auto g = parse_ok("root ::= \"<\" [" + cls + "]* \">\"");
      Matcher m(g, v);
      ASSERT_TRUE(m.accept_bytes("<"));
      const int32_t n = m.fill_mask(mask.data());
      int32_t expect_n = 0;
      for (int32_t t = 0; t < v->n_vocab(); ++t) {
        const bool want = m.allows(t);
        expect_n += want;
        EXPECT_EQ(want, ((mask[t >> 5] >> (t & 31)) & 1) != 0) << cls << " token '" << pieces[t] << "'";
      }
      EXPECT_EQ(n, expect_n) << cls;
      most = std::max(most, v->class_masks_kept());
    }
  }
  EXPECT_GT(most, 0u);  // the class-mask path ran
  EXPECT_LE(most, Vocab::kMaxClassMasks);
}

TEST(Matcher, JsonAnyGrammar) {
  auto g = parse_ok(nuri::grammar::json_any_gbnf());
  for (const char* s : {"{}", "[]", "{\"a\": [1, 2.5e3, -0, true, null], \"b\": {\"c\": \"\\u00e9x\\n\"}}", "\"\"", "-12", "false"})
    EXPECT_TRUE(matches(g, s)) << s;
  for (const char* s : {"{", "[1,]", "{\"a\" 1}", "01", "\"\x01\"", "tru", "{\"a\":1,}", "1.", "\"\\x\""})
    EXPECT_FALSE(matches(g, s)) << s;
}

}  // namespace

namespace {

// On real vocabularies, the trie mask (with its run shortcuts and class bitmasks) equals asking
// every token one by one, along outputs that go through bounded and unbounded strings, escapes,
// numbers and non-ASCII text.
TEST(Matcher, MaskEqualsPerTokenCheckOnRealVocab) {
  NURI_REQUIRE_SHARED();
  for (const char* vf : {"ggml-vocab-gpt-2.gguf", "ggml-vocab-qwen2.gguf"}) {
    auto tok = nuri::tokenizer::Tokenizer::from_file(nuri::test::shared_dir() + "/vocab/" + vf);
    ASSERT_TRUE(tok.ok()) << tok.error();
    auto vocab = Vocab::from_tokenizer(*tok);
    struct Case {
      std::string schema, output;
    };
    const Case cases[] = {
        {R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},"n":{"type":"integer"},
            "tags":{"type":"array","items":{"type":"string","minLength":2,"maxLength":5},"maxItems":3}},
            "required":["name","n","tags"]})",
         R"({"name": "Zoë \"Q\" 中文", "n": -42, "tags": ["ab", "日本語だ", "x\\ny"]})"},
        {"", R"({"k": ["free text with \u00e9scapes \t and more", 1.5e-3, {"z": null}], "b": true})"},
    };
    for (const auto& c : cases) {
      std::string gbnf = nuri::grammar::json_any_gbnf();
      if (!c.schema.empty()) {
        auto r = nuri::grammar::json_schema_to_gbnf(c.schema);
        ASSERT_TRUE(r.ok()) << r.error();
        gbnf = *r;
      }
      auto g = Grammar::parse(gbnf);
      ASSERT_TRUE(g.ok()) << g.error();
      Matcher m(*g, vocab);
      Matcher ref(*g, vocab);
      std::vector<uint32_t> mask(nuri::grammar::mask_words(vocab->n_vocab()));
      std::vector<int32_t> ids = tok->encode(c.output, false, false);
      ASSERT_FALSE(ids.empty());
      for (size_t step = 0; step <= ids.size(); ++step) {
        const int32_t n = m.fill_mask(mask.data());
        int32_t expect_n = 0, mismatches = 0;
        for (int32_t t = 0; t < vocab->n_vocab(); ++t) {
          const bool want = ref.allows(t);
          expect_n += want;
          if (want != (((mask[t >> 5] >> (t & 31)) & 1) != 0) && ++mismatches <= 3)
            ADD_FAILURE() << vf << " step " << step << " token " << t << " '" << vocab->piece(t) << "' expected " << want;
        }
        EXPECT_EQ(n, expect_n) << vf << " step " << step;
        if (step == ids.size()) break;
        ASSERT_TRUE(m.accept(ids[step])) << vf << " step " << step << " '" << vocab->piece(ids[step]) << "'";
        ASSERT_TRUE(ref.accept(ids[step]));
      }
      EXPECT_TRUE(m.is_complete()) << c.output;
    }
  }
}

}  // namespace

namespace {

TEST(JsonSchema, RawStringGrammarForXmlToolCalls) {
  auto raw = [](const char* schema) { return nuri::grammar::json_schema_raw_string_gbnf(schema); };
  auto date = raw(R"({"type": "string", "format": "date"})");
  ASSERT_TRUE(date.ok()) << date.error();
  auto gd = parse_ok(*date);
  EXPECT_TRUE(matches(gd, "2024-02-28"));
  EXPECT_FALSE(matches(gd, "\"2024-02-28\""));  // no quotes: the value is written raw
  EXPECT_FALSE(matches(gd, "2024-13-01"));
  auto pat = raw(R"({"type": "string", "pattern": "^a\"b[<>x]\\.c.$"})");
  ASSERT_TRUE(pat.ok()) << pat.error();
  auto gp = parse_ok(*pat);
  EXPECT_TRUE(matches(gp, "a\"bx.cz"));   // '"' raw, not \"
  EXPECT_TRUE(matches(gp, "a\"b>.c}"));
  EXPECT_FALSE(matches(gp, "a\"b>.c\\"));  // '.' stays within JSON-plain characters
  EXPECT_FALSE(matches(gp, "a\"b<.cz"));  // '<' never (it would start markup)
  EXPECT_FALSE(matches(gp, "a\"bx.c<"));
  EXPECT_FALSE(raw(R"({"type": "string", "pattern": "^<tag>$"})").ok());
  EXPECT_FALSE(raw(R"({"type": "string"})").ok());
  EXPECT_FALSE(raw(R"({"type": "string", "format": "email"})").ok());
  EXPECT_FALSE(raw(R"({"type": "string", "format": "date", "maxLength": 4})").ok());
}

}  // namespace
