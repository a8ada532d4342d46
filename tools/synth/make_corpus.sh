#!/bin/sh
# Generates nuri-tiny's training corpus with `nuri synth` and verifies every sample
# (tools/synth/verify.py: (a) recomputed, (b) executed with /usr/bin/python3).
# Usage: tools/synth/make_corpus.sh NURI_BINARY OUT_DIR [N_A N_B N_C]
# Seeds 1 (a), 2 (b), 3 (c) are training seeds; held-out evaluation uses seed 1000003.
set -eu
NURI=${1:?usage: make_corpus.sh NURI_BINARY OUT_DIR [N_A N_B N_C]}
OUT=${2:?usage: make_corpus.sh NURI_BINARY OUT_DIR [N_A N_B N_C]}
NA=${3:-120000}; NB=${4:-80000}; NC=${5:-3000}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
"$NURI" synth --seed 1 --n "$NA" --kind a -o "$OUT/raw_a.jsonl"
"$NURI" synth --seed 2 --n "$NB" --kind b -o "$OUT/raw_b.jsonl"
"$NURI" synth --seed 3 --n "$NC" --kind c -o "$OUT/raw_c.jsonl"
for k in a b c; do
  /usr/bin/python3 "$HERE/verify.py" "$OUT/raw_$k.jsonl" "$OUT/train_$k.jsonl"
done
