// tokenizer/load_hf.cc — builds a Tokenizer from a Hugging Face tokenizer.json (+ optional
// tokenizer_config.json beside it). Supports models BPE / WordPiece / Unigram, the normalizers
// NFC/NFD/NFKC*/Lowercase/Bert/Prepend/Replace/Strip/StripAccents/Sequence, and the
// pre-tokenizers ByteLevel/Split/Digits/Punctuation/Whitespace/WhitespaceSplit/Bert/Metaspace/
// Sequence. Anything else fails with a message naming the component.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "base/log.h"
#include "tokenizer/special_rules.h"
#include "tokenizer/tokenizer_data.h"

namespace nuri::tokenizer {

namespace {

using json = nlohmann::json;
using detail::NormStep;
using detail::PreStep;
using detail::SplitBehavior;
using detail::TokenizerData;

constexpr const char* kGpt2Re =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kPunctRe = R"([\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E])";

// A token id: a JSON integer (a float such as 3.5e30 would not convert to an integer safely).
int64_t integer_id(const json& j, const std::string& what) {
  if (!j.is_number_integer()) throw std::runtime_error("the id of '" + what + "' is not an integer");
  return j.get<int64_t>();
}

std::string str_or(const json& j, const char* key, const std::string& def) {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : def;
}
bool bool_or(const json& j, const char* key, bool def) {
  auto it = j.find(key);
  return (it != j.end() && it->is_boolean()) ? it->get<bool>() : def;
}

// Escapes a literal string for PCRE2.
std::string regex_quote(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::strchr("\\^$.|?*+()[]{}-/", c)) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

Result<SplitBehavior> parse_behavior(const std::string& b) {
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  return Error("unknown split behavior '" + b + "'");
}

Status add_normalizer(TokenizerData& d, const json& n) {
  if (n.is_null()) return Status::ok();
  const std::string type = str_or(n, "type", "");
  NormStep st;
  if (type == "Sequence") {
    for (const json& x : n.at("normalizers")) NURI_TRY(add_normalizer(d, x));
    return Status::ok();
  }
  if (type == "NFC" || type == "NFKC") {
    if (type == "NFKC") NURI_LOG_WARN("tokenizer.json: NFKC normalizer approximated by NFC");
    st.kind = NormStep::kNfc;
  } else if (type == "NFD" || type == "NFKD") {
    if (type == "NFKD") NURI_LOG_WARN("tokenizer.json: NFKD normalizer approximated by NFD");
    st.kind = NormStep::kNfd;
  } else if (type == "Lowercase") {
    st.kind = NormStep::kLowercase;
  } else if (type == "BertNormalizer") {
    st.kind = NormStep::kBert;
    st.bert_clean = bool_or(n, "clean_text", true);
    st.bert_chinese = bool_or(n, "handle_chinese_chars", true);
    st.bert_lower = bool_or(n, "lowercase", true);
    st.bert_strip_accents = bool_or(n, "strip_accents", st.bert_lower);
  } else if (type == "Prepend") {
    st.kind = NormStep::kPrepend;
    st.a = str_or(n, "prepend", "");
  } else if (type == "Replace") {
    st.kind = NormStep::kReplace;
    const json& p = n.at("pattern");
    if (!p.contains("String")) return Error("Replace normalizer with a regex pattern is not supported");
    st.a = p.at("String").get<std::string>();
    st.b = str_or(n, "content", "");
  } else if (type == "StripAccents") {
    st.kind = NormStep::kStripAccents;
  } else if (type == "Strip") {
    st.kind = NormStep::kStrip;
    st.strip_left = bool_or(n, "strip_left", true);
    st.strip_right = bool_or(n, "strip_right", true);
  } else if (type == "Precompiled") {
    NURI_LOG_WARN("tokenizer.json: Precompiled normalizer ignored (text is used as is)");
    return Status::ok();
  } else {
    return Error("unsupported normalizer '" + type + "'");
  }
  d.normalizers.push_back(st);
  return Status::ok();
}

Status add_split_regex(TokenizerData& d, const std::string& re, SplitBehavior beh, bool invert,
                       bool on_mapped) {
  PreStep st;
  st.kind = PreStep::kSplit;
  NURI_ASSIGN_OR_RETURN(st.regex, Regex::compile(re));
  st.behavior = beh;
  st.invert = invert;
  st.on_mapped = on_mapped;
  d.pre_steps.push_back(std::move(st));
  return Status::ok();
}

Status add_pre(TokenizerData& d, const json& p, bool& seen_byte_level) {
  if (p.is_null()) return Status::ok();
  const std::string type = str_or(p, "type", "");
  if (type == "Sequence") {
    for (const json& x : p.at("pretokenizers")) NURI_TRY(add_pre(d, x, seen_byte_level));
    return Status::ok();
  }
  if (type == "ByteLevel") {
    PreStep st;
    st.kind = PreStep::kByteLevel;
    st.use_regex = bool_or(p, "use_regex", true);
    st.add_prefix_space = bool_or(p, "add_prefix_space", false);
    if (st.use_regex) {
      NURI_ASSIGN_OR_RETURN(st.regex, Regex::compile(kGpt2Re));
    }
    d.pre_steps.push_back(std::move(st));
    seen_byte_level = true;
    return Status::ok();
  }
  if (type == "Split") {
    const json& pat = p.at("pattern");
    std::string re = pat.contains("Regex") ? pat.at("Regex").get<std::string>()
                                           : regex_quote(pat.at("String").get<std::string>());
    NURI_ASSIGN_OR_RETURN(SplitBehavior beh, parse_behavior(str_or(p, "behavior", "Isolated")));
    return add_split_regex(d, re, beh, bool_or(p, "invert", false), seen_byte_level);
  }
  if (type == "Digits") {
    bool individual = bool_or(p, "individual_digits", false);
    return add_split_regex(d, individual ? "\\p{N}" : "\\p{N}+", SplitBehavior::kIsolated, false,
                           seen_byte_level);
  }
  if (type == "Punctuation") {
    NURI_ASSIGN_OR_RETURN(SplitBehavior beh, parse_behavior(str_or(p, "behavior", "Isolated")));
    return add_split_regex(d, kPunctRe, beh, false, seen_byte_level);
  }
  if (type == "Whitespace") {
    return add_split_regex(d, R"(\w+|[^\w\s]+)", SplitBehavior::kRemoved, true, seen_byte_level);
  }
  if (type == "WhitespaceSplit") {
    return add_split_regex(d, R"(\s+)", SplitBehavior::kRemoved, false, seen_byte_level);
  }
  if (type == "BertPreTokenizer") {
    NURI_TRY(add_split_regex(d, R"(\s+)", SplitBehavior::kRemoved, false, seen_byte_level));
    return add_split_regex(d, kPunctRe, SplitBehavior::kIsolated, false, seen_byte_level);
  }
  if (type == "Metaspace") {
    PreStep st;
    st.kind = PreStep::kMetaspace;
    st.replacement = str_or(p, "replacement", "\xE2\x96\x81");
    std::string scheme = str_or(p, "prepend_scheme", bool_or(p, "add_prefix_space", true) ? "always" : "never");
    st.prepend_scheme = scheme == "always" ? 0 : scheme == "first" ? 1 : 2;
    st.split = bool_or(p, "split", true);
    d.decode_strip_leading_space = st.prepend_scheme != 2;
    d.pre_steps.push_back(std::move(st));
    return Status::ok();
  }
  return Error("unsupported pre_tokenizer '" + type + "'");
}

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream f(path, std::ios::binary);
  ok = f.good();
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

// The content of a token entry in tokenizer_config.json: a string or {"content": ...}.
std::string token_content(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object()) return str_or(j, "content", "");
  return "";
}

Result<Tokenizer> load(const std::string& path) {
  bool ok = false;
  std::string text = read_file(path, ok);
  if (!ok) return Error("cannot read " + path);
  json root = json::parse(text);
  auto d = std::make_shared<TokenizerData>();
  const json& model = root.at("model");
  std::string mtype = str_or(model, "type", "");
  if (mtype.empty()) {
    if (model.contains("merges")) mtype = "BPE";
    else if (model.contains("vocab") && model.at("vocab").is_array()) mtype = "Unigram";
    else mtype = "WordPiece";
  }
  d->model_name = mtype;

  // Vocabulary: model vocab + added tokens, by id.
  std::vector<std::pair<std::string, int64_t>> entries;
  std::vector<float> uni_scores;
  if (mtype == "Unigram") {
    int64_t i = 0;
    for (const json& e : model.at("vocab")) {
      entries.emplace_back(e.at(0).get<std::string>(), i++);
      uni_scores.push_back(e.at(1).get<float>());
    }
  } else {
    for (auto it = model.at("vocab").begin(); it != model.at("vocab").end(); ++it)
      entries.emplace_back(it.key(), integer_id(it.value(), it.key()));
  }
  struct Added {
    std::string content;
    int64_t id;
    bool special;
  };
  std::vector<Added> added;
  if (root.contains("added_tokens") && root.at("added_tokens").is_array())
    for (const json& a : root.at("added_tokens"))
      added.push_back({a.at("content").get<std::string>(), integer_id(a.at("id"), "added token"), bool_or(a, "special", false)});
  int64_t max_id = -1;
  for (auto& e : entries) max_id = std::max(max_id, e.second);
  for (auto& a : added) max_id = std::max(max_id, a.id);
  if (max_id < 0) return Error("the vocabulary is empty");
  if (max_id > 16 * 1024 * 1024) return Error("token id " + std::to_string(max_id) + " is implausibly large");
  for (auto& e : entries)
    if (e.second < 0) return Error("token '" + e.first + "' has a negative id");
  const size_t n = static_cast<size_t>(max_id) + 1;
  d->tokens.assign(n, std::string());
  d->attrs.assign(n, TokenAttr::kUnused);
  std::vector<bool> filled(n, false);
  for (auto& e : entries) {
    d->tokens[e.second] = e.first;
    d->attrs[e.second] = TokenAttr::kNormal;
    filled[e.second] = true;
  }
  for (auto& a : added) {
    if (a.id < 0) return Error("added token '" + a.content + "' has a negative id");
    d->tokens[a.id] = a.content;
    d->attrs[a.id] = a.special ? TokenAttr::kControl : TokenAttr::kUserDefined;
    filled[a.id] = true;
  }
  for (size_t i = 0; i < n; ++i)
    if (!filled[i]) d->tokens[i] = "[UNUSED_" + std::to_string(i) + "]";
  if (mtype == "Unigram") {
    d->scores.assign(n, 0.0f);
    for (size_t i = 0; i < uni_scores.size(); ++i) d->scores[i] = uni_scores[i];
  }
  for (size_t i = 0; i < n; ++i) {
    const std::string& t = d->tokens[i];
    if (d->attrs[i] == TokenAttr::kNormal && t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>')
      d->attrs[i] = TokenAttr::kByte;
  }

  NURI_TRY(add_normalizer(*d, root.value("normalizer", json())));
  bool byte_level = false;
  NURI_TRY(add_pre(*d, root.value("pre_tokenizer", json()), byte_level));
  const json dec = root.value("decoder", json());
  const std::string dec_type = dec.is_object() ? str_or(dec, "type", "") : "";
  if (dec_type == "ByteLevel") byte_level = true;
  for (const auto& st : d->normalizers)
    if (st.kind == NormStep::kPrepend) d->decode_strip_leading_space = true;

  d->token_to_id.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) d->token_to_id.emplace(d->tokens[i], static_cast<int32_t>(i));

  if (mtype == "BPE") {
    d->model = detail::ModelKind::kBpe;
    d->byte_level = byte_level;
    d->byte_fallback = bool_or(model, "byte_fallback", false);
    d->ignore_merges = bool_or(model, "ignore_merges", false);
    d->fuse_unk = bool_or(model, "fuse_unk", false);
    d->decoder = byte_level ? detail::DecoderKind::kByteLevel : detail::DecoderKind::kSpm;
    if (!str_or(model, "continuing_subword_prefix", "").empty() || !str_or(model, "end_of_word_suffix", "").empty())
      return Error("BPE with continuing_subword_prefix / end_of_word_suffix is not supported");
    if (!model.contains("merges")) return Error("model.merges is missing");
    std::vector<std::string> joined;
    const json& mj = model.at("merges");
    joined.reserve(mj.size());
    for (const json& m : mj) {
      if (m.is_string()) {
        joined.push_back(m.get<std::string>());
      } else if (m.is_array() && m.size() == 2) {
        joined.push_back(m.at(0).get<std::string>() + " " + m.at(1).get<std::string>());
      } else {
        return Error("a merge is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }
    std::vector<std::string_view> views(joined.begin(), joined.end());
    NURI_TRY(d->add_merges_from_strings(views).with_context("model.merges"));
  } else if (mtype == "WordPiece") {
    d->model = detail::ModelKind::kWordPiece;
    d->byte_level = false;
    d->wp_word_prefix = "";
    d->wp_cont_prefix = str_or(model, "continuing_subword_prefix", "##");
    if (model.contains("max_input_chars_per_word") && model.at("max_input_chars_per_word").is_number_unsigned())
      d->wp_max_chars = model.at("max_input_chars_per_word").get<size_t>();
    d->decoder = detail::DecoderKind::kWordPiece;
    d->decode_strip_leading_space = true;
  } else if (mtype == "Unigram") {
    d->model = detail::ModelKind::kUnigram;
    d->byte_level = false;
    d->decoder = detail::DecoderKind::kSpm;
    if (model.contains("unk_id") && model.at("unk_id").is_number_integer())
      d->unk_id = model.at("unk_id").get<int32_t>();
  } else {
    return Error("unsupported model type '" + mtype + "'");
  }
  if (d->unk_id < 0) {
    std::string unk = str_or(model, "unk_token", "");
    if (!unk.empty()) d->unk_id = d->lookup(unk);
  }
  if (d->unk_id >= static_cast<int32_t>(d->attrs.size()))
    return Error("model.unk_id " + std::to_string(d->unk_id) + " is outside the vocabulary (" +
                 std::to_string(d->attrs.size()) + " tokens)");
  if (d->unk_id >= 0 && d->attrs[d->unk_id] == TokenAttr::kNormal) d->attrs[d->unk_id] = TokenAttr::kUnknown;

  // BOS/EOS: the post-processor template, then tokenizer_config.json (special_rules.h).
  namespace fs = std::filesystem;
  std::string cfg_path = (fs::path(path).parent_path() / "tokenizer_config.json").string();
  bool cfg_ok = false;
  std::string cfg_text = read_file(cfg_path, cfg_ok);
  json cfg = cfg_ok ? json::parse(cfg_text, nullptr, /*allow_exceptions=*/false) : json();
  if (!cfg.is_object()) cfg = json();
  const detail::HfSpecial sp = detail::hf_special(root.value("post_processor", json()), cfg,
                                                  [&](const std::string& t) { return d->lookup(t); });
  if (sp.bos_id >= 0) d->bos_id = sp.bos_id;
  if (sp.eos_id >= 0) d->eos_id = sp.eos_id;
  d->add_bos = sp.flags.add_bos;
  d->add_eos = sp.flags.add_eos;
  if (cfg.is_object()) {
    if (cfg.contains("bos_token")) {
      int32_t id = d->lookup(token_content(cfg.at("bos_token")));
      if (id >= 0) d->bos_id = id;
    }
    if (cfg.contains("eos_token")) {
      int32_t id = d->lookup(token_content(cfg.at("eos_token")));
      if (id >= 0) d->eos_id = id;
    }
    if (cfg.contains("pad_token")) d->pad_id = d->lookup(token_content(cfg.at("pad_token")));
  }
  d->pre_name = "tokenizer.json";
  return make_tokenizer(std::move(d));
}

}  // namespace

Result<Tokenizer> Tokenizer::from_hf_json(const std::string& path) {
  try {
    auto r = load(path);
    if (!r.ok()) return r.status().with_context(path);
    return r;
  } catch (const std::exception& e) {
    return Error(path + ": invalid tokenizer.json: " + e.what());
  }
}

}  // namespace nuri::tokenizer
