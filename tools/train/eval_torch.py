#!/usr/bin/python3
"""Greedy accuracy of a trained nuri-tiny checkpoint in PyTorch on held-out synthetic problems.

Held-out sets come from `nuri synth` with a seed never used in training (default 1000003;
training uses seeds 1, 2, 3). (a) is correct when the last "Answer: <n>" equals the expected
number; (b) when the first ```python block, executed with /usr/bin/python3 (5 s timeout),
prints exactly the expected output.
Usage: eval_torch.py --ckpt OUT/ckpt.pt --tok TOKDIR --nuri NURI_BINARY [--n 500] [--seed 1000003]
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections import defaultdict

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from model import LlamaForCausalLM, greedy  # noqa: E402
from train import render  # noqa: E402


def answer_a(text):
    k = text.rfind("Answer:")
    if k < 0:
        return None
    m = re.match(r"[ \t]*(-?\d[\d,]*)", text[k + 7:])
    return str(int(m.group(1).replace(",", ""))) if m else None


def python_block(text):
    m = re.search(r"```(?:python)?[^\n]*\n(.*?)(```|$)", text, re.S)
    return m.group(1) if m and m.group(1).strip() else None


def run_code(code):
    try:
        p = subprocess.run(["/usr/bin/python3", "-c", code], capture_output=True, text=True, timeout=5)
        return p.stdout.rstrip("\n") if p.returncode == 0 else None
    except subprocess.TimeoutExpired:
        return None


def load_model(ckpt):
    c = torch.load(ckpt)
    m = LlamaForCausalLM(c["cfg"])
    m.load_state_dict(c["state"])
    m.eval()
    return m


def decode_all(model, tok, users, max_new, batch=32):
    """Greedy completions (text up to <|im_end|>) for each user prompt; batches equal lengths."""
    stop = tok.vocab["<|im_end|>"]
    enc = [tok.encode(render(u)) for u in users]
    by_len = defaultdict(list)
    for i, e in enumerate(enc):
        by_len[len(e)].append(i)
    out = [None] * len(users)
    for _, idx in sorted(by_len.items()):
        for s in range(0, len(idx), batch):
            chunk = idx[s:s + batch]
            gen = greedy(model, [enc[i] for i in chunk], max_new, stop)
            for i, g in zip(chunk, gen):
                if g and g[-1] == stop:
                    g = g[:-1]
                out[i] = tok.decode(g)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ckpt", default="")
    ap.add_argument("--tok", required=True)
    ap.add_argument("--nuri", required=True, help="nuri binary (for `nuri synth`)")
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1000003)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dump", default="")
    ap.add_argument("--hf-q8", default="", help="evaluate this exported HF dir with Q8_0-roundtripped weights "
                                                "(what the shipped GGUF holds) instead of --ckpt")
    a = ap.parse_args()
    assert a.seed not in (1, 2, 3), "seeds 1, 2, 3 are training seeds"
    torch.set_num_threads(a.threads)
    tok = Tokenizer.load(os.path.join(a.tok, "tokenizer.json"))
    if a.hf_q8:
        from golden import load_hf
        model = load_hf(a.hf_q8, q8=True)
    else:
        model = load_model(a.ckpt)
    t0 = time.time()
    report = {}
    dump = []
    for kind in ("a", "b"):
        p = subprocess.run([a.nuri, "synth", "--seed", str(a.seed), "--n", str(a.n), "--kind", kind],
                           capture_output=True, text=True, check=True)
        samples = [json.loads(l) for l in p.stdout.splitlines()]
        outs = decode_all(model, tok, [s["user"] for s in samples], 200)
        per = defaultdict(lambda: [0, 0])
        for s, o in zip(samples, outs):
            if kind == "a":
                ok = answer_a(o) == s["answer"]
                key = "level %d" % s["difficulty"]
            else:
                code = python_block(o)
                ok = code is not None and run_code(code) == s["answer"]
                key = s["task"]
            per[key][0] += ok
            per[key][1] += 1
            per["all"][0] += ok
            per["all"][1] += 1
            dump.append({"kind": kind, "user": s["user"], "expected": s["answer"], "output": o, "ok": ok})
        report[kind] = {k: "%d/%d = %.1f%%" % (c, n, 100.0 * c / n) for k, (c, n) in sorted(per.items())}
        print("kind %s:" % kind)
        for k, v in sorted(report[kind].items()):
            print("  %-16s %s" % (k, v))
        sys.stdout.flush()
    print("eval time %.1f min" % ((time.time() - t0) / 60))
    if a.dump:
        with open(a.dump, "w") as f:
            for d in dump:
                f.write(json.dumps(d) + "\n")


if __name__ == "__main__":
    main()
