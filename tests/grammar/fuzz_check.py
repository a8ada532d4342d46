#!/usr/bin/python3
"""Independent checks of grammar-constrained generations (tests/grammar/grammar_fuzz_test.cc).

usage: fuzz_check.py RESULTS.jsonl

Each line: {"kind": "schema" | "gbnf", "file": PATH, "seed": N, "text": OUTPUT, "finish": "stop" | "length"},
or {"kind": "args", "file": TEMPLATE, "tool": NAME, "schema": PARAMETERS, "seed": N, "text": ARGUMENTS_JSON,
"finish": ...} for the arguments of a parsed tool call (checked like kind schema).

- kind schema: the output must parse as JSON and validate against the schema file with
  python3-jsonschema (draft 2020-12, with its format checker plus own checks for the formats it
  does not check: time and date-time, RFC 3339). A schema is "bounded" when every string has
  maxLength (or is an enum / const / format), every array maxItems and every object
  additionalProperties: false, with no recursion: its language is finite, so the generation must
  end with finish "stop". Outputs of unbounded schemas cut by the token limit (finish "length")
  are counted, not validated (a cut JSON text does not parse).
- kind gbnf: the output must be a sentence of the grammar, decided by the small backtracking
  GBNF recogniser below (written from the GBNF description, sharing nothing with src/grammar).
  Grammars whose file starts with "# bounded" must end with finish "stop".

Prints per-file pass counts and totals; exits 1 if any check fails.
"""
import datetime
import json
import re
import sys

from jsonschema import Draft202012Validator

sys.setrecursionlimit(20000)

# ---------------------------------------------------------------- JSON Schema side

TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d):([0-5]\d)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):([0-5]\d))$")


def check_formats(schema, inst, root):
    """Checks 'time' and 'date-time' (jsonschema 4.10 needs extra packages for them)."""
    errs = []

    def walk(s, x):
        if isinstance(s, bool) or not isinstance(s, dict):
            return
        if "$ref" in s:
            walk(resolve(root, s["$ref"]), x)
        fmt = s.get("format")
        if isinstance(x, str) and fmt in ("time", "date-time"):
            t = x
            if fmt == "date-time":
                if len(x) < 11 or x[10] not in "Tt":
                    errs.append("not a date-time: %r" % x)
                    return
                try:
                    datetime.date.fromisoformat(x[:10])
                except ValueError:
                    errs.append("bad date in date-time: %r" % x)
                t = x[11:]
            if not TIME_RE.match(t):
                errs.append("not an RFC 3339 %s: %r" % (fmt, x))
        for k in ("anyOf", "oneOf", "allOf"):
            for sub in s.get(k, []):
                walk(sub, x)
        if isinstance(x, dict):
            for k, v in x.items():
                if k in s.get("properties", {}):
                    walk(s["properties"][k], v)
                elif isinstance(s.get("additionalProperties"), dict):
                    walk(s["additionalProperties"], v)
        if isinstance(x, list):
            pre = s.get("prefixItems", [])
            for i, v in enumerate(x):
                if i < len(pre):
                    walk(pre[i], v)
                elif isinstance(s.get("items"), dict):
                    walk(s["items"], v)

    walk(schema, inst)
    return errs


def resolve(root, ref):
    if ref == "#":
        return root
    node = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def bounded(s, root, seen=()):
    if isinstance(s, bool):
        return False  # true: any value
    if "$ref" in s:
        if s["$ref"] in seen:
            return False  # recursion
        if not bounded(resolve(root, s["$ref"]), root, seen + (s["$ref"],)):
            return False
    if "const" in s or "enum" in s:
        return True
    for k in ("anyOf", "oneOf"):
        if k in s:
            return all(bounded(b, root, seen) for b in s[k])
    if "allOf" in s:
        return False  # merged objects: extras depend on the parts; not counted as bounded
    t = s.get("type")
    types = t if isinstance(t, list) else [t]
    for t in types:
        if t is None and "$ref" in s:
            continue
        if t in ("boolean", "null", "integer", "number"):
            continue  # numbers have at most 16 + 16 digits and a 3-digit exponent
        if t == "string" or (t is None and any(k in s for k in ("format", "pattern", "maxLength"))):
            if "format" in s:
                continue
            if "pattern" in s:
                if re.search(r"[*+]|\{\d+,\}", s["pattern"]):
                    return False
                continue
            if "maxLength" not in s:
                return False
            continue
        if t == "array" or (t is None and ("items" in s or "prefixItems" in s)):
            if "maxItems" not in s and s.get("items") is not False:
                return False
            if "items" in s and s["items"] is not False and not bounded(s["items"], root, seen):
                return False
            if not all(bounded(p, root, seen) for p in s.get("prefixItems", [])):
                return False
            continue
        if t == "object" or (t is None and "properties" in s):
            if s.get("additionalProperties") is not False:
                return False
            if not all(bounded(p, root, seen) for p in s.get("properties", {}).values()):
                return False
            continue
        return False
    return True


