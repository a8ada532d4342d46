// tokenizer/tokenizer.h — text <-> token ids, conformant with Hugging Face `tokenizers`.
// Purpose: load a vocabulary from GGUF (`tokenizer.ggml.*`) or a HF `tokenizer.json`, and run
// the same pipeline HF runs: split out special/added tokens, normalize (NFC, lowercase, BERT,
// space -> '▁'), pre-tokenize (regex splits per `tokenizer.ggml.pre`, digits, punctuation,
// byte-level), then the model (byte-level BPE by merge rank, SentencePiece score merges with
// byte fallback, WordPiece, Unigram). Decoding reverses it, with a streaming decoder that holds
// incomplete UTF-8 across tokens.
// Non-goals: training, offsets/alignment output, every exotic HF component (unsupported ones
// fail loading with a clear message).
// Invariants: a loaded Tokenizer is immutable and thread-safe; encode never fails (bytes that no
// token covers become byte-fallback tokens or the unknown token); every id it returns is in
// [0, n_vocab); merges never produce control tokens.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace nuri::io {
class GgufFile;
}

namespace nuri::tokenizer {

// From tokenizer.ggml.token_type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
enum class TokenAttr { kNormal, kControl, kUserDefined, kUnknown, kByte, kUnused };

namespace detail {
struct TokenizerData;
}

class Tokenizer;
Result<Tokenizer> make_tokenizer(std::shared_ptr<detail::TokenizerData> d);

class Tokenizer {
 public:
  static Result<Tokenizer> from_gguf(const io::GgufFile& f);
  // HF tokenizer.json; reads tokenizer_config.json beside it (if present) for bos/eos/add_bos.
  static Result<Tokenizer> from_hf_json(const std::string& tokenizer_json_path);
  // Loads by extension: .gguf -> from_gguf, anything else -> from_hf_json (a directory is
  // treated as holding tokenizer.json).
  static Result<Tokenizer> from_file(const std::string& path);

  Tokenizer() = default;

  // Text -> ids. add_special: BOS/EOS as the vocab says. parse_special: control and
  // user-defined token texts in `text` become their ids (user-defined ones always do, as in HF).
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;
  // Ids -> text; round-trips encode. Control tokens are dropped unless render_special.
  std::string decode(const std::vector<int32_t>& ids, bool render_special = false) const;
  // Bytes of one token: SPM '▁' -> ' ', <0xXX> -> the byte, byte-level BPE -> its bytes;
  // control tokens as their text when render_special, else empty.
  std::string token_to_piece(int32_t id, bool render_special) const;

  int32_t n_vocab() const;
  int32_t bos_id() const;  // -1 if none
  int32_t eos_id() const;  // -1 if none
  int32_t unk_id() const;  // -1 if none
  // Which special tokens encode(add_special=true) adds; one rule for GGUF and HF files
  // (tokenizer/special_rules.h: llama.cpp's defaults, overridden by the file's keys).
  bool add_bos() const;
  bool add_eos() const;
  bool add_sep() const;
  bool is_eog(int32_t id) const;  // eos, eot, eom and well-known end-of-turn control tokens
  const std::string& token_text(int32_t id) const;
  TokenAttr attr(int32_t id) const;
  std::optional<int32_t> find_token(std::string_view text) const;
  std::string model_name() const;  // "llama", "gpt2", "bert", "t5", "gemma4", or HF model type
  std::string pre_name() const;    // pre-tokenizer name ("qwen2", "llama-bpe", ...)
  bool valid() const { return d_ != nullptr; }

 private:
  friend struct detail::TokenizerData;
  friend class StreamDecoder;
  friend Result<Tokenizer> make_tokenizer(std::shared_ptr<detail::TokenizerData> d);
  std::shared_ptr<const detail::TokenizerData> d_;
};

// Streaming detokenizer: feed ids one at a time; returns only complete UTF-8 (an incomplete
// multi-byte sequence is held until its last byte arrives). flush() returns what is left.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool render_special = false);
  std::string push(int32_t id);
  std::string flush();
  // The ids continue text already shown (e.g. after an echoed prompt): keep the first token's
  // leading space instead of stripping it as a decode from the start of text does.
  void mark_continuation() { first_ = false; }

 private:
  const Tokenizer* tok_;
  bool render_special_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace nuri::tokenizer
