// grammar/matcher.cc — the vocabulary trie and the token-mask matcher.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "grammar/grammar.h"
#include "grammar/state_store.h"
#include "tokenizer/tokenizer.h"

namespace nuri::grammar {

namespace {
constexpr size_t kMaxStoreWords = size_t{16} << 20;  // ~64 MB of interned states, then start over

// Valid UTF-8 from the first byte (a truncated last sequence allowed); counts code points.
bool utf8_prefix_ok(const unsigned char* p, size_t n, int* cps) {
  int count = 0;
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    const int len = c < 0x80 ? 1 : (c >= 0xC2 && c <= 0xDF) ? 2 : (c >= 0xE0 && c <= 0xEF) ? 3 : (c >= 0xF0 && c <= 0xF4) ? 4 : 0;
    if (len == 0) return false;
    for (int k = 1; k < len && i + k < n; ++k)
      if ((p[i + k] & 0xC0) != 0x80) return false;
    // Overlong / surrogate / out-of-range second bytes.
    if (i + 1 < n && len > 2) {
      const unsigned char d = p[i + 1];
      if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) || (c == 0xF4 && d > 0x8F)) return false;
    }
    ++count;
    i += len;
  }
  *cps = count;
  return true;
}
}  // namespace

size_t Vocab::class_masks_kept() const {
  std::lock_guard<std::mutex> lock(class_mu_);
  return class_masks_.size();
}

void Vocab::copy_class_mask(const uint64_t ascii[2], bool nonascii, int r, uint32_t* out) const {
  std::lock_guard<std::mutex> lock(class_mu_);
  ClassMasks* cm = nullptr;
  for (auto& c : class_masks_)
    if (c->ascii[0] == ascii[0] && c->ascii[1] == ascii[1] && c->nonascii == nonascii) cm = c.get();
  if (!cm) {
    auto c = std::make_unique<ClassMasks>();
    c->ascii[0] = ascii[0];
    c->ascii[1] = ascii[1];
    c->nonascii = nonascii;
    const size_t nw = mask_words(n_vocab_);
    std::vector<std::pair<int32_t, int>> members;
    int rmax = 0;
    for (int32_t t = 0; t < n_vocab_; ++t) {
      const std::string& p = pieces_[t];
      if (p.empty() || is_eog_[t]) continue;
      bool in = true;
      for (unsigned char b : p) {
        if (b < 0x80 ? !((ascii[b >> 6] >> (b & 63)) & 1) : !nonascii) {
          in = false;
          break;
        }
      }
      int cps = 0;
      if (!in || !utf8_prefix_ok(reinterpret_cast<const unsigned char*>(p.data()), p.size(), &cps)) continue;
      members.push_back({t, cps});
      rmax = std::max(rmax, cps);
    }
    c->le.assign(rmax + 1, std::vector<uint32_t>(nw, 0));
    for (auto [t, cps] : members) c->le[cps][t >> 5] |= 1u << (t & 31);
    for (int k = 1; k <= rmax; ++k)
      for (size_t w = 0; w < nw; ++w) c->le[k][w] |= c->le[k - 1][w];
    cm = c.get();
    if (class_masks_.size() >= kMaxClassMasks) class_masks_.erase(class_masks_.begin());  // oldest first
    class_masks_.push_back(std::move(c));
  }
  const auto& m = cm->le[std::min<int>(r, static_cast<int>(cm->le.size()) - 1)];
  std::memcpy(out, m.data(), m.size() * sizeof(uint32_t));  // under the lock: entries may be dropped
}

