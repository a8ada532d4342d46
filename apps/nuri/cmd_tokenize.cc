// nuri tokenize / nuri detokenize — text <-> token ids with a model's (or tokenizer's) vocab.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "command.h"
#include "store/store.h"
#include "tokenizer/tokenizer.h"

namespace {

int cmd_tokenize(int argc, char** argv) {
  CLI::App app{"Tokenize text with a GGUF model's vocabulary or a HF tokenizer.json", "nuri tokenize"};
  std::string model;
  bool ids = false, pieces = false, add_special = false, parse_special = false;
  std::vector<std::string> text;
  app.add_option("-m,--model", model, "GGUF file, tokenizer.json, or a directory holding one")->required();
  app.add_flag("--ids", ids, "print only the ids, space separated, on one line");
  app.add_flag("--pieces", pieces, "print each token as id<TAB>piece (the default shows both)");
  app.add_flag("--add-special", add_special, "add BOS/EOS as the vocabulary says");
  app.add_flag("--parse-special", parse_special, "turn special token texts in TEXT into their ids");
  app.add_option("text", text, "text to tokenize (words are joined with single spaces)")->required();
  app.allow_extras(false);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  std::string s;
  for (size_t i = 0; i < text.size(); ++i) {
    if (i) s += ' ';
    s += text[i];
  }
  if (auto r = nuri::store::resolve_model(model); r.ok()) model = *r;  // store names too
  auto tok = nuri::tokenizer::Tokenizer::from_file(model);
  if (!tok.ok()) {
    std::fprintf(stderr, "nuri tokenize: %s\n", tok.error().c_str());
    return 1;
  }
  std::vector<int32_t> out = tok->encode(s, add_special, parse_special);
  if (ids) {
    std::string line;
    for (size_t i = 0; i < out.size(); ++i) {
      if (i) line += ' ';
      line += std::to_string(out[i]);
    }
    std::printf("%s\n", line.c_str());
    return 0;
  }
  for (int32_t id : out) {
    if (pieces) {
      std::printf("%d\t%s\n", id, tok->token_to_piece(id, true).c_str());
    } else {
      std::printf("%6d -> '%s'\n", id, tok->token_text(id).c_str());
    }
  }
  return 0;
}

int cmd_detokenize(int argc, char** argv) {
  CLI::App app{"Turn token ids back into text", "nuri detokenize"};
  std::string model;
  bool render_special = false;
  std::vector<std::string> ids;
  app.add_option("-m,--model", model, "GGUF file, tokenizer.json, or a directory holding one")->required();
  app.add_flag("--render-special", render_special, "print control tokens (e.g. <s>) as text");
  app.add_option("ids", ids, "token ids (separate arguments or one space-separated string)")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (auto r = nuri::store::resolve_model(model); r.ok()) model = *r;  // store names too
  auto tok = nuri::tokenizer::Tokenizer::from_file(model);
  if (!tok.ok()) {
    std::fprintf(stderr, "nuri detokenize: %s\n", tok.error().c_str());
    return 1;
  }
  std::vector<int32_t> v;
  for (const std::string& arg : ids) {
    size_t i = 0;
    while (i < arg.size()) {
      while (i < arg.size() && (arg[i] == ' ' || arg[i] == ',' || arg[i] == '\t' || arg[i] == '\n')) ++i;
      if (i >= arg.size()) break;
      size_t j = i;
      while (j < arg.size() && !(arg[j] == ' ' || arg[j] == ',' || arg[j] == '\t' || arg[j] == '\n')) ++j;
      std::string w = arg.substr(i, j - i);
      char* end = nullptr;
      long x = std::strtol(w.c_str(), &end, 10);
      if (!end || *end != '\0' || x < 0 || x >= tok->n_vocab()) {
        std::fprintf(stderr, "nuri detokenize: '%s' is not a token id in [0, %d)\n", w.c_str(), tok->n_vocab());
        return 1;
      }
      v.push_back(static_cast<int32_t>(x));
      i = j;
    }
  }
  std::string s = tok->decode(v, render_special);
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::printf("\n");
  return 0;
}

}  // namespace

NURI_COMMAND("tokenize", "text -> token ids with a model's vocabulary", cmd_tokenize);
NURI_COMMAND("detokenize", "token ids -> text", cmd_detokenize);