# ---------------------------------------------------------------- GBNF side

class GbnfError(Exception):
    pass


def parse_gbnf(text):
    """GBNF text -> {rule: node}. Nodes: ('seq', [..]), ('alt', [..]), ('chars', neg, [(lo, hi)]),
    ('lit', str), ('ref', name), ('rep', node, min, max_or_None)."""
    pos = 0
    n = len(text)

    def ws(newlines):
        nonlocal pos
        while pos < n:
            c = text[pos]
            if c in " \t" or (newlines and c in "\r\n"):
                pos += 1
            elif c == "#":
                while pos < n and text[pos] != "\n":
                    pos += 1
            else:
                break

    def name():
        nonlocal pos
        m = re.compile(r"[A-Za-z0-9_-]+").match(text, pos)
        if not m:
            raise GbnfError("name expected at %d" % pos)
        pos = m.end()
        return m.group(0)

    def esc():
        nonlocal pos
        c = text[pos]
        pos += 1
        simple = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "[": "[", "]": "]", "-": "-", "/": "/", "^": "^"}
        if c in simple:
            return simple[c]
        width = {"x": 2, "u": 4, "U": 8}.get(c)
        if width is None:
            raise GbnfError("bad escape \\%s" % c)
        v = int(text[pos:pos + width], 16)
        pos += width
        return chr(v)

    def one_char():
        nonlocal pos
        if text[pos] == "\\":
            pos += 1
            return esc()
        c = text[pos]
        pos += 1
        return c

    def atom():
        nonlocal pos
        c = text[pos]
        if c == '"':
            pos += 1
            s = ""
            while text[pos] != '"':
                s += one_char()
            pos += 1
            return ("lit", s)
        if c == "[":
            pos += 1
            neg = text[pos] == "^"
            if neg:
                pos += 1
            ranges = []
            while text[pos] != "]":
                lo = one_char()
                hi = lo
                if text[pos] == "-" and text[pos + 1] != "]":
                    pos += 1
                    hi = one_char()
                ranges.append((ord(lo), ord(hi)))
            pos += 1
            return ("chars", neg, ranges)
        if c == ".":
            pos += 1
            return ("chars", True, [])
        if c == "(":
            pos += 1
            ws(True)
            e = alts(True)
            ws(True)
            if text[pos] != ")":
                raise GbnfError("')' expected at %d" % pos)
            pos += 1
            return e
        return ("ref", name())

    def postfix(a):
        nonlocal pos
        while pos < n:
            c = text[pos]
            if c == "*":
                a = ("rep", a, 0, None)
            elif c == "+":
                a = ("rep", a, 1, None)
            elif c == "?":
                a = ("rep", a, 0, 1)
            elif c == "{":
                m = re.compile(r"\{\s*(\d+)\s*(,\s*(\d*)\s*)?\}").match(text, pos)
                if not m:
                    raise GbnfError("bad repetition at %d" % pos)
                lo = int(m.group(1))
                hi = lo if m.group(2) is None else (int(m.group(3)) if m.group(3) else None)
                a = ("rep", a, lo, hi)
                pos = m.end() - 1
            else:
                break
            pos += 1
        return a

    def seq(nested):
        items = []
        while True:
            ws(nested)  # newlines end a rule's sequence, except inside parentheses
            if pos >= n or text[pos] in "|)\r\n":
                break
            items.append(postfix(atom()))
        return ("seq", items)

    def alts(nested=False):
        nonlocal pos
        options = [seq(nested)]
        while True:
            save = pos
            ws(nested)
            if pos < n and text[pos] == "|":
                pos += 1
                ws(True)
                options.append(seq(nested))
            else:
                pos = save
                break
        return ("alt", options)

    rules = {}
    while True:
        ws(True)
        if pos >= n:
            break
        r = name()
        ws(False)
        if not text.startswith("::=", pos):
            raise GbnfError("'::=' expected at %d" % pos)
        pos += 3
        ws(True)
        rules[r] = alts()
    return rules


