// Greedy continuation by llama.cpp (node-llama-cpp's prebuilt CPU build, the goldens' version)
// for each prompt, with the top-2 logits at every step.
// Usage: node tools/parity/greedy.mjs MODEL.gguf PROMPTS.txt [--n 48] [--threads 1] > OUT.jsonl
//   PROMPTS.txt: one prompt per line; "\n" in a line stands for a newline.
//   ANCHOR_DIR: where node-llama-cpp is installed (default ~/.cache/nuri-anchor).
// Each output line: {"text", "ids" (prompt ids, BOS added as the vocabulary says), "tokens",
// "top2": [[id1, logit1, id2, logit2] per step]}.
// Generation does not stop at end-of-generation tokens: always --n steps.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const anchor = process.env.ANCHOR_DIR ?? path.join(os.homedir(), ".cache/nuri-anchor");
const require = createRequire(anchor + "/");
const { getLlama, LlamaLogLevel } = await import(pathToFileURL(require.resolve("node-llama-cpp")).href);

const args = process.argv.slice(2);
const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : def; };
const [model_path, prompts_path] = args;
if (!model_path || !prompts_path) {
  console.error("usage: node greedy.mjs MODEL.gguf PROMPTS.txt [--n 48] [--threads 1]");
  process.exit(2);
}
const n_gen = opt("--n", 48), threads = opt("--threads", 1);
const prompts = fs.readFileSync(prompts_path, "utf8").split("\n").filter((l) => l.length > 0)
  .map((l) => l.replaceAll("\\n", "\n"));

const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: model_path, gpuLayers: 0 });
const bos = model.tokens.bos;
const add_bos = model.tokens._model.shouldPrependBosToken() && bos != null;

// One step: evaluate `tok` and ask for the greedy next token and the top-2 logits.
const step = (tok) => [tok, { generateNext: { token: true, options: { temperature: 0 },
  logits: { filter: { tokens: [], includeTop: 2 } } } }];

for (const text of prompts) {
  const ids = [...(add_bos ? [bos] : []), ...model.tokenize(text, true)];
  const ctx = await model.createContext({ contextSize: ids.length + n_gen + 8, threads, batchSize: Math.max(512, ids.length) });
  const seq = ctx.getSequence();
  const tokens = [], top2 = [];
  let input = [...ids.slice(0, -1), step(ids[ids.length - 1])];
  for (let i = 0; i < n_gen; i++) {
    const out = await seq.controlledEvaluate(input);
    const next = out[input.length - 1]?.next;
    if (next?.token == null) throw new Error("no token at step " + i);
    const lg = [...next.logits.entries()].sort((a, b) => b[1] - a[1]);
    tokens.push(next.token);
    top2.push([lg[0][0], lg[0][1], lg[1][0], lg[1][1]]);
    input = [step(next.token)];
  }
  console.log(JSON.stringify({ text, ids, tokens, top2 }));
  await ctx.dispose();
}
await model.dispose();
await llama.dispose();
