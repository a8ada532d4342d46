"""Tiny llama-architecture model in plain PyTorch (works with Debian's torch 1.13).

Convention: Hugging Face Llama. RMSNorm (weight * x / sqrt(mean(x^2) + eps)), RoPE applied with
rotate_half, i.e. NeoX-style pairs (i, i + head_dim/2), inv_freq[i] = theta^(-2i/head_dim);
SwiGLU MLP down(silu(gate(x)) * up(x)); no biases; tied input/output embeddings. Parameter names
match transformers' LlamaForCausalLM so model.safetensors loads as any HF Llama checkpoint
(q_proj/k_proj are NOT permuted: converters must apply the usual HF->GGUF permute).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        x32 = x.float()
        return (x32 * torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + self.eps)).type_as(x) * self.weight


def rope_cache(seq_len, head_dim, theta, device=None):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32, device=device) / head_dim))
    t = torch.arange(seq_len, dtype=torch.float32, device=device)
    freqs = torch.outer(t, inv_freq)  # [seq, head_dim/2]
    emb = torch.cat([freqs, freqs], dim=-1)  # [seq, head_dim]
    return emb.cos(), emb.sin()


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, self.nh, self.nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
        self.hd = d // self.nh
        self.q_proj = nn.Linear(d, self.nh * self.hd, bias=False)
        self.k_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.v_proj = nn.Linear(d, self.nkv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.nh * self.hd, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, _ = x.shape
        q = self.q_proj(x).view(b, t, self.nh, self.hd).transpose(1, 2)  # [b, nh, t, hd]
        k = self.k_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, t, self.nkv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if self.nkv != self.nh:
            rep = self.nh // self.nkv
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        if isinstance(mask, dict):  # per-sample attention: mask = {"segments": [[(s, e), ...]] per row, "tri": fn}
            rows = []
            for r in range(b):
                parts = []
                for s, e in mask["segments"][r]:
                    a = (q[r, :, s:e] @ k[r, :, s:e].transpose(-1, -2)) / math.sqrt(self.hd) + mask["tri"](e - s)
                    parts.append(a.softmax(-1) @ v[r, :, s:e])  # [nh, e-s, hd]
                rows.append(torch.cat(parts, dim=1))
            y = torch.stack(rows).transpose(1, 2).reshape(b, t, self.nh * self.hd)
            return self.o_proj(y)
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask  # [b, nh, t, t]
        att = att.softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(b, t, self.nh * self.hd)
        return self.o_proj(y)


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, f = cfg["hidden_size"], cfg["intermediate_size"]
        self.gate_proj = nn.Linear(d, f, bias=False)
        self.up_proj = nn.Linear(d, f, bias=False)
        self.down_proj = nn.Linear(f, d, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.input_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.self_attn = Attention(cfg)
        self.post_attention_layernorm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])
        self.mlp = MLP(cfg)

    def forward(self, x, cos, sin, mask):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


class Inner(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg["vocab_size"], cfg["hidden_size"])
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg["num_hidden_layers"])])
        self.norm = RMSNorm(cfg["hidden_size"], cfg["rms_norm_eps"])


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.model = Inner(cfg)
        hd = cfg["hidden_size"] // cfg["num_attention_heads"]
        cos, sin = rope_cache(cfg["max_position_embeddings"], hd, cfg["rope_theta"])
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init)
        std = 0.02 / math.sqrt(2 * cfg["num_hidden_layers"])
        for blk in self.model.layers:
            nn.init.normal_(blk.self_attn.o_proj.weight, std=std)
            nn.init.normal_(blk.mlp.down_proj.weight, std=std)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, ids, segments=None):
        """ids [b, t] -> logits [b, t, vocab] (tied output: logits = h @ embed_tokens^T).
        segments: None (causal attention over the whole row), or per row a list of (begin, end)
        spans covering [0, t): each span attends only within itself, with positions from 0, which
        is exactly what the model computes at inference for one sample, at sum(len^2) cost."""
        b, t = ids.shape
        x = self.model.embed_tokens(ids)
        if segments is None:
            cos, sin = self.rope_cos[:t], self.rope_sin[:t]
            mask = torch.full((t, t), float("-inf"), device=ids.device).triu(1)
        else:
            pos = torch.zeros(b, t, dtype=torch.long)
            for r, segs in enumerate(segments):
                for s, e in segs:
                    pos[r, s:e] = torch.arange(e - s)
            cos, sin = self.rope_cos[pos].unsqueeze(1), self.rope_sin[pos].unsqueeze(1)  # [b, 1, t, hd]
            tris = {}

            def tri(n):
                if n not in tris:
                    tris[n] = torch.full((n, n), float("-inf"), device=ids.device).triu(1)
                return tris[n]
            mask = {"segments": segments, "tri": tri}
        for blk in self.model.layers:
            x = blk(x, cos, sin, mask)
        x = self.model.norm(x)
        return x @ self.model.embed_tokens.weight.t()

    def num_params(self):
        return sum(p.numel() for p in self.parameters())


@torch.no_grad()
def forward_cached(model, ids, cache, start):
    """Incremental forward for greedy decoding. ids [b, t] at positions start..start+t-1 (same for
    every row); cache is a list (per layer) of [k, v] tensors [b, n_head_kv, t_past, head_dim] or
    None, updated in place. Returns logits [b, t, vocab]."""
    b, t = ids.shape
    x = model.model.embed_tokens(ids)
    cos, sin = model.rope_cos[start:start + t], model.rope_sin[start:start + t]
    total = start + t
    mask = torch.full((t, total), float("-inf")).triu(start + 1)
    for li, blk in enumerate(model.model.layers):
        att = blk.self_attn
        h = blk.input_layernorm(x)
        q = att.q_proj(h).view(b, t, att.nh, att.hd).transpose(1, 2)
        k = att.k_proj(h).view(b, t, att.nkv, att.hd).transpose(1, 2)
        v = att.v_proj(h).view(b, t, att.nkv, att.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if cache[li] is not None:
            k = torch.cat([cache[li][0], k], dim=2)
            v = torch.cat([cache[li][1], v], dim=2)
        cache[li] = [k, v]
        if att.nkv != att.nh:
            rep = att.nh // att.nkv
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        a = ((q @ k.transpose(-1, -2)) / math.sqrt(att.hd) + mask).softmax(-1)
        y = (a @ v).transpose(1, 2).reshape(b, t, att.nh * att.hd)
        x = x + att.o_proj(y)
        x = x + blk.mlp(blk.post_attention_layernorm(x))
    x = model.model.norm(x)
    return x @ model.model.embed_tokens.weight.t()


@torch.no_grad()
def greedy(model, prompts, max_new, stop_id):
    """Greedy decoding of a batch of equal-length prompts (lists of ids). Returns new ids per row,
    cut after stop_id (stop_id included)."""
    ids = torch.tensor(prompts, dtype=torch.long)
    cache = [None] * len(model.model.layers)
    logits = forward_cached(model, ids, cache, 0)
    pos = ids.shape[1]
    outs = [[] for _ in prompts]
    done = [False] * len(prompts)
    nxt = logits[:, -1].argmax(-1)
    for _ in range(max_new):
        for r in range(len(prompts)):
            if not done[r]:
                outs[r].append(int(nxt[r]))
                done[r] = int(nxt[r]) == stop_id
        if all(done) or pos >= model.cfg["max_position_embeddings"]:
            break
        logits = forward_cached(model, nxt.view(-1, 1), cache, pos)
        pos += 1
        nxt = logits[:, -1].argmax(-1)
    return outs
