#!/usr/bin/python3
"""Writes the greedy golden file for nuri's e2e test of the default model.

Loads the exported HF checkpoint (model.safetensors + config.json + tokenizer.json), applies
Q8_0 quantize->dequantize to every 2-D weight (what `nuri convert --dtype q8_0` ships):
blocks of 32 along the input (last) dim, d = max|x| / 127 (fp32), q = roundf(x * (1/d))
(round half away from zero, as llama.cpp's reference quantizer), clamp [-127, 127], weight =
q * fp16(d). 1-D norm weights stay F32. Then decodes 5 ChatML prompts greedily, 64 new tokens.
Usage: golden.py HF_DIR OUT.jsonl
"""
import json
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from model import LlamaForCausalLM, forward_cached  # noqa: E402
from train import render  # noqa: E402

PROMPTS = [
    "What is 23 + 45?",
    "Mia has 12 apples. She buys 5 more. She gives 3 to a friend. How many apples does Mia have now?",
    "How many days are there between 2024-03-01 and 2024-07-15?",
    "Reverse the words of \"the quick brown fox\".",
    "Hello!",
]
N_NEW = 64


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, h in header.items():
        if name == "__metadata__":
            continue
        assert h["dtype"] == "F32"
        a, b = h["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype="<f4").copy().reshape(h["shape"]))
    return out


def q8_0_roundtrip(w):
    x = w.detach().to(torch.float32).numpy()
    assert x.shape[-1] % 32 == 0
    blocks = x.reshape(-1, 32)
    amax = np.abs(blocks).max(axis=1).astype(np.float32)
    d = (amax / np.float32(127.0)).astype(np.float32)
    inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, np.float32(1.0)), np.float32(0.0)).astype(np.float32)
    v = (blocks * inv[:, None]).astype(np.float32)
    q = np.clip(np.sign(v) * np.floor(np.abs(v) + np.float32(0.5)), -127, 127).astype(np.float32)
    d16 = d.astype(np.float16).astype(np.float32)
    return torch.from_numpy((q * d16[:, None]).reshape(x.shape).astype(np.float32))


def load_hf(hf_dir, q8=True):
    cfg = json.load(open(os.path.join(hf_dir, "config.json")))
    keys = ["hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads",
            "rms_norm_eps", "rope_theta", "vocab_size", "max_position_embeddings"]
    model = LlamaForCausalLM({k: cfg[k] for k in keys})
    sd = load_safetensors(os.path.join(hf_dir, "model.safetensors"))
    if q8:
        sd = {k: (q8_0_roundtrip(v) if v.dim() == 2 else v) for k, v in sd.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and all(m.startswith("rope_") for m in missing), (missing, unexpected)
    model.eval()
    return model


@torch.no_grad()
def greedy_n(model, prompt_ids, n):
    cache = [None] * len(model.model.layers)
    logits = forward_cached(model, torch.tensor([prompt_ids]), cache, 0)
    pos, out = len(prompt_ids), []
    for _ in range(n):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        logits = forward_cached(model, torch.tensor([[nxt]]), cache, pos)
        pos += 1
    return out


def main():
    hf_dir, out_path = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    tok = Tokenizer.load(os.path.join(hf_dir, "tokenizer.json"))
    model = load_hf(hf_dir)
    eos = tok.vocab["<|im_end|>"]
    with open(out_path, "w", encoding="utf-8") as f:
        for user in PROMPTS:
            prompt = render(user)
            ids = tok.encode(prompt)
            gen = greedy_n(model, ids, N_NEW)
            stop = gen.index(eos) if eos in gen else len(gen)
            rec = {
                "user": user,
                "prompt": prompt,
                "prompt_ids": ids,
                "generated_ids": gen[:stop],
                "stopped_at_eos": eos in gen,
                "generated_text": tok.decode(gen[:stop]),
                "generated_ids_ignore_eos": gen,
                "eos_id": eos,
                "note": "greedy, Q8_0-roundtripped weights, 64 new tokens; generated_ids stops before the first "
                        "<|im_end|>; generated_ids_ignore_eos is the full 64-token greedy continuation",
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            print(json.dumps(user), "->", json.dumps(rec["generated_text"]))


if __name__ == "__main__":
    main()
