// nuri pull OWNER/NAME[:FILE.gguf|:QUANT] [--revision REV] [--endpoint URL] [-q]
// Downloads a model from a Hugging Face Hub endpoint into the store (store/pull.h); prints the
// path it resolves to on stdout, progress on stderr.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "command.h"
#include "store/model_info.h"
#include "store/pull.h"
#include "store/store.h"

namespace {

int run_pull(int argc, char** argv) {
  CLI::App app{"Download a model from the Hugging Face Hub (or $HF_ENDPOINT) into the local store "
               "($HF_HOME/hub, shared with Hugging Face tools). A GGUF is picked by :QUANT (e.g. :Q4_K_M) or "
               ":FILE.gguf; a transformers repo brings config, safetensors and tokenizer files. "
               "Interrupted downloads resume; files are checked against their SHA-256.",
               "nuri pull"};
  std::string name;
  nuri::store::PullOptions opts;
  bool quiet = false;
  app.add_option("name", name, "OWNER/NAME, OWNER/NAME:QUANT or OWNER/NAME:FILE.gguf")->required();
  app.add_option("--revision", opts.revision, "branch, tag or commit (default main)");
  app.add_option("--endpoint", opts.endpoint, "Hub URL (default $HF_ENDPOINT or https://huggingface.co)");
  app.add_flag("-q,--quiet", quiet, "no progress on stderr");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }
  opts.progress = !quiet;
  auto r = nuri::store::pull(name, opts);
  if (!r.ok()) {
    std::fprintf(stderr, "nuri pull: %s\n", r.error().c_str());
    return 1;
  }
  if (!quiet)
    std::fprintf(stderr, "nuri pull: %s at %s: %zu file(s), %s downloaded, in %s\n", r->repo.c_str(),
                 r->commit.c_str(), r->files.size(), nuri::store::human_bytes(r->bytes_downloaded).c_str(),
                 nuri::store::repo_dir(r->repo).c_str());
  std::printf("%s\n", r->path.c_str());
  return 0;
}

}  // namespace

NURI_COMMAND("pull", "download a model from the Hugging Face Hub into the local store", run_pull);
