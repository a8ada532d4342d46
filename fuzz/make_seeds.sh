#!/usr/bin/env bash
# Writes the seed corpora of the libFuzzer targets: fuzz/corpus/<target>/ (or OUT/<target>/).
# Every seed is generated here (small, hand-made inputs of each format), none is copied.
# Usage: bash fuzz/make_seeds.sh [OUT]
set -euo pipefail
out="${1:-$(cd "$(dirname "$0")" && pwd)/corpus}"
mkdir -p "$out"
python3 - "$out" <<'PY'
import json, os, struct, sys
out = sys.argv[1]

def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)

# ---- GGUF: metadata of each value type, tokenizers of each model type, a tensor ----
def gstr(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b
def kv(key, t, payload):
    return gstr(key) + struct.pack("<I", t) + payload
def kv_str(k, v): return kv(k, 8, gstr(v))
def kv_u32(k, v): return kv(k, 4, struct.pack("<I", v))
def kv_f32(k, v): return kv(k, 6, struct.pack("<f", v))
def kv_bool(k, v): return kv(k, 7, struct.pack("<B", v))
def kv_arr(k, et, items):
    if et == 8:
        body = b"".join(gstr(x) for x in items)
    else:
        fmt = {4: "<I", 5: "<i", 6: "<f"}[et]
        body = b"".join(struct.pack(fmt, x) for x in items)
    return kv(k, 9, struct.pack("<IQ", et, len(items)) + body)
def gguf(kvs, tensors=b"", n_tensors=0, data=b""):
    head = struct.pack("<IIQQ", 0x46554747, 3, n_tensors, len(kvs)) + b"".join(kvs) + tensors
    pad = (-len(head)) % 32
    return head + b"\0" * pad + data

bpe_tokens = ["a", "b", "c", "ab", "abc", "\u0120", "\u0120a", "<s>", "</s>", "H", "e", "l", "o", "He", "ll"]
bpe_types = [1] * len(bpe_tokens)
bpe_types[7] = bpe_types[8] = 3
bpe = [kv_str("general.architecture", "llama"), kv_str("tokenizer.ggml.model", "gpt2"),
       kv_str("tokenizer.ggml.pre", "llama-bpe"), kv_arr("tokenizer.ggml.tokens", 8, bpe_tokens),
       kv_arr("tokenizer.ggml.token_type", 5, bpe_types),
       kv_arr("tokenizer.ggml.merges", 8, ["a b", "ab c", "\u0120 a", "H e", "l l"]),
       kv_u32("tokenizer.ggml.bos_token_id", 7), kv_u32("tokenizer.ggml.eos_token_id", 8)]
put("fuzz_gguf", "bpe.gguf", gguf(bpe))
spm_tokens = ["<unk>", "<s>", "</s>", "\u2581", "\u2581a", "b", "<0x41>", "\u2581ab"]
spm = [kv_str("tokenizer.ggml.model", "llama"), kv_arr("tokenizer.ggml.tokens", 8, spm_tokens),
       kv_arr("tokenizer.ggml.scores", 6, [0.0, 0.0, 0.0, -1.0, -2.0, -3.0, -4.0, -0.5]),
       kv_arr("tokenizer.ggml.token_type", 5, [2, 3, 3, 1, 1, 1, 6, 1]), kv_bool("tokenizer.ggml.add_bos_token", 1)]
put("fuzz_gguf", "spm.gguf", gguf(spm))
wpm_tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "\u2581hello", "\u2581world", "s", "\u2581a"]
wpm = [kv_str("tokenizer.ggml.model", "bert"), kv_arr("tokenizer.ggml.tokens", 8, wpm_tokens),
       kv_arr("tokenizer.ggml.token_type", 5, [3, 2, 3, 3, 1, 1, 1, 1]),
       kv_u32("tokenizer.ggml.cls_token_id", 2), kv_u32("tokenizer.ggml.seperator_token_id", 3)]
put("fuzz_gguf", "wpm.gguf", gguf(wpm))
ugm = [kv_str("tokenizer.ggml.model", "t5"), kv_arr("tokenizer.ggml.tokens", 8, ["<pad>", "</s>", "<unk>", "\u2581", "\u2581a", "b"]),
       kv_arr("tokenizer.ggml.scores", 6, [0.0, 0.0, 0.0, -1.0, -2.0, -3.0])]