class Recognizer:
    def __init__(self, rules):
        self.rules = rules
        self.memo = {}

    def ends(self, node, s, i):
        """Set of positions j such that node matches s[i:j]."""
        key = (id(node), i)
        if key in self.memo:
            return self.memo[key]
        kind = node[0]
        if kind == "lit":
            out = {i + len(node[1])} if s.startswith(node[1], i) else set()
        elif kind == "chars":
            out = set()
            if i < len(s):
                cp = ord(s[i])
                inside = any(lo <= cp <= hi for lo, hi in node[2])
                if inside != node[1]:
                    out = {i + 1}
        elif kind == "ref":
            self.memo[key] = set()  # guards against (unsupported) left recursion
            out = self.ends(self.rules[node[1]], s, i)
        elif kind == "alt":
            out = set()
            for o in node[1]:
                out |= self.ends(o, s, i)
        elif kind == "seq":
            cur = {i}
            for item in node[1]:
                nxt = set()
                for p in cur:
                    nxt |= self.ends(item, s, p)
                cur = nxt
                if not cur:
                    break
            out = cur
        elif kind == "rep":
            _, sub, lo, hi = node
            out = set()
            cur = {i}
            count = 0
            done = set()  # unbounded: positions already expanded with count >= lo
            while cur:
                if count >= lo:
                    if hi is None:
                        cur -= done
                        done |= cur
                    out |= cur
                if hi is not None and count >= hi:
                    break
                nxt = set()
                for p in cur:
                    nxt |= {q for q in self.ends(sub, s, p) if q > p or count < lo}
                count += 1
                cur = nxt
        else:
            raise GbnfError("bad node " + kind)
        self.memo[key] = out
        return out

    def accepts(self, s):
        self.memo = {}
        return len(s) in self.ends(self.rules["root"], s, 0)


# ---------------------------------------------------------------- driver

def main():
    results = [json.loads(line) for line in open(sys.argv[1], encoding="utf-8")]
    per_file = {}
    failures = []
    totals = {"schema": [0, 0, 0], "args": [0, 0, 0], "gbnf": [0, 0, 0]}  # outputs, validated, cut by length (unbounded)
    cache = {}
    for r in results:
        f = r["file"]
        if r["kind"] == "args":  # tool-call arguments, the tool's parameters schema inline
            f = f + " (" + r["tool"] + ")"
            if f not in cache:
                cache[f] = (r["schema"], bounded(r["schema"], r["schema"]))
        if f not in cache:
            src = open(f, encoding="utf-8").read()
            if r["kind"] == "schema":
                sch = json.loads(src)
                cache[f] = (sch, bounded(sch, sch))
            else:
                cache[f] = (Recognizer(parse_gbnf(src)), src.startswith("# bounded"))
        obj, is_bounded = cache[f]
        t = totals[r["kind"]]
        t[0] += 1
        st = per_file.setdefault(f, {"n": 0, "ok": 0, "cut": 0, "bounded": is_bounded})
        st["n"] += 1
        where = "%s seed %d" % (f.split("/")[-1], r["seed"])
        if r["finish"] != "stop":
            if is_bounded:
                failures.append("%s: bounded, but finished with %s: %r" % (where, r["finish"], r["text"]))
            else:
                st["cut"] += 1
                t[2] += 1
            continue
        if r["kind"] in ("schema", "args"):
            try:
                inst = json.loads(r["text"])
            except ValueError as e:
                failures.append("%s: not JSON (%s): %r" % (where, e, r["text"]))
                continue
            v = Draft202012Validator(obj, format_checker=Draft202012Validator.FORMAT_CHECKER)
            errs = [e.message for e in v.iter_errors(inst)] + check_formats(obj, inst, obj)
            if errs:
                failures.append("%s: does not validate: %s: %r" % (where, errs[0], r["text"]))
                continue
        else:
            if not obj.accepts(r["text"]):
                failures.append("%s: not a sentence of the grammar: %r" % (where, r["text"]))
                continue
        st["ok"] += 1
        t[1] += 1
    for f, st in sorted(per_file.items()):
        print("%-40s %s %d/%d valid%s" % (f.split("/")[-1], "bounded  " if st["bounded"] else "unbounded",
                                          st["ok"], st["n"], ", %d cut by the token limit" % st["cut"] if st["cut"] else ""))
    for k, (n, ok, cut) in totals.items():
        if n == 0:
            continue
        print("%s: %d outputs, %d parsed and validated, %d cut by the token limit (unbounded), %d failed"
              % (k, n, ok, cut, n - ok - cut))
    for m in failures:
        print("FAIL " + m)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
