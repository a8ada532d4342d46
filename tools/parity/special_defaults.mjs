// Expected add_bos / add_eos per vocabulary as llama.cpp applies them (through node-llama-cpp's
// prebuilt llama.cpp), for GGUF files whose tokenizer.ggml.add_{bos,eos,sep}_token keys are
// removed or overridden. Writes the JSON that tests/tokenizer/special_defaults_test.cc checks.
// Usage: node tools/parity/special_defaults.mjs VOCAB_DIR OUT.json
//   ANCHOR_DIR: where node-llama-cpp is installed (default ~/.cache/nuri-anchor).
// The GGUF rewrite below is independent of nuri's writer: it copies the header and every
// metadata entry byte for byte except the add_* keys, then appends the variant's own keys.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const anchor = process.env.ANCHOR_DIR ?? path.join(os.homedir(), ".cache/nuri-anchor");
const require = createRequire(anchor + "/");
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);

const [vocab_dir, out_path] = process.argv.slice(2);
if (!vocab_dir || !out_path) {
  console.error("usage: node special_defaults.mjs VOCAB_DIR OUT.json");
  process.exit(2);
}

const kKeys = ["tokenizer.ggml.add_bos_token", "tokenizer.ggml.add_eos_token", "tokenizer.ggml.add_sep_token"];
const kPre = "tokenizer.ggml.pre";
// Pre-tokenizer names whose defaults differ in llama.cpp's loader, tried on the gpt-2 vocab.
const kPreNames = ["default", "gpt-2", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
  "midm-2.0", "lfm2", "jina-v5-nano", "tekken", "chameleon", "gemma4", "roberta-bpe", "jina-v1-en",
  "jina-v2-code", "qwen2", "qwen35", "deepseek-v3", "deepseek-llm", "gpt-4o", "smollm", "exaone4", "tiny_aya"];
const kScalar = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

// Byte length of one value of type t starting at off.
function value_len(buf, off, t) {
  if (t === 8) return 8 + Number(buf.readBigUInt64LE(off));
  if (t === 9) {
    const et = buf.readUInt32LE(off), n = Number(buf.readBigUInt64LE(off + 4));
    let p = off + 12;
    if (et in kScalar) return 12 + n * kScalar[et];
    for (let i = 0; i < n; i++) p += value_len(buf, p, et);
    return p - off;
  }
  return kScalar[t];
}

function kv(key, v) {
  const k = Buffer.from(key, "utf8");
  const s = typeof v === "string" ? Buffer.from(v, "utf8") : null;
  const b = Buffer.alloc(8 + k.length + 4 + (s ? 8 + s.length : 1));
  b.writeBigUInt64LE(BigInt(k.length), 0);
  k.copy(b, 8);
  b.writeUInt32LE(s ? 8 : 7, 8 + k.length);
  if (s) {
    b.writeBigUInt64LE(BigInt(s.length), 12 + k.length);
    s.copy(b, 20 + k.length);
  } else {
    b.writeUInt8(v ? 1 : 0, 12 + k.length);
  }
  return b;
}

// Rewrites a tensor-free GGUF (vocab files) without the add_* keys (and without
// tokenizer.ggml.pre when `set` has one), plus the entries of `set` ({key: bool | string}).
function rewrite(src, set) {
  const buf = fs.readFileSync(src);
  if (buf.readUInt32LE(0) !== 0x46554747) throw new Error(src + ": not GGUF");
  const n_tensors = Number(buf.readBigUInt64LE(8)), n_kv = Number(buf.readBigUInt64LE(16));
  if (n_tensors !== 0) throw new Error(src + ": has tensors (only vocab files are supported)");
  const parts = [];
  let off = 24, kept = 0;
  for (let i = 0; i < n_kv; i++) {
    const start = off;
    const klen = Number(buf.readBigUInt64LE(off));
    const key = buf.toString("utf8", off + 8, off + 8 + klen);
    off += 8 + klen;
    const t = buf.readUInt32LE(off);
    off += 4 + value_len(buf, off + 4, t);
    if (!kKeys.includes(key) && !(key in set)) { parts.push(buf.subarray(start, off)); kept++; }
  }
  for (const [k, v] of Object.entries(set)) { parts.push(kv(k, v)); kept++; }
  const head = Buffer.alloc(24);
  buf.copy(head, 0, 0, 8);
  head.writeBigUInt64LE(0n, 8);
  head.writeBigUInt64LE(BigInt(kept), 16);
  return Buffer.concat([head, ...parts]);
}

const variants = {
  absent: {},
  bos_false: { "tokenizer.ggml.add_bos_token": false },
  bos_true_eos_true: { "tokenizer.ggml.add_bos_token": true, "tokenizer.ggml.add_eos_token": true },
};

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "nuri-special-"));
const out = {
  source: "llama.cpp via node-llama-cpp 3.22.1 (llama_vocab_get_add_bos / _add_eos), vocab-only load",
  variants,
  vocabs: {},
  pre_on_gpt2: {},
};

async function probe(src, set) {
  const p = path.join(tmp, "probe.gguf");
  fs.writeFileSync(p, rewrite(src, set));
  try {
    const model = await llama.loadModel({ modelPath: p, gpuLayers: 0, vocabOnly: true });
    const addon = model.tokens._model;
    const r = { add_bos: addon.shouldPrependBosToken(), add_eos: addon.shouldAppendEosToken(),
                bos: model.tokens.bos, eos: model.tokens.eos };
    await model.dispose();
    return r;
  } catch (e) {
    return { error: String(e.message ?? e) };
  } finally {
    fs.rmSync(p);
  }
}

for (const name of fs.readdirSync(vocab_dir).filter((n) => n.endsWith(".gguf")).sort()) {
  const row = {};
  for (const [vname, set] of Object.entries(variants)) row[vname] = await probe(path.join(vocab_dir, name), set);
  out.vocabs[name] = row;
  console.error(name, JSON.stringify(row.absent));
}
for (const pre of kPreNames) {
  out.pre_on_gpt2[pre] = await probe(path.join(vocab_dir, "ggml-vocab-gpt-2.gguf"), { [kPre]: pre });
  console.error("pre", pre, JSON.stringify(out.pre_on_gpt2[pre]));
}
fs.rmSync(tmp, { recursive: true });
fs.writeFileSync(out_path, JSON.stringify(out, null, 1) + "\n");
await llama.dispose();
