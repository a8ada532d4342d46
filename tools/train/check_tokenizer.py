#!/usr/bin/python3
"""Checks that tools/train/bpe.py (the tokenizer training sees) encodes exactly like nuri does.

Every sample (single-turn {"user", "assistant"} or multi-turn {"messages"}) is rendered with the
chat template and encoded by both `nuri tokenize -m MODEL --ids --parse-special` and bpe.py;
the id lists must be identical.
Usage: check_tokenizer.py NURI MODEL.gguf TOKDIR FILE.jsonl [FILE.jsonl ...] [--n 100]
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from train import render_messages  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("nuri")
    ap.add_argument("model")
    ap.add_argument("tok")
    ap.add_argument("files", nargs="+")
    ap.add_argument("--n", type=int, default=100, help="samples per file")
    a = ap.parse_args()
    tok = Tokenizer.load(os.path.join(a.tok, "tokenizer.json"))
    total, bad = 0, 0
    for path in a.files:
        with open(path, encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= a.n:
                    break
                s = json.loads(line)
                msgs = s.get("messages") or [{"role": "user", "content": s["user"]},
                                             {"role": "assistant", "content": s["assistant"]}]
                text = render_messages(msgs)
                p = subprocess.run([a.nuri, "tokenize", "-m", a.model, "--ids", "--parse-special", text],
                                   capture_output=True, text=True, check=True)
                want = [int(x) for x in p.stdout.split()]
                got = tok.encode(text)
                total += 1
                if got != want:
                    bad += 1
                    k = next((j for j, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
                    print("MISMATCH %s:%d at token %d: nuri %s, bpe.py %s" % (path, i + 1, k, want[k:k + 5], got[k:k + 5]))
    print("check_tokenizer: %d/%d samples encode identically" % (total - bad, total))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
