#!/bin/sh
# Generates nuri-tiny's training corpus with `nuri synth` and verifies every sample
# (tools/synth/verify.py: (a) recomputed, (b) executed with /usr/bin/python3; kind (d):
# tools/synth/agent_corpus.py on the replay of every reference trajectory through `nuri agent`,
# i.e. programs run in the sandbox, observations exactly as the loop formats them, then re-executed).
# Usage: tools/synth/make_corpus.sh NURI_BINARY OUT_DIR [N_A N_B N_C N_D [TOKDIR]]
# Seeds 1 (a), 2 (b), 3 (c), 4 (d) are training seeds; held-out evaluation uses seed 1000003
# (a, b) and 1000004 (d). N_D=0 skips kind d. TOKDIR: drop (d) conversations over 1025 tokens.
set -eu
NURI=${1:?usage: make_corpus.sh NURI_BINARY OUT_DIR [N_A N_B N_C N_D [TOKDIR]]}
OUT=${2:?usage: make_corpus.sh NURI_BINARY OUT_DIR [N_A N_B N_C N_D [TOKDIR]]}
NA=${3:-120000}; NB=${4:-80000}; NC=${5:-3000}; ND=${6:-0}; TOK=${7:-}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
"$NURI" synth --seed 1 --n "$NA" --kind a -o "$OUT/raw_a.jsonl"
"$NURI" synth --seed 2 --n "$NB" --kind b -o "$OUT/raw_b.jsonl"
"$NURI" synth --seed 3 --n "$NC" --kind c -o "$OUT/raw_c.jsonl"
for k in a b c; do
  /usr/bin/python3 "$HERE/verify.py" "$OUT/raw_$k.jsonl" "$OUT/train_$k.jsonl"
done
if [ "$ND" -gt 0 ]; then
  "$NURI" synth --seed 4 --n "$ND" --kind d -o "$OUT/raw_d.jsonl"
  "$NURI" agent --tasks "$OUT/raw_d.jsonl" --replay --json --transcript "$OUT/replay_d.transcript.jsonl" \
    > "$OUT/replay_d.results.jsonl" 2> "$OUT/replay_d.log"
  /usr/bin/python3 "$HERE/agent_corpus.py" "$OUT/raw_d.jsonl" "$OUT/replay_d.transcript.jsonl" \
    "$OUT/replay_d.results.jsonl" "$OUT/train_d.jsonl" ${TOK:+--tok "$TOK"}
fi
