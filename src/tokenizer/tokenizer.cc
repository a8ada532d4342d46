// tokenizer/tokenizer.cc — the Tokenizer facade, vocab finalization, decoding, streaming.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "base/log.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer_data.h"
#include "tokenizer/unicode.h"

namespace nuri::tokenizer {

namespace detail {

void PairMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
}

bool PairMap::insert(int32_t a, int32_t b, int32_t rank, int32_t merged) {
  if (mask_ == 0 || (size_ + 1) * 2 > slots_.size()) {
    std::vector<Slot> old = std::move(slots_);
    reserve(std::max<size_t>(16, (size_ + 1) * 2));
    for (const Slot& s : old)
      if (s.key != kEmpty)
        insert(static_cast<int32_t>(s.key >> 32), static_cast<int32_t>(s.key & 0xFFFFFFFFu), s.rank, s.merged);
  }
  uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
  size_t h = hash(key) & mask_;
  for (;;) {
    Slot& s = slots_[h];
    if (s.key == kEmpty) {
      s = {key, rank, merged};
      ++size_;
      return true;
    }
    if (s.key == key) return false;
    h = (h + 1) & mask_;
  }
}

Status TokenizerData::add_merges_from_strings(const std::vector<std::string_view>& list) {
  merges.reserve(list.size());
  size_t unresolved = 0;
  std::string joined;
  for (size_t r = 0; r < list.size(); ++r) {
    std::string_view m = list[r];
    size_t sp = m.size() > 1 ? m.find(' ', 1) : std::string_view::npos;
    if (sp == std::string_view::npos)
      return Error("merge #" + std::to_string(r) + " '" + std::string(m) +
                   "' is not two tokens separated by a space");
    std::string_view a = m.substr(0, sp), b = m.substr(sp + 1);
    joined.assign(a);
    joined.append(b);
    int32_t ia = lookup(a), ib = lookup(b), im = lookup(joined);
    if (ia < 0 || ib < 0 || im < 0) {
      ++unresolved;
      continue;
    }
    merges.insert(ia, ib, static_cast<int32_t>(r), im);
  }
  if (unresolved > 0) {
    if (unresolved * 10 > list.size() + 10)
      return Error(std::to_string(unresolved) + " of " + std::to_string(list.size()) +
                   " merges name tokens that are not in the vocabulary");
    NURI_LOG_WARN("tokenizer: %zu merges name tokens not in the vocabulary; ignored", unresolved);
  }
  return Status::ok();
}

Status TokenizerData::finalize() {
  const size_t n = tokens.size();
  if (n == 0) return Error("vocabulary is empty");
  if (n > static_cast<size_t>(INT32_MAX)) return Error("vocabulary is too large");
  if (!scores.empty() && scores.size() != n)
    return Error("scores has " + std::to_string(scores.size()) + " entries but there are " +
                 std::to_string(n) + " tokens");
  if (attrs.empty()) attrs.assign(n, TokenAttr::kNormal);
  if (attrs.size() != n)
    return Error("token types has " + std::to_string(attrs.size()) + " entries but there are " +
                 std::to_string(n) + " tokens");
  auto check_id = [&](int32_t id, const char* what) -> Status {
    if (id < -1 || id >= static_cast<int32_t>(n))
      return Error(std::string(what) + " token id " + std::to_string(id) + " is out of range [0, " +
                   std::to_string(n) + ")");
    return Status::ok();
  };
  NURI_TRY(check_id(unk_id, "unknown"));
  NURI_TRY(check_id(bos_id, "bos"));
  NURI_TRY(check_id(eos_id, "eos"));
  NURI_TRY(check_id(eot_id, "eot"));
  NURI_TRY(check_id(eom_id, "eom"));
  NURI_TRY(check_id(pad_id, "padding"));
  NURI_TRY(check_id(sep_id, "separator"));
  NURI_TRY(check_id(cls_id, "cls"));

  if (token_to_id.empty()) {
    token_to_id.reserve(n * 2);
    for (size_t i = 0; i < n; ++i) token_to_id.emplace(tokens[i], static_cast<int32_t>(i));
  }
  byte_token.fill(-1);
  char buf[8];
  for (int b = 0; b < 256; ++b) {
    if (byte_level && model == ModelKind::kBpe) {
      byte_token[b] = lookup(unicode::byte_to_utf8(static_cast<uint8_t>(b)));
    } else {
      std::snprintf(buf, sizeof(buf), "<0x%02X>", b);
      byte_token[b] = lookup(buf);
    }
  }
  char_token.clear();
  max_token_len = 0;
  float min_score = 0.0f;
  for (float sc : scores) min_score = std::min(min_score, sc);
  unigram_unk_score = static_cast<double>(min_score) - 10.0;
  for (size_t i = 0; i < n; ++i) {
    const std::string& t = tokens[i];
    max_token_len = std::max(max_token_len, t.size());
    if (attrs[i] != TokenAttr::kNormal && attrs[i] != TokenAttr::kUserDefined) continue;
    size_t k = 0;
    if (!t.empty() && !byte_level) {
      uint32_t cp = unicode::decode_utf8(t, k);
      if (k == t.size() && !(cp & unicode::kInvalidCp)) char_token.emplace(cp, static_cast<int32_t>(i));
    }
  }
  for (auto& v : special_by_byte) v.clear();
  for (size_t i = 0; i < n; ++i) {
    TokenAttr a = attrs[i];
    if (tokens[i].empty()) continue;
    if (a == TokenAttr::kControl || a == TokenAttr::kUserDefined || a == TokenAttr::kUnknown)
      special_by_byte[static_cast<uint8_t>(tokens[i][0])].push_back(static_cast<int32_t>(i));
  }
  for (auto& v : special_by_byte)
    std::stable_sort(v.begin(), v.end(),
                     [&](int32_t x, int32_t y) { return tokens[x].size() > tokens[y].size(); });

  eog.clear();
  for (int32_t id : {eos_id, eot_id, eom_id})
    if (id >= 0) eog.insert(id);
  static const char* kEogTexts[] = {
      "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|eom_id|>", "<|end_of_text|>",
      "<end_of_turn>", "<|end|>", "<|END_OF_TURN_TOKEN|>", "<turn|>", "<|return|>", "<|call|>",
      "<EOT>", "<|eot|>", "<｜end▁of▁sentence｜>", "<|end_of_turn|>", "</s>", "<eos>"};
  for (const char* t : kEogTexts) {
    int32_t id = lookup(t);
    if (id >= 0 && attrs[id] != TokenAttr::kNormal) eog.insert(id);
  }
  return Status::ok();
}

std::string TokenizerData::piece(int32_t id, bool render_special) const {
  if (id < 0 || id >= static_cast<int32_t>(tokens.size())) return {};
  const std::string& t = tokens[id];
  switch (attrs[id]) {
    case TokenAttr::kControl:
    case TokenAttr::kUnknown:
    case TokenAttr::kUnused:
      return render_special ? t : std::string();
    case TokenAttr::kUserDefined:
      return t;
    case TokenAttr::kByte:
      if (t.size() == 6 && t[0] == '<' && t[1] == '0' && t[2] == 'x' && t[5] == '>') {
        return std::string(1, static_cast<char>(std::stoi(t.substr(3, 2), nullptr, 16)));
      }
      return t;
    case TokenAttr::kNormal:
      break;
  }
  switch (decoder) {
    case DecoderKind::kByteLevel: {
      std::string out;
      out.reserve(t.size());
      for (size_t i = 0; i < t.size();) {
        size_t s = i;
        uint32_t cp = unicode::decode_utf8(t, i);
        int b = (cp & unicode::kInvalidCp) ? -1 : unicode::cp_to_byte(cp);
        if (b >= 0) {
          out.push_back(static_cast<char>(b));
        } else {
          out.append(t, s, i - s);
        }
      }
      return out;
    }
    case DecoderKind::kSpm: {
      std::string out;
      out.reserve(t.size());
      for (size_t i = 0; i < t.size();) {
        if (t.compare(i, 3, "\xE2\x96\x81") == 0) {
          out.push_back(' ');
          i += 3;
        } else {
          out.push_back(t[i++]);
        }
      }
      return out;
    }
    case DecoderKind::kWordPiece:
      if (!wp_word_prefix.empty()) {
        if (t.compare(0, wp_word_prefix.size(), wp_word_prefix) == 0)
          return " " + t.substr(wp_word_prefix.size());
        return t;
      }
      if (!wp_cont_prefix.empty() && t.compare(0, wp_cont_prefix.size(), wp_cont_prefix) == 0)
        return t.substr(wp_cont_prefix.size());
      return " " + t;
    case DecoderKind::kRaw:
      return t;
  }
  return t;
}

}  // namespace detail

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  if (!d_) return out;
  out.reserve(text.size() / 3 + 4);
  if (add_special && d_->add_bos && d_->bos_id >= 0) out.push_back(d_->bos_id);
  d_->encode_text(text, parse_special, out);
  if (add_special && d_->add_eos && d_->eos_id >= 0) out.push_back(d_->eos_id);
  // Only WordPiece appends the separator on encode (as llama.cpp does; BPE encoders that set
  // add_sep use it when pairing texts, which encode does not do).
  if (add_special && d_->add_sep && d_->sep_id >= 0 && d_->model == detail::ModelKind::kWordPiece)
    out.push_back(d_->sep_id);
  return out;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string out;
  if (!d_) return out;
  bool first = true;
  for (int32_t id : ids) {
    std::string p = d_->piece(id, render_special);
    if (first && !p.empty()) {
      if (d_->decode_strip_leading_space && p[0] == ' ' && d_->attrs[id] == TokenAttr::kNormal)
        p.erase(0, 1);
      first = false;
    }
    out += p;
  }
  return out;
}

