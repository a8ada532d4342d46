"""Byte-level BPE: GPT-2 byte<->unicode mapping, the qwen2 pre-tokenizer, training and encoding.

The pre-tokenizer is a hand-written matcher equivalent to the qwen2 regex (Python's `re` has no
\\p{L}; Debian's python3 has no `regex` module):
  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+
Digits are always single pre-tokens (\\p{N}), so numbers are spelled digit by digit.
"""
import json
import unicodedata
from collections import Counter

QWEN2_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|"
               r"\s*[\r\n]+|\s+(?!\S)|\s+")
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def bytes_to_unicode():
    """GPT-2's reversible map from the 256 byte values to printable unicode characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    mapping = {}
    extra = 0
    for b in range(256):
        if b in keep:
            mapping[b] = chr(b)
        else:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


B2U = bytes_to_unicode()
U2B = {u: b for b, u in B2U.items()}


def _is_l(c):
    return unicodedata.category(c).startswith("L")


def _is_n(c):
    return unicodedata.category(c).startswith("N")


def _is_s(c):
    return c.isspace()


_CONTRACTIONS = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"]


def pretokenize(s):
    """Splits s exactly like the qwen2 regex (leftmost alternative wins, greedy with backtracking)."""
    out = []
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        # 1. contractions (case-insensitive)
        m = None
        if c == "'":
            for t in _CONTRACTIONS:
                if s[i:i + len(t)].lower() == t:
                    m = i + len(t)
                    break
        if m is None:
            # 2. [^\r\n\p{L}\p{N}]?\p{L}+
            j = i
            if not _is_l(c) and c not in "\r\n" and not _is_n(c) and i + 1 < n and _is_l(s[i + 1]):
                j = i + 1
            if _is_l(s[j]):
                while j < n and _is_l(s[j]):
                    j += 1
                m = j
        if m is None and _is_n(c):  # 3. \p{N}
            m = i + 1
        if m is None:
            # 4.  ?[^\s\p{L}\p{N}]+[\r\n]*
            j = i + 1 if c == " " else i
            k = j
            while k < n and not _is_s(s[k]) and not _is_l(s[k]) and not _is_n(s[k]):
                k += 1
            if k > j:
                while k < n and s[k] in "\r\n":
                    k += 1
                m = k
        if m is None and _is_s(c):
            j = i
            while j < n and _is_s(s[j]):
                j += 1
            # 5. \s*[\r\n]+ : up to (and through) the last newline of the whitespace run
            last_nl = max((k for k in range(i, j) if s[k] in "\r\n"), default=-1)
            if last_nl >= 0:
                m = last_nl + 1
            elif j == n:  # 6. \s+(?!\S) at end of text
                m = j
            elif j - 1 > i:  # 6. backtrack one so the next char is whitespace
                m = j - 1
            else:  # 7. \s+
                m = j
        if m is None:  # cannot happen: every char matches some alternative
            m = i + 1
        out.append(s[i:m])
        i = m
    return out


def split_specials(text):
    """[(segment, is_special)] splitting out the special tokens."""
    out = []
    i = 0
    while i < len(text):
        best = None
        for sp in SPECIALS:
            k = text.find(sp, i)
            if k >= 0 and (best is None or k < best[0]):
                best = (k, sp)
        if best is None:
            out.append((text[i:], False))
            break
        if best[0] > i:
            out.append((text[i:best[0]], False))
        out.append((best[1], True))
        i = best[0] + len(best[1])
    return out


def to_units(piece):
    return "".join(B2U[b] for b in piece.encode("utf-8"))


def train(texts, vocab_size):
    """Returns (vocab dict str->id, merges list of (a, b)). Ties: highest count, then smallest pair."""
    words = Counter()
    for t in texts:
        for seg, special in split_specials(t):
            if not special:
                for p in pretokenize(seg):
                    words[to_units(p)] += 1
    vocab = {}
    for b in range(256):
        vocab[B2U[b]] = len(vocab)
    n_merges = vocab_size - 256 - len(SPECIALS)
    seqs = [(list(w), f) for w, f in words.items()]
    merges = []
    for _ in range(n_merges):
        pairs = Counter()
        for sym, f in seqs:
            for a, b in zip(sym, sym[1:]):
                pairs[(a, b)] += f
        if not pairs:
            break
        best = min(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        merges.append(best)
        new = best[0] + best[1]
        vocab[new] = len(vocab)
        for idx, (sym, f) in enumerate(seqs):
            if len(sym) < 2:
                continue
            i, out = 0, []
            changed = False
            while i < len(sym):
                if i + 1 < len(sym) and sym[i] == best[0] and sym[i + 1] == best[1]:
                    out.append(new)
                    i += 2
                    changed = True
                else:
                    out.append(sym[i])
                    i += 1
            if changed:
                seqs[idx] = (out, f)
    for sp in SPECIALS:
        vocab[sp] = len(vocab)
    return vocab, merges


class Tokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.inv = {i: t for t, i in vocab.items()}
        self.ranks = {tuple(m): r for r, m in enumerate(merges)}
        self.cache = {}

    @classmethod
    def load(cls, path):
        j = json.load(open(path, encoding="utf-8"))
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in j["model"]["merges"]]
        vocab = dict(j["model"]["vocab"])
        for t in j["added_tokens"]:
            vocab[t["content"]] = t["id"]
        return cls(vocab, merges)

    def _bpe(self, units):
        if units in self.cache:
            return self.cache[units]
        sym = list(units)
        while len(sym) > 1:
            best, best_rank = None, None
            for i in range(len(sym) - 1):
                r = self.ranks.get((sym[i], sym[i + 1]))
                if r is not None and (best_rank is None or r < best_rank):
                    best, best_rank = i, r
            if best is None:
                break
            sym = sym[:best] + [sym[best] + sym[best + 1]] + sym[best + 2:]
        ids = [self.vocab[s] for s in sym]
        self.cache[units] = ids
        return ids

    def encode(self, text):
        ids = []
        for seg, special in split_specials(text):
            if special:
                ids.append(self.vocab[seg])
            else:
                for p in pretokenize(seg):
                    ids.extend(self._bpe(to_units(p)))
        return ids

    def decode(self, ids):
        out = bytearray()
        for i in ids:
            t = self.inv[i]
            if t in SPECIALS:
                out.extend(t.encode("utf-8"))
            else:
                out.extend(U2B[u] for u in t)
        return out.decode("utf-8", errors="replace")


CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def write_hf(out_dir, vocab, merges, model_max_length=512):
    """Writes tokenizer.json (BPE, Split(qwen2 regex) + ByteLevel) and tokenizer_config.json."""
    import os
    os.makedirs(out_dir, exist_ok=True)
    added = [{"id": vocab[s], "content": s, "single_word": False, "lstrip": False, "rstrip": False,
              "normalized": False, "special": True} for s in SPECIALS]
    base_vocab = {t: i for t, i in vocab.items() if t not in SPECIALS}
    bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}
    tok = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_REGEX}, "behavior": "Isolated", "invert": False}, bl]},
        "post_processor": dict(bl),
        "decoder": dict(bl),
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": "",
                  "end_of_word_suffix": "", "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": base_vocab, "merges": [a + " " + b for a, b in merges]},
    }
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tok, f, ensure_ascii=False, indent=1)
    cfg = {
        "add_bos_token": False,
        "add_eos_token": False,
        "add_prefix_space": False,
        "bos_token": "<|endoftext|>",
        "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>",
        "unk_token": None,
        "chat_template": CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False,
        "model_max_length": model_max_length,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "added_tokens_decoder": {str(a["id"]): {k: v for k, v in a.items() if k != "id"} for a in added},
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=1)
