#!/usr/bin/env bash
# Side-by-side speed of nuri and native llama.cpp on the same GGUF files, in one run.
# Usage: bench/compare.sh [-p 512] [-n 128] [-t 2] [-r 3] [--rounds 2] [--parallel 8] [--anchor native|js] FILE...
# Each round runs `nuri bench` and llama.cpp's own llama-bench (built once by
# ../shared/anchors/llama-cpp-native.sh) on each file, alternating which goes first, so background
# load hits both alike; --parallel K adds nuri's K-sample decode against llama-batched-bench's.
# Prints medians over every run of every round with the min-max spread, and nuri / llama.cpp ratios.
# --anchor js (or a failed native build) falls back to the JS-binding anchor, which adds per-token
# overhead to llama.cpp's side: its rows are labelled "llama.cpp (JS binding)".
# NURI: the nuri binary (default: build/release/apps/nuri/nuri, then any build*/apps/nuri/nuri).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
p=512 n=128 t=2 r=3 rounds=2 par=0 anchor_kind=native
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    -p) p="$2"; shift 2 ;;
    -n) n="$2"; shift 2 ;;
    -t) t="$2"; shift 2 ;;
    -r) r="$2"; shift 2 ;;
    --rounds) rounds="$2"; shift 2 ;;
    --parallel) par="$2"; shift 2 ;;
    --anchor) anchor_kind="$2"; shift 2 ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) files+=("$1"); shift ;;
  esac
