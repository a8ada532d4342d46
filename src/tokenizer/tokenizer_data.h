// tokenizer/tokenizer_data.h — internal: the loaded tokenizer (vocab, model tables, pipeline).
// Built by the GGUF and tokenizer.json loaders, then frozen (finalize()) and shared read-only.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/status.h"
#include "tokenizer/regex.h"
#include "tokenizer/tokenizer.h"

namespace nuri::tokenizer::detail {

enum class ModelKind { kBpe, kSpm, kWordPiece, kUnigram };

// Open-addressing map from a token pair (a, b) to (rank, merged id). Built once at load.
class PairMap {
 public:
  void reserve(size_t n);
  // Returns false if the pair already exists (first one wins, like HF).
  bool insert(int32_t a, int32_t b, int32_t rank, int32_t merged);
  // Returns rank (>= 0) and sets merged, or -1 when the pair does not merge.
  inline int32_t find(int32_t a, int32_t b, int32_t& merged) const {
    if (mask_ == 0) return -1;
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
    size_t h = hash(key) & mask_;
    for (;;) {
      const Slot& s = slots_[h];
      if (s.key == kEmpty) return -1;
      if (s.key == key) {
        merged = s.merged;
        return s.rank;
      }
      h = (h + 1) & mask_;
    }
  }
  size_t size() const { return size_; }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    int32_t rank = 0;
    int32_t merged = 0;
  };
  static inline size_t hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return static_cast<size_t>(k);
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct NormStep {
  enum Kind { kNfc, kNfd, kLowercase, kBert, kPrepend, kReplace, kStripAccents, kStrip };
  Kind kind = kNfc;
  std::string a, b;           // Prepend: a; Replace: a -> b (literal)
  bool bert_clean = true, bert_chinese = true, bert_strip_accents = true, bert_lower = true;
  bool strip_left = true, strip_right = true;
};

struct PreStep {
  enum Kind { kSplit, kByteLevel, kWhitespaceSplit, kBert, kMetaspace };
  Kind kind = kSplit;
  Regex regex;  // kSplit (also Digits / Punctuation / Whitespace expressed as a regex split)
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  bool on_mapped = false;       // kSplit after a ByteLevel step: runs on byte-mapped text
  bool use_regex = true;        // kByteLevel
  bool add_prefix_space = false;  // kByteLevel
  std::string replacement = "\xE2\x96\x81";  // kMetaspace
  int prepend_scheme = 0;       // kMetaspace: 0 always, 1 first, 2 never
  bool split = true;            // kMetaspace
};

enum class DecoderKind { kByteLevel, kSpm, kWordPiece, kRaw };

struct TokenizerData {
  std::string model_name;
  std::string pre_name;
  ModelKind model = ModelKind::kBpe;

  std::vector<std::string> tokens;
  std::vector<float> scores;
  std::vector<TokenAttr> attrs;
  std::unordered_map<std::string_view, int32_t> token_to_id;  // views into tokens

  // BPE
  bool byte_level = true;     // symbols are GPT-2 byte-mapped characters
  bool byte_fallback = false; // unknown characters -> <0xXX> tokens
  bool ignore_merges = false; // a piece that is a whole token is taken as is
  bool fuse_unk = false;
  PairMap merges;
  std::array<int32_t, 256> byte_token{};  // byte-level: id of the mapped byte; else <0xXX> id
  std::unordered_map<uint32_t, int32_t> char_token;  // single-code-point tokens (non byte-level)

  // SentencePiece-style text handling (SPM, Unigram, gemma4 BPE).
  bool add_space_prefix = false;
  bool escape_spaces = false;  // ' ' -> '▁' before the model
  bool remove_extra_whitespaces = false;
  size_t max_token_len = 0;  // bytes, for Unigram
  double unigram_unk_score = -10.0;  // min score - 10, for Unigram

  // WordPiece
  std::string wp_word_prefix;  // "▁" (GGUF) or "" (HF)
  std::string wp_cont_prefix;  // "" (GGUF) or "##" (HF)
  size_t wp_max_chars = 100;

  int32_t unk_id = -1, bos_id = -1, eos_id = -1, eot_id = -1, eom_id = -1, pad_id = -1;
  int32_t sep_id = -1, cls_id = -1;
  bool add_bos = false, add_eos = false;
  bool add_sep = false;  // BERT: [CLS] ... [SEP]

  std::vector<NormStep> normalizers;
  std::vector<PreStep> pre_steps;
  DecoderKind decoder = DecoderKind::kByteLevel;
  bool decode_strip_leading_space = false;

  // Special tokens matched in text: [first byte] -> ids, longest text first.
  std::array<std::vector<int32_t>, 256> special_by_byte;
  std::unordered_set<int32_t> eog;

  // Word cache (piece bytes -> ids), guarded; used only when the lock is free.
  mutable std::mutex cache_mu;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache;

  // --- built by loaders ---
  // Validates sizes/ids, builds token_to_id, byte tables, special index, eog set.
  Status finalize();
  // Parses "a b" merges (strings) into the pair map. `ranks` by position.
  Status add_merges_from_strings(const std::vector<std::string_view>& merges);

  // --- pipeline (encode.cc / models.cc) ---
  void encode_text(std::string_view text, bool parse_special, std::vector<int32_t>& out) const;
  void encode_segment(std::string_view text, bool first_segment, std::vector<int32_t>& out) const;
  std::string normalize(std::string_view text, bool first_segment) const;
  // Appends [begin, end) ranges into `buf` (which may grow) for each pre-token.
  void pre_tokenize(std::string& buf, std::vector<std::pair<size_t, size_t>>& pieces,
                    bool first_segment) const;
  void model_encode(std::string_view piece, std::vector<int32_t>& out) const;

  void bpe_encode(std::string_view piece, std::vector<int32_t>& out) const;
  void spm_encode(std::string_view piece, std::vector<int32_t>& out) const;
  void wordpiece_encode(std::string_view piece, std::vector<int32_t>& out) const;
  void unigram_encode(std::string_view piece, std::vector<int32_t>& out) const;

  std::string piece(int32_t id, bool render_special) const;
  int32_t lookup(std::string_view s) const {
    auto it = token_to_id.find(s);
    return it == token_to_id.end() ? -1 : it->second;
  }
};

// Pre-tokenizer presets for tokenizer.ggml.pre (and model): fills normalizers/pre_steps/flags.
Status configure_gguf_pipeline(TokenizerData& d);

}  // namespace nuri::tokenizer::detail