put("fuzz_gguf", "ugm.gguf", gguf(ugm))
# One F32 tensor [2, 3] with metadata of every scalar type.
ti = gstr("w") + struct.pack("<I", 2) + struct.pack("<QQ", 3, 2) + struct.pack("<I", 0) + struct.pack("<Q", 0)
meta = [kv_str("general.architecture", "llama"), kv_u32("llama.block_count", 1), kv_f32("llama.rope.freq_base", 10000.0),
        kv_bool("b", 1), kv(b"u8".decode(), 0, b"\x07"), kv("i64", 11, struct.pack("<q", -5)),
        kv("f64", 12, struct.pack("<d", 0.5)), kv_arr("arr", 4, [1, 2, 3])]
put("fuzz_gguf", "tensor.gguf", gguf(meta, ti, 1, struct.pack("<6f", *range(6))))

# ---- safetensors: first byte 0 = single file, 1 = index ----
def st(header, data=b""):
    h = json.dumps(header).encode()
    h += b" " * ((-len(h)) % 8)
    return struct.pack("<Q", len(h)) + h + data
put("fuzz_safetensors", "single", b"\0" + st({"__metadata__": {"format": "pt"},
    "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
    "b": {"dtype": "BF16", "shape": [3], "data_offsets": [16, 22]}}, b"\0" * 22))
put("fuzz_safetensors", "empty", b"\0" + st({}))
put("fuzz_safetensors", "i64", b"\0" + st({"x": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8))
put("fuzz_safetensors", "index", b"\1" + json.dumps({"metadata": {"total_size": 16}, "weight_map": {"w": "a.safetensors"}}).encode())

# ---- config.json ----
base = {"model_type": "llama", "hidden_size": 64, "num_hidden_layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "intermediate_size": 128, "vocab_size": 512, "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0, "max_position_embeddings": 512, "tie_word_embeddings": False}
put("fuzz_config_json", "llama.json", json.dumps(base))
put("fuzz_config_json", "qwen2.json", json.dumps(dict(base, model_type="qwen2", sliding_window=128, use_sliding_window=True)))
put("fuzz_config_json", "qwen3moe.json", json.dumps(dict(base, model_type="qwen3_moe", num_experts=8, num_experts_per_tok=2,
                                                        moe_intermediate_size=64, norm_topk_prob=True, head_dim=16)))
put("fuzz_config_json", "tokenizer_config.json", json.dumps({"bos_token": {"content": "<s>"}, "eos_token": "</s>",
    "add_bos_token": True, "chat_template": [{"name": "default", "template": "{{ messages }}"}]}))

# ---- tokenizer.json: BPE (byte-level), WordPiece, Unigram ----
bl = {"version": "1.0", "added_tokens": [{"id": 5, "content": "<|end|>", "special": True}],
      "normalizer": {"type": "NFC"},
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
          {"type": "Split", "pattern": {"Regex": "\\p{N}{1,3}"}, "behavior": "Isolated", "invert": False},
          {"type": "ByteLevel", "add_prefix_space": False, "use_regex": True}]},
      "post_processor": {"type": "TemplateProcessing", "single": [{"SpecialToken": {"id": "<|end|>", "type_id": 0}},
                                                                 {"Sequence": {"id": "A", "type_id": 0}}]},
      "decoder": {"type": "ByteLevel"},
      "model": {"type": "BPE", "vocab": {"H": 0, "e": 1, "l": 2, "o": 3, "He": 4}, "merges": ["H e", ["l", "l"]]}}
