// Multi-model serving (issue 16): `nuri serve -m A -m B` with a memory cap that holds only one of
// them at a time. Several clients alternate between the two models; every request must succeed and
// every greedy text must equal `nuri run` on that model (computed here with the CLI). A long stream
// on one model keeps going, unbroken, while a request for the other waits for the memory. Also:
// /v1/models lists both, an unknown model is a 404 naming them, --models-dir, per-model /metrics.
// node swap.cjs --nuri PATH --shared DIR --openai PATH_TO_node_modules/openai
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const lib = require('./lib.cjs');
const { check } = lib;

async function main() {
  const args = lib.parseArgs(process.argv.slice(2));
  const nuri = args.nuri;
  const { OpenAI, NotFoundError } = require(path.resolve(args.openai));
  const A = path.join(args.shared, 'models', 'stories260K-F32.gguf');
  const B = path.join(args.shared, 'models', 'tiny-mixtral-moe-8x-spm-Q4_K_M.gguf');
  const ids = [path.basename(A), path.basename(B)];
  const files = [A, B];
  const prompts = ['Once upon a time', 'The little dog', 'Tom and Sue went'];
  const N = 16;
  const expected = files.map((f) => prompts.map((p) => lib.run(nuri, ['run', '-m', f, '-p', p, '-n', String(N), '--no-echo', '-t', '1']).replace(/\n$/, '')));
  const longN = 200;
  const longExpected = lib.run(nuri, ['run', '-m', A, '-p', prompts[0], '-n', String(longN), '--no-echo', '-t', '1']).replace(/\n$/, '');
  const common = ['-m', A, '-m', B, '--parallel', '2', '-t', '1'];

  // The memory estimates, from a server without a cap.
  const probe = await lib.startServer(nuri, [...common, '--max-memory', 'off']);
  let bytes;
  try {
    const r = await (await fetch(probe.url + '/v1/models')).json();
    check(r.data.length === 2 && r.data[0].id === ids[0] && r.data[1].id === ids[1], '/v1/models lists both models', r.data);
    check(r.data.every((m) => m.meta.loaded === false), 'several models: none loaded before a request', r.data);
    bytes = r.data.map((m) => m.meta.memory_bytes);
  } finally {
    await lib.stopServer(probe);
  }
  const cap = Math.max(...bytes) + Math.floor(Math.min(...bytes) / 2);  // one model at a time
  console.log(`  (estimates ${bytes.join(' / ')} bytes; cap ${cap})`);

  const srv = await lib.startServer(nuri, [...common, '--max-memory', String(cap)]);
  const client = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0, timeout: 120000 });
  let maxLoaded = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const m = await lib.metrics(srv.url);
      maxLoaded = Math.max(maxLoaded, m.nuri_models_loaded_bytes);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    // Unknown model: 404 with the list.
    try {
      await client.completions.create({ model: 'no-such-model', prompt: 'x', max_tokens: 2 });
      check(false, 'unknown model is refused');
    } catch (e) {
      check(e instanceof NotFoundError && e.status === 404 && e.message.includes(ids[0]) && e.message.includes(ids[1]),
        'unknown model: 404 naming the served models', { status: e.status, message: e.message });
    }

    // A long stream on A; meanwhile a request for B must wait, and A's stream is never broken.
    const longStream = client.completions.create({ model: ids[0], prompt: prompts[0], max_tokens: longN, temperature: 0, stream: true });
    const longText = (async () => {
      let t = '';
      for await (const chunk of await longStream) for (const c of chunk.choices) t += c.text;
      return t;
    })();
    await lib.waitMetrics(srv.url, (m) => m['nuri_model_slots_busy{model="' + ids[0] + '"}'] === 1, 10000);
    const bReq = client.completions.create({ model: ids[1], prompt: prompts[1], max_tokens: N, temperature: 0 });
    const [lt, br] = await Promise.all([longText, bReq]);
    check(lt === longExpected, 'a stream on A runs to its end while B waits for memory (text equals nuri run)', { lt, longExpected });
    check(br.choices[0].text === expected[1][1] && br.model === ids[1], 'then B loads and answers (equals nuri run)', { got: br.choices[0].text, want: expected[1][1] });

    // Several clients alternating between the models.
    const clients = 4;
    const perClient = 6;
    const results = await Promise.all([...Array(clients).keys()].map(async (k) => {
      const out = [];
      for (let j = 0; j < perClient; j++) {
        const mi = (k + j) % 2;
        const pi = (k + 2 * j) % prompts.length;
        try {
          let text;
          if (j % 3 === 2) {
            const s = await client.completions.create({ model: ids[mi], prompt: prompts[pi], max_tokens: N, temperature: 0, stream: true });
            text = '';
            for await (const chunk of s) for (const c of chunk.choices) text += c.text;
          } else {
            const r = await client.completions.create({ model: mi === 0 ? ids[0] : path.basename(B, '.gguf'), prompt: prompts[pi], max_tokens: N, temperature: 0 });
            text = r.choices[0].text;
          }
          out.push({ mi, pi, ok: text === expected[mi][pi], text });
        } catch (e) {
          out.push({ mi, pi, ok: false, error: String(e) });
        }
      }
      return out;
    }));
    const flat = results.flat();
    const bad = flat.filter((r) => !r.ok);
    check(flat.length === clients * perClient && bad.length === 0, `${clients} clients x ${perClient} alternating requests: all succeed and equal nuri run`, bad);

    const m = await lib.waitMetrics(srv.url, (x) => x.nuri_requests_active === 0 && x.nuri_slots_busy === 0, 10000);
    console.log(`  (loads ${m.nuri_model_loads_total}, unloads ${m.nuri_model_unloads_total}, most loaded at once ${maxLoaded} bytes)`);
    check(m.nuri_model_unloads_total >= 2 && m.nuri_model_loads_total >= 3, 'the cap forced unloads (least recently used, idle)', m);
    check(maxLoaded <= cap, 'the loaded models never exceeded the cap', { maxLoaded, cap });
    check(m.nuri_requests_total === m.nuri_requests_finished_total && m.nuri_requests_total >= clients * perClient + 2,
      'totals keep the counters of unloaded engines', m);
    const loadedNow = ids.filter((id) => m['nuri_model_loaded{model="' + id + '"}'] === 1);
    check(loadedNow.length === 1 && m['nuri_model_slots_total{model="' + loadedNow[0] + '"}'] === 2 &&
      m['nuri_model_kv_blocks_total{model="' + loadedNow[0] + '"}'] > 0 && m['nuri_model_slots_busy{model="' + loadedNow[0] + '"}'] === 0,
      'per-model gauges: one model loaded, its slots and KV blocks', m);
  } finally {
    sampling = false;
    await sampler;
    const ex = await lib.stopServer(srv);
    check(ex.code === 0 && ex.signal === null, 'server exits cleanly', ex);
    if (lib.summary().failures) console.log('--- server log ---\n' + srv.log());
  }

  // --models-dir: every GGUF in a folder, picked by file stem.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nuri-models-'));
  fs.symlinkSync(A, path.join(dir, ids[0]));
  fs.symlinkSync(B, path.join(dir, ids[1]));
  const ds = await lib.startServer(nuri, ['--models-dir', dir, '--parallel', '1', '-t', '1']);
  try {
    const c = new OpenAI({ baseURL: ds.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const list = await c.models.list();
    check(list.data.map((x) => x.id).join(',') === ids.join(','), '--models-dir lists the folder', list.data.map((x) => x.id));
    const r = await c.completions.create({ model: path.basename(B, '.gguf'), prompt: prompts[2], max_tokens: N, temperature: 0 });
    check(r.choices[0].text === expected[1][2], '--models-dir: a model picked by its file stem answers like nuri run', r.choices[0].text);
  } finally {
    await lib.stopServer(ds);
    fs.rmSync(dir, { recursive: true, force: true });
  }

  const s = lib.summary();
  console.log(`server swap e2e: ${s.passes} passed, ${s.failures} failed`);
  process.exit(s.failures ? 1 : 0);
}

main().catch((e) => {
  console.error('server swap e2e: error:', e && e.stack ? e.stack : e);
  process.exit(1);
});
