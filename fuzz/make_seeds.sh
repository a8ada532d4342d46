#!/usr/bin/env bash
# Seed corpus for fuzz_gguf: the small GGUF files of ../shared, cut to their first 64 KiB.
set -euo pipefail
out="${1:-fuzz/corpus}"
mkdir -p "$out"
for f in ../shared/models/stories260K-*.gguf ../shared/vocab/ggml-vocab-bert-bge.gguf; do
  [ -f "$f" ] && head -c 65536 "$f" > "$out/$(basename "$f").seed"
done
echo "seeds in $out: $(ls "$out" | wc -l)"
