#!/usr/bin/env python3
"""Independent RoPE-scaling tables for tests/model/rope_scaling_test.cc.

Reads a JSON list of cases on stdin; each case gives a model-level RoPE description (what a file
states, not nuri's derived parameters) and positions:
  {"n_rot", "base", "type": none|linear|yarn|longrope, "factor", "n_ctx_orig", "attn_factor",
   "beta_fast", "beta_slow", "log_mul", "freq_factors": [...] or null, "positions": [...]}
Writes a JSON list of tables: for each case, for each position, the n_rot floats
cos(theta_i) * m, sin(theta_i) * m (i < n_rot / 2), computed in float64 straight from the YaRN
paper's / llama.cpp's definitions (no recurrence, no float32 rounding):
  theta_extrap_i = p * base^(-2i / n_rot) / ff_i, theta_interp_i = theta_extrap_i / factor;
  linear: theta_interp; YaRN: mixed by the ramp over the correction dims, with the overall
  attention scale attn_factor * (1 + 0.1 ln factor) / (1 + 0.1 log_mul ln factor) (log_mul 0: no
  division); none: factor ignored. Also `llama3` cases: {"llama3": {"n_rot", "base", "factor",
  "low", "high", "n_ctx_orig"}} -> the frequency divisors of Hugging Face's rope_type "llama3".
"""
import json
import math
import sys

import numpy as np


def corr_dim(n_rot, n_ctx_orig, beta, base):
    return n_rot * math.log(n_ctx_orig / (beta * 2 * math.pi)) / (2 * math.log(base))


def table(c):
    n_rot, base = c["n_rot"], c["base"]
    kind = c.get("type", "none")
    factor = c.get("factor", 1.0) if kind != "none" else 1.0
    ff = np.array(c["freq_factors"], dtype=np.float64) if c.get("freq_factors") else np.ones(n_rot // 2)
    i = np.arange(n_rot // 2, dtype=np.float64)
    inv_freq = base ** (-2.0 * i / n_rot) / ff
    scale = c.get("attn_factor", 1.0)
    ramp = np.zeros(n_rot // 2)
    if kind == "yarn":
        low = max(0.0, math.floor(corr_dim(n_rot, c["n_ctx_orig"], c.get("beta_fast", 32.0), base)))
        high = min(n_rot - 1.0, math.ceil(corr_dim(n_rot, c["n_ctx_orig"], c.get("beta_slow", 1.0), base)))
        ramp = 1.0 - np.clip((i - low) / max(0.001, high - low), 0.0, 1.0)
        if factor > 1:
            lm = c.get("log_mul", 0.0)
            scale *= (1 + 0.1 * math.log(factor)) / ((1 + 0.1 * lm * math.log(factor)) if lm else 1.0)
    out = []
    for p in c["positions"]:
        extrap = p * inv_freq
        interp = extrap / factor
        theta = interp * (1 - ramp) + extrap * ramp
        row = np.empty(n_rot)
        row[0::2] = np.cos(theta) * scale
        row[1::2] = np.sin(theta) * scale
        out.append(row.tolist())
    return out


def llama3(c):
    n_rot, base, factor, low, high, orig = c["n_rot"], c["base"], c["factor"], c["low"], c["high"], c["n_ctx_orig"]
    res = []
    for i in range(n_rot // 2):
        inv = base ** (-2.0 * i / n_rot)
        wavelen = 2 * math.pi / inv
        if wavelen < orig / high:
            new = inv
        elif wavelen > orig / low:
            new = inv / factor
        else:
            smooth = (orig / wavelen - low) / (high - low)
            new = (1 - smooth) * inv / factor + smooth * inv
        res.append(inv / new)  # the divisor of the frequency
    return res


cases = json.load(sys.stdin)
json.dump([llama3(c["llama3"]) if "llama3" in c else table(c) for c in cases], sys.stdout)
