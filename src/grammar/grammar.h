// grammar/grammar.h — GBNF grammars compiled to a token-mask matcher (structured output).
// Purpose: parse llama.cpp's GBNF syntax (rules `name ::= ...`, `|`, groups, `* + ?`, `{m,n}`,
//   literals and character classes with ranges, negation and escapes, `.`, `#` comments, start
//   rule `root`) into a Grammar; a Matcher walks it byte by byte (a set of pushdown stacks, with
//   partial UTF-8 held between bytes and between tokens) and gives, for a model's vocabulary, the
//   set of tokens that may come next (a bitmask over token ids), accepting the chosen token.
// Non-goals: token references (`<[id]>`), grammar-level lookahead, Earley-style ambiguity beyond
//   what a stack set expresses (left recursion is rejected).
// Invariants: a Grammar and a Vocab are immutable and shareable across threads; a Matcher is one
//   generation's state (not thread-safe). The mask never allows a token whose bytes lead the
//   grammar into a dead state, and allows an end-of-generation token only when is_complete().
//   Bad grammar text returns an error "line L, column C: ..."; the matcher never aborts on input.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace nuri::tokenizer {
class Tokenizer;
}

namespace nuri::grammar {

// ---- compiled grammar ---------------------------------------------------------------------
enum class Op : uint8_t {
  kEnd,   // end of an alternative
  kChar,  // one code point in [ranges]
  kRef,   // a rule
  kRep,   // a rule repeated [min, max] times (max < 0: unbounded)
};

struct Elem {
  Op op = Op::kEnd;
  uint32_t rule = 0;         // kRef, kRep
  int32_t min = 0, max = 0;  // kRep
  uint32_t range_begin = 0, range_count = 0;  // kChar: sorted, disjoint [lo, hi] pairs in ranges
  uint64_t ascii[2] = {0, 0};                 // kChar: code points < 128 it accepts
};

struct Rule {
  std::string name;
  std::vector<uint32_t> alts;  // element index where each alternative starts (ends at a kEnd)
};

class Grammar {
 public:
  // GBNF text -> grammar; `root` is the start rule unless `start` names another.
  static Result<std::shared_ptr<const Grammar>> parse(std::string_view text, std::string_view start = "root");

  const std::vector<Elem>& elems() const { return elems_; }
  const std::vector<Rule>& rules() const { return rules_; }
  const std::vector<uint32_t>& ranges() const { return ranges_; }  // lo, hi, lo, hi, ...
  uint32_t root() const { return root_; }
  bool char_matches(const Elem& e, uint32_t cp) const;
  // Whether some code point in [lo, hi] matches (for a partial UTF-8 sequence).
  bool char_intersects(const Elem& e, uint32_t lo, uint32_t hi) const;
  // The rule can match the empty string.
  bool nullable(uint32_t rule) const { return nullable_[rule] != 0; }

 private:
  friend class GrammarBuilder;
  std::vector<Elem> elems_;
  std::vector<Rule> rules_;
  std::vector<uint32_t> ranges_;
  std::vector<uint8_t> nullable_;
  uint32_t root_ = 0;
};

// The built-in grammar for any JSON value (objects, arrays, strings, numbers, true/false/null),
// compact: at most one space between tokens of the JSON text.
const std::string& json_any_gbnf();

// ---- vocabulary --------------------------------------------------------------------------
// Token pieces (bytes) in a trie, built once per tokenizer: everything the mask needs that
// depends only on the vocabulary.
class Vocab {
 public:
  // pieces[id]: the bytes the token appends to the text (empty: never allowed by a grammar);
  // eog: ids of end-of-generation tokens (allowed when the grammar is complete).
  static std::shared_ptr<const Vocab> build(const std::vector<std::string>& pieces, std::vector<int32_t> eog);
  // From a tokenizer: token_to_piece(id, render_special=false), eog = is_eog(id).
  static std::shared_ptr<const Vocab> from_tokenizer(const tokenizer::Tokenizer& tok);

  struct Node {
    uint32_t end = 0;       // index one past this node's subtree (preorder)
    uint32_t tok_begin = 0;  // tokens whose piece ends here: node_tokens[tok_begin, tok_end)
    uint32_t tok_end = 0;
    uint16_t depth = 0;     // bytes from the root
    uint8_t byte = 0;
  };
  int32_t n_vocab() const { return n_vocab_; }
  const std::vector<Node>& nodes() const { return nodes_; }  // [0] is the root
  const std::vector<int32_t>& node_tokens() const { return node_tokens_; }
  const std::vector<int32_t>& eog() const { return eog_; }
  const std::string& piece(int32_t id) const { return pieces_[id]; }
  bool is_eog(int32_t id) const { return id >= 0 && id < n_vocab_ && is_eog_[id]; }
  int max_depth() const { return max_depth_; }

