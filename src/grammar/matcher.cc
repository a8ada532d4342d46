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

Matcher::Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const Vocab> vocab)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)), store_(std::make_unique<StateStore>(*grammar_)) {
  initial_ = state_ = store_->initial();
  depth_state_.assign(static_cast<size_t>(vocab_->max_depth()) + 1, 0);
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
  std::memset(mask, 0, nw * sizeof(uint32_t));
  if (finished_) return 0;
  if (store_->words() > kMaxStoreWords) state_ = store_->compact(state_, &initial_);
  const auto& nodes = vocab_->nodes();
  const int32_t* toks = vocab_->node_tokens().data();
  int32_t count = 0;
  int32_t* ds = depth_state_.data();
  ds[0] = state_;
  StateStore& st = *store_;
  const uint32_t n = static_cast<uint32_t>(nodes.size());
  for (uint32_t i = 1; i < n;) {
    const Vocab::Node& nd = nodes[i];
    const int32_t s = st.next(ds[nd.depth - 1], nd.byte);
    if (s < 0) {
      i = nd.end;
      continue;
    }
    ds[nd.depth] = s;
    for (uint32_t k = nd.tok_begin; k < nd.tok_end; ++k) {
      const int32_t t = toks[k];
      mask[t >> 5] |= 1u << (t & 31);
      ++count;
    }
    ++i;
  }
  if (is_complete())
    for (int32_t t : vocab_->eog()) {
      mask[t >> 5] |= 1u << (t & 31);
      ++count;
    }
  return count;
}

}  // namespace nuri::grammar
