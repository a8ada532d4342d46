#!/usr/bin/env python3
"""Regenerates tests/chat/data/jinja_cases.jsonl: each snippet of jinja_cases.py rendered by
Python Jinja2 configured like Hugging Face's apply_chat_template (ImmutableSandboxedEnvironment,
trim_blocks, lstrip_blocks, loopcontrols, generation blocks, json.dumps tojson, raise_exception,
strftime_now fixed at 2026-01-02 03:04:05). The C++ engine must give the same text or also fail.
Usage: python3 tests/chat/gen_jinja_cases.py   (needs the jinja2 package; tooling only)"""
import json, os, sys
from datetime import datetime

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment


class GenerationBlock(Extension):
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render", []), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def make_env():
    def raise_exception(m):
        raise jinja2.exceptions.TemplateError(m)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda fmt: datetime(2026, 1, 2, 3, 4, 5).strftime(fmt)
    return env


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    scope = {}
    exec(open(os.path.join(here, "jinja_cases.py")).read(), scope)
    env = make_env()
    out = []
    for template, ctx in scope["C"]:
        case = {"template": template, "context": ctx}
        try:
            text = env.from_string(template).render(**ctx)
            if " at 0x" in text:  # object addresses cannot be reproduced
                continue
            case["expected"] = text
        except Exception as e:  # noqa: BLE001 — any template failure is an expected error
            case["error"] = type(e).__name__ + ": " + str(e)
        out.append(case)
    path = os.path.join(here, "data", "jinja_cases.jsonl")
    with open(path, "w", encoding="utf-8") as f:
        for c in out:
            f.write(json.dumps(c, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} cases to {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
