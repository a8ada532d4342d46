#!/usr/bin/python3
"""Context overflow through the nuri binary on stories260K (a 512-token context model).

context_overflow_cli.py NURI SHARED_DIR

nuri run: a prompt beyond the context exits 1 naming both counts; -n past the context ends with
"length" and says so; --context-shift generates all -n tokens past the context, and the text after
the context; --context-overflow truncate drops the oldest prompt tokens and its output equals a
run of the kept tokens (when their text round-trips through the tokenizer).
nuri chat: a conversation beyond the context is an error without a policy, goes on with one.
nuri serve: 400 context_length_exceeded with the prompt tokens and the context size; a completion
that fills the context ends with finish_reason "length"; a --context-shift server completes
max_tokens beyond the context.
"""
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request

NURI, SHARED = sys.argv[1], sys.argv[2]
MODEL = SHARED + "/models/stories260K-F32.gguf"
failures = []


def check(ok, what, detail=""):
    print(("ok   " if ok else "FAIL ") + what + ("" if ok else f"\n     {detail}"))
    if not ok:
        failures.append(what)


def run(args, stdin=None):
    p = subprocess.run([NURI] + args, input=stdin, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def ids_of(text, add_special=True):
    args = ["tokenize", "-m", MODEL, "--ids"] + (["--add-special"] if add_special else []) + ["--", text]
    rc, out, err = run(args)
    assert rc == 0, err
    return [int(x) for x in out.split()]


LONG = "Once upon a time, there was a little girl named Lily." + " She liked to play in the park with her dog." * 60
n_long = len(ids_of(LONG))
assert n_long > 512, n_long

# --- nuri run
rc, out, err = run(["run", "-m", MODEL, "-p", LONG, "-n", "8", "-t", "1"])
check(rc == 1 and str(n_long) in err and "512" in err, "run: too-long prompt exits 1 with both counts", (rc, err))

rc, out, err = run(["run", "-m", MODEL, "-p", "Once upon a time", "-n", "600", "-t", "1", "--no-echo"])
m = re.search(r"generated (\d+) tokens.*finish (\w+)", err)
check(rc == 0 and m and m.group(2) == "length" and "end of the context (512 tokens" in err,
      "run: -n past the context stops at it with finish length and says so", err)
n_prompt = len(ids_of("Once upon a time"))
check(m and int(m.group(1)) == 512 - n_prompt, "run: generated up to the context", err)

rc, out, err = run(["run", "-m", MODEL, "-p", "Once upon a time", "-n", "1000", "-t", "1", "--no-echo", "--context-shift",
                    "--ignore-eos"])
m = re.search(r"generated (\d+) tokens.*finish (\w+)", err)
shifts = re.search(r"context shifted (\d+) times", err)
check(rc == 0 and m and int(m.group(1)) == 1000 and m.group(2) == "length" and shifts and int(shifts.group(1)) >= 2,
      "run --context-shift: all 1000 tokens, past the 512-token context", err)

rc, out, err = run(["run", "-m", MODEL, "-p", LONG, "-n", "16", "-t", "1", "--no-echo", "--context-overflow", "truncate"])
dropped = re.search(r"dropped (\d+) prompt tokens", err)
check(rc == 0 and dropped and int(dropped.group(1)) == n_long - (512 - 16), "run truncate: drops the oldest prompt tokens", err)
# The same text as a run on the kept tokens: BOS + the newest 512 - 16 - 1 tokens, as token ids.
ids = ids_of(LONG)
kept = ids[:1] + ids[len(ids) - (512 - 16 - 1):]
rc2, out2, err2 = run(["detokenize", "-m", MODEL] + [str(i) for i in kept[1:]])
rc3, out3, err3 = run(["run", "-m", MODEL, "-p", out2.rstrip("\n"), "-n", "16", "-t", "1", "--no-echo"])
# Re-tokenizing the detokenized text may differ at the cut; compare only when it round-trips.
if ids_of(out2.rstrip("\n")) == kept:
    check(out3 == out, "run truncate: output equals a run of the kept tokens", (out, out3))

rc, out, err = run(["run", "-m", MODEL, "-p", "x", "-n", "4", "--context-overflow", "sideways"])
check(rc == 1 and "error, shift or truncate" in err, "run: a bad --context-overflow is a clear error", err)

# --- nuri chat (ChatML fallback; a 128-token context fills in a turn or two)
turns = "Tell me a story about a cat and a dog.\n" * 4
rc, out, err = run(["chat", "-m", MODEL, "-c", "128", "-n", "40", "-t", "1", "--system", "You are a storyteller."], stdin=turns)
check("no longer fits the context" in err and "128" in err, "chat: a conversation beyond the context is an error with the counts", err)
rc, out, err = run(["chat", "-m", MODEL, "-c", "128", "-n", "40", "-t", "1", "--system", "You are a storyteller.",
                    "--context-shift"], stdin=turns)
check(rc == 0 and "no longer fits" not in err and len(re.findall(r"\[chat\] turn \d+:", err)) == 4 and
      re.search(r"kept the first (\d+) tokens", err), "chat --context-shift: every turn runs, keeping the system message", err)
k = re.search(r"kept the first (\d+) tokens", err)
sys_ids = ids_of("<|im_start|>system\nYou are a storyteller.<|im_end|>\n")
# The common prefix of the conversation's tokens and the system turn's (the last piece may merge).
check(k and len(sys_ids) - 2 <= int(k.group(1)) <= len(sys_ids), "chat: n_keep is the system message's tokens",
      (k and k.group(1), len(sys_ids)))


# --- nuri serve
def start_server(extra):
    p = subprocess.Popen([NURI, "serve", "-m", MODEL, "--port", "0", "-t", "1", "--parallel", "2"] + extra,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = ""
    while True:
        line = p.stderr.readline()
        if not line:
            raise SystemExit("nuri serve exited before listening:\n" + log)
        log += line
        m = re.search(r"listening on (http://[0-9.]+:\d+)", line)
        if m:
            return p, m.group(1)


def post(url, body):
    req = urllib.request.Request(url + "/v1/completions", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=300) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


srv, url = start_server([])
try:
    st, body = post(url, {"prompt": LONG, "max_tokens": 4, "temperature": 0})
    msg = body.get("error", {}).get("message", "")
    check(st == 400 and body["error"].get("code") == "context_length_exceeded" and str(n_long) in msg and "512" in msg,
          "serve: 400 context_length_exceeded with prompt tokens and context size", (st, body))
    st, body = post(url, {"prompt": "Once upon a time", "max_tokens": 1000, "temperature": 0})
    msg = body.get("error", {}).get("message", "")
    check(st == 400 and "512" in msg and str(n_prompt) in msg and "1000" in msg,
          "serve: 400 when prompt + max_tokens exceed the context, with the numbers", (st, body))
    st, body = post(url, {"prompt": "Once upon a time", "temperature": 0, "ignore_eos": True})
    check(st == 200 and body["choices"][0]["finish_reason"] == "length" and
          # the context's 512 positions, then the token sampled from the last one's logits
          body["usage"]["completion_tokens"] == 512 - n_prompt + 1, "serve: generation that fills the context ends with length",
          body.get("usage"))
finally:
    srv.terminate()
    srv.wait(timeout=60)

srv, url = start_server(["--context-shift"])
try:
    st, body = post(url, {"prompt": "Once upon a time", "max_tokens": 900, "temperature": 0, "ignore_eos": True})
    check(st == 200 and body["usage"]["completion_tokens"] == 900 and body["choices"][0]["finish_reason"] == "length",
          "serve --context-shift: max_tokens past the context completes", (st, body.get("usage")))
    st, body = post(url, {"prompt": LONG, "max_tokens": 8, "temperature": 0})
    check(st == 200 and body["usage"]["prompt_tokens"] < 512 and body["usage"]["completion_tokens"] == 8,
          "serve --context-shift: a too-long prompt is cut to fit (usage.prompt_tokens after the cut)", (st, body.get("usage")))
finally:
    srv.terminate()
    srv.wait(timeout=60)

print(f"{len(failures)} failures")
sys.exit(1 if failures else 0)
