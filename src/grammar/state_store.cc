// grammar/state_store.cc — stack expansion, byte steps with partial UTF-8, interning.
#include "grammar/state_store.h"

#include <algorithm>
#include <cstring>

namespace nuri::grammar {

namespace {
constexpr size_t kMaxFrames = 1024;   // deeper stacks (runaway right recursion) are dropped
constexpr size_t kMaxStacks = 4096;   // per state (pathologically ambiguous grammars are cut)
constexpr int kMaxDepth = 20000;      // expansion recursion
}  // namespace

StateStore::StateStore(const Grammar& g) : g_(&g) { reset_tables(); }

void StateStore::reset_tables() {
  data_.clear();
  off_.clear();
  len_.clear();
  flags_.clear();
  shash_.clear();
  stable_.assign(1 << 12, -1);
  smask_ = stable_.size() - 1;
  tkeys_.assign(1 << 14, 0);
  tvals_.assign(tkeys_.size(), -1);
  tmask_ = tkeys_.size() - 1;
  tcount_ = 0;
}

void StateStore::emit() {
  if (n_emitted_ >= kMaxStacks) return;
  ++n_emitted_;
  emit_off_.push_back(static_cast<uint32_t>(emit_buf_.size()));
  emit_buf_.push_back(static_cast<uint32_t>(cur_.size()));
  for (const Frame& f : cur_) {
    emit_buf_.push_back(f.pos);
    emit_buf_.push_back(f.count);
  }
}

void StateStore::push_alts(uint32_t rule, int depth) {
  for (uint32_t alt : g_->rules()[rule].alts) {
    cur_.push_back({alt, 0});
    expand(depth + 1);
    cur_.pop_back();
  }
}

// cur_ is a stack whose top frame may not be a kChar yet: emit every stack it expands to.
void StateStore::expand(int depth) {
  if (cur_.empty()) {
    emit();
    return;
  }
  if (cur_.size() > kMaxFrames || depth > kMaxDepth || n_emitted_ >= kMaxStacks) return;
  const auto& E = g_->elems();
  const Frame f = cur_.back();
  const Elem& e = E[f.pos];
  switch (e.op) {
    case Op::kChar:
      emit();
      return;
    case Op::kEnd: {
      cur_.pop_back();
      if (cur_.empty()) {
        emit();
      } else {
        const Frame p = cur_.back();
        const Elem& pe = E[p.pos];
        if (pe.op == Op::kRef) {
          cur_.back() = {p.pos + 1, 0};
        } else {  // kRep: one more iteration done
          uint32_t k = p.count + 1;
          if (pe.max < 0) k = std::min<uint32_t>(k, static_cast<uint32_t>(pe.min));
          cur_.back() = {p.pos, k};
        }
        expand(depth + 1);
        cur_.back() = p;
      }
      cur_.push_back(f);
      return;
    }
    case Op::kRef:
      push_alts(e.rule, depth);
      return;
    case Op::kRep: {
      if (g_->nullable(e.rule) && !seen_.insert(cur_).second) return;  // bounded loops through empty bodies
      if (f.count >= static_cast<uint32_t>(e.min)) {
        cur_.back() = {f.pos + 1, 0};
        expand(depth + 1);
        cur_.back() = f;
      }
      if (e.max < 0 || f.count < static_cast<uint32_t>(e.max)) push_alts(e.rule, depth);
      return;
    }
  }
}

int32_t StateStore::initial() {
  emit_buf_.clear();
  emit_off_.clear();
  seen_.clear();
  n_emitted_ = 0;
  cur_.clear();
  push_alts(g_->root(), 0);
  int32_t s = finish(0, 0);
  if (s < 0) {  // a root that matches nothing at all: a state with no stacks, never complete
    flat_.assign({0, 0, 0});
    s = intern(flat_);
  }
  return s;
}

int32_t StateStore::finish(uint32_t partial, uint32_t rem) {
  if (emit_off_.empty()) return -1;
  const uint32_t* b = emit_buf_.data();
  auto less = [b](uint32_t x, uint32_t y) {
    const uint32_t nx = b[x] * 2 + 1, ny = b[y] * 2 + 1;
    const uint32_t n = std::min(nx, ny);
    for (uint32_t i = 0; i < n; ++i)
      if (b[x + i] != b[y + i]) return b[x + i] < b[y + i];
    return nx < ny;
  };
  std::sort(emit_off_.begin(), emit_off_.end(), less);
  flat_.clear();
  flat_.push_back(partial);
  flat_.push_back(rem);
  flat_.push_back(0);
  uint32_t n = 0;
  int64_t prev = -1;
  for (uint32_t o : emit_off_) {
    const uint32_t len = b[o] * 2 + 1;
    if (prev >= 0 && b[prev] == b[o] && std::equal(b + prev, b + prev + len, b + o)) continue;
    flat_.insert(flat_.end(), b + o, b + o + len);
    prev = o;
    ++n;
  }
  flat_[2] = n;
  return intern(flat_);
}

int32_t StateStore::intern(const std::vector<uint32_t>& flat) {
  uint64_t h = 0x9E3779B97F4A7C15ull;
  for (uint32_t v : flat) h = mix(h ^ v) + 0x632BE59BD9B4E019ull;
  size_t i = h & smask_;
  while (stable_[i] >= 0) {
    const int32_t id = stable_[i];
    if (shash_[id] == h && len_[id] == flat.size() && std::equal(flat.begin(), flat.end(), data_.begin() + off_[id]))
      return id;
    i = (i + 1) & smask_;
  }
  const int32_t id = static_cast<int32_t>(off_.size());
  off_.push_back(static_cast<uint32_t>(data_.size()));
  len_.push_back(static_cast<uint32_t>(flat.size()));
  data_.insert(data_.end(), flat.begin(), flat.end());
  shash_.push_back(h);
  uint8_t fl = 0;
  if (flat[1] == 0) {
    // Walk the stacks: an empty one means complete; a non-empty one can take more bytes.
    size_t p = 3;
    for (uint32_t k = 0; k < flat[2]; ++k) {
      const uint32_t nf = flat[p];
      if (nf == 0) fl |= kComplete;
      else fl |= kHasChars;
      p += 1 + 2 * nf;
    }
  } else {
    fl |= kHasChars;
  }
  flags_.push_back(fl);
  stable_[i] = id;
  if (off_.size() * 2 > stable_.size()) {
    std::vector<int32_t> t(stable_.size() * 2, -1);
    const size_t m = t.size() - 1;
    for (int32_t s = 0; s < static_cast<int32_t>(off_.size()); ++s) {
      size_t j = shash_[s] & m;
      while (t[j] >= 0) j = (j + 1) & m;
      t[j] = s;
    }
    stable_.swap(t);
    smask_ = m;
  }
  return id;
}

void StateStore::put_transition(uint64_t key, int32_t v) {
  if ((tcount_ + 1) * 2 > tkeys_.size()) {
    std::vector<uint64_t> k2(tkeys_.size() * 2, 0);
    std::vector<int32_t> v2(k2.size(), -1);
    const size_t m = k2.size() - 1;
    for (size_t i = 0; i < tkeys_.size(); ++i) {
      if (!tkeys_[i]) continue;
      size_t j = mix(tkeys_[i]) & m;
      while (k2[j]) j = (j + 1) & m;
      k2[j] = tkeys_[i];
      v2[j] = tvals_[i];
    }
    tkeys_.swap(k2);
    tvals_.swap(v2);
    tmask_ = m;
  }
  size_t h = mix(key) & tmask_;
  while (tkeys_[h] && tkeys_[h] != key) h = (h + 1) & tmask_;
  if (!tkeys_[h]) ++tcount_;
  tkeys_[h] = key;
  tvals_[h] = v;
}

int32_t StateStore::next_slow(int32_t s, uint8_t byte) {
  const uint64_t key = (static_cast<uint64_t>(s) << 8 | byte) + 1;
  // Copy the state out: interning may grow data_.
  std::vector<uint32_t> st(data_.begin() + off_[s], data_.begin() + off_[s] + len_[s]);
  uint32_t partial = st[0], rem = st[1] & 0xF, total = st[1] >> 4;
  bool full = false;
  uint32_t cp = 0;
  if (rem == 0) {
    if (byte < 0x80) {
      cp = byte;
      full = true;
    } else if (byte >= 0xC2 && byte <= 0xDF) {
      partial = byte & 0x1F, rem = 1, total = 2;
    } else if (byte >= 0xE0 && byte <= 0xEF) {
      partial = byte & 0x0F, rem = 2, total = 3;
    } else if (byte >= 0xF0 && byte <= 0xF4) {
      partial = byte & 0x07, rem = 3, total = 4;
    } else {
      put_transition(key, -1);
      return -1;
    }
  } else {
    if ((byte & 0xC0) != 0x80) {
      put_transition(key, -1);
      return -1;
    }
    partial = (partial << 6) | (byte & 0x3F);
    if (--rem == 0) {
      cp = partial;
      full = true;
    }
  }
  uint32_t lo = cp, hi = cp;
  if (!full) {
    lo = partial << (6 * rem);
    hi = lo | ((1u << (6 * rem)) - 1);
  }
  static const uint32_t kMinCp[5] = {0, 0, 0x80, 0x800, 0x10000};
  lo = std::max(lo, kMinCp[total]);
  hi = std::min<uint32_t>(hi, 0x10FFFF);
  if (full && (cp < kMinCp[total] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))) lo = 1, hi = 0;
  emit_buf_.clear();
  emit_off_.clear();
  seen_.clear();
  n_emitted_ = 0;
  const auto& E = g_->elems();
  if (lo <= hi) {
    size_t p = 3;
    for (uint32_t k = 0; k < st[2]; ++k) {
      const uint32_t nf = st[p];
      if (nf > 0) {
        const Frame top{st[p + 1 + 2 * (nf - 1)], st[p + 2 + 2 * (nf - 1)]};
        const Elem& e = E[top.pos];
        if (full ? g_->char_matches(e, cp) : g_->char_intersects(e, lo, hi)) {
          cur_.clear();
          for (uint32_t j = 0; j < nf; ++j) cur_.push_back({st[p + 1 + 2 * j], st[p + 2 + 2 * j]});
          if (full) {
            cur_.back().pos += 1;
            expand(0);
          } else {
            emit();
          }
        }
      }
      p += 1 + 2 * nf;
    }
  }
  const int32_t r = finish(full ? 0 : partial, full ? 0 : (rem | total << 4));
  put_transition(key, r);
  return r;
}

int32_t StateStore::compact(int32_t keep, int32_t* also) {
  std::vector<uint32_t> a(data_.begin() + off_[keep], data_.begin() + off_[keep] + len_[keep]);
  std::vector<uint32_t> b(data_.begin() + off_[*also], data_.begin() + off_[*also] + len_[*also]);
  reset_tables();
  int32_t na = intern(a);
  *also = intern(b);
  return na;
}

}  // namespace nuri::grammar
