// Load test of `nuri serve` with the official `openai` client.
// node load.cjs --nuri PATH --shared DIR --openai PATH [--clients 32] [--seconds 60]
//   [--parallel N (default: clients)] [--abort 0.1] [--min-ratio 3] [--model FILE] [--max-tokens 64]
// 1. Baseline: one streaming client, back to back, for max(5, seconds/4) s -> tokens/s.
// 2. Load: `clients` streaming clients for `seconds` s; each request is abandoned mid-stream with
//    probability `abort` (the client aborts after a few tokens).
// Passes when: the server never dies, every request not abandoned completes (finish_reason and
// [DONE]), /metrics afterwards shows no busy slot / KV / queue and every request finished, the
// cancelled count matches the abandoned streams that were still running, and aggregate tokens/s
// >= min-ratio x the single client's.
'use strict';
const path = require('path');
const lib = require('./lib.cjs');
const { check } = lib;

const PROMPTS = [
  'Once upon a time',
  'One day, a little girl named Lily',
  'Tom and his dog went to the park.',
  'The sun was shining and the birds',
  'There was a big red ball in the garden.',
  'Sara had a new toy. She',
  'A little bird wanted to fly',
  'Ben liked to eat apples.',
];

async function oneRequest(client, M, rng, opts, stats) {
  const abortAfter = rng() < opts.abort ? 1 + Math.floor(rng() * 8) : -1;
  const prompt = PROMPTS[Math.floor(rng() * PROMPTS.length)];
  const stream = await client.completions.create({
    model: M, prompt, max_tokens: opts.maxTokens, temperature: 0.8, seed: Math.floor(rng() * 1e9),
    stream: true, stream_options: { include_usage: true }, ignore_eos: true,
  });
  let chunks = 0;
  let finish = null;
  let usage = null;
  let aborted = false;
  try {
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (c.text) chunks++;
        if (c.finish_reason) finish = c.finish_reason;
      }
      if (abortAfter > 0 && chunks >= abortAfter && !finish) {
        aborted = true;
        stream.controller.abort();
        break;
      }
    }
  } catch (e) {
    if (!aborted) throw e;
  }
  if (aborted) {
    stats.aborted++;
    stats.tokens += chunks;
  } else if (finish && usage) {
    stats.completed++;
    stats.tokens += usage.completion_tokens;
  } else {
    stats.incomplete++;
  }
}

async function clientLoop(client, M, seed, deadline, opts, stats) {
  let s = seed >>> 0;
  const rng = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
  while (Date.now() < deadline) {
    try {
      await oneRequest(client, M, rng, opts, stats);
    } catch (e) {
      stats.errors++;
      if (stats.errorSamples.length < 5) stats.errorSamples.push(String(e && e.message ? e.message : e));
    }
  }
}

async function phase(client, M, nClients, seconds, opts) {
  const stats = { completed: 0, aborted: 0, incomplete: 0, errors: 0, tokens: 0, errorSamples: [] };
  const t0 = Date.now();
  const deadline = t0 + seconds * 1000;
  await Promise.all(Array.from({ length: nClients }, (_, i) => clientLoop(client, M, 1000 + i * 7919, deadline, opts, stats)));
  stats.seconds = (Date.now() - t0) / 1000;
  stats.tokensPerSecond = stats.tokens / stats.seconds;
  return stats;
}

