// tokenizer/load_gguf.cc — builds a Tokenizer from GGUF `tokenizer.ggml.*` metadata, mapping
// `tokenizer.ggml.model` / `tokenizer.ggml.pre` to the Hugging Face pipeline they came from.
#include <string>

#include "base/log.h"
#include "io/gguf.h"
#include "tokenizer/special_rules.h"
#include "tokenizer/tokenizer_data.h"

namespace nuri::tokenizer {

namespace detail {

namespace {

// Pre-tokenizer regexes, as written in the models' tokenizer.json files.
constexpr const char* kGpt2Re =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
constexpr const char* kLlama3Re =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2Re =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen35Re =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?[\p{L}\p{M}]+|\p{N}| ?[^\s\p{L}\p{M}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kTekkenRe =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kGpt4oRe =
    R"([^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kSeedCoderRe =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1}| ?[^\s\p{L}\p{N}\r\n]+|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kBailingRe =
    R"('(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+)";
constexpr const char* kBloomRe = R"( ?[^(\s|.,!?…。，、।۔،)]+)";
// Cased letters (the DeepSeek LLM tokenizer.json class), as code points.
constexpr const char* kDeepseekLlmLetters =
    R"(\s?[A-Za-z\x{B5}\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{1BA}\x{1BC}-\x{1BF}\x{1C4}-\x{293}\x{295}-\x{2AF}\x{370}-\x{373}\x{376}\x{377}\x{37B}-\x{37D}\x{37F}\x{386}\x{388}-\x{38A}\x{38C}\x{38E}-\x{3A1}\x{3A3}-\x{3F5}\x{3F7}-\x{481}\x{48A}-\x{52F}\x{531}-\x{556}\x{10A0}-\x{10C5}\x{13A0}-\x{13F5}\x{13F8}-\x{13FD}\x{1C90}-\x{1CBA}\x{1CBD}-\x{1CBF}\x{1D00}-\x{1D2B}\x{1D6B}-\x{1D77}\x{1D79}-\x{1D9A}\x{1E00}-\x{1F15}\x{1F18}-\x{1F1D}\x{1F20}-\x{1F45}\x{1F48}-\x{1F4D}\x{1F50}-\x{1F57}\x{1F59}\x{1F5B}\x{1F5D}\x{1F5F}-\x{1F7D}\x{1F80}-\x{1FB4}\x{1FB6}-\x{1FBC}\x{1FBE}\x{1FC2}-\x{1FC4}\x{1FC6}-\x{1FCC}\x{1FD0}-\x{1FD3}\x{1FD6}-\x{1FDB}\x{1FE0}-\x{1FEC}\x{1FF2}-\x{1FF4}\x{1FF6}-\x{1FFC}\x{2102}\x{2107}\x{210A}-\x{2113}\x{2115}\x{2119}-\x{211D}\x{2124}\x{2126}\x{2128}\x{212A}-\x{212D}\x{212F}-\x{2134}\x{2139}\x{213C}-\x{213F}\x{2145}-\x{2149}\x{214E}\x{2183}\x{2184}\x{2C00}-\x{2C7B}\x{2C7E}-\x{2CE4}\x{2CEB}-\x{2CEE}\x{2CF2}\x{2CF3}\x{A640}-\x{A66D}\x{A680}-\x{A69B}\x{A722}-\x{A76F}\x{A771}-\x{A787}\x{A78B}-\x{A78E}\x{AB70}-\x{ABBF}\x{FB00}-\x{FB06}\x{FB13}-\x{FB17}\x{FF21}-\x{FF3A}\x{FF41}-\x{FF5A}\x{10400}-\x{1044F}\x{104B0}-\x{104D3}\x{104D8}-\x{104FB}\x{10C80}-\x{10CB2}\x{10CC0}-\x{10CF2}\x{118A0}-\x{118DF}\x{1E900}-\x{1E943}]+)";
constexpr const char* kDeepseekPunct = R"(\s?[!-/:-~\x{FF01}-\x{FF0F}\x{FF1A}-\x{FF5E}\x{2018}-\x{201F}\x{3000}-\x{3002}]+)";
constexpr const char* kCjk = R"([\x{4E00}-\x{9FA5}\x{0800}-\x{4E00}\x{AC00}-\x{D7FF}]+)";
constexpr const char* kDeepseekV3Re =
    R"([!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+| ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kPunctRe = R"([\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E])";

Status add_split(TokenizerData& d, const std::string& re, SplitBehavior beh = SplitBehavior::kIsolated,
                 bool on_mapped = false, bool invert = false) {
  PreStep st;
  st.kind = PreStep::kSplit;
  NURI_ASSIGN_OR_RETURN(st.regex, Regex::compile(re));
  st.behavior = beh;
  st.on_mapped = on_mapped;
  st.invert = invert;
  d.pre_steps.push_back(std::move(st));
  return Status::ok();
}

Status add_byte_level(TokenizerData& d, bool use_regex, bool add_prefix_space = false) {
  PreStep st;
  st.kind = PreStep::kByteLevel;
  st.use_regex = use_regex;
  st.add_prefix_space = add_prefix_space;
  if (use_regex) {
    NURI_ASSIGN_OR_RETURN(st.regex, Regex::compile(kGpt2Re));
  }
  d.pre_steps.push_back(std::move(st));
  return Status::ok();
}

void add_norm(TokenizerData& d, NormStep::Kind k) {
  NormStep n;
  n.kind = k;
  d.normalizers.push_back(n);
}

// Byte-level BPE pipelines by tokenizer.ggml.pre.
Status configure_bpe_pre(TokenizerData& d) {
  const std::string& p = d.pre_name;
  auto is = [&](std::initializer_list<const char*> names) {
    for (const char* n : names)
      if (p == n) return true;
    return false;
  };
  if (is({"llama-bpe", "llama3", "llama-v3", "dbrx", "smaug-bpe", "falcon3", "chatglm-bpe",
          "chatglm4", "pixtral", "granite", "exaone4", "midm-2.0"})) {
    if (is({"llama-bpe", "llama3", "llama-v3"})) d.ignore_merges = true;
    NURI_TRY(add_split(d, kLlama3Re));
    return add_byte_level(d, false);
  }
  if (is({"qwen2", "stablelm2", "hunyuan", "megrez", "grok-2", "solar-open"})) {
    if (p == "qwen2") add_norm(d, NormStep::kNfc);
    NURI_TRY(add_split(d, kQwen2Re));
    return add_byte_level(d, false);
  }
  if (is({"qwen35"})) {  // no NFC here (unlike qwen2): combining marks stay as they are
    NURI_TRY(add_split(d, kQwen35Re));
    return add_byte_level(d, false);
  }
  if (is({"deepseek-llm"})) {
    NURI_TRY(add_split(d, "[\r\n]"));
    NURI_TRY(add_split(d, kDeepseekLlmLetters));
    NURI_TRY(add_split(d, kDeepseekPunct));
    NURI_TRY(add_split(d, "\\s+$"));
    NURI_TRY(add_split(d, kCjk));
    NURI_TRY(add_split(d, "\\p{N}+"));
    return add_byte_level(d, false);
  }
  if (is({"deepseek-coder"})) {
    NURI_TRY(add_split(d, "[\r\n]"));
    NURI_TRY(add_split(d, "\\s?\\p{L}+"));
    NURI_TRY(add_split(d, "\\s?\\p{P}+"));
    NURI_TRY(add_split(d, kCjk));
    NURI_TRY(add_split(d, "\\p{N}"));
    return add_byte_level(d, false);
  }
  if (is({"deepseek-v3", "hunyuan-dense"})) {
    NURI_TRY(add_split(d, "\\p{N}{1,3}"));
    NURI_TRY(add_split(d, R"([\x{4E00}-\x{9FA5}\x{3040}-\x{309F}\x{30A0}-\x{30FF}]+)"));
    NURI_TRY(add_split(d, kDeepseekV3Re));
    return add_byte_level(d, false);
  }
  if (is({"falcon"})) {
    NURI_TRY(add_split(d, std::string(kPunctRe) + "+", SplitBehavior::kIsolated));
    NURI_TRY(add_byte_level(d, true));
    NURI_TRY(add_split(d, "\\p{N}+", SplitBehavior::kIsolated, /*on_mapped=*/true));
    return add_split(d, "[0-9][0-9][0-9]", SplitBehavior::kIsolated, /*on_mapped=*/true);
  }
  if (is({"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva"})) {
    if (p == "command-r") add_norm(d, NormStep::kNfc);
    NURI_TRY(add_split(d, "\\p{N}"));
    return add_byte_level(d, true);
  }
  if (is({"tekken"})) {
    NURI_TRY(add_split(d, kTekkenRe));
    return add_byte_level(d, false);
  }
  if (is({"gpt-4o", "minimax-m2", "llama4"})) {
    NURI_TRY(add_split(d, kGpt4oRe));
    return add_byte_level(d, false);
  }
  if (is({"seed-coder"})) {
    NURI_TRY(add_split(d, kSeedCoderRe));
    return add_byte_level(d, false);
  }
  if (is({"bailingmoe", "bailingmoe2", "llada-moe"})) {
    NURI_TRY(add_split(d, kBailingRe));
    return add_byte_level(d, false);
  }
  if (is({"bloom", "poro-chat", "gpt3-finnish"})) {
    NURI_TRY(add_split(d, kBloomRe));
    return add_byte_level(d, false);
  }
  if (is({"viking"})) {
    NURI_TRY(add_split(d, kBloomRe));
    NURI_TRY(add_split(d, "\\p{N}"));
    return add_byte_level(d, false);
  }
  if (is({"mpt", "olmo", "gpt-neox"})) add_norm(d, NormStep::kNfc);
  if (!is({"gpt-2", "gpt2", "mpt", "olmo", "jais", "trillion", "granite-docling", "gpt-neox",
           "default", ""})) {
    NURI_LOG_WARN("tokenizer: unknown pre-tokenizer '%s'; using the GPT-2 regex", p.c_str());
  }
  return add_byte_level(d, true);
}

}  // namespace

Status configure_gguf_pipeline(TokenizerData& d) {
  const std::string& m = d.model_name;
  if (m == "gpt2") {
    d.model = ModelKind::kBpe;
    d.byte_level = true;
    d.decoder = DecoderKind::kByteLevel;
    return configure_bpe_pre(d);
  }
  if (m == "llama") {
    d.model = ModelKind::kSpm;
    d.byte_level = false;
    d.escape_spaces = true;
    d.decoder = DecoderKind::kSpm;
    d.decode_strip_leading_space = d.add_space_prefix;
    return Status::ok();
  }
  if (m == "gemma4") {
    d.model = ModelKind::kBpe;
    d.byte_level = false;
    d.byte_fallback = true;
    d.escape_spaces = true;
    d.decoder = DecoderKind::kSpm;
    d.decode_strip_leading_space = d.add_space_prefix;
    return Status::ok();
  }
  if (m == "bert") {
    d.model = ModelKind::kWordPiece;
    d.byte_level = false;
    NormStep n;
    n.kind = NormStep::kBert;
    d.normalizers.push_back(n);
    PreStep ws;
    ws.kind = PreStep::kSplit;
    NURI_ASSIGN_OR_RETURN(ws.regex, Regex::compile("\\s+"));
    ws.behavior = SplitBehavior::kRemoved;
    d.pre_steps.push_back(std::move(ws));
    NURI_TRY(add_split(d, kPunctRe));
    d.wp_word_prefix = "\xE2\x96\x81";
    d.wp_cont_prefix = "";
    d.decoder = DecoderKind::kWordPiece;
    d.decode_strip_leading_space = true;
    return Status::ok();
  }
  if (m == "t5") {
    d.model = ModelKind::kUnigram;
    d.byte_level = false;
    d.escape_spaces = true;
    // HF's Metaspace pre-tokenizer: every '▁' starts a new word.
    NURI_TRY(add_split(d, "\\x{2581}", SplitBehavior::kMergedWithNext));
    d.decoder = DecoderKind::kSpm;
    d.decode_strip_leading_space = d.add_space_prefix;
    return Status::ok();
  }
  return Error("unsupported tokenizer model '" + m + "' (supported: llama, gpt2, gemma4, bert, t5)");
}

}  // namespace detail

namespace {

// The id under `key`, or `absent` when the file has no such key.
Result<int32_t> opt_id(const io::GgufFile& f, const std::string& key, int32_t absent = -1) {
  const io::GgufValue* v = f.find(key);
  if (!v) return absent;
  auto x = v->as_int();
  if (!x) return Error(key + " is not an integer");
  if (*x < -1 || *x > INT32_MAX) return Error(key + " = " + std::to_string(*x) + " is out of range");
  return static_cast<int32_t>(*x);
}

}  // namespace

Result<Tokenizer> Tokenizer::from_gguf(const io::GgufFile& f) {
  auto d = std::make_shared<detail::TokenizerData>();
  auto model = f.get_string("tokenizer.ggml.model");
  if (!model) return Error("tokenizer.ggml.model is missing (this GGUF has no tokenizer)");
  d->model_name = *model;
  d->pre_name = f.get_string("tokenizer.ggml.pre").value_or("default");

  const io::GgufValue* tv = f.find("tokenizer.ggml.tokens");
  const io::GgufArray* ta = tv ? tv->as_array() : nullptr;
  if (!ta || ta->elem_type != io::GgufType::kString)
    return Error("tokenizer.ggml.tokens is missing or is not an array of strings");
  d->tokens.reserve(ta->items.size());
  for (const auto& it : ta->items) d->tokens.push_back(*it.as_string());
  const size_t n = d->tokens.size();

  if (f.find("tokenizer.ggml.scores")) {
    auto s = f.get_f32_array("tokenizer.ggml.scores");
    if (!s) return Error("tokenizer.ggml.scores is not a numeric array");
    d->scores = std::move(*s);
  }
  if (f.find("tokenizer.ggml.token_type")) {
    auto tt = f.get_int_array("tokenizer.ggml.token_type");
    if (!tt) return Error("tokenizer.ggml.token_type is not an integer array");
    if (tt->size() != n)
      return Error("tokenizer.ggml.token_type has " + std::to_string(tt->size()) +
                   " entries but tokenizer.ggml.tokens has " + std::to_string(n));
    d->attrs.reserve(n);
    for (int64_t t : *tt) {
      TokenAttr a = TokenAttr::kNormal;
      switch (t) {
        case 2: a = TokenAttr::kUnknown; break;
        case 3: a = TokenAttr::kControl; break;
        case 4: a = TokenAttr::kUserDefined; break;
        case 5: a = TokenAttr::kUnused; break;
        case 6: a = TokenAttr::kByte; break;
        default: a = TokenAttr::kNormal; break;
      }
      d->attrs.push_back(a);
    }
  }
  if (!d->scores.empty() && d->scores.size() != n)
    return Error("tokenizer.ggml.scores has " + std::to_string(d->scores.size()) +
                 " entries but tokenizer.ggml.tokens has " + std::to_string(n));

  const std::string& m = d->model_name;
  // Ids the file does not name take llama.cpp's per-type defaults (if inside the vocabulary).
  const detail::SpecialIds def = detail::gguf_default_ids(m);
  auto in_vocab = [&](int32_t id) { return id >= 0 && static_cast<size_t>(id) < n ? id : -1; };
  NURI_ASSIGN_OR_RETURN(d->bos_id, opt_id(f, "tokenizer.ggml.bos_token_id", in_vocab(def.bos)));
  NURI_ASSIGN_OR_RETURN(d->eos_id, opt_id(f, "tokenizer.ggml.eos_token_id", in_vocab(def.eos)));
  NURI_ASSIGN_OR_RETURN(d->unk_id, opt_id(f, "tokenizer.ggml.unknown_token_id", in_vocab(def.unk)));
  NURI_ASSIGN_OR_RETURN(d->pad_id, opt_id(f, "tokenizer.ggml.padding_token_id", in_vocab(def.pad)));
  NURI_ASSIGN_OR_RETURN(d->eot_id, opt_id(f, "tokenizer.ggml.eot_token_id"));
  NURI_ASSIGN_OR_RETURN(d->eom_id, opt_id(f, "tokenizer.ggml.eom_token_id"));
  NURI_ASSIGN_OR_RETURN(d->sep_id, opt_id(f, "tokenizer.ggml.seperator_token_id", in_vocab(def.sep)));
  NURI_ASSIGN_OR_RETURN(d->cls_id, opt_id(f, "tokenizer.ggml.cls_token_id"));

  const detail::SpecialFlags flags = detail::resolve_gguf_special(
      m, f.get_string("tokenizer.ggml.pre").value_or(""), f.get_bool("tokenizer.ggml.add_bos_token"),
      f.get_bool("tokenizer.ggml.add_eos_token"), f.get_bool("tokenizer.ggml.add_sep_token"));
  d->add_bos = flags.add_bos;
  d->add_eos = flags.add_eos;
  d->add_sep = flags.add_sep;
  d->add_space_prefix = (m == "llama" || m == "t5");
  if (auto b = f.get_bool("tokenizer.ggml.add_space_prefix")) d->add_space_prefix = *b;
  if (auto b = f.get_bool("tokenizer.ggml.remove_extra_whitespaces")) d->remove_extra_whitespaces = *b;
  if (d->unk_id < 0 && (m == "llama" || m == "bert" || m == "t5")) {
    for (size_t i = 0; i < d->attrs.size(); ++i)
      if (d->attrs[i] == TokenAttr::kUnknown) {
        d->unk_id = static_cast<int32_t>(i);
        break;
      }
  }

  NURI_TRY(detail::configure_gguf_pipeline(*d).with_context("tokenizer.ggml.pre '" + d->pre_name + "'"));

  if (d->model == detail::ModelKind::kBpe) {
    const io::GgufValue* mv = f.find("tokenizer.ggml.merges");
    const io::GgufArray* ma = mv ? mv->as_array() : nullptr;
    if (!ma) return Error("tokenizer.ggml.merges is missing (required by the '" + m + "' tokenizer model)");
    if (ma->elem_type != io::GgufType::kString) return Error("tokenizer.ggml.merges is not an array of strings");
    // token_to_id is needed to resolve merges; build it now (finalize keeps it).
    d->token_to_id.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) d->token_to_id.emplace(d->tokens[i], static_cast<int32_t>(i));
    std::vector<std::string_view> list;
    list.reserve(ma->items.size());
    for (const auto& it : ma->items) list.push_back(*it.as_string());
    NURI_TRY(d->add_merges_from_strings(list).with_context("tokenizer.ggml.merges"));
  }
  return make_tokenizer(std::move(d));
}

}  // namespace nuri::tokenizer
