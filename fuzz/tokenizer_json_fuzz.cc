// libFuzzer target for HF tokenizer.json: any text must load or fail with a message; a
// tokenizer that loads must encode to ids inside its vocabulary and decode without crashing.
#include <cstddef>
#include <cstdint>

#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = nuri::fuzz::write_scratch("tokenizer.json", data, size);
  auto tok = nuri::tokenizer::Tokenizer::from_hf_json(path);
  nuri::fuzz::require_message(tok);
  if (!tok.ok()) return 0;
  volatile size_t sink = 0;
  for (const char* text : {"Hello world", "  a\n\tb <s> [CLS]", "\xC3\xA9\xF0\x9F\x98\x80 1234 ##x"}) {
    auto ids = tok->encode(text, /*add_special=*/true, /*parse_special=*/true);
    for (int32_t id : ids)
      if (id < 0 || id >= tok->n_vocab()) __builtin_trap();
    sink = sink + tok->decode(ids, false).size();
  }
  return 0;
}
