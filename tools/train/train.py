#!/usr/bin/python3
"""Trains nuri-tiny (llama architecture) on the verified synthetic corpus and exports an HF
checkpoint (model.safetensors + config.json + tokenizer files) that `nuri convert` turns into GGUF.

Reproducible: same --seed -> same init, same data order, same loss curve (CPU, 1 thread; the
loss of every step is written to OUT/loss.tsv). Loss is masked to assistant tokens (+ <|im_end|>).
A sample is either {"user", "assistant"} (kinds a-c, one turn) or {"messages": [{"role", "content"},
...]} (kind d: system, user, then assistant replies and observations as user turns, exactly the
agent's conversation); multi-turn samples carry the loss on every assistant turn.
Usage: train.py --corpus DIR --tok DIR --out DIR [--seed 1234] [--steps 2400] [--stop-after N]
"""
import argparse
import json
import math
import os
import random
import shutil
import struct
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bpe import Tokenizer  # noqa: E402
from model import LlamaForCausalLM  # noqa: E402


def render(user, assistant=None):
    s = "<|im_start|>user\n" + user + "<|im_end|>\n<|im_start|>assistant\n"
    if assistant is not None:
        s += assistant + "<|im_end|>\n"
    return s


def render_messages(messages, add_generation_prompt=False):
    """The model's chat template (ChatML, no default system turn) over a message list."""
    s = "".join("<|im_start|>" + m["role"] + "\n" + m["content"] + "<|im_end|>\n" for m in messages)
    return s + ("<|im_start|>assistant\n" if add_generation_prompt else "")


def encode_messages(tok, messages):
    """(ids, spans): ids of the whole conversation, spans [(begin, end)] of every assistant turn's
    content + <|im_end|> (the trained tokens). Each turn's prompt must tokenize as a prefix of the
    whole conversation (what the model sees at inference is what it was trained on)."""
    full = tok.encode(render_messages(messages))
    spans = []
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        p = tok.encode(render_messages(messages[:i], add_generation_prompt=True))
        e = len(tok.encode(render_messages(messages[:i + 1]))) - 1  # without the "\n" after <|im_end|>
        assert full[:len(p)] == p and full[e - 1] == tok.vocab["<|im_end|>"], "turn tokens are not a prefix"
        spans.append((len(p), e))
    return full, spans


def load_samples(corpus, tok, mix, seed):
    """Tokenized samples [(ids, spans)] for each kind, in file order (cached on disk per kind)."""
    out = {}
    for k in mix:
        cache = os.path.join(corpus, "tokens-%s-%s.pt" % (tok_fingerprint(tok), k))
        if os.path.exists(cache) and os.path.getmtime(cache) > os.path.getmtime(os.path.join(corpus, "train_%s.jsonl" % k)):
            out[k] = torch.load(cache)
            continue
        rows = []
        with open(os.path.join(corpus, "train_%s.jsonl" % k), encoding="utf-8") as f:
            for line in f:
                s = json.loads(line)
                msgs = s["messages"] if "messages" in s else [{"role": "user", "content": s["user"]},
                                                              {"role": "assistant", "content": s["assistant"]}]
                full, spans = encode_messages(tok, msgs)
                rows.append((full[:spans[-1][1]], spans))  # drop the final "\n"
        out[k] = rows
        torch.save(rows, cache)
    return out


def tok_fingerprint(tok):
    import hashlib
    h = hashlib.sha1(json.dumps(sorted(tok.ranks.items(), key=lambda kv: kv[1])[:2000]).encode()).hexdigest()
    return h[:10]


def pack_rows(samples, mix, seq, seed, stats=None):
    """Infinite generator of (input, target) rows of length seq. Samples of each kind are shuffled
    with the seed, interleaved by the mix weights, and packed whole (never split) into rows of
    seq+1 tokens; targets are -100 outside assistant tokens and in the padding. A sample that does
    not fit the rest of a row waits (in order) for the next row while up to 8 further draws try to
    fill the gap, so long multi-turn samples do not leave rows half empty."""
    rng = random.Random(seed)
    orders = {k: list(range(len(samples[k]))) for k in mix}
    pos = {k: len(orders[k]) for k in mix}
    kinds, weights = list(mix), [mix[k] for k in mix]

    def next_sample():
        k = rng.choices(kinds, weights)[0]
        if pos[k] >= len(orders[k]):
            rng.shuffle(orders[k])
            pos[k] = 0
        i = orders[k][pos[k]]
        pos[k] += 1
        return samples[k][i]

    waiting = []
    while True:
        ids, tgt, starts = [], [], []
        carry, misses = [], 0
        while misses < 8:
            s = waiting.pop(0) if waiting else next_sample()
            full, spans = s
            if len(full) > seq + 1:
                continue
            if len(ids) + len(full) > seq + 1:
                carry.append(s)
                misses += 1
                continue
            mask = [0] * len(full)
            for b, e in spans:
                mask[b:e] = [1] * (e - b)
            starts.append(len(ids))
            ids.extend(full)
            tgt.extend(mask)
        waiting = carry + waiting
        pad = seq + 1 - len(ids)
        if stats is not None:
            stats["tokens"] = stats.get("tokens", 0) + seq + 1
            stats["pad"] = stats.get("pad", 0) + pad
            stats["loss_tokens"] = stats.get("loss_tokens", 0) + sum(tgt)
        ids.extend([0] * pad)
        tgt.extend([0] * pad)
        x = torch.tensor(ids[:-1])
        y = torch.tensor(ids[1:])
        m = torch.tensor(tgt[1:], dtype=torch.bool)
        y[~m] = -100
        bounds = starts + [len(ids) - pad]
        segs = [(b, min(e, seq)) for b, e in zip(bounds, bounds[1:]) if b < seq]
        if not segs:
            segs = [(0, seq)]
        elif segs[-1][1] < seq:
            segs.append((segs[-1][1], seq))  # the padding: its own span (no loss)
        yield x, y, segs


