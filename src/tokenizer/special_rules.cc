// tokenizer/special_rules.cc — BOS/EOS/SEP rules (see special_rules.h). The GGUF defaults are
// the facts of llama.cpp's vocabulary loader (commit de3ff815); tests/tokenizer checks them
// against llama.cpp itself (tools/parity/special_defaults.mjs).
#include "tokenizer/special_rules.h"

#include <initializer_list>

#include <nlohmann/json.hpp>

namespace nuri::tokenizer::detail {

namespace {

bool one_of(std::string_view s, std::initializer_list<std::string_view> names) {
  for (std::string_view n : names)
    if (s == n) return true;
  return false;
}

bool is_bpe_model(std::string_view model) { return one_of(model, {"gpt2", "gemma4", "hybriddna", "whitespace"}); }

// The pre-tokenizer a BPE vocabulary ends up with ("gemma4" vocabularies always use gemma4's).
std::string_view effective_pre(std::string_view model, std::string_view pre) {
  return model == "gemma4" ? std::string_view("gemma4") : pre;
}

}  // namespace

SpecialFlags gguf_special_defaults(std::string_view model, std::string_view pre) {
  SpecialFlags f;
  if (model == "llama") {  // SentencePiece
    f.add_bos = true;
  } else if (model == "bert") {  // WordPiece: [CLS] text [SEP]
    f.add_bos = true;
    f.add_sep = true;
  } else if (model == "t5") {  // Unigram: text </s>
    f.add_eos = true;
  } else if (is_bpe_model(model)) {
    const std::string_view p = effective_pre(model, pre);
    // Pre-tokenizers whose models were trained with a leading BOS.
    if (one_of(p, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                   "jina-v5-nano", "tekken", "chameleon"}))
      f.add_bos = true;
    // RoBERTa-style encoders put a separator after the text.
    if (one_of(p, {"jina-v1-en", "jina-v2-code", "roberta-bpe"})) f.add_sep = true;
  }
  // rwkv, plamo2, none and unknown types: nothing.
  return f;
}

SpecialFlags resolve_gguf_special(std::string_view model, std::string_view pre, std::optional<bool> add_bos_key,
                                  std::optional<bool> add_eos_key, std::optional<bool> add_sep_key) {
  SpecialFlags f = gguf_special_defaults(model, pre);
  if (add_bos_key) f.add_bos = *add_bos_key;
  if (add_eos_key) f.add_eos = *add_eos_key;
  if (add_sep_key) f.add_sep = *add_sep_key;
  // Gemma 4 needs its BOS whatever the file says (llama.cpp overrides add_bos_token = false).
  const std::string_view p = effective_pre(model, pre);
  if (is_bpe_model(model) && one_of(p, {"gemma4", "granite-embed-multi-311m"})) f.add_bos = true;
  return f;
}

SpecialIds gguf_default_ids(std::string_view model) {
  SpecialIds ids;
  if (model == "llama") {
    ids.bos = 1;
    ids.eos = 2;
    ids.unk = 0;
  } else if (model == "bert") {
    ids.bos = 101;  // [CLS]
    ids.unk = 100;
    ids.sep = 102;
    ids.pad = 0;
  } else if (model == "gpt2") {
    ids.bos = 11;  // llama.cpp's historical default for BPE files that name neither
    ids.eos = 11;
  } else if (model == "t5") {
    ids.eos = 1;
    ids.unk = 2;
    ids.pad = 0;
  }
  return ids;
}

namespace {

std::string str_or(const nlohmann::json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || !j.at(key).is_string()) return "";
  return j.at(key).get<std::string>();
}

// TemplateProcessing `single`: special tokens before the sequence are BOS, after it EOS.
void scan_template(const nlohmann::json& tp, const std::function<int32_t(const std::string&)>& lookup,
                   HfSpecial& out) {
  if (!tp.contains("single") || !tp.at("single").is_array()) return;
  bool seen_seq = false;
  for (const nlohmann::json& piece : tp.at("single")) {
    if (!piece.is_object()) continue;
    if (piece.contains("Sequence")) {
      seen_seq = true;
      continue;
    }
    if (!piece.contains("SpecialToken")) continue;
    const std::string text = str_or(piece.at("SpecialToken"), "id");
    const int32_t id = text.empty() ? -1 : lookup(text);
    if (id < 0) continue;
    if (!seen_seq) {
      out.bos_id = id;
      out.flags.add_bos = true;
    } else {
      out.eos_id = id;
      out.flags.add_eos = true;
    }
  }
}

// BertProcessing / RobertaProcessing: cls text sep, as [text, id] pairs.
void scan_cls_sep(const nlohmann::json& pp, const std::function<int32_t(const std::string&)>& lookup, HfSpecial& out) {
  auto first = [&](const char* key) -> int32_t {
    if (!pp.contains(key) || !pp.at(key).is_array() || pp.at(key).empty() || !pp.at(key).at(0).is_string()) return -1;
    return lookup(pp.at(key).at(0).get<std::string>());
  };
  const int32_t cls = first("cls"), sep = first("sep");
  if (cls >= 0) {
    out.bos_id = cls;
    out.flags.add_bos = true;
  }
  if (sep >= 0) {
    out.eos_id = sep;
    out.flags.add_eos = true;
  }
}

void scan_processor(const nlohmann::json& pp, const std::function<int32_t(const std::string&)>& lookup,
                    HfSpecial& out) {
  const std::string type = str_or(pp, "type");
  if (type == "TemplateProcessing") scan_template(pp, lookup, out);
  if (type == "BertProcessing" || type == "RobertaProcessing") scan_cls_sep(pp, lookup, out);
  if (type == "Sequence" && pp.contains("processors") && pp.at("processors").is_array())
    for (const nlohmann::json& x : pp.at("processors"))
      if (x.is_object()) scan_processor(x, lookup, out);
}

}  // namespace

HfSpecial hf_special(const nlohmann::json& post_processor, const nlohmann::json& tokenizer_config,
                     const std::function<int32_t(const std::string&)>& lookup) {
  HfSpecial out;
  if (post_processor.is_object()) scan_processor(post_processor, lookup, out);
  if (tokenizer_config.is_object()) {
    auto flag = [&](const char* key, bool& dst) {
      if (tokenizer_config.contains(key) && tokenizer_config.at(key).is_boolean()) dst = tokenizer_config.at(key).get<bool>();
    };
    flag("add_bos_token", out.flags.add_bos);
    flag("add_eos_token", out.flags.add_eos);
  }
  return out;
}

}  // namespace nuri::tokenizer::detail
