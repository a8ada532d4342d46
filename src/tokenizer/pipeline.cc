// tokenizer/pipeline.cc — the encode pipeline: special-token split, normalizers, pre-tokenizer
// steps (HF semantics: each step splits the current pieces), then the model per piece.
#include <algorithm>
#include <cstring>

#include "tokenizer/tokenizer_data.h"
#include "tokenizer/unicode.h"

namespace nuri::tokenizer::detail {

namespace {

constexpr const char* kSpace = "\xE2\x96\x81";  // ▁

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  if (from.empty() || s.find(from) == std::string::npos) return;
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t pos = 0;
  for (;;) {
    size_t f = s.find(from, pos);
    if (f == std::string::npos) break;
    out.append(s, pos, f - pos);
    out.append(to);
    pos = f + from.size();
  }
  out.append(s, pos, std::string::npos);
  s = std::move(out);
}

std::string bert_normalize(std::string_view text, const NormStep& st) {
  using namespace unicode;
  std::vector<uint32_t> cps;
  cps.reserve(text.size() + 8);
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = decode_utf8(text, i);
    if (st.bert_clean) {
      bool control = cp != '\t' && cp != '\n' && cp != '\r' && is_other(cp);
      if (cp == 0 || cp == 0xFFFD || control) continue;
      if (is_whitespace(cp)) cp = ' ';
    }
    if (st.bert_chinese && is_chinese_char(cp)) {
      cps.push_back(' ');
      cps.push_back(cp);
      cps.push_back(' ');
    } else {
      cps.push_back(cp);
    }
  }
  std::string s = from_cps(cps);
  if (st.bert_strip_accents) {
    std::vector<uint32_t> d = to_cps(nfd(s));
    cps.clear();
    for (uint32_t cp : d)
      if (!is_mark_nonspacing(cp)) cps.push_back(cp);
    s = from_cps(cps);
  }
  if (st.bert_lower) {
    std::vector<uint32_t> low;
    low.reserve(s.size());
    for (size_t i = 0; i < s.size();) append_lower(low, decode_utf8(s, i));
    s = from_cps(low);
  }
  return s;
}

// Mapped (GPT-2 byte alphabet) view of buf[b, e) with offsets back to buf.
void map_bytes(std::string_view src, std::string& mapped, std::vector<uint32_t>& moff) {
  mapped.clear();
  moff.clear();
  for (size_t k = 0; k < src.size(); ++k) {
    const std::string& m = unicode::byte_to_utf8(static_cast<uint8_t>(src[k]));
    for (size_t j = 0; j < m.size(); ++j) moff.push_back(static_cast<uint32_t>(k));
    mapped += m;
  }
  moff.push_back(static_cast<uint32_t>(src.size()));
}

using Ranges = std::vector<std::pair<size_t, size_t>>;

// Applies one split behavior to the segments of a piece. `segs` holds (begin, end, is_match).
void apply_behavior(const std::vector<std::tuple<size_t, size_t, bool>>& segs, SplitBehavior beh,
                    Ranges& out) {
  const size_t base = out.size();
  switch (beh) {
    case SplitBehavior::kIsolated:
      for (auto& [b, e, m] : segs) out.emplace_back(b, e);
      break;
    case SplitBehavior::kRemoved:
      for (auto& [b, e, m] : segs)
        if (!m) out.emplace_back(b, e);
      break;
    case SplitBehavior::kContiguous: {
      bool prev_match = false;
      for (auto& [b, e, m] : segs) {
        if (m && prev_match && out.size() > base && out.back().second == b) {
          out.back().second = e;
        } else {
          out.emplace_back(b, e);
        }
        prev_match = m;
      }
      break;
    }
    case SplitBehavior::kMergedWithPrevious: {
      bool prev_match = false;
      for (auto& [b, e, m] : segs) {
        if (m && !prev_match && out.size() > base && out.back().second == b) {
          out.back().second = e;
        } else {
          out.emplace_back(b, e);
        }
        prev_match = m;
      }
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      bool pending = false;
      size_t pb = 0, pe = 0;
      for (auto& [b, e, m] : segs) {
        if (m) {
          if (pending) out.emplace_back(pb, pe);
          pending = true;
          pb = b;
          pe = e;
        } else if (pending) {
          out.emplace_back(pb, e);
          pending = false;
        } else {
          out.emplace_back(b, e);
        }
      }
      if (pending) out.emplace_back(pb, pe);
      break;
    }
  }
}

