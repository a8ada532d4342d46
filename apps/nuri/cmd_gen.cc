// nuri gen — random-weight models of real shapes (tests and benchmarks).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "base/timer.h"
#include "command.h"
#include "io/gguf.h"
#include "model/gen.h"
#include "tokenizer/tokenizer.h"

namespace {

void progress(const char* msg) { std::fprintf(stderr, "\rnuri gen: %s   ", msg); }

int run_gen(int argc, char** argv) {
  CLI::App app{"Write a random-weight model of a real shape with a real vocabulary.", "nuri gen"};
  nuri::model::GenSpec spec;
  std::string vocab_path, out, format = "gguf";
  std::string shapes;
  for (const auto& s : nuri::model::gen_shapes()) shapes += (shapes.empty() ? "" : ", ") + s;
  app.add_option("--arch", spec.arch, "llama, qwen2, qwen3, qwen3moe, llama-moe")->required();
  app.add_option("--vocab", vocab_path, "GGUF file whose tokenizer.* metadata the model gets")->required();
  app.add_option("--shape", spec.shape, "one of: " + shapes)->required();
  app.add_option("--dtype", spec.dtype, "f32 f16 bf16 q8_0 q4_0 q4_1 q5_0 q5_1 q4_k q5_k q6_k q4_k_m (default f32)");
  app.add_option("--seed", spec.seed, "weights seed (default 1)");
  app.add_option("--layers", spec.n_layer_override, "override the number of layers");
  app.add_option("--rope-scaling", spec.rope_scaling,
                 "RoPE scaling written into the model: none (default), linear, yarn, llama3 (rope_freqs tensor), "
                 "longrope (rope_factors_long/short tensors); llama3 and longrope need --arch llama");
  app.add_option("--rope-factor", spec.rope_factor, "RoPE scaling factor (default 4)");
  app.add_option("--rope-orig-ctx", spec.rope_orig_ctx,
                 "original context of the RoPE scaling (rope.scaling.original_context_length; default 32)");
  app.add_option("--rope-attn-factor", spec.rope_attn_factor,
                 "rope.scaling.attn_factor (default: 1; longrope sqrt(1 + ln factor / ln orig-ctx))");
  app.add_option("--rope-dims", spec.rope_dims, "rotary dims per head (default head_dim; fewer: partial rotary, qwen2/qwen3)");
  app.add_option("--format", format, "gguf (default) or safetensors (a Hugging Face directory: config.json + model.safetensors)");
  app.add_option("-o,--output", out, "output file")->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  if (format != "gguf" && format != "safetensors") {
    std::fprintf(stderr, "nuri gen: --format must be gguf or safetensors\n");
    return 1;
  }
  auto vocab = nuri::io::GgufFile::open(vocab_path);
  if (!vocab.ok()) {
    std::fprintf(stderr, "nuri gen: %s\n", vocab.error().c_str());
    return 1;
  }
  if (auto tok = nuri::tokenizer::Tokenizer::from_gguf(*vocab); tok.ok()) {
    spec.add_bos = tok->add_bos();
    spec.add_eos = tok->add_eos();
  }
  nuri::Timer t;
  auto st = format == "gguf" ? nuri::model::gen_gguf(spec, *vocab, out, progress) : nuri::model::gen_hf(spec, *vocab, out);
  std::fprintf(stderr, "\n");
  if (!st.is_ok()) {
    std::fprintf(stderr, "nuri gen: %s\n", st.message().c_str());
    return 1;
  }
  std::fprintf(stderr, "nuri gen: wrote %s in %.1f s\n", out.c_str(), t.seconds());
  return 0;
}

}  // namespace

NURI_COMMAND("gen", "write a random-weight model of a real shape (tests, benchmarks)", run_gen);
