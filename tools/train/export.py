#!/usr/bin/python3
"""Exports a training checkpoint (train.py's OUT/ckpt.pt, also the periodic one of a run still in
progress) as an HF directory that `nuri convert` turns into GGUF.
Usage: export.py CKPT.pt TOKDIR OUT_HF_DIR
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from model import LlamaForCausalLM  # noqa: E402
from train import export  # noqa: E402


def main():
    ckpt, tok_dir, out = sys.argv[1:4]
    torch.set_num_threads(1)
    c = torch.load(ckpt)
    model = LlamaForCausalLM(c["cfg"])
    model.load_state_dict(c["state"])
    export(model, tok_dir, out, Tokenizer.load(os.path.join(tok_dir, "tokenizer.json")))
    print("exported %s (step %s) -> %s" % (ckpt, c.get("step", "final"), out))


if __name__ == "__main__":
    main()
