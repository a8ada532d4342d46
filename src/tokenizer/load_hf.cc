// tokenizer/load_hf.cc — builds a Tokenizer from a Hugging Face tokenizer.json (placeholder).
#include "tokenizer/tokenizer_data.h"

namespace nuri::tokenizer {
Result<Tokenizer> Tokenizer::from_hf_json(const std::string& path) {
  return Error(path + ": tokenizer.json loading is not implemented yet");
}
}  // namespace nuri::tokenizer