void split_piece(const PreStep& st, std::string_view buf, size_t pb, size_t pe, Ranges& out) {
  thread_local Ranges matches;
  thread_local std::string mapped;
  thread_local std::vector<uint32_t> moff;
  matches.clear();
  std::string_view src = buf.substr(pb, pe - pb);
  if (st.on_mapped) {
    map_bytes(src, mapped, moff);
    st.regex.find_all(mapped, matches);
    for (auto& m : matches) {
      m.first = moff[m.first];
      m.second = moff[m.second];
    }
  } else {
    st.regex.find_all(src, matches);
  }
  std::vector<std::tuple<size_t, size_t, bool>> segs;
  size_t pos = 0;
  for (auto& [b, e] : matches) {
    if (b > pos) segs.emplace_back(pb + pos, pb + b, st.invert);
    if (e > b) segs.emplace_back(pb + b, pb + e, !st.invert);
    pos = e;
  }
  if (pos < src.size()) segs.emplace_back(pb + pos, pe, st.invert);
  apply_behavior(segs, st.behavior, out);
}

}  // namespace

std::string TokenizerData::normalize(std::string_view text, bool first_segment) const {
  std::string s(text);
  for (const NormStep& st : normalizers) {
    switch (st.kind) {
      case NormStep::kNfc:
        if (!unicode::is_nfc_quick(s)) s = unicode::nfc(s);
        break;
      case NormStep::kNfd:
        if (!unicode::is_nfc_quick(s)) s = unicode::nfd(s);
        break;
      case NormStep::kLowercase: {
        std::vector<uint32_t> low;
        for (size_t i = 0; i < s.size();) unicode::append_lower(low, unicode::decode_utf8(s, i));
        s = unicode::from_cps(low);
        break;
      }
      case NormStep::kBert:
        s = bert_normalize(s, st);
        break;
      case NormStep::kPrepend:
        if (!s.empty()) s = st.a + s;
        break;
      case NormStep::kReplace:
        replace_all(s, st.a, st.b);
        break;
      case NormStep::kStripAccents: {
        std::vector<uint32_t> cps;
        for (size_t i = 0; i < s.size();) {
          uint32_t cp = unicode::decode_utf8(s, i);
          if (!unicode::is_mark_nonspacing(cp)) cps.push_back(cp);
        }
        s = unicode::from_cps(cps);
        break;
      }
      case NormStep::kStrip: {
        size_t b = 0, e = s.size();
        if (st.strip_left)
          while (b < e && (s[b] == ' ' || s[b] == '\t' || s[b] == '\n' || s[b] == '\r')) ++b;
        if (st.strip_right)
          while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\n' || s[e - 1] == '\r')) --e;
        s = s.substr(b, e - b);
        break;
      }
    }
  }
  if (escape_spaces) {
    if (remove_extra_whitespaces) {
      std::string t;
      t.reserve(s.size());
      bool prev_space = true;
      for (char c : s) {
        bool sp = c == ' ' || c == '\t' || c == '\n' || c == '\r';
        if (sp) {
          if (!prev_space) t.push_back(' ');
        } else {
          t.push_back(c);
        }
        prev_space = sp;
      }
      while (!t.empty() && t.back() == ' ') t.pop_back();
      s = std::move(t);
    }
    if (add_space_prefix && !s.empty()) s.insert(s.begin(), ' ');  // every segment, as HF's Prepend
    replace_all(s, " ", kSpace);
  }
  return s;
}

