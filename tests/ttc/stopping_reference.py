#!/usr/bin/python3
# Independent reference for tests/ttc/stopping_test.cc: for hand-made vote sequences, the sample
# after which each adaptive rule first stops (threshold 0.95, at most 16 samples).
#   beta:      P(p1 > p2), p1/(p1+p2) ~ Beta(v1+1, v2+1)   -> mpmath.betainc (regularized)
#   dirichlet: P(p_leader is largest) under Dirichlet(counts+1) -> numpy Monte Carlo (4e6 draws)
#   leader:    top - second > remaining samples (by hand)
# A decision whose confidence lies within 0.01 of the threshold is flagged (not used in tests).
import collections
import mpmath
import numpy as np

MAX, THR = 16, 0.95
rng = np.random.default_rng(12345)

def beta_conf(v1, v2):
    return float(1 - mpmath.betainc(v1 + 1, v2 + 1, 0, 0.5, regularized=True))

def dir_conf(counts):
    alpha = [c + 1 for c in counts] + ([1] if len(counts) == 1 else [])
    draws = rng.dirichlet(alpha, size=4_000_000)
    return float(np.mean(np.argmax(draws, axis=1) == 0))

def ranked(seq):
    c = collections.Counter(seq)
    return sorted(c.values(), reverse=True)

def first_stop(seq, rule):
    for n in range(1, len(seq) + 1):
        counts = ranked(seq[:n])
        second = counts[1] if len(counts) > 1 else 0
        if counts[0] - second > MAX - n:
            return n, 1.0
        if rule == "beta":
            conf = beta_conf(counts[0], second)
        elif rule == "dirichlet":
            conf = dir_conf(counts)
        else:
            continue
        if abs(conf - THR) < 0.01:
            print("  (ambiguous at", n, counts, conf, ")")
        if conf >= THR:
            return n, conf
    return None, None

SEQS = {
    "unanimous": "AAAAAAAAAAAAAAAA",
    "one_dissent": "ABAAAAAAAAAAAAAA",
    "three_way": "ABCAABAACAAAAAAA",
    "close": "ABABABBABABBBBBB",
    "tie_to_end": "ABABABABABABABAB",
}
if __name__ == "__main__":
    for name, s in SEQS.items():
        for rule in ("leader", "beta", "dirichlet"):
            print(name, rule, first_stop(s, rule))
    for v in [(0, 0), (1, 0), (3, 0), (4, 0), (3, 1), (5, 2), (7, 1), (10, 6)]:
        print("beta", v, "%.9f" % beta_conf(*v))
    for c in [(4,), (3, 1), (5, 2, 1), (6, 3, 3), (2, 2)]:
        print("dirichlet", c, "%.4f" % dir_conf(list(c)))