done
[ ${#files[@]} -gt 0 ] || { echo "usage: bench/compare.sh [-p N] [-n N] [-t N] [-r N] [--rounds N] [--parallel K] [--anchor native|js] FILE..." >&2; exit 2; }
nuri="${NURI:-}"
if [ -z "$nuri" ]; then
  for c in "$root/build/release/apps/nuri/nuri" "$root"/build*/apps/nuri/nuri; do [ -x "$c" ] && { nuri="$c"; break; }; done
fi
[ -x "$nuri" ] || { echo "compare.sh: nuri binary not found; build it or set NURI=" >&2; exit 1; }
bin=""
if [ "$anchor_kind" = native ]; then
  echo "compare.sh: native llama.cpp tools (built once; this can take a while the first time)" >&2
  bin="$(bash "$root/../shared/anchors/llama-cpp-native.sh" 2>>"${TMPDIR:-/tmp}/nuri-compare-native.log" | tail -1)" || bin=""
  if [ ! -x "$bin/llama-bench" ]; then
    echo "compare.sh: native llama.cpp build failed (see ${TMPDIR:-/tmp}/nuri-compare-native.log); falling back to the JS-binding anchor" >&2
    anchor_kind=js
  fi
fi
js_anchor="$root/../shared/anchors/llama-cpp-bench.sh"
log="$(mktemp)"
err="$(mktemp)"
trap 'rm -f "$log" "$err"' EXIT

run_nuri() {  # file round
  local extra=()
  [ "$par" -gt 1 ] && extra=(--parallel "$par")
  "$nuri" bench -m "$1" -p "$p" -n "$n" -t "$t" -r "$r" --no-bandwidth "${extra[@]}" 2>"$err" | tail -1 | sed "s/^/NURI_JSON $2 /" >>"$log"
  # Per-run figures (stderr): "run K: prefill X tok/s, decode Y tok/s", "parallel run K: ... decode Z tok/s aggregate"
  sed -n 's/^run [0-9]*: prefill \([0-9.]*\) tok\/s, decode \([0-9.]*\) tok\/s.*/NURI_RUN \1 \2/p' "$err" | sed "s|^|$1 |" >>"$log"
  sed -n 's/^parallel run [0-9]*: .* decode \([0-9.]*\) tok\/s aggregate.*/NURI_PAR \1/p' "$err" | sed "s|^|$1 |" >>"$log"
}
run_llama() {  # file round
  if [ "$anchor_kind" = native ]; then
    "$bin/llama-bench" -m "$1" -p "$p" -n "$n" -t "$t" -r "$r" -o jsonl 2>/dev/null | sed "s|^|$1 LLAMA_JSONL |" >>"$log"
    if [ "$par" -gt 1 ]; then
      "$bin/llama-batched-bench" -m "$1" -c $(( (p + n) * par + 64 )) -b 2048 -ub 512 -npp "$p" -ntg "$n" -npl "1,$par" -t "$t" 2>/dev/null \
        | grep '^|' | sed "s|^|$1 LLAMA_BATCHED |" >>"$log"
    fi
  else
    bash "$js_anchor" "$1" --prompt-tokens "$p" --gen-tokens "$n" --threads "$t" --runs "$r" | tail -1 | sed "s|^|$1 LLAMA_JS |" >>"$log"
  fi
}

uptime >&2
for ((k = 0; k < rounds; ++k)); do
  for f in "${files[@]}"; do
    if (( k % 2 == 0 )); then
      echo "== $(basename "$f") round $k: nuri, then llama.cpp" >&2
      run_nuri "$f" "$k"; run_llama "$f" "$k"
    else
      echo "== $(basename "$f") round $k: llama.cpp, then nuri" >&2
      run_llama "$f" "$k"; run_nuri "$f" "$k"
    fi
  done
done
bw_line="$("$nuri" bench --bandwidth -t "$t" 2>/dev/null | tail -1 || true)"
uptime >&2
python3 - "$log" "$anchor_kind" "$p" "$n" "$par" "$bw_line" <<'PY'
import json, os, statistics, sys
log, kind, P, N, K, bw_line = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rows = {}
def row(f):
    return rows.setdefault(f, {"npp": [], "ntg": [], "npar": [], "lpp": [], "ltg": [], "lpar": [], "wbytes": None})
for line in open(log):
    parts = line.rstrip("\n").split(" ", 2)
    if parts[0] == "NURI_JSON":  # nuri bench's summary: the weight bytes each decoded token reads
        d = json.loads(parts[2])
        row(d["model"])["wbytes"] = d["weight_mib_per_token"] * 1048576
        continue
    f, tag, rest = parts[0], parts[1], parts[2] if len(parts) > 2 else ""
    R = row(f)
    if tag == "NURI_RUN":
        a, b = rest.split()
        R["npp"].append(float(a)); R["ntg"].append(float(b))
    elif tag == "NURI_PAR":
        R["npar"].append(float(rest))
    elif tag == "LLAMA_JSONL":
        d = json.loads(rest)
        ts = d.get("samples_ts") or [d.get("avg_ts")]
        if d.get("n_prompt", 0) > 0 and d.get("n_gen", 0) == 0: R["lpp"] += ts
        elif d.get("n_gen", 0) > 0 and d.get("n_prompt", 0) == 0: R["ltg"] += ts
    elif tag == "LLAMA_BATCHED":
        cells = [c.strip() for c in rest.strip().strip("|").split("|")]
        # | PP | TG | B | N_KV | T_PP s | S_PP t/s | T_TG s | S_TG t/s | T s | S t/s |
        if len(cells) >= 8 and cells[2].isdigit() and int(cells[2]) == K:
            R["lpar"].append(float(cells[7]))
    elif tag == "LLAMA_JS":
        d = json.loads(rest)
        R["lpp"].append(d["prefill_tok_s_median"]); R["ltg"].append(d["decode_tok_s_median"])
bw = None
try:
    bw = json.loads(bw_line).get("bandwidth_gb_s")
except Exception:
    pass
med = lambda xs: statistics.median(xs) if xs else float("nan")
spr = lambda xs: "" if len(xs) < 2 else " (%.1f-%.1f)" % (min(xs), max(xs))
ratio = lambda a, b: (a / b) if b and b == b and a == a else float("nan")
label = "llama.cpp" if kind == "native" else "llama.cpp (JS binding)"
print(f"anchor: {label}; {P}-token prefill, {N}-token decode; medians over all runs of all rounds (min-max)")
if bw:
    print(f"nuri bench --bandwidth: {bw:.1f} GB/s (best of its runs: the limit decode % divides by)")
hdr = f"| model | prefill nuri | prefill {label} | ratio | decode nuri | decode {label} | ratio | nuri decode % of BW limit |"
sep = "|---|---|---|---|---|---|---|---|"
if K > 1:
    hdr += f" {K}-seq decode nuri | {K}-seq decode {label} | ratio |"
    sep += "---|---|---|"
print(hdr); print(sep)
for f, R in rows.items():
    s = (f"| {os.path.basename(f)} | {med(R['npp']):.1f}{spr(R['npp'])} | {med(R['lpp']):.1f}{spr(R['lpp'])} | {ratio(med(R['npp']), med(R['lpp'])):.2f}x "
         f"| {med(R['ntg']):.1f}{spr(R['ntg'])} | {med(R['ltg']):.1f}{spr(R['ltg'])} | {ratio(med(R['ntg']), med(R['ltg'])):.2f}x "
         f"| {(100 * med(R['ntg']) * R['wbytes'] / (bw * 1e9)) if (bw and R['wbytes']) else float('nan'):.1f} % |")
    if K > 1:
        s += f" {med(R['npar']):.1f}{spr(R['npar'])} | {med(R['lpar']):.1f}{spr(R['lpar'])} | {ratio(med(R['npar']), med(R['lpar'])):.2f}x |"
    print(s)
PY