void TokenizerData::pre_tokenize(std::string& buf, Ranges& pieces, bool first_segment) const {
  Ranges next;
  for (const PreStep& st : pre_steps) {
    next.clear();
    switch (st.kind) {
      case PreStep::kSplit:
      case PreStep::kWhitespaceSplit:
        for (auto& [b, e] : pieces) split_piece(st, buf, b, e, next);
        break;
      case PreStep::kBert:
        for (auto& [b, e] : pieces) split_piece(st, buf, b, e, next);
        break;
      case PreStep::kByteLevel:
        for (auto& [b, e] : pieces) {
          size_t pb = b, pe = e;
          if (st.add_prefix_space && (pe == pb || buf[pb] != ' ')) {
            std::string tmp(1, ' ');
            tmp.append(buf, pb, pe - pb);
            pb = buf.size();
            buf.append(tmp);
            pe = buf.size();
          }
          if (st.use_regex) {
            split_piece(st, buf, pb, pe, next);
          } else {
            next.emplace_back(pb, pe);
          }
        }
        break;
      case PreStep::kMetaspace:
        for (size_t k = 0; k < pieces.size(); ++k) {
          std::string tmp = buf.substr(pieces[k].first, pieces[k].second - pieces[k].first);
          replace_all(tmp, " ", st.replacement);
          bool prepend = st.prepend_scheme == 0 ||
                         (st.prepend_scheme == 1 && first_segment && pieces[k].first == 0 && k == 0);
          if (prepend && tmp.compare(0, st.replacement.size(), st.replacement) != 0)
            tmp = st.replacement + tmp;
          size_t pb = buf.size();
          buf += tmp;
          if (st.split) {
            // Split on the replacement, each occurrence starting a new piece.
            size_t pos = pb, start = pb;
            while ((pos = buf.find(st.replacement, pos)) != std::string::npos) {
              if (pos > start) next.emplace_back(start, pos);
              start = pos;
              pos += st.replacement.size();
            }
            if (buf.size() > start) next.emplace_back(start, buf.size());
          } else {
            next.emplace_back(pb, buf.size());
          }
        }
        break;
    }
    pieces.swap(next);
    pieces.erase(std::remove_if(pieces.begin(), pieces.end(),
                                [](const auto& r) { return r.second <= r.first; }),
                 pieces.end());
  }
}

void TokenizerData::encode_segment(std::string_view text, bool first_segment,
                                   std::vector<int32_t>& out) const {
  if (text.empty()) return;
  std::string buf = normalize(text, first_segment);
  if (buf.empty()) return;
  Ranges pieces;
  pieces.emplace_back(0, buf.size());
  pre_tokenize(buf, pieces, first_segment);

  std::unique_lock<std::mutex> lk(cache_mu, std::try_to_lock);
  const bool use_cache = lk.owns_lock();
  if (use_cache && cache.size() > 200000) cache.clear();
  for (auto& [b, e] : pieces) {
    std::string_view p(buf.data() + b, e - b);
    if (use_cache && p.size() <= 64) {
      auto it = cache.find(std::string(p));
      if (it != cache.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        continue;
      }
      size_t n0 = out.size();
      model_encode(p, out);
      cache.emplace(std::string(p), std::vector<int32_t>(out.begin() + n0, out.end()));
    } else {
      model_encode(p, out);
    }
  }
}

void TokenizerData::model_encode(std::string_view piece, std::vector<int32_t>& out) const {
  switch (model) {
    case ModelKind::kBpe: bpe_encode(piece, out); break;
    case ModelKind::kSpm: spm_encode(piece, out); break;
    case ModelKind::kWordPiece: wordpiece_encode(piece, out); break;
    case ModelKind::kUnigram: unigram_encode(piece, out); break;
  }
}

void TokenizerData::encode_text(std::string_view text, bool parse_special,
                                std::vector<int32_t>& out) const {
  size_t seg = 0;
  bool first = true;
  for (size_t i = 0; i < text.size();) {
    const auto& cands = special_by_byte[static_cast<uint8_t>(text[i])];
    int32_t hit = -1;
    for (int32_t id : cands) {
      TokenAttr a = attrs[id];
      if (a != TokenAttr::kUserDefined && !parse_special) continue;
      const std::string& t = tokens[id];
      if (t.size() <= text.size() - i && std::memcmp(text.data() + i, t.data(), t.size()) == 0) {
        hit = id;
        break;
      }
    }
    if (hit < 0) {
      ++i;
      continue;
    }
    encode_segment(text.substr(seg, i - seg), first, out);
    out.push_back(hit);
    first = false;
    i += tokens[hit].size();
    seg = i;
  }
  encode_segment(text.substr(seg), first, out);
}

}  // namespace nuri::tokenizer::detail
