#!/usr/bin/env bash
# Greedy parity with llama.cpp for every RoPE scaling type, at positions well past the original
# context (tools/parity/README.md, "RoPE scaling"). Each model is a random-weight tiny model whose
# scaling says n_ctx_orig = 32; prompts (4-20 tokens) + 96 generated tokens reach position ~115.
# Each scaled model is also checked against llama.cpp's output with the scaling stripped (the
# same weights, plain RoPE): that control must be far off, or the scaling was not exercised.
# Partial rotary dims are not here: llama.cpp 3.22.1 asserts n_rot == head_dim for llama, qwen2,
# qwen3 and qwen3moe (tests/model/rope_scaling_test.cc covers them).
# Usage: bash tools/parity/rope_scaling.sh [OUT_DIR] [--check]
#   --check: exit 1 unless, for every type, every divergence from llama.cpp is a near-tie (relative
#            margin < 1e-3), the median largest logit difference is below 1e-4, and the control's
#            is 20x larger (CTest parity_rope_scaling, label slow).
#   ROPE_ONLY=NAME runs one of the models below.
# Needs build/release (nuri, parity_greedy), ../shared/vocab, node-llama-cpp in $ANCHOR_DIR.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="${1:-/tmp/nuri-parity-rope}"
check=0
[ "${2:-}" = "--check" ] && check=1
vocab="$root/../shared/vocab"
nuri="$root/build/release/apps/nuri/nuri"
pg="$root/build/release/tools/parity/parity_greedy"
anchor="${ANCHOR_DIR:-$HOME/.cache/nuri-anchor}"
if [ ! -d "$anchor/node_modules/node-llama-cpp" ]; then
  echo "rope_scaling.sh: node-llama-cpp not installed in $anchor (see tools/parity/README.md)" >&2
  exit 77
fi
n=96
# name:arch:dtype:seed:gen options
specs=(
  "linear:llama:f32:21:--rope-scaling linear --rope-factor 4 --rope-orig-ctx 32"
  "yarn:llama:f32:22:--rope-scaling yarn --rope-factor 4 --rope-orig-ctx 32"
  "yarn-attn:qwen2:f16:23:--rope-scaling yarn --rope-factor 8 --rope-orig-ctx 32 --rope-attn-factor 0.8"
  "llama3:llama:f32:24:--rope-scaling llama3 --rope-factor 8 --rope-orig-ctx 32"
  "longrope:llama:f32:25:--rope-scaling longrope --rope-factor 4 --rope-orig-ctx 32"
  "yarn-qknorm:qwen3:f32:26:--rope-scaling yarn --rope-factor 4 --rope-orig-ctx 32"
  "linear-q8_0:qwen2:q8_0:27:--rope-scaling linear --rope-factor 2 --rope-orig-ctx 32"
)
mkdir -p "$out"
fail=0
printf '%-15s %-22s %-22s\n' type "scaled vs llama.cpp" "control (plain RoPE)"
for spec in "${specs[@]}"; do
  IFS=: read -r name arch dtype seed opts <<<"$spec"
  [ -n "${ROPE_ONLY:-}" ] && [ "$ROPE_ONLY" != "$name" ] && continue
  voc=llama-spm
  [ "$arch" != llama ] && voc=qwen2
  m="$out/$name.gguf" c="$out/$name.plain.gguf"
  # shellcheck disable=SC2086
  "$nuri" gen --arch "$arch" --shape tiny --vocab "$vocab/ggml-vocab-$voc.gguf" --dtype "$dtype" --seed "$seed" $opts -o "$m" 2>/dev/null
  plain_opts="$(echo "$opts" | sed -E 's/--rope-scaling [a-z0-9]+//; s/--rope-(factor|orig-ctx|attn-factor) [0-9.]+//g')"
  # shellcheck disable=SC2086
  "$nuri" gen --arch "$arch" --shape tiny --vocab "$vocab/ggml-vocab-$voc.gguf" --dtype "$dtype" --seed "$seed" $plain_opts -o "$c" 2>/dev/null
  node "$root/tools/parity/greedy.mjs" "$m" "$root/tools/parity/prompts.txt" --n "$n" >"$out/$name.llama.jsonl" 2>"$out/$name.llama.err"
  "$pg" "$m" "$out/$name.llama.jsonl" >"$out/$name.nuri.jsonl"
  "$pg" "$c" "$out/$name.llama.jsonl" >"$out/$name.control.jsonl"
  s="$(tail -1 "$out/$name.nuri.jsonl")" k="$(tail -1 "$out/$name.control.jsonl")"
  read -r eq real forced diff <<<"$(python3 -c 'import json,sys; s=json.loads(sys.argv[1])["summary"]; print(s["equal"], s["divergences_real"], "%.4f" % s["forced_step_agreement"], "%.2g" % s["median_max_logit_diff"])' "$s")"
  read -r ceq cforced cdiff <<<"$(python3 -c 'import json,sys; s=json.loads(sys.argv[1])["summary"]; print(s["equal"], "%.4f" % s["forced_step_agreement"], "%.2g" % s["median_max_logit_diff"])' "$k")"
  printf '%-15s %2s/26 forced %s diff %-8s | %2s/26 forced %s diff %s\n' "$name" "$eq" "$forced" "$diff" "$ceq" "$cforced" "$cdiff"
  if [ "$real" -ne 0 ] || ! python3 -c "import sys; sys.exit(not ($diff < 1e-4 and $cdiff > 20 * $diff))"; then fail=1; fi
done
if [ $check -eq 1 ] && [ $fail -ne 0 ]; then
  echo "rope_scaling.sh: parity below the bar (see $out)" >&2
  exit 1
fi
