#!/bin/sh
# Reproducibility check: runs the first 100 training steps twice with the same seed on CPU
# (1 thread) and compares the per-step losses exactly.
# Usage: tools/train/check_repro.sh CORPUS_DIR TOK_DIR [SEED] [extra train.py args, e.g. model size]
# With REF=RUN_DIR/loss.tsv in the environment, the 100 steps must also equal that run's first 100.
set -eu
CORPUS=${1:?usage: check_repro.sh CORPUS_DIR TOK_DIR [SEED]}
TOK=${2:?usage: check_repro.sh CORPUS_DIR TOK_DIR [SEED]}
SEED=${3:-1234}
[ $# -ge 3 ] && shift 3 || shift $#
HERE=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
for r in 1 2; do
  nice -n 19 /usr/bin/python3 "$HERE/train.py" --corpus "$CORPUS" --tok "$TOK" --out "$TMP/r$r" --seed "$SEED" \
    --stop-after 100 --no-export --threads 1 "$@" > "$TMP/r$r.log"
done
if cmp -s "$TMP/r1/loss.tsv" "$TMP/r2/loss.tsv"; then
  if [ -n "${REF:-}" ]; then
    if head -100 "$REF" | cmp -s - "$TMP/r1/loss.tsv"; then
      echo "check_repro: OK, equal to the first 100 steps of $REF"
    else
      echo "check_repro: FAILED, differs from $REF:"; head -100 "$REF" | diff - "$TMP/r1/loss.tsv" | head; exit 1
    fi
  fi
  echo "check_repro: OK, 100 steps identical (seed $SEED): first $(head -1 "$TMP/r1/loss.tsv" | cut -f2), last $(tail -1 "$TMP/r1/loss.tsv" | cut -f2)"
  rm -rf "$TMP"
else
  echo "check_repro: FAILED, losses differ:"; diff "$TMP/r1/loss.tsv" "$TMP/r2/loss.tsv" | head
  exit 1
fi
