// libFuzzer target for Hugging Face config.json: any text must give a model configuration or a
// clear error; tokenizer_config.json's chat-template fields are read from the same JSON.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "chat/chat_template.h"
#include "fuzz_util.h"
#include "model/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  auto cfg = nuri::model::config_from_hf(j, "fuzz/config.json");
  nuri::fuzz::require_message(cfg);
  nlohmann::ordered_json oj = nlohmann::ordered_json::parse(text, nullptr, false);
  auto info = nuri::chat::parse_tokenizer_config(oj);
  nuri::fuzz::require_message(info);
  return 0;
}
