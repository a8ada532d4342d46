#!/usr/bin/env bash
# Greedy parity with llama.cpp on random-weight models of every family (tools/parity/README.md).
# Usage: bash tools/parity/run.sh [OUT_DIR] [MODEL_SPEC...]
#   MODEL_SPEC: name:arch:shape:vocab:dtype:seed[:layers]  (default: the list below)
# Needs build/release (nuri, parity_greedy), ../shared/vocab, and node-llama-cpp in $ANCHOR_DIR
# (default ~/.cache/nuri-anchor; see ../shared/anchors/llama-cpp-bench.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/nuri-parity}"
shift || true
vocab="$root/../shared/vocab"
nuri="$root/build/release/apps/nuri/nuri"
pg="$root/build/release/tools/parity/parity_greedy"
specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
  specs=(
    llama-spm-f32:llama:tiny:llama-spm:f32:1
    llama-bpe-q8_0:llama:tiny:llama-bpe:q8_0:2
    qwen2-bias-f16:qwen2:tiny:qwen2:f16:3
    qwen3-qknorm-q4_0:qwen3:tiny:qwen2:q4_0:4
    qwen3moe-q8_0:qwen3moe:qwen3moe-tiny:qwen2:q8_0:5
    llama-moe-f32:llama-moe:tiny-moe:llama-spm:f32:6
    qwen2.5-tied-q8_0:qwen2:qwen2.5-0.5b:qwen2:q8_0:7:2
    qwen3-tied-q4_k_m:qwen3:qwen3-0.6b:qwen2:q4_k_m:8:2
    llama-gpt2-q5_0:llama:tiny:gpt-2:q5_0:10
    qwen2-phi3-q5_1:qwen2:tiny:phi-3:q5_1:11
    llama-spm-q4_1:llama:tiny:llama-spm:q4_1:12
    llama3.2-tied-q4_k:llama:llama3.2-1b:llama-bpe:q4_k:9:1
  )
fi
mkdir -p "$out"
for spec in "${specs[@]}"; do
  IFS=: read -r name arch shape voc dtype seed layers <<<"$spec"
  m="$out/$name.gguf"
  if [ ! -f "$m" ]; then
    "$nuri" gen --arch "$arch" --shape "$shape" --vocab "$vocab/ggml-vocab-$voc.gguf" --dtype "$dtype" \
      --seed "$seed" ${layers:+--layers "$layers"} -o "$m" 2>/dev/null
  fi
  node "$root/tools/parity/greedy.mjs" "$m" "$root/tools/parity/prompts.txt" --n 48 >"$out/$name.llama.jsonl" 2>"$out/$name.llama.err"
  "$pg" "$m" "$out/$name.llama.jsonl" >"$out/$name.nuri.jsonl"
  echo "$name $(tail -1 "$out/$name.nuri.jsonl")"
done