put("fuzz_tokenizer_json", "bpe.json", json.dumps(bl))
wp = {"normalizer": {"type": "BertNormalizer", "lowercase": True}, "pre_tokenizer": {"type": "BertPreTokenizer"},
      "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
      "decoder": {"type": "WordPiece"},
      "model": {"type": "WordPiece", "unk_token": "[UNK]", "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "hello": 3, "##s": 4}}}
put("fuzz_tokenizer_json", "wordpiece.json", json.dumps(wp))
ug = {"normalizer": {"type": "Sequence", "normalizers": [{"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"},
                                                          {"type": "Prepend", "prepend": "\u2581"}]},
      "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always"},
      "decoder": {"type": "Metaspace", "replacement": "\u2581"},
      "model": {"type": "Unigram", "unk_id": 0, "vocab": [["<unk>", 0.0], ["\u2581a", -1.0], ["b", -2.0], ["\u2581", -3.0]]}}
put("fuzz_tokenizer_json", "unigram.json", json.dumps(ug))

# ---- HTTP request bodies (chat and completion) ----
chat = {"model": "m", "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        "temperature": 0.5, "top_p": 0.9, "max_tokens": 16, "stop": ["\n", "END"], "n": 2, "seed": 1, "stream": True,
        "stream_options": {"include_usage": True}, "logit_bias": {"5": -100}, "logprobs": True, "top_logprobs": 2}
put("fuzz_http_request", "chat.json", json.dumps(chat))
tools = [{"type": "function", "function": {"name": "get_weather", "description": "d",
          "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
put("fuzz_http_request", "tools.json", json.dumps({"messages": [{"role": "user", "content": "w?"}], "tools": tools,
    "tool_choice": {"type": "function", "function": {"name": "get_weather"}}, "parallel_tool_calls": False}))
put("fuzz_http_request", "schema.json", json.dumps({"messages": [{"role": "user", "content": "j"}],
    "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}}))
put("fuzz_http_request", "completion.json", json.dumps({"prompt": [1, 2, 3], "max_tokens": 4, "echo": True, "logprobs": 2}))
put("fuzz_http_request", "completion_text.json", json.dumps({"prompt": "Once", "top_k": 40, "min_p": 0.05,
    "presence_penalty": 0.1, "frequency_penalty": 0.2, "repeat_penalty": 1.1, "ignore_eos": True}))

# ---- chat messages (request bodies with conversations) ----
conv = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
          "function": {"name": "calc", "arguments": "{\"e\": \"2+2\"}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "4"},
        {"role": "assistant", "content": "<tool_call>{\"name\": \"calc\", \"arguments\": {}}</tool_call>"}]
put("fuzz_chat_messages", "conversation.json", json.dumps({"messages": conv, "tools": tools}))
put("fuzz_chat_messages", "parts.json", json.dumps({"messages": [{"role": "user", "content": [{"type": "text", "text": "a"},
                                                                                            {"type": "text", "text": "b"}]}]}))
put("fuzz_chat_messages", "unicode.json", json.dumps({"messages": [{"role": "user", "content": "\u00e9\u6771\U0001F600\n\t"}]},
                                                    ensure_ascii=False))

# ---- Jinja templates (small, written for the fuzzer) ----
tmpls = {
    "chatml.jinja": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
                    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}",
    "system.jinja": "{{ bos_token }}{%- if messages[0].role == 'system' %}{% set sys = messages[0].content %}"
                    "{% set msgs = messages[1:] %}{% else %}{% set sys = '' %}{% set msgs = messages %}{% endif %}"
                    "{%- for m in msgs %}{% if loop.first and sys %}{{ sys ~ '\\n\\n' }}{% endif %}"
                    "{{ '[INST] ' + m.content | trim + ' [/INST]' if m.role == 'user' else m.content + eos_token }}{% endfor %}",
    "tools.jinja": "{%- if tools %}{% for t in tools %}{{ t | tojson(indent=2) }}{% endfor %}{% endif %}"
                   "{%- for m in messages %}{% if m.tool_calls is defined %}{% for c in m.tool_calls %}"
                   "{{ c.function.name }}({{ c.function.arguments | tojson }}){% endfor %}{% endif %}{% endfor %}",
    "macros.jinja": "{% macro fmt(x, sep=', ') %}{{ x | join(sep) }}{% endmacro %}{% set ns = namespace(n=0) %}"
                    "{% for i in range(5) %}{% set ns.n = ns.n + i %}{% if i is even %}{{ fmt([i, ns.n]) }}{% endif %}"
                    "{% endfor %}{{ '%d-%s' % (3, 'x') }}{{ {'a': 1, 'b': [1, 2]} | dictsort }}",
    "filters.jinja": "{{ 'Hello World' | lower | replace('o', '0') | title }}{{ [3, 1, 2] | sort | reverse | list }}"
                     "{{ 'a,b' .split(',') | length }}{{ messages | selectattr('role', 'equalto', 'user') | map(attribute='content') | first }}"
                     "{{ strftime_now('%Y-%m-%d') }}{% if not x is defined %}{{ raise_exception('no x') }}{% endif %}",
    "generation.jinja": "{% for m in messages %}{% if m.role == 'assistant' %}{% generation %}{{ m.content }}{% endgeneration %}"
                        "{% else %}{{ m.content[:3] ~ m.content[-1:] }}{% endif %}{% break %}{% endfor %}",
}
for name, t in tmpls.items():
    put("fuzz_jinja", name, t)
PY
for d in "$out"/*/; do echo "$(basename "$d"): $(ls "$d" | wc -l) seeds"; done
