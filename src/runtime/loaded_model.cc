#include "runtime/loaded_model.h"

#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>

#include "chat/chat_template.h"
#include "io/safetensors.h"

namespace nuri::runtime {
Result<LoadedModel> load_model(const std::string& path) {
  LoadedModel lm;
  NURI_ASSIGN_OR_RETURN(lm.model, model::Model::load(path));
  if (const io::GgufFile* g = lm.model->gguf()) {
    auto tok = tokenizer::Tokenizer::from_gguf(*g);
    if (!tok.ok()) return tok.status().with_context(path);
    lm.tokenizer = std::move(tok).value();
    NURI_ASSIGN_OR_RETURN(chat::ModelChatInfo info, chat::chat_info_from_gguf(*g));
    lm.chat_template = std::move(info.template_source);
  } else {
    auto tok = tokenizer::Tokenizer::from_hf_json(path + "/tokenizer.json");
    if (!tok.ok()) return tok.status();
    lm.tokenizer = std::move(tok).value();
    // The one chat-template lookup (chat/): list-form templates, chat_template.jinja.
    NURI_ASSIGN_OR_RETURN(chat::ModelChatInfo info, chat::load_model_chat_info(path));
    lm.chat_template = std::move(info.template_source);
  }
  if (lm.tokenizer.n_vocab() > lm.model->config().n_vocab)
    return Error(path + ": tokenizer has " + std::to_string(lm.tokenizer.n_vocab()) + " tokens but the model only " +
                 std::to_string(lm.model->config().n_vocab));
  auto slash = path.find_last_of('/');
  lm.name = slash == std::string::npos ? path : path.substr(slash + 1);
  return lm;
}

std::string default_model_path() {
  if (const char* env = std::getenv("NURI_MODEL"); env && *env) return env;
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n > 0) {
    buf[n] = 0;
    std::string dir = buf;
    // Walk up from the binary (build/<preset>/apps/nuri/nuri or <prefix>/bin/nuri).
    for (int i = 0; i < 6; ++i) {
      auto k = dir.find_last_of('/');
      if (k == std::string::npos || k == 0) break;
      dir = dir.substr(0, k);
      for (const char* rel : {"/models/nuri-tiny.gguf", "/share/nuri/nuri-tiny.gguf"})
        if (path_exists(dir + rel)) return dir + rel;
    }
  }
  return "";
}

}  // namespace nuri::runtime