std::string Tokenizer::token_to_piece(int32_t id, bool render_special) const {
  return d_ ? d_->piece(id, render_special) : std::string();
}

int32_t Tokenizer::n_vocab() const { return d_ ? static_cast<int32_t>(d_->tokens.size()) : 0; }
int32_t Tokenizer::bos_id() const { return d_ ? d_->bos_id : -1; }
int32_t Tokenizer::eos_id() const { return d_ ? d_->eos_id : -1; }
int32_t Tokenizer::unk_id() const { return d_ ? d_->unk_id : -1; }
bool Tokenizer::add_bos() const { return d_ && d_->add_bos; }
bool Tokenizer::add_eos() const { return d_ && d_->add_eos; }
bool Tokenizer::add_sep() const { return d_ && d_->add_sep; }
bool Tokenizer::is_eog(int32_t id) const { return d_ && d_->eog.count(id) > 0; }
const std::string& Tokenizer::token_text(int32_t id) const {
  static const std::string kEmpty;
  if (!d_ || id < 0 || id >= n_vocab()) return kEmpty;
  return d_->tokens[id];
}
TokenAttr Tokenizer::attr(int32_t id) const {
  if (!d_ || id < 0 || id >= n_vocab()) return TokenAttr::kUnused;
  return d_->attrs[id];
}
std::optional<int32_t> Tokenizer::find_token(std::string_view text) const {
  if (!d_) return std::nullopt;
  int32_t id = d_->lookup(text);
  if (id < 0) return std::nullopt;
  return id;
}
std::string Tokenizer::model_name() const { return d_ ? d_->model_name : std::string(); }
std::string Tokenizer::pre_name() const { return d_ ? d_->pre_name : std::string(); }