std::shared_ptr<const Vocab> Vocab::build(const std::vector<std::string>& pieces, std::vector<int32_t> eog) {
  auto v = std::make_shared<Vocab>();
  v->n_vocab_ = static_cast<int32_t>(pieces.size());
  v->pieces_ = pieces;
  v->is_eog_.assign(pieces.size(), 0);
  for (int32_t id : eog)
    if (id >= 0 && id < v->n_vocab_ && !v->is_eog_[id]) {
      v->is_eog_[id] = 1;
      v->eog_.push_back(id);
    }
  std::vector<int32_t> ids;
  for (int32_t i = 0; i < v->n_vocab_; ++i)
    if (!pieces[i].empty() && !v->is_eog_[i]) ids.push_back(i);
  std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return pieces[a] < pieces[b] || (pieces[a] == pieces[b] && a < b); });
  auto& nodes = v->nodes_;
  nodes.push_back(Node{});
  std::vector<uint32_t> path{0};  // node index per depth
  const std::string* prev = nullptr;
  for (int32_t id : ids) {
    const std::string& p = pieces[id];
    size_t lcp = 0;
    if (prev) {
      const size_t n = std::min(prev->size(), p.size());
      while (lcp < n && (*prev)[lcp] == p[lcp]) ++lcp;
    }
    while (path.size() > lcp + 1) {
      nodes[path.back()].end = static_cast<uint32_t>(nodes.size());
      path.pop_back();
    }
    for (size_t d = lcp; d < p.size(); ++d) {
      Node n;
      n.byte = static_cast<uint8_t>(p[d]);
      n.depth = static_cast<uint16_t>(d + 1);
      n.tok_begin = n.tok_end = static_cast<uint32_t>(v->node_tokens_.size());
      path.push_back(static_cast<uint32_t>(nodes.size()));
      nodes.push_back(n);
    }
    // Summaries of the suffix from each node on the path to the end of this piece.
    if (v->tree_.size() < nodes.size()) v->tree_.resize(nodes.size() * 2);
    for (size_t d = 0; d < p.size(); ++d) {
      Tree& tr = v->tree_[path[d + 1]];
      int cps = 0;
      const auto* u = reinterpret_cast<const unsigned char*>(p.data());
      if (!utf8_prefix_ok(u + d, p.size() - d, &cps)) {
        tr.utf8_ok = false;
        cps = 0;
        for (size_t k = d; k < p.size(); ++k) cps += (u[k] & 0xC0) != 0x80;
      }
      tr.max_cp = static_cast<uint16_t>(std::min(std::max<int>(tr.max_cp, cps), 65535));
      for (size_t k = d; k < p.size(); ++k) {
        if (u[k] < 0x80) tr.ascii[u[k] >> 6] |= 1ull << (u[k] & 63);
        else tr.nonascii = true;
      }
    }
    Node& last = nodes[path.back()];
    if (last.tok_end != v->node_tokens_.size()) last.tok_begin = static_cast<uint32_t>(v->node_tokens_.size());
    v->node_tokens_.push_back(id);
    last.tok_end = static_cast<uint32_t>(v->node_tokens_.size());
    v->max_depth_ = std::max<int>(v->max_depth_, static_cast<int>(p.size()));
    prev = &p;
  }
  while (!path.empty()) {
    nodes[path.back()].end = static_cast<uint32_t>(nodes.size());
    path.pop_back();
  }
  v->tree_.resize(nodes.size());
  return v;
}

std::shared_ptr<const Vocab> Vocab::from_tokenizer(const tokenizer::Tokenizer& tok) {
  std::vector<std::string> pieces(tok.n_vocab());
  std::vector<int32_t> eog;
  for (int32_t i = 0; i < tok.n_vocab(); ++i) {
    if (tok.is_eog(i)) eog.push_back(i);
    else if (tok.attr(i) != tokenizer::TokenAttr::kControl && tok.attr(i) != tokenizer::TokenAttr::kUnused)
      pieces[i] = tok.token_to_piece(i, /*render_special=*/false);
  }
  return build(pieces, std::move(eog));
}

struct Matcher::Level {
  int32_t state = 0;
  int32_t cps = -1;   // code points since the run started here or above; -1: not in a run
  bool root = false;  // the run started at the root (its tokens are in the class bitmask)
  StateStore::RunInfo run;
};

Matcher::Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const Vocab> vocab)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)), store_(std::make_unique<StateStore>(*grammar_)) {
  initial_ = state_ = store_->initial();
  levels_.assign(static_cast<size_t>(vocab_->max_depth()) + 1, Level{});
}
Matcher::~Matcher() = default;
Matcher::Matcher(Matcher&&) noexcept = default;
Matcher& Matcher::operator=(Matcher&&) noexcept = default;

void Matcher::reset() {
  state_ = initial_;
  finished_ = false;
}

bool Matcher::is_complete() const { return store_->complete(state_); }
bool Matcher::can_continue() const { return !finished_ && store_->can_continue(state_); }

bool Matcher::accept_bytes(std::string_view bytes) {
  if (finished_) return bytes.empty();
  int32_t s = state_;
  for (char c : bytes) {
    s = store_->next(s, static_cast<uint8_t>(c));
    if (s < 0) return false;
  }
  state_ = s;
  return true;
}

bool Matcher::allows(int32_t token) {
  if (token < 0 || token >= vocab_->n_vocab() || finished_) return false;
  if (vocab_->is_eog(token)) return is_complete();
  const std::string& p = vocab_->piece(token);
  if (p.empty()) return false;
  int32_t s = state_;
  for (char c : p) {
    s = store_->next(s, static_cast<uint8_t>(c));
    if (s < 0) return false;
  }
  return true;
}

bool Matcher::accept(int32_t token) {
  if (token < 0 || token >= vocab_->n_vocab() || finished_) return false;
  if (vocab_->is_eog(token)) {
    if (!is_complete()) return false;
    finished_ = true;
    return true;
  }
  const std::string& p = vocab_->piece(token);
  if (p.empty()) return false;
  return accept_bytes(p);
}

