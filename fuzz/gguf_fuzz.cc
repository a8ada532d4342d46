// libFuzzer target for the GGUF reader and the tokenizer loaded from GGUF metadata: any byte
// string must parse or fail cleanly; a vocabulary that loads must encode and decode.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = nuri::io::GgufFile::parse(data, size, "fuzz.gguf");
  nuri::fuzz::require_message(f);
  if (!f.ok()) return 0;
  // Touch everything the parser promised is valid.
  volatile uint64_t sink = 0;
  for (const auto& t : f->tensors())
    if (t.n_bytes) sink = sink + t.data[0] + t.data[t.n_bytes - 1];
  for (const auto& kv : f->metadata()) sink = sink + kv.second.to_display().size();
  auto tok = nuri::tokenizer::Tokenizer::from_gguf(*f);
  nuri::fuzz::require_message(tok);
  if (tok.ok()) {
    for (const char* text : {"Hello world", " a\n\tb  <s></s>", "\xE2\x96\x81\xF0\x9F\x98\x80 123"}) {
      auto ids = tok->encode(text, /*add_special=*/true, /*parse_special=*/true);
      for (int32_t id : ids)
        if (id < 0 || id >= tok->n_vocab()) __builtin_trap();
      sink = sink + tok->decode(ids, true).size();
    }
  }
  return 0;
}