Result<Tokenizer> Tokenizer::from_file(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) return from_hf_json((fs::path(path) / "tokenizer.json").string());
  if (path.size() >= 5 && path.compare(path.size() - 5, 5, ".gguf") == 0) {
    auto f = io::GgufFile::open(path);
    if (!f.ok()) return f.status();
    auto t = from_gguf(*f);
    if (!t.ok()) return t.status().with_context(path);
    return t;
  }
  return from_hf_json(path);
}

StreamDecoder::StreamDecoder(const Tokenizer& tok, bool render_special)
    : tok_(&tok), render_special_(render_special) {}

std::string StreamDecoder::push(int32_t id) {
  std::string p = tok_->token_to_piece(id, render_special_);
  if (first_ && !p.empty()) {
    if (tok_->d_->decode_strip_leading_space && p[0] == ' ' && tok_->attr(id) == TokenAttr::kNormal)
      p.erase(0, 1);
    first_ = false;
  }
  pending_ += p;
  // Emit everything up to the last complete UTF-8 sequence; hold a valid but truncated tail.
  size_t i = 0, emit = 0;
  while (i < pending_.size()) {
    int len = unicode::utf8_complete_len(pending_, i);
    if (len == 0) break;  // truncated: wait for more bytes
    i += len < 0 ? 1 : static_cast<size_t>(len);
    emit = i;
  }
  std::string out = pending_.substr(0, emit);
  pending_.erase(0, emit);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace nuri::tokenizer

namespace nuri::tokenizer {
Result<Tokenizer> make_tokenizer(std::shared_ptr<detail::TokenizerData> d) {
  NURI_TRY(d->finalize());
  Tokenizer t;
  t.d_ = std::move(d);
  return t;
}
}  // namespace nuri::tokenizer