int32_t Matcher::fill_mask(uint32_t* mask) {
  const size_t nw = mask_words(vocab_->n_vocab());
  if (finished_) {
    std::memset(mask, 0, nw * sizeof(uint32_t));
    return 0;
  }
  if (store_->words() > kMaxStoreWords) state_ = store_->compact(state_, &initial_);
  StateStore& st = *store_;
  const auto& nodes = vocab_->nodes();
  const auto& tree = vocab_->tree();
  const int32_t* toks = vocab_->node_tokens().data();
  Level* lv = levels_.data();
  lv[0].state = state_;
  lv[0].cps = -1;
  // Inside a run (e.g. a JSON string body) the tokens made only of the run's characters come
  // from a per-class bitmask; the walk below only visits subtrees that leave the run.
  const StateStore::RunInfo& root_run = st.run_info(state_);
  if (root_run.status == 1) {
    vocab_->copy_class_mask(root_run.ascii, root_run.nonascii, root_run.budget, mask);
    lv[0].cps = 0;
    lv[0].run = root_run;
    lv[0].root = true;
  } else {
    std::memset(mask, 0, nw * sizeof(uint32_t));
  }
  const uint32_t n = static_cast<uint32_t>(nodes.size());
  int64_t visited = 0;
  for (uint32_t i = 1; i < n;) {
    const Vocab::Node& nd = nodes[i];
    const Level& P = lv[nd.depth - 1];
    const uint8_t b = nd.byte;
    if (P.cps >= 0) {
      const Vocab::Tree& tr = tree[i];
      const StateStore::RunInfo& R = P.run;
      bool skip;
      if (P.root) {
        // The class bitmask already holds this subtree's tokens that are only C within the
        // budget; longer ones and invalid UTF-8 are rejected by every state of the run, and so
        // is any token with a byte outside C that no stack takes. Only bytes that can leave the
        // run need a walk.
        skip = !(tr.ascii[0] & ~R.ascii[0] & R.exit_ascii[0]) && !(tr.ascii[1] & ~R.ascii[1] & R.exit_ascii[1]) &&
               (!tr.nonascii || R.nonascii || !R.exit_nonascii);
      } else {
        skip = tr.utf8_ok && !(tr.ascii[0] & ~R.ascii[0]) && !(tr.ascii[1] & ~R.ascii[1]) && (!tr.nonascii || R.nonascii) &&
               P.cps + tr.max_cp <= R.budget;
        // Every token below is the run's characters within its budget: all allowed.
        if (skip)
          for (uint32_t k = nd.tok_begin, e = vocab_->subtree_tok_end(i); k < e; ++k) mask[toks[k] >> 5] |= 1u << (toks[k] & 31);
      }
      if (skip) {
        i = nd.end;
        continue;
      }
    } else if (!st.may_take(P.state, b)) {
      i = nd.end;
      continue;
    }
    int32_t s;
    bool in_c = false;
    if (P.cps >= 0) {
      in_c = b < 0x80 ? ((P.run.ascii[b >> 6] >> (b & 63)) & 1) : P.run.nonascii;
      if (in_c && (b & 0xC0) != 0x80 && b < 0x80 && P.cps < P.run.budget) {
        s = st.run_info(P.state).succ;  // P.state is the run's state after P.cps characters
      } else if (!in_c && (b < 0x80 ? !((P.run.exit_ascii[b >> 6] >> (b & 63)) & 1) : !P.run.exit_nonascii)) {
        s = -1;  // no stack of any state of this run takes b
      } else {
        s = st.next(P.state, b);
      }
    } else {
      s = st.next(P.state, b);
    }
    ++visited;
    if (s < 0) {
      i = nd.end;
      continue;
    }
    Level& L = lv[nd.depth];
    L.state = s;
    if (P.cps >= 0 && in_c) {
      L.cps = P.cps + ((b & 0xC0) != 0x80);
      L.run = P.run;
      L.root = P.root;
    } else {
      L.cps = -1;
      if (vocab_->subtree_tok_end(i) - nd.tok_begin >= 16) {
        const StateStore::RunInfo& r = st.run_info(s);
        if (r.status == 1) {
          L.cps = 0;
          L.run = r;
          L.root = false;
        }
      }
    }
    for (uint32_t k = nd.tok_begin; k < nd.tok_end; ++k) mask[toks[k] >> 5] |= 1u << (toks[k] & 31);
    ++i;
  }
  visited_ = visited;
  if (is_complete())
    for (int32_t t : vocab_->eog()) mask[t >> 5] |= 1u << (t & 31);
  int32_t count = 0;
  for (size_t w = 0; w < nw; ++w) count += __builtin_popcount(mask[w]);
  return count;
}

}  // namespace nuri::grammar
