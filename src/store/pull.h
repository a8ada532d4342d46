// store/pull.h — download a model from a Hugging Face Hub endpoint into the store.
// Purpose: `nuri pull OWNER/NAME[:FILE.gguf|:QUANT]`: file list from the Hub API, one GGUF picked
// by file name or quant (or the config + safetensors + tokenizer files of a transformers repo),
// resumable downloads (HTTP Range on blobs/ETAG.incomplete), SHA-256 check against the LFS ETag,
// then blobs/ETAG by rename and snapshots/COMMIT/FILE -> ../../blobs/ETAG, refs/REV.
// Non-goals: uploads, datasets, parallel downloads, Xet storage.
// Invariants: snapshots/ only ever links complete, verified blobs; a failed pull leaves at most
// a .incomplete file under blobs/ (kept for resuming, removed when its checksum is wrong).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace nuri::store {

struct PullOptions {
  std::string endpoint;          // "" = $HF_ENDPOINT, else https://huggingface.co
  std::string token;             // "" = $HF_TOKEN, else the file $HF_HOME/token
  std::string revision = "main";
  bool progress = true;          // progress on stderr (a bar on a TTY, plain lines otherwise)
};

struct PullResult {
  std::string repo, commit;
  std::vector<std::string> files;  // rfilenames linked into the snapshot
  std::string path;                // what resolve_model(name) gives now
  uint64_t bytes_downloaded = 0;
};

Result<PullResult> pull(const std::string& name, const PullOptions& opts);

// Files of a repo a pull with `selector` takes, from the Hub's sibling list (exposed for tests).
Result<std::vector<std::string>> select_files(const std::string& repo, const std::vector<std::string>& siblings,
                                              const std::string& selector);

}  // namespace nuri::store