async function main() {
  const a = lib.parseArgs(process.argv.slice(2));
  const { OpenAI } = require(path.resolve(a.openai));
  const clients = Number(a.clients || 32);
  const seconds = Number(a.seconds || 60);
  const parallel = Number(a.parallel || clients);
  const minRatio = Number(a['min-ratio'] || 3);
  const opts = { abort: Number(a.abort || 0.1), maxTokens: Number(a['max-tokens'] || 64) };
  const model = a.model || path.join(a.shared, 'models', 'stories260K-F32.gguf');
  const M = path.basename(model);
  const threads = a.threads || '1';
  const srv = await lib.startServer(a.nuri, ['-m', model, '--parallel', String(parallel), '-t', threads, '--ctx', '512']);
  console.log(`server at ${srv.url}: ${clients} clients, ${parallel} slots, ${seconds} s, abort ${opts.abort}, max_tokens ${opts.maxTokens}`);
  // One connection per client; no retries, so every failure is seen.
  const client = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0, timeout: 120000 });
  let summary = {};
  try {
    const baseSeconds = Math.max(5, Math.min(15, seconds / 4));
    const single = await phase(client, M, 1, baseSeconds, { ...opts, abort: 0 });
    console.log(`single client: ${single.tokens} tokens in ${single.seconds.toFixed(1)} s = ${single.tokensPerSecond.toFixed(1)} tok/s (${single.completed} requests)`);
    await lib.waitMetrics(srv.url, (m) => m.nuri_requests_active === 0);
    const m0 = await lib.metrics(srv.url);
    const load = await phase(client, M, clients, seconds, opts);
    console.log(`${clients} clients: ${load.tokens} tokens in ${load.seconds.toFixed(1)} s = ${load.tokensPerSecond.toFixed(1)} tok/s; ` +
      `${load.completed} completed, ${load.aborted} abandoned mid-stream, ${load.incomplete} incomplete, ${load.errors} errors`);
    if (load.errorSamples.length) console.log('  errors: ' + load.errorSamples.join(' | '));
    const m = await lib.waitMetrics(srv.url, (x) => x.nuri_requests_active === 0 && x.nuri_queue_length === 0, 15000);
    const ratio = load.tokensPerSecond / single.tokensPerSecond;
    const cancelled = m.nuri_requests_cancelled_total - m0.nuri_requests_cancelled_total;
    summary = {
      clients, seconds, parallel,
      single_tokens_per_s: Number(single.tokensPerSecond.toFixed(1)),
      aggregate_tokens_per_s: Number(load.tokensPerSecond.toFixed(1)),
      ratio: Number(ratio.toFixed(2)),
      completed: load.completed, abandoned: load.aborted, cancelled_by_server: cancelled,
      errors: load.errors, incomplete: load.incomplete,
      after: { slots_busy: m.nuri_slots_busy, kv_cells_busy: m.nuri_kv_cells_busy, queue: m.nuri_queue_length,
        requests_active: m.nuri_requests_active, requests_total: m.nuri_requests_total, requests_finished: m.nuri_requests_finished_total },
    };
    check(srv.proc.exitCode === null && srv.proc.signalCode === null, 'server alive after the load');
    check(load.errors === 0 && load.incomplete === 0, 'every request that was not abandoned completed', { errors: load.errors, incomplete: load.incomplete });
    check(load.completed > 0 && (opts.abort === 0 || load.aborted > 0), 'requests completed and some were abandoned', { completed: load.completed, aborted: load.aborted });
    check(m.nuri_slots_busy === 0 && m.nuri_kv_cells_busy === 0 && m.nuri_queue_length === 0 && m.nuri_requests_active === 0,
      'no slot, KV or queue leak after the load', summary.after);
    check(m.nuri_requests_total === m.nuri_requests_finished_total, 'every accepted request finished', summary.after);
    // A stream abandoned after its last token may finish before the server notices: cancelled <= abandoned.
    check(cancelled <= load.aborted && (load.aborted === 0 || cancelled >= 1), 'abandoned streams were cancelled by the server', { cancelled, abandoned: load.aborted });
    check(ratio >= minRatio, `aggregate tokens/s >= ${minRatio}x a single client's`, summary);
  } finally {
    const ex = await lib.stopServer(srv);
    check(ex.code === 0 && ex.signal === null, 'server exits cleanly', ex);
    if (lib.summary().failures) console.log('--- server log (tail) ---\n' + srv.log().slice(-4000));
  }
  console.log('load summary: ' + JSON.stringify(summary));
  const s = lib.summary();
  console.log(`server load: ${s.passes} passed, ${s.failures} failed`);
  process.exit(s.failures ? 1 : 0);
}

main().catch((e) => {
  console.error('server load: error:', e && e.stack ? e.stack : e);
  process.exit(1);
});
