#!/usr/bin/env bash
# Side-by-side speed of nuri and llama.cpp on the same GGUF files, in one run.
# Usage: bench/compare.sh [-p 512] [-n 128] [-t 2] [-r 3] [--rounds 1] FILE...
# For each file and round: `nuri bench`, then the llama.cpp anchor (../shared/anchors/llama-cpp-bench.sh),
# interleaved so background load hits both alike. Prints a table of medians and ratios (nuri / llama.cpp).
# NURI: path to the nuri binary (default: build/apps/nuri/nuri, then the first build*/apps/nuri/nuri).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
p=512 n=128 t=2 r=3 rounds=1
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    -p) p="$2"; shift 2 ;;
    -n) n="$2"; shift 2 ;;
    -t) t="$2"; shift 2 ;;
    -r) r="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    -h|--help) sed -n 2,6p "$0"; exit 0 ;;
    *) files+=("$1"); shift ;;
  esac
done
[ ${#files[@]} -gt 0 ] || { echo "usage: bench/compare.sh [-p N] [-n N] [-t N] [-r N] [--rounds N] FILE..." >&2; exit 2; }
nuri="${NURI:-}"
if [ -z "$nuri" ]; then
  for c in "$root/build/apps/nuri/nuri" "$root"/build*/apps/nuri/nuri; do [ -x "$c" ] && { nuri="$c"; break; }; done
fi
[ -x "$nuri" ] || { echo "compare.sh: nuri binary not found; build it or set NURI=" >&2; exit 1; }
anchor="$root/../shared/anchors/llama-cpp-bench.sh"
[ -x "$anchor" ] || anchor="bash $anchor"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for f in "${files[@]}"; do
  for ((k = 0; k < rounds; ++k)); do
    echo "== $(basename "$f") round $k: nuri" >&2
    "$nuri" bench -m "$f" -p "$p" -n "$n" -t "$t" -r "$r" | tail -1 | sed "s/^/NURI $k /" >>"$log"
    echo "== $(basename "$f") round $k: llama.cpp" >&2
    $anchor "$f" --prompt-tokens "$p" --gen-tokens "$n" --threads "$t" --runs "$r" | tail -1 | sed "s/^/LLAMA $k /" >>"$log"
  done
done
python3 - "$log" <<'PY'
import json, sys, statistics, os
rows = {}
for line in open(sys.argv[1]):
    eng, k, js = line.split(" ", 2)
    d = json.loads(js)
    rows.setdefault(d["model"], {"NURI": [], "LLAMA": []})[eng].append(d)
print("| model | prefill nuri | prefill llama.cpp | ratio | decode nuri | decode llama.cpp | ratio | decode % of BW limit | BW GB/s | peak RSS MiB |")
print("|---|---|---|---|---|---|---|---|---|---|")
for m, e in rows.items():
    med = lambda xs, key: statistics.median([x[key] for x in xs]) if xs else float("nan")
    npp, ntg = med(e["NURI"], "prefill_tok_s_median"), med(e["NURI"], "decode_tok_s_median")
    lpp, ltg = med(e["LLAMA"], "prefill_tok_s_median"), med(e["LLAMA"], "decode_tok_s_median")
    bw, frac, rss = med(e["NURI"], "bandwidth_gb_s"), med(e["NURI"], "decode_bw_fraction"), med(e["NURI"], "peak_rss_mib")
    spread = lambda xs, key: "" if len(xs) < 2 else " (%.1f–%.1f)" % (min(x[key] for x in xs), max(x[key] for x in xs))
    print(f"| {os.path.basename(m)} | {npp:.1f}{spread(e['NURI'],'prefill_tok_s_median')} | {lpp:.1f}{spread(e['LLAMA'],'prefill_tok_s_median')} | {npp/lpp:.2f}x "
          f"| {ntg:.1f}{spread(e['NURI'],'decode_tok_s_median')} | {ltg:.1f}{spread(e['LLAMA'],'decode_tok_s_median')} | {ntg/ltg:.2f}x | {100*frac:.1f} % | {bw:.1f} | {rss:.0f} |")
PY
