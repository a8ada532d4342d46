#!/usr/bin/python3
"""Trains nuri-tiny's byte-level BPE on the verified corpus and writes tokenizer.json +
tokenizer_config.json (ChatML template). Deterministic: fixed sample subset, fixed tie-breaks.
Usage: train_tokenizer.py CORPUS_DIR OUT_DIR [--vocab 1024] [--per-kind 20000]
"""
import argparse
import json
import os
import time

from bpe import Tokenizer, train, write_hf


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("out")
    ap.add_argument("--vocab", type=int, default=1024)
    ap.add_argument("--per-kind", type=int, default=20000)
    a = ap.parse_args()
    texts = []
    for k in "abc":
        with open(os.path.join(a.corpus, "train_%s.jsonl" % k), encoding="utf-8") as f:
            for i, line in enumerate(f):
                if i >= a.per_kind:
                    break
                texts.append(json.loads(line)["text"])
    t0 = time.time()
    vocab, merges = train(texts, a.vocab)
    write_hf(a.out, vocab, merges)
    tok = Tokenizer.load(os.path.join(a.out, "tokenizer.json"))
    n_tok = sum(len(tok.encode(t)) for t in texts[:2000])
    n_chr = sum(len(t) for t in texts[:2000])
    for t in texts[:3]:
        assert tok.decode(tok.encode(t)) == t
    print("tokenizer: vocab %d, %d merges, %.2f chars/token, %.1fs" % (len(vocab), len(merges), n_chr / n_tok,
                                                                        time.time() - t0))


if __name__ == "__main__":
    main()