def save_safetensors(path, tensors):
    """Minimal safetensors writer: u64 LE header size, JSON header, raw LE data (F32)."""
    header, offset, blobs = {}, 0, []
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous().cpu()
        data = t.numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def hf_config(cfg, tok):
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": cfg["hidden_size"],
        "intermediate_size": cfg["intermediate_size"],
        "num_hidden_layers": cfg["num_hidden_layers"],
        "num_attention_heads": cfg["num_attention_heads"],
        "num_key_value_heads": cfg["num_key_value_heads"],
        "head_dim": cfg["hidden_size"] // cfg["num_attention_heads"],
        "hidden_act": "silu",
        "rms_norm_eps": cfg["rms_norm_eps"],
        "rope_theta": cfg["rope_theta"],
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "vocab_size": cfg["vocab_size"],
        "max_position_embeddings": cfg["max_position_embeddings"],
        "tie_word_embeddings": True,
        "bos_token_id": tok.vocab["<|endoftext|>"],
        "eos_token_id": tok.vocab["<|im_end|>"],
        "pad_token_id": tok.vocab["<|endoftext|>"],
        "torch_dtype": "float32",
        "initializer_range": 0.02,
        "transformers_version": "4.40.0",
        "_nuri_note": "HF Llama convention: RoPE rotate_half (NeoX-style pairs i, i+head_dim/2); q_proj/k_proj "
                      "unpermuted, so HF->GGUF converters apply the usual llama permute. Tied embeddings "
                      "(no lm_head.weight).",
    }


