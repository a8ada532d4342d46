// store/store.h — the local model store and model names.
// Purpose: find models by name in a Hugging Face-style cache ($HF_HOME/hub/models--OWNER--NAME/
// {blobs/SHA, snapshots/REV/FILE -> ../../blobs/SHA, refs/main}) and in the NURI_MODELS
// directories of GGUF files, so every `-m` takes a store name as well as a path.
// Names: a path that exists (always wins); OWNER/NAME; OWNER/NAME:FILE.gguf; OWNER/NAME:QUANT
// (case-insensitive quant token in the file name, e.g. Q4_K_M); a bare file stem found in NURI_MODELS.
// Non-goals: downloading (pull.h), datasets and spaces, git-style revisions other than refs/.
// Invariants: resolution only reads the file system; snapshots hold only complete, verified
// files (pull.h writes blobs first, then links them).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"

namespace nuri::store {

// $HF_HUB_CACHE (or the older $HUGGINGFACE_HUB_CACHE), else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
std::string hub_dir();
// $HF_HOME (or its default); the Hub token file lives there.
std::string hf_home();
// Directories listed in $NURI_MODELS (colon-separated), in order.
std::vector<std::string> extra_dirs();

// "OWNER/NAME[:SELECTOR]" split; nullopt when `s` is not of that shape.
struct ModelRef {
  std::string repo;      // OWNER/NAME
  std::string selector;  // "", FILE.gguf or QUANT
};
std::optional<ModelRef> parse_model_ref(const std::string& s);

// Cache folder of a repo: hub_dir() + "/models--OWNER--NAME".
std::string repo_dir(const std::string& repo);

// Resolves a -m value to a path runtime::load_model accepts (a GGUF file or a model directory).
// Errors say what was searched and how to get the model (`nuri pull ...`).
Result<std::string> resolve_model(const std::string& name_or_path);

// True when `file_name` carries the quant token `quant` (case-insensitive, on name boundaries:
// Q4_K matches "m-Q4_K.gguf" but not "m-Q4_K_M.gguf").
bool quant_matches(const std::string& file_name, const std::string& quant);
// The quant token in a file name ("Q4_K_M", "F16", ...), or "" if none.
std::string quant_from_name(const std::string& file_name);

// One loadable model in the store or the NURI_MODELS directories.
struct StoreEntry {
  std::string name;      // shortest name that resolves to it: OWNER/NAME, OWNER/NAME:QUANT, OWNER/NAME:FILE, stem
  std::string repo;      // OWNER/NAME ("" for NURI_MODELS files)
  std::string file;      // file name inside the snapshot ("" for a safetensors directory)
  std::string path;      // what resolve_model returns for `name`
  std::string revision;  // snapshot folder name ("" for NURI_MODELS files)
  uint64_t size_bytes = 0;  // file size, or the sum of the directory's files
  bool is_gguf = false;
};
std::vector<StoreEntry> list_entries();

// Removes a model: OWNER/NAME removes the whole repo folder; OWNER/NAME:SEL removes that file
// from the snapshot and its blob when no other snapshot links to it. Files in NURI_MODELS
// directories are not removed. `removed` gets the paths deleted.
Status remove_model(const std::string& name, std::vector<std::string>* removed);

// Snapshot folder a repo resolves to: refs/main's commit, else the only or newest snapshot.
Result<std::string> current_snapshot(const std::string& repo);

}  // namespace nuri::store
