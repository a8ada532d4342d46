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

StateStore::StateStore(const Grammar& g) : g_(&g) {
  alt_rule_.assign(g.elems().size(), -1);
  for (size_t r = 0; r < g.rules().size(); ++r)
    for (uint32_t a : g.rules()[r].alts) alt_rule_[a] = static_cast<int32_t>(r);
  reset_tables();
}

const StateStore::RunInfo& StateStore::run_info(int32_t s) {
  if (run_.size() <= static_cast<size_t>(s)) run_.resize(off_.size());
  if (run_[s].status < 0) {
    RunInfo ri;
    compute_run(s, &ri);
    run_[s] = ri;
  }
  return run_[s];
}

void StateStore::compute_run(int32_t s, RunInfo* ri) {
  ri->status = 0;
  const auto& E = g_->elems();
  const std::vector<uint32_t> st(data_.begin() + off_[s], data_.begin() + off_[s] + len_[s]);
  if (st[1] != 0) return;
  // Find the repetition: stacks whose top is a one-character alternative of rule X directly
  // under a kRep of X, all with the same frames below.
  std::vector<Frame> prefix;
  bool have = false;
  uint32_t rep_rule = 0;
  std::vector<size_t> others;  // offsets of the other stacks
  size_t p = 3;
  for (uint32_t k = 0; k < st[2]; ++k) {
    const uint32_t nf = st[p];
    bool single = false;
    if (nf >= 2) {
      const uint32_t top = st[p + 1 + 2 * (nf - 1)], below = st[p + 1 + 2 * (nf - 2)];
      const int32_t r = alt_rule_[top];
      if (r >= 0 && E[top].op == Op::kChar && E[top + 1].op == Op::kEnd && E[below].op == Op::kRep &&
          E[below].rule == static_cast<uint32_t>(r)) {
        std::vector<Frame> pre;
        for (uint32_t j = 0; j + 1 < nf; ++j) pre.push_back({st[p + 1 + 2 * j], st[p + 2 + 2 * j]});
        if (!have) {
          prefix = pre;
          rep_rule = static_cast<uint32_t>(r);
          have = true;
          single = true;
        } else if (pre == prefix) {
          single = true;
        }
      }
    }
    if (!single) others.push_back(p);
    p += 1 + 2 * nf;
  }
  if (!have) return;
  const Frame rep = prefix.back();
  const Elem& re = E[rep.pos];
  // The state must be exactly the expansion of the repetition frame.
  emit_buf_.clear();
  emit_off_.clear();
  seen_.clear();
  n_emitted_ = 0;
  cur_ = prefix;
  expand(0);
  canonical(0, 0);
  if (flat_ != st) return;
  // C: the one-character alternatives of X, minus anything another stack of this state, or of
  // the state after leaving the repetition, could take.
  uint64_t asc[2] = {0, 0};
  std::vector<std::pair<uint32_t, uint32_t>> non;  // non-ASCII ranges of C
  for (uint32_t a : g_->rules()[rep_rule].alts) {
    if (E[a].op != Op::kChar || E[a + 1].op != Op::kEnd) continue;
    asc[0] |= E[a].ascii[0];
    asc[1] |= E[a].ascii[1];
  }
  bool nonascii_all = false;
  {
    // Does the union of the single-char classes cover U+0080..U+10FFFF?
    std::vector<std::pair<uint32_t, uint32_t>> rs;
    for (uint32_t a : g_->rules()[rep_rule].alts) {
      if (E[a].op != Op::kChar || E[a + 1].op != Op::kEnd) continue;
      const uint32_t* r = g_->ranges().data() + 2 * E[a].range_begin;
      for (uint32_t k = 0; k < E[a].range_count; ++k) rs.push_back({r[2 * k], r[2 * k + 1]});
    }
    std::sort(rs.begin(), rs.end());
    uint32_t reach = 0x80;
    for (auto [lo, hi] : rs) {
      if (hi < reach) continue;
      if (lo > reach) break;
      reach = hi + 1;
    }
    nonascii_all = reach > 0x10FFFF;
  }
  uint64_t ex[2] = {0, 0};
  bool ex_non = false;
  auto remove_top = [&](uint32_t top_pos) {
    const Elem& e = E[top_pos];
    if (e.op != Op::kChar) return;
    asc[0] &= ~e.ascii[0];
    asc[1] &= ~e.ascii[1];
    ex[0] |= e.ascii[0];
    ex[1] |= e.ascii[1];
    if (g_->char_intersects(e, 0x80, 0x10FFFF)) nonascii_all = false, ex_non = true;
  };
  for (size_t o : others) {
    const uint32_t nf = st[o];
    if (nf > 0) remove_top(st[o + 1 + 2 * (nf - 1)]);
  }
  // Exit path tops.
  emit_buf_.clear();
  emit_off_.clear();
  seen_.clear();
  n_emitted_ = 0;
  cur_ = prefix;
  cur_.back() = {rep.pos + 1, 0};
  expand(0);
  for (uint32_t o : emit_off_) {
    const uint32_t nf = emit_buf_[o];
    if (nf > 0) remove_top(emit_buf_[o + 1 + 2 * (nf - 1)]);
  }
  if (!asc[0] && !asc[1] && !nonascii_all) return;
  const int32_t budget = re.max < 0 ? kUnbounded : re.max - static_cast<int32_t>(rep.count);
  if (budget <= 0) return;
  // Single-char alternatives' characters that left C (shared with another stack) still live.
  for (uint32_t a : g_->rules()[rep_rule].alts) {
    if (E[a].op != Op::kChar || E[a + 1].op != Op::kEnd) continue;
    ex[0] |= E[a].ascii[0] & ~asc[0];
    ex[1] |= E[a].ascii[1] & ~asc[1];
    if (!nonascii_all && g_->char_intersects(E[a], 0x80, 0x10FFFF)) ex_non = true;
  }
  emit_buf_.clear();
  emit_off_.clear();
  seen_.clear();
  n_emitted_ = 0;
  cur_ = prefix;
  cur_.back().count = re.max < 0 ? std::min<uint32_t>(rep.count + 1, static_cast<uint32_t>(re.min)) : rep.count + 1;
  expand(0);
  const int32_t succ = finish(0, 0);
  if (succ < 0) return;
  ri->succ = succ;
  ri->exit_ascii[0] = ex[0];
  ri->exit_ascii[1] = ex[1];
  ri->exit_nonascii = ex_non;
  ri->status = 1;
  ri->ascii[0] = asc[0];
  ri->ascii[1] = asc[1];
  ri->nonascii = nonascii_all;
  ri->budget = budget;
}

void StateStore::reset_tables() {
  data_.clear();
  first_.clear();
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
  canonical(partial, rem);
  return intern(flat_);
}

void StateStore::canonical(uint32_t partial, uint32_t rem) {
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
  uint64_t first[2] = {0, 0};
  if (flat[1] == 0) {
    // Walk the stacks: an empty one means complete; a non-empty one can take more bytes.
    size_t p = 3;
    for (uint32_t k = 0; k < flat[2]; ++k) {
      const uint32_t nf = flat[p];
      if (nf == 0) {
        fl |= kComplete;
      } else {
        fl |= kHasChars;
        const Elem& e = g_->elems()[flat[p + 1 + 2 * (nf - 1)]];
        first[0] |= e.ascii[0];
        first[1] |= e.ascii[1];
        if (g_->char_intersects(e, 0x80, 0x10FFFF)) fl |= kNonAscii;
      }
      p += 1 + 2 * nf;
    }
  } else {
    fl |= kHasChars | kNonAscii;  // inside a code point: only continuation bytes
  }
  first_.push_back(first[0]);
  first_.push_back(first[1]);
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
  run_.clear();
  int32_t na = intern(a);
  *also = intern(b);
  return na;
}

}  // namespace nuri::grammar
