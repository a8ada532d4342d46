// tokenizer/models.cc — the per-piece models: BPE (merge by rank), SentencePiece (merge by
// score, byte fallback), WordPiece (greedy longest match), Unigram (Viterbi).
#include <algorithm>
#include <climits>
#include <cstring>
#include <limits>
#include <queue>

#include "tokenizer/tokenizer_data.h"
#include "tokenizer/unicode.h"

namespace nuri::tokenizer::detail {

namespace {

bool mergeable(TokenAttr a) { return a == TokenAttr::kNormal || a == TokenAttr::kUserDefined; }

// Merges adjacent symbols by lowest rank (leftmost on ties) until no pair merges.
void bpe_merge(const PairMap& merges, std::vector<int32_t>& sym) {
  const size_t n = sym.size();
  if (n < 2) return;
  if (n <= 64) {
    thread_local std::vector<int32_t> rank, merged;
    rank.resize(n);
    merged.resize(n);
    size_t m = n;
    for (size_t i = 0; i + 1 < m; ++i) rank[i] = merges.find(sym[i], sym[i + 1], merged[i]);
    while (m >= 2) {
      int32_t best = INT32_MAX;
      size_t bi = SIZE_MAX;
      for (size_t i = 0; i + 1 < m; ++i) {
        if (rank[i] >= 0 && rank[i] < best) {
          best = rank[i];
          bi = i;
        }
      }
      if (bi == SIZE_MAX) break;
      sym[bi] = merged[bi];
      for (size_t k = bi + 1; k + 1 < m; ++k) {
        sym[k] = sym[k + 1];
        rank[k] = rank[k + 1];
        merged[k] = merged[k + 1];
      }
      --m;
      if (bi > 0) rank[bi - 1] = merges.find(sym[bi - 1], sym[bi], merged[bi - 1]);
      if (bi + 1 < m) rank[bi] = merges.find(sym[bi], sym[bi + 1], merged[bi]);
    }
    sym.resize(m);
    return;
  }
  // Long inputs: linked list + min-heap of candidate merges, validated lazily.
  struct Node {
    int32_t id, prev, next;
  };
  struct Cand {
    int32_t rank, pos, merged;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Node> nodes(n);
  for (size_t i = 0; i < n; ++i)
    nodes[i] = {sym[i], static_cast<int32_t>(i) - 1, i + 1 < n ? static_cast<int32_t>(i + 1) : -1};
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  auto push = [&](int32_t pos) {
    if (pos < 0 || nodes[pos].next < 0) return;
    int32_t mg;
    int32_t r = merges.find(nodes[pos].id, nodes[nodes[pos].next].id, mg);
    if (r >= 0) heap.push({r, pos, mg});
  };
  for (size_t i = 0; i + 1 < n; ++i) push(static_cast<int32_t>(i));
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    Node& l = nodes[c.pos];
    if (l.id < 0 || l.next < 0) continue;
    int32_t mg = -1;
    if (merges.find(l.id, nodes[l.next].id, mg) != c.rank || mg != c.merged) continue;
    Node& r = nodes[l.next];
    l.id = c.merged;
    r.id = -1;
    l.next = r.next;
    if (r.next >= 0) nodes[r.next].prev = c.pos;
    push(l.prev);
    push(c.pos);
  }
  sym.clear();
  for (int32_t i = 0; i >= 0 && i < static_cast<int32_t>(n); i = nodes[i].next) sym.push_back(nodes[i].id);
}

}  // namespace

void TokenizerData::bpe_encode(std::string_view piece, std::vector<int32_t>& out) const {
  thread_local std::vector<int32_t> sym;
  sym.clear();
  if (byte_level) {
    if (ignore_merges) {
      std::string mapped;
      for (char c : piece) mapped += unicode::byte_to_utf8(static_cast<uint8_t>(c));
      int32_t id = lookup(mapped);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    for (char c : piece) {
      int32_t id = byte_token[static_cast<uint8_t>(c)];
      if (id >= 0) {
        sym.push_back(id);
      } else if (unk_id >= 0) {
        sym.push_back(unk_id);
      }
    }
  } else {
    if (ignore_merges) {
      int32_t id = lookup(piece);
      if (id >= 0) {
        out.push_back(id);
        return;
      }
    }
    for (size_t i = 0; i < piece.size();) {
      size_t start = i;
      uint32_t cp = unicode::decode_utf8(piece, i);
      auto it = (cp & unicode::kInvalidCp) ? char_token.end() : char_token.find(cp);
      if (it != char_token.end()) {
        sym.push_back(it->second);
        continue;
      }
      bool done = false;
      if (byte_fallback) {
        done = true;
        for (size_t k = start; k < i; ++k)
          if (byte_token[static_cast<uint8_t>(piece[k])] < 0) done = false;
        if (done)
          for (size_t k = start; k < i; ++k) sym.push_back(byte_token[static_cast<uint8_t>(piece[k])]);
      }
      if (!done && unk_id >= 0) {
        if (!(fuse_unk && !sym.empty() && sym.back() == unk_id)) sym.push_back(unk_id);
      }
    }
  }
  bpe_merge(merges, sym);
  out.insert(out.end(), sym.begin(), sym.end());
}

void TokenizerData::spm_encode(std::string_view text, std::vector<int32_t>& out) const {
  struct Sym {
    int32_t prev, next;
    uint32_t off, n;
  };
  struct Bigram {
    float score;
    int32_t left, right;
    uint32_t size;
    bool operator<(const Bigram& o) const {
      return score < o.score || (score == o.score && left > o.left);
    }
  };
  std::vector<Sym> syms;
  syms.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    size_t len = std::min<size_t>(text.size() - i, unicode::utf8_len(static_cast<uint8_t>(text[i])));
    int32_t idx = static_cast<int32_t>(syms.size());
    syms.push_back({idx - 1, i + len == text.size() ? -1 : idx + 1, static_cast<uint32_t>(i),
                    static_cast<uint32_t>(len)});
    i += len;
  }
  std::priority_queue<Bigram> q;
  auto try_add = [&](int32_t l, int32_t r) {
    if (l < 0 || r < 0) return;
    std::string_view s = text.substr(syms[l].off, syms[l].n + syms[r].n);
    int32_t id = lookup(s);
    if (id < 0 || !mergeable(attrs[id])) return;
    q.push({scores.empty() ? 0.0f : scores[id], l, r, static_cast<uint32_t>(s.size())});
  };
  for (size_t i = 1; i < syms.size(); ++i) try_add(static_cast<int32_t>(i - 1), static_cast<int32_t>(i));
  while (!q.empty()) {
    Bigram b = q.top();
    q.pop();
    Sym& l = syms[b.left];
    Sym& r = syms[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) syms[r.next].prev = b.left;
    try_add(l.prev, b.left);
    try_add(b.left, l.next);
  }
  for (int32_t i = syms.empty() ? -1 : 0; i >= 0; i = syms[i].next) {
    std::string_view s = text.substr(syms[i].off, syms[i].n);
    int32_t id = lookup(s);
    if (id >= 0 && mergeable(attrs[id])) {
      out.push_back(id);
      continue;
    }
    for (char c : s) {
      int32_t bid = byte_token[static_cast<uint8_t>(c)];
      if (bid >= 0) {
        out.push_back(bid);
      } else if (unk_id >= 0) {
        out.push_back(unk_id);
      }
    }
  }
}

void TokenizerData::wordpiece_encode(std::string_view word, std::vector<int32_t>& out) const {
  size_t n_chars = 0;
  for (size_t i = 0; i < word.size();) {
    unicode::decode_utf8(word, i);
    ++n_chars;
  }
  if (n_chars > wp_max_chars) {
    if (unk_id >= 0) out.push_back(unk_id);
    return;
  }
  size_t n0 = out.size();
  std::string cand;
  size_t start = 0;
  while (start < word.size()) {
    size_t end = word.size();
    int32_t found = -1;
    while (end > start) {
      cand = start == 0 ? wp_word_prefix : wp_cont_prefix;
      cand.append(word.substr(start, end - start));
      int32_t id = lookup(cand);
      if (id >= 0) {
        found = id;
        break;
      }
      --end;
      while (end > start && (static_cast<uint8_t>(word[end]) & 0xC0) == 0x80) --end;
    }
    if (found < 0) {
      out.resize(n0);
      if (unk_id >= 0) out.push_back(unk_id);
      return;
    }
    out.push_back(found);
    start = end;
  }
}

void TokenizerData::unigram_encode(std::string_view text, std::vector<int32_t>& out) const {
  const size_t n = text.size();
  struct Best {
    double score;
    int32_t prev;
    int32_t id;
  };
  const double kNeg = -std::numeric_limits<double>::infinity();
  const double unk_score = unigram_unk_score;
  std::vector<Best> best(n + 1, {kNeg, -1, -1});
  best[0].score = 0.0;
  for (size_t i = 0; i < n;) {
    size_t clen = std::min<size_t>(n - i, unicode::utf8_len(static_cast<uint8_t>(text[i])));
    if (best[i].score != kNeg) {
      bool single = false;
      for (size_t len = clen; i + len <= n && len <= max_token_len;) {
        int32_t id = lookup(text.substr(i, len));
        if (id >= 0 && mergeable(attrs[id])) {
          double s = best[i].score + (scores.empty() ? 0.0 : scores[id]);
          if (s > best[i + len].score) best[i + len] = {s, static_cast<int32_t>(i), id};
          if (len == clen) single = true;
        }
        if (i + len >= n) break;
        len += std::min<size_t>(n - i - len, unicode::utf8_len(static_cast<uint8_t>(text[i + len])));
      }
      if (!single) {
        double s = best[i].score + unk_score;
        if (s > best[i + clen].score) best[i + clen] = {s, static_cast<int32_t>(i), unk_id};
      }
    }
    i += clen;
  }
  std::vector<int32_t> ids;
  for (int64_t pos = static_cast<int64_t>(n); pos > 0; pos = best[pos].prev) {
    if (best[pos].prev < 0) break;
    ids.push_back(best[pos].id);
  }
  std::reverse(ids.begin(), ids.end());
  for (int32_t id : ids) {
    if (id < 0) continue;
    if (id == unk_id && !out.empty() && out.back() == unk_id) continue;
    out.push_back(id);
  }
}

}  // namespace nuri::tokenizer::detail