def export(model, tok_dir, out_dir, tok):
    os.makedirs(out_dir, exist_ok=True)
    sd = {k: v for k, v in model.state_dict().items() if not k.startswith("rope_")}
    save_safetensors(os.path.join(out_dir, "model.safetensors"), sd)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(hf_config(model.cfg, tok), f, indent=1)
    with open(os.path.join(out_dir, "generation_config.json"), "w") as f:
        json.dump({"bos_token_id": tok.vocab["<|endoftext|>"], "eos_token_id": tok.vocab["<|im_end|>"],
                   "do_sample": False}, f, indent=1)
    shutil.copy(os.path.join(tok_dir, "tokenizer.json"), os.path.join(out_dir, "tokenizer.json"))
    tc = json.load(open(os.path.join(tok_dir, "tokenizer_config.json"), encoding="utf-8"))
    tc["model_max_length"] = model.cfg["max_position_embeddings"]
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tc, f, ensure_ascii=False, indent=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--tok", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--steps", type=int, default=2400)
    ap.add_argument("--stop-after", type=int, default=0, help="stop after N steps (repro check)")
    ap.add_argument("--max-minutes", type=float, default=55.0)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256, help="row length in tokens (samples are packed whole)")
    ap.add_argument("--ctx", type=int, default=0, help="context of the exported model (max_position_embeddings); "
                                                       "0: 512, or the --init-from checkpoint's")
    ap.add_argument("--d", type=int, default=256)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--ff", type=int, default=704)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--per-sample-attention", action="store_true",
                    help="packed samples attend only within themselves, positions from 0 (as at inference); "
                         "attention costs sum(len^2) instead of seq^2 per row")
    ap.add_argument("--mix", default="a:0.55,b:0.40,c:0.05")
    ap.add_argument("--no-export", action="store_true")
    ap.add_argument("--save-every", type=int, default=200)
    ap.add_argument("--init-from", default="", help="ckpt.pt to continue from (data order re-seeded by --seed)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    random.seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    tok = Tokenizer.load(os.path.join(a.tok, "tokenizer.json"))
    mix = {kv.split(":")[0]: float(kv.split(":")[1]) for kv in a.mix.split(",")}
    t0 = time.time()
    samples = load_samples(a.corpus, tok, mix, a.seed)
    print("data: %s samples, tokenized in %.1fs" % ({k: len(v) for k, v in samples.items()}, time.time() - t0),
          flush=True)

    cfg = dict(hidden_size=a.d, intermediate_size=a.ff, num_hidden_layers=a.layers, num_attention_heads=a.heads,
               num_key_value_heads=a.kv_heads, rms_norm_eps=1e-5, rope_theta=10000.0, vocab_size=len(tok.vocab),
               max_position_embeddings=512)
    model = LlamaForCausalLM(cfg)
    if a.init_from:  # continue training from a checkpoint (its model config wins)
        ck = torch.load(a.init_from)
        cfg = ck["cfg"]
        model = LlamaForCausalLM(cfg)
        if a.ctx:
            cfg = dict(cfg, max_position_embeddings=a.ctx)
            model = LlamaForCausalLM(cfg)
        model.load_state_dict(ck["state"])
        print("init from %s (step %s)" % (a.init_from, ck.get("step", "final")), flush=True)
    elif a.ctx:
        cfg["max_position_embeddings"] = a.ctx
        model = LlamaForCausalLM(cfg)
    assert a.seq <= cfg["max_position_embeddings"], "--seq is longer than the model's context"
    print("model: %d parameters, config %s" % (model.num_params(), json.dumps(cfg)), flush=True)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95), eps=1e-8)
    pack_stats = {}
    rows = pack_rows(samples, mix, a.seq, a.seed, pack_stats)

    def lr_at(step, elapsed=0.0):
        # Linear warmup (step-based), then cosine to 10% over whichever comes first: --steps or
        # --max-minutes (so a run on a busy machine still ends annealed). With --max-minutes 0
        # the schedule is purely step-based and the whole run is bit-reproducible.
        if step < a.warmup:
            return a.lr * (step + 1) / a.warmup
        p = (step - a.warmup) / max(1, a.steps - a.warmup)
        if a.max_minutes > 0:
            t_warm = warm_done[0] if warm_done[0] is not None else elapsed
            p = max(p, (elapsed - t_warm) / max(1.0, a.max_minutes * 60 - t_warm))
        return a.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, p))))

    warm_done = [None]

    loss_log = open(os.path.join(a.out, "loss.tsv"), "w")
    t_start = time.time()
    n_tok = 0
    last = a.steps
    smooth = None
    for step in range(a.steps):
        batch = [next(rows) for _ in range(a.batch)]
        x = torch.stack([b[0] for b in batch])
        y = torch.stack([b[1] for b in batch])
        elapsed = time.time() - t_start
        if step == a.warmup:
            warm_done[0] = elapsed
        lr = lr_at(step, elapsed)
        for g in opt.param_groups:
            g["lr"] = lr
        logits = model(x, [b[2] for b in batch] if a.per_sample_attention else None)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), y.view(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        n_tok += x.numel()
        lv = loss.item()
        smooth = lv if smooth is None else 0.95 * smooth + 0.05 * lv
        loss_log.write("%d\t%.6f\n" % (step, lv))
        elapsed = time.time() - t_start
        if step % 20 == 0 or step == a.steps - 1:
            loss_log.flush()
            print("step %5d  loss %.4f  smooth %.4f  lr %.2e  %.0f tok/s  %.1f min  pad %.1f%%" %
                  (step, lv, smooth, lr, n_tok / max(elapsed, 1e-9), elapsed / 60,
                   100.0 * pack_stats["pad"] / pack_stats["tokens"]), flush=True)
        if a.save_every and (step + 1) % a.save_every == 0 and not a.no_export:
            torch.save({"cfg": cfg, "state": model.state_dict(), "step": step + 1}, os.path.join(a.out, "ckpt.pt"))
        if a.stop_after and step + 1 >= a.stop_after:
            last = step + 1
            break
        if a.max_minutes > 0 and elapsed > a.max_minutes * 60:
            print("time budget reached at step %d" % step, flush=True)
            last = step + 1
            break
    loss_log.close()
    wall = time.time() - t_start
    print("trained %d steps, %d tokens, %.1f min" % (last, n_tok, wall / 60), flush=True)
    if not a.no_export:
        torch.save({"cfg": cfg, "state": model.state_dict()}, os.path.join(a.out, "ckpt.pt"))
        export(model, a.tok, os.path.join(a.out, "hf"), tok)
        with open(os.path.join(a.out, "train_info.json"), "w") as f:
            json.dump({"seed": a.seed, "steps": last, "tokens": n_tok, "wall_min": wall / 60,
                       "padding_tokens": pack_stats["pad"], "loss_tokens": pack_stats["loss_tokens"],
                       "params": model.num_params(), "args": vars(a)}, f, indent=1)
        print("exported %s" % os.path.join(a.out, "hf"), flush=True)


if __name__ == "__main__":
    main()