  // Per node, over the bytes from this node's byte down to every token below it: which ASCII
  // bytes occur, whether any byte >= 0x80 does, whether every such suffix is valid UTF-8 (a
  // truncated last code point allowed), and the most code points any suffix has.
  struct Tree {
    uint64_t ascii[2] = {0, 0};
    uint16_t max_cp = 0;
    bool nonascii = false;
    bool utf8_ok = true;
  };
  const std::vector<Tree>& tree() const { return tree_; }
  // One past the last node_tokens() index of node i's subtree.
  uint32_t subtree_tok_end(uint32_t i) const {
    const uint32_t e = nodes_[i].end;
    return e < nodes_.size() ? nodes_[e].tok_begin : static_cast<uint32_t>(node_tokens_.size());
  }
  // Tokens made only of code points in a class (ASCII bitmap + all of U+0080.. or none; a
  // truncated last code point counts) with at most r code points, as a bitmask over ids, copied
  // to out[mask_words(n_vocab)]. Built on first use per class and kept (thread-safe); at most
  // kMaxClassMasks classes are kept (the oldest is dropped), so that a server taking grammars
  // from its users holds bounded memory.
  void copy_class_mask(const uint64_t ascii[2], bool nonascii, int r, uint32_t* out) const;
  static constexpr size_t kMaxClassMasks = 16;
  size_t class_masks_kept() const;

 private:
  struct ClassMasks {
    uint64_t ascii[2];
    bool nonascii;
    std::vector<std::vector<uint32_t>> le;  // le[r]: at most r code points
  };
  std::vector<Tree> tree_;
  mutable std::mutex class_mu_;
  mutable std::vector<std::unique_ptr<ClassMasks>> class_masks_;

  int32_t n_vocab_ = 0;
  std::vector<std::string> pieces_;
  std::vector<Node> nodes_;
  std::vector<int32_t> node_tokens_;
  std::vector<int32_t> eog_;
  std::vector<uint8_t> is_eog_;
  int max_depth_ = 0;
};

// Words of a token bitmask: bit (id % 32) of word (id / 32) set = allowed.
inline size_t mask_words(int32_t n_vocab) { return (static_cast<size_t>(n_vocab) + 31) / 32; }

// ---- matcher -----------------------------------------------------------------------------
class StateStore;

class Matcher {
 public:
  Matcher(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const Vocab> vocab);
  ~Matcher();
  Matcher(Matcher&&) noexcept;
  Matcher& operator=(Matcher&&) noexcept;

  // Fills mask[mask_words(n_vocab)] with the tokens allowed next. Returns how many are allowed
  // (0: nothing can follow; the generation must end).
  int32_t fill_mask(uint32_t* mask);
  // Appends a token (an end-of-generation token is accepted only when complete and ends the
  // match). False, with the state unchanged, when the grammar does not allow it.
  bool accept(int32_t token);
  // Whether accept(token) would succeed, without changing the state.
  bool allows(int32_t token);
  // Appends raw bytes (tests, forced text). False, state unchanged, when not allowed.
  bool accept_bytes(std::string_view bytes);
  // The text so far is a complete sentence of the grammar (no partial UTF-8 pending).
  bool is_complete() const;
  // Some non-empty byte sequence may still follow.
  bool can_continue() const;
  // An end-of-generation token was accepted.
  bool finished() const { return finished_; }
  void reset();

  // Trie nodes the last fill_mask() stepped into (a machine-independent measure of its work).
  int64_t last_nodes_visited() const { return visited_; }

  const Grammar& grammar() const { return *grammar_; }
  const Vocab& vocab() const { return *vocab_; }

 private:
  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const Vocab> vocab_;
  std::unique_ptr<StateStore> store_;
  int32_t state_ = 0;
  int32_t initial_ = 0;
  bool finished_ = false;
  int64_t visited_ = 0;
  struct Level;  // per trie depth during fill_mask
  std::vector<Level> levels_;  // [max_depth + 1]
};

}  // namespace nuri::grammar
