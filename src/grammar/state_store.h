// grammar/state_store.h — interned matcher states and their byte transitions (internal).
// A state is a canonical (sorted, deduplicated) set of stacks plus any partial UTF-8 code point;
// each distinct state gets an id, and (state, byte) -> state is cached, so walking the token trie
// is mostly hash lookups. A stack is a list of frames from the bottom; the top frame's element is
// always a kChar (the next code point to match) except for the empty stack (= complete).
// Frame{pos, count}: pos indexes Grammar::elems(); count is the finished iterations of a kRep
// (capped at min for unbounded repeats, so states recur).
#pragma once

#include <cstdint>
#include <set>
#include <vector>

#include "grammar/grammar.h"

namespace nuri::grammar {

struct Frame {
  uint32_t pos;
  uint32_t count;
  bool operator<(const Frame& o) const { return pos != o.pos ? pos < o.pos : count < o.count; }
  bool operator==(const Frame& o) const { return pos == o.pos && count == o.count; }
};

class StateStore {
 public:
  explicit StateStore(const Grammar& g);

  int32_t initial();  // the root rule's expansion
  // The state after one more byte; -1 when the grammar does not allow it.
  int32_t next(int32_t s, uint8_t byte) {
    const uint64_t key = (static_cast<uint64_t>(s) << 8 | byte) + 1;
    size_t h = mix(key) & tmask_;
    while (true) {
      const uint64_t k = tkeys_[h];
      if (k == key) return tvals_[h];
      if (k == 0) return next_slow(s, byte);
      h = (h + 1) & tmask_;
    }
  }
  // Whether byte b can possibly follow state s (false: next() is -1); exact for ASCII.
  bool may_take(int32_t s, uint8_t b) const {
    return b < 0x80 ? (first_[2 * s + (b >> 6)] >> (b & 63)) & 1 : (flags_[s] & kNonAscii) != 0;
  }
  bool complete(int32_t s) const { return flags_[s] & kComplete; }
  bool can_continue(int32_t s) const { return flags_[s] & kHasChars; }
  size_t words() const { return data_.size(); }

  // A "run" state: the expansion of one repetition of a rule whose single-character alternatives
  // cover a class C; every code point of C (minus what other stacks could take) leads to the same
  // state with the count one higher, `budget` more times (kUnbounded: always). Then a token made
  // only of C with at most `budget` code points is accepted from this state.
  static constexpr int32_t kUnbounded = 1 << 30;
  struct RunInfo {
    int8_t status = -1;  // -1 not computed, 0 not a run, 1 a run
    bool nonascii = false;  // C contains every code point >= U+0080
    uint64_t ascii[2] = {0, 0};
    int32_t budget = 0;
    int32_t succ = -1;  // the state after one code point of C
    // Bytes outside C that some stack may still take (anything else is dead from every state
    // of the run).
    uint64_t exit_ascii[2] = {0, 0};
    bool exit_nonascii = false;
  };
  const RunInfo& run_info(int32_t s);
  // Drops every state except `keep` (returned with its new id) when the store grew too big.
  int32_t compact(int32_t keep, int32_t* also);

 private:
  static constexpr uint8_t kComplete = 1, kHasChars = 2, kNonAscii = 4;
  std::vector<uint64_t> first_;  // [2 * state]: ASCII bytes some stack's top accepts
  static uint64_t mix(uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb3f97a4fe63bull;
    x ^= x >> 33;
    return x;
  }
  int32_t next_slow(int32_t s, uint8_t byte);
  void put_transition(uint64_t key, int32_t v);
  void expand(int depth);
  void push_alts(uint32_t rule, int depth);
  void emit();
  int32_t finish(uint32_t partial, uint32_t rem);  // canonicalise emitted stacks -> id (-1 if none)
  void canonical(uint32_t partial, uint32_t rem);  // emitted stacks -> flat_
  void compute_run(int32_t s, RunInfo* ri);
  std::vector<RunInfo> run_;
  std::vector<int32_t> alt_rule_;  // element index -> rule whose alternative starts there, or -1
  int32_t intern(const std::vector<uint32_t>& flat);
  void reset_tables();

  const Grammar* g_;
  // State i: data_[off_[i] .. off_[i] + len_[i]) = partial, rem, n_stacks, (n_frames, pos, count...)...
  std::vector<uint32_t> data_;
  std::vector<uint32_t> off_, len_;
  std::vector<uint8_t> flags_;
  std::vector<uint64_t> shash_;
  std::vector<int32_t> stable_;  // open addressing: state ids by hash
  size_t smask_ = 0;
  std::vector<uint64_t> tkeys_;  // (state << 8 | byte) + 1, 0 = empty
  std::vector<int32_t> tvals_;
  size_t tmask_ = 0, tcount_ = 0;
  // Scratch for one transition.
  std::vector<Frame> cur_;
  std::vector<uint32_t> emit_buf_;
  std::vector<uint32_t> emit_off_;
  std::vector<uint32_t> flat_;
  std::set<std::vector<Frame>> seen_;
  size_t n_emitted_ = 0;
};

}  // namespace nuri::grammar
