#!/usr/bin/python3
"""Recovers a trainable checkpoint and the tokenizer files from a shipped nuri-tiny GGUF.

The F32 training checkpoint of the first nuri-tiny is gone; the Q8_0 GGUF is what remains. This
reads the GGUF (v2/v3: metadata, tensor infos, F32 / F16 / Q8_0 data), dequantises every tensor,
maps the GGUF names back to the HF Llama names of tools/train/model.py and undoes the HF->GGUF
q/k permute (GGUF rows per head are interleaved pairs 2i+j <- HF row j*head_dim/2+i), and writes
  OUT/ckpt.pt        {"cfg", "state"} for `train.py --init-from`
  OUT/hf/            model.safetensors + config.json + tokenizer files (golden.py / eval_torch.py --hf-q8)
  OUT/tok/           tokenizer.json + tokenizer_config.json rebuilt from tokenizer.ggml.tokens/merges
Usage: gguf_init.py MODEL.gguf OUT_DIR
"""
import json
import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

GGML_F32, GGML_F16, GGML_Q8_0 = 0, 1, 8


class Reader:
    def __init__(self, data):
        self.d, self.p = data, 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.d, self.p)
        self.p += struct.calcsize("<" + fmt)
        return v[0] if len(v) == 1 else v

    def string(self):
        n = self.take("Q")
        s = self.d[self.p:self.p + n].decode("utf-8")
        self.p += n
        return s

    def value(self, t):
        scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
        if t in scalar:
            return self.take(scalar[t])
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("I"), self.take("Q")
            return [self.value(et) for _ in range(n)]
        raise ValueError("unknown GGUF value type %d" % t)


def read_gguf(path):
    """(metadata dict, {name: np.float32 array shaped like a torch weight [n_out, n_in]})."""
    data = open(path, "rb").read()
    r = Reader(data)
    if data[:4] != b"GGUF":
        raise ValueError("%s: not a GGUF file" % path)
    r.p = 4
    version = r.take("I")
    if version not in (2, 3):
        raise ValueError("%s: GGUF version %d (expected 2 or 3)" % (path, version))
    n_tensors, n_kv = r.take("Q"), r.take("Q")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        meta[k] = r.value(r.take("I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("I")
        dims = [r.take("Q") for _ in range(nd)]
        infos.append((name, dims, r.take("I"), r.take("Q")))
    align = meta.get("general.alignment", 32)
    base = (r.p + align - 1) // align * align
    tensors = {}
    for name, dims, t, off in infos:
        n = int(np.prod(dims))
        shape = list(reversed(dims))  # ne[0] is innermost
        p = base + off
        if t == GGML_F32:
            a = np.frombuffer(data, "<f4", n, p).astype(np.float32)
        elif t == GGML_F16:
            a = np.frombuffer(data, "<f2", n, p).astype(np.float32)
        elif t == GGML_Q8_0:
            nb = n // 32
            blk = np.frombuffer(data, np.dtype([("d", "<f2"), ("q", "i1", 32)]), nb, p)
            a = (blk["q"].astype(np.float32) * blk["d"].astype(np.float32)[:, None]).reshape(-1)
        else:
            raise ValueError("tensor %s: ggml type %d not supported (F32, F16, Q8_0)" % (name, t))
        tensors[name] = a.reshape(shape)
    return meta, tensors


def unpermute(w, n_head):
    """Inverse of the HF->GGUF rope permute on rows [n_head * head_dim, n_in]."""
    n_out, n_in = w.shape
    hd = n_out // n_head
    return w.reshape(n_head, hd // 2, 2, n_in).swapaxes(1, 2).reshape(n_out, n_in)


def to_hf_state(meta, tensors):
    arch = meta["general.architecture"]
    g = lambda k: meta["%s.%s" % (arch, k)]  # noqa: E731
    n_head, n_kv = g("attention.head_count"), g("attention.head_count_kv")
    cfg = dict(hidden_size=g("embedding_length"), intermediate_size=g("feed_forward_length"),
               num_hidden_layers=g("block_count"), num_attention_heads=n_head, num_key_value_heads=n_kv,
               rms_norm_eps=float(np.float32(g("attention.layer_norm_rms_epsilon"))),
               rope_theta=float(g("rope.freq_base")), vocab_size=tensors["token_embd.weight"].shape[0],
               max_position_embeddings=g("context_length"))
    if abs(cfg["rms_norm_eps"] - 1e-5) < 1e-9:
        cfg["rms_norm_eps"] = 1e-5
    names = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
             "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj",
             "ffn_norm": "post_attention_layernorm", "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj",
             "ffn_down": "mlp.down_proj"}
    sd = {"model.embed_tokens.weight": tensors["token_embd.weight"], "model.norm.weight": tensors["output_norm.weight"]}
    if "output.weight" in tensors and not np.array_equal(tensors["output.weight"], tensors["token_embd.weight"]):
        raise ValueError("untied output.weight: tools/train/model.py ties the embeddings")
    for i in range(cfg["num_hidden_layers"]):
        for gn, hn in names.items():
            w = tensors["blk.%d.%s.weight" % (i, gn)]
            if gn == "attn_q":
                w = unpermute(w, n_head)
            elif gn == "attn_k":
                w = unpermute(w, n_kv)
            sd["model.layers.%d.%s.weight" % (i, hn)] = w
    return cfg, sd


def write_tokenizer(meta, out_dir):
    from bpe import SPECIALS, write_hf
    toks = meta["tokenizer.ggml.tokens"]
    merges = [tuple(m.split(" ", 1)) for m in meta["tokenizer.ggml.merges"]]
    vocab = {t: i for i, t in enumerate(toks)}
    for s in SPECIALS:
        if s not in vocab:
            raise ValueError("GGUF vocabulary lacks %s" % s)
    write_hf(out_dir, vocab, merges, model_max_length=meta.get("llama.context_length", 512))


def main():
    import torch
    from train import export
    from model import LlamaForCausalLM
    from bpe import Tokenizer
    gguf, out = sys.argv[1], sys.argv[2]
    meta, tensors = read_gguf(gguf)
    cfg, sd = to_hf_state(meta, tensors)
    os.makedirs(out, exist_ok=True)
    write_tokenizer(meta, os.path.join(out, "tok"))
    tok = Tokenizer.load(os.path.join(out, "tok", "tokenizer.json"))
    model = LlamaForCausalLM(cfg)
    missing, unexpected = model.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()},
                                                strict=False)
    assert not unexpected and all(m.startswith("rope_") for m in missing), (missing, unexpected)
    torch.save({"cfg": cfg, "state": model.state_dict()}, os.path.join(out, "ckpt.pt"))
    export(model, os.path.join(out, "tok"), os.path.join(out, "hf"), tok)
    print("gguf_init: %s -> %s: %d parameters, config %s, vocab %d, %d merges" %
          (gguf, out, model.num_params(), json.dumps(cfg), len(tok.vocab), len(tok.ranks)))


if __name__ == "__main__":
    main()
