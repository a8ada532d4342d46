// A third-party program on nuri's public API: load a model (path or store name), generate
// greedily, print the prompt and the continuation.
// Usage: nuri_generate MODEL PROMPT [N_TOKENS]
#include <cstdio>
#include <cstdlib>
#include <string>

#include "nuri/nuri.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL PROMPT [N_TOKENS]\n", argv[0]);
    return 2;
  }
  auto model = nuri::load(argv[1]);
  if (!model.ok()) {
    std::fprintf(stderr, "error: %s\n", model.error().c_str());
    return 1;
  }
  nuri::GenerateOptions opt;
  opt.max_tokens = argc > 3 ? std::atoi(argv[3]) : 32;
  opt.sampling.temperature = 0;  // greedy
  opt.continuation = true;       // the text follows the prompt we print
  auto gen = nuri::generate(*model, argv[2], opt);
  if (!gen.ok()) {
    std::fprintf(stderr, "error: %s\n", gen.error().c_str());
    return 1;
  }
  std::printf("%s%s\n", argv[2], gen->text.c_str());
  std::fprintf(stderr, "%d prompt tokens, %zu generated (%s)\n", gen->n_prompt_tokens, gen->tokens.size(),
               gen->finish_reason.c_str());
  return 0;
}
