#!/usr/bin/python3
"""Verifies `nuri synth` JSONL samples independently of the C++ generator and keeps good ones.

(a) every "x op y = z" step is recomputed in Python and the "Answer:" must equal the last
    result line's value and the sample's `answer`;
(b) the fenced python block is executed (exec in a fresh namespace, stdout captured, 5 s alarm)
    and its printed output must equal `answer`;
(c) kept as is (must have a non-empty reply).
Usage: verify.py IN.jsonl OUT.jsonl   — prints counts and rejects per kind to stdout.
"""
import contextlib
import io
import json
import re
import signal
import sys
from collections import Counter

STEP = re.compile(r"(-?\d+) (\+|-|x|//|%) (-?\d+) = (-?\d+)")


def check_a(s):
    ops = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "x": lambda a, b: a * b,
           "//": lambda a, b: a // b, "%": lambda a, b: a % b}
    lines = s["assistant"].split("\n")
    if not lines[-1].startswith("Answer: "):
        return "no final Answer line"
    for line in lines[:-1]:
        for a, op, b, c in STEP.findall(line):
            if ops[op](int(a), int(b)) != int(c):
                return "wrong step " + line
    ans = lines[-1][len("Answer: "):]
    if ans != s["answer"]:
        return "answer mismatch"
    if s["difficulty"] != len(lines) - 1:
        return "difficulty %d != %d reasoning lines" % (s["difficulty"], len(lines) - 1)
    return None


class Timeout(Exception):
    pass


def _alarm(*_):
    raise Timeout()


def run_python(code, timeout=5):
    """Executes code, returns (stdout, error or None)."""
    buf = io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        with contextlib.redirect_stdout(buf):
            exec(compile(code, "<sample>", "exec"), {"__name__": "__main__"})
        return buf.getvalue(), None
    except Timeout:
        return buf.getvalue(), "timeout"
    except BaseException as e:  # noqa: BLE001 — any failure of sample code is a reject
        return buf.getvalue(), "%s: %s" % (type(e).__name__, e)
    finally:
        signal.alarm(0)


def extract_python(text):
    m = re.search(r"```(?:python)?\n(.*?)```", text, re.S)
    return m.group(1) if m else None


def check_b(s):
    code = extract_python(s["assistant"])
    if code is None:
        return "no python block"
    out, err = run_python(code)
    if err:
        return err
    if out.rstrip("\n") != s["answer"]:
        return "printed %r, expected %r" % (out.rstrip("\n"), s["answer"])
    return None


def main():
    src, dst = sys.argv[1], sys.argv[2]
    kept, rejected = Counter(), Counter()
    reasons = Counter()
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
        for line in f:
            s = json.loads(line)
            k = s["kind"]
            err = check_a(s) if k == "a" else check_b(s) if k == "b" else (None if s["assistant"] else "empty")
            if err:
                rejected[k] += 1
                reasons[(k, err.split(" ")[0])] += 1
                continue
            kept[k] += 1
            out.write(line)
    for k in sorted(set(kept) | set(rejected)):
        print("verify %s: kind %s: kept %d, rejected %d" % (src, k, kept[k], rejected[k]))
    for (k, r), c in sorted(reasons.items()):
        print("  reject kind %s: %s x%d" % (k, r, c))


if __name__ == "__main__":
    main()
