// End-to-end test of `nuri serve` with the official `openai` npm client.
// node e2e.cjs --nuri PATH --shared DIR --openai PATH_TO_node_modules/openai
// Checks: completions greedy == `nuri run --no-echo` (and the llama.cpp golden), chat (ChatML
// fallback) == `nuri run` on the hand-rendered prompt, chat streaming == non-streaming, n=3,
// stop strings across tokens, seed reproducibility (also under concurrency), max_tokens/usage,
// logprobs, prefix reuse, errors (400 BadRequestError, 401, 404, 503, malformed bodies),
// mid-stream disconnect frees the slot, /metrics shows no leak, clean shutdown; n=16 on 4 slots
// returns 16 choices; a dropped non-streaming request frees its slots.
'use strict';
const fs = require('fs');
const path = require('path');
const lib = require('./lib.cjs');
const { check } = lib;

async function main() {
  const args = lib.parseArgs(process.argv.slice(2));
  const nuri = args.nuri;
  const shared = args.shared;
  const { OpenAI, BadRequestError, AuthenticationError } = require(path.resolve(args.openai));
  const model = path.join(shared, 'models', 'stories260K-F32.gguf');
  const key = 'sk-nuri-e2e';
  const srv = await lib.startServer(nuri, ['-m', model, '--parallel', '4', '-t', '1', '--api-key', key]);
  console.log(`server at ${srv.url}`);
  const client = new OpenAI({ baseURL: srv.url + '/v1', apiKey: key, maxRetries: 0, timeout: 60000 });
  const M = 'stories260K-F32.gguf';
  const prompt = 'Once upon a time';
  const runOut = lib.run(nuri, ['run', '-m', model, '-p', prompt, '-n', '32', '--no-echo', '-t', '1']).replace(/\n$/, '');
  try {
    // --- models
    const models = await client.models.list();
    check(models.data.length === 1 && models.data[0].id === M, 'GET /v1/models lists the model', models.data);

    // --- completions: greedy == nuri run --no-echo == llama.cpp golden
    const c1 = await client.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0 });
    const text1 = c1.choices[0].text;
    check(text1 === runOut, 'completion greedy equals nuri run --no-echo', { server: text1, run: runOut });
    const golden = fs.readFileSync(path.join(shared, 'golden', 'stories260K-F32.llama-simple-greedy32.txt'), 'utf8').trim();
    check(golden === '<s> ' + prompt + text1, 'completion greedy equals the llama.cpp golden', { golden, text1 });
    const nPromptTok = lib.run(nuri, ['tokenize', '-m', model, '--ids', '--add-special', prompt]).trim().split(/\s+/).length;
    check(c1.usage.prompt_tokens === nPromptTok, 'usage.prompt_tokens equals nuri tokenize', { usage: c1.usage, nPromptTok });
    check(c1.usage.completion_tokens === 32 && c1.usage.total_tokens === nPromptTok + 32, 'usage.completion_tokens = max_tokens', c1.usage);
    check(c1.choices[0].finish_reason === 'length', 'finish_reason length at max_tokens', c1.choices[0].finish_reason);
    check(c1.object === 'text_completion' && c1.id.startsWith('cmpl-'), 'completion object and id', c1);

    // --- max_completion_tokens and usage
    const c2 = await client.completions.create({ model: M, prompt, max_tokens: 5, temperature: 0 });
    check(c2.usage.completion_tokens === 5 && runOut.startsWith(c2.choices[0].text), 'max_tokens=5: 5 tokens, prefix of the 32-token text', c2);
    const ch5 = await client.chat.completions.create({ model: M, messages: [{ role: 'user', content: 'Hi' }], max_completion_tokens: 5, temperature: 0 });
    check(ch5.usage.completion_tokens === 5 && ch5.choices[0].finish_reason === 'length', 'chat max_completion_tokens=5', ch5.usage);

    // --- concurrent greedy requests (batched) equal the single-sequence output
    const conc = await Promise.all([0, 1, 2, 3, 4, 5].map(() => client.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0 })));
    check(conc.every((r) => r.choices[0].text === runOut), '6 concurrent greedy completions equal nuri run', conc.map((r) => r.choices[0].text));

    // --- chat (ChatML fallback) == nuri run on the hand-rendered prompt
    const messages = [
      { role: 'system', content: 'You are a storyteller.' },
      { role: 'user', content: 'Tell me about a cat.' },
    ];
    const rendered = '<|im_start|>system\nYou are a storyteller.<|im_end|>\n<|im_start|>user\nTell me about a cat.<|im_end|>\n<|im_start|>assistant\n';
    const chatRun = lib.run(nuri, ['run', '-m', model, '-p', rendered, '-n', '24', '--no-echo', '-t', '1']).replace(/\n$/, '');
    const chat = await client.chat.completions.create({ model: M, messages, max_tokens: 24, temperature: 0 });
    check(chat.object === 'chat.completion' && chat.choices[0].message.role === 'assistant', 'chat.completion shape', chat);
    check(chat.choices[0].message.content === chatRun, 'chat greedy equals nuri run on the ChatML prompt', { server: chat.choices[0].message.content, run: chatRun });
    const nChatTok = lib.run(nuri, ['tokenize', '-m', model, '--ids', '--add-special', '--parse-special', rendered]).trim().split(/\s+/).length;
    check(chat.usage.prompt_tokens === nChatTok, 'chat usage.prompt_tokens equals the tokenized template', { usage: chat.usage, nChatTok });

    // --- chat streaming equals non-streaming; usage chunk
    const stream = await client.chat.completions.create({ model: M, messages, max_tokens: 24, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let streamed = '';
    let finish = null;
    let usage = null;
    let nChunks = 0;
    let role = null;
    for await (const chunk of stream) {
      nChunks++;
      if (chunk.usage) usage = chunk.usage;
      for (const c of chunk.choices) {
        if (c.delta.role) role = c.delta.role;
        if (c.delta.content) streamed += c.delta.content;
        if (c.finish_reason) finish = c.finish_reason;
      }
    }
    check(streamed === chat.choices[0].message.content, 'chat streaming text equals non-streaming', { streamed, full: chat.choices[0].message.content });
    check(role === 'assistant' && finish === chat.choices[0].finish_reason && nChunks > 3, 'stream: role, finish_reason, several chunks', { role, finish, nChunks });
    check(usage && usage.completion_tokens === chat.usage.completion_tokens && usage.prompt_tokens === chat.usage.prompt_tokens, 'stream_options.include_usage', usage);

    // --- completions streaming
    const cs = await client.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0, stream: true });
    let ctext = '';
    for await (const chunk of cs) for (const c of chunk.choices) ctext += c.text;
    check(ctext === runOut, 'completion streaming equals nuri run', ctext);

    // --- n = 3
    const n3 = await client.chat.completions.create({ model: M, messages, max_tokens: 16, temperature: 1.0, seed: 7, n: 3 });
    const idx = n3.choices.map((c) => c.index).sort();
    const texts = n3.choices.map((c) => c.message.content);
    check(JSON.stringify(idx) === '[0,1,2]', 'n=3 gives choices 0,1,2', idx);
    check(new Set(texts).size >= 2, 'n=3 choices differ', texts);
    const allLength = n3.choices.every((c) => c.finish_reason === 'length');
    check(!allLength || n3.usage.completion_tokens === 48, 'n=3 usage counts every choice', n3.usage);
    const n3s = await client.chat.completions.create({ model: M, messages, max_tokens: 16, temperature: 1.0, seed: 7, n: 3, stream: true });
    const st3 = ['', '', ''];
    for await (const chunk of n3s) for (const c of chunk.choices) st3[c.index] += c.delta.content || '';
    check(JSON.stringify(st3) === JSON.stringify(texts), 'n=3 streaming with the same seed gives the same 3 texts', { st3, texts });

    // --- n = 16 on 4 slots: the extra choices queue behind the first 4 (issue 18)
    const n16g = await client.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0, n: 16 });
    check(n16g.choices.length === 16 && JSON.stringify(n16g.choices.map((c) => c.index).sort((a, b) => a - b)) === JSON.stringify([...Array(16).keys()]),
      'n=16 with --parallel 4 returns choices 0..15', n16g.choices.map((c) => c.index));
    check(n16g.choices.every((c) => c.text === runOut), 'n=16 greedy: every choice equals nuri run', n16g.choices.map((c) => c.text));
    check(n16g.usage.completion_tokens === 16 * 32, 'n=16 usage counts 16 x 32 tokens', n16g.usage);
    const n16 = await client.chat.completions.create({ model: M, messages, max_tokens: 16, temperature: 1.0, seed: 7, n: 16 });
    const t16 = n16.choices.slice().sort((a, b) => a.index - b.index).map((c) => c.message.content);
    check(JSON.stringify(t16.slice(0, 3)) === JSON.stringify(texts), 'n=16 sampled: choices 0..2 equal those of n=3 with the same seed', { t16, texts });
    check(new Set(t16.slice(4)).size >= 2 && t16.slice(4).some((t) => !t16.slice(0, 4).includes(t)), 'n=16 sampled: the queued choices are new samples', t16);
    const n16s = await client.chat.completions.create({ model: M, messages, max_tokens: 16, temperature: 1.0, seed: 7, n: 16, stream: true });
    const st16 = Array(16).fill('');
    for await (const chunk of n16s) for (const c of chunk.choices) st16[c.index] += c.delta.content || '';
    check(JSON.stringify(st16) === JSON.stringify(t16), 'n=16 streaming gives the same 16 texts', { st16, t16 });

    // --- stop sequences (spanning tokens), string and list, streaming
    const stopA = await client.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0, stop: 'little girl' });
    const expA = runOut.slice(0, runOut.indexOf('little girl'));
    check(stopA.choices[0].text === expA && stopA.choices[0].finish_reason === 'stop', 'stop string cuts before the match', { got: stopA.choices[0].text, expA });
    const stopB = await client.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0, stop: ['park', 'Lily'] });
    const expB = runOut.slice(0, runOut.indexOf('Lily'));
    check(stopB.choices[0].text === expB, 'earliest of several stop strings wins', { got: stopB.choices[0].text, expB });
    const stopS = await client.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0, stop: ['named Li'], stream: true });
    let sText = '';
    let sFinish = null;
    for await (const chunk of stopS) for (const c of chunk.choices) { sText += c.text; if (c.finish_reason) sFinish = c.finish_reason; }
    const expS = runOut.slice(0, runOut.indexOf('named Li'));
    check(sText === expS && sFinish === 'stop', 'streaming stop never leaks part of the stop string', { sText, expS, sFinish });
    const stopNone = await client.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0, stop: ['zzzz'] });
    check(stopNone.choices[0].text === runOut, 'a stop string that never matches changes nothing', stopNone.choices[0].text);

    // --- seed reproducibility (also when requests run batched together)
    const seeded = (seed) => client.chat.completions.create({ model: M, messages, max_tokens: 24, temperature: 0.9, seed });
    const s1 = await seeded(1234);
    const s2 = await seeded(1234);
    const sPar = await Promise.all([seeded(1234), seeded(1234), seeded(99), seeded(1234)]);
    check(s1.choices[0].message.content === s2.choices[0].message.content, 'same seed, same text', [s1.choices[0].message.content, s2.choices[0].message.content]);
    check([0, 1, 3].every((i) => sPar[i].choices[0].message.content === s1.choices[0].message.content), 'same seed under concurrency, same text', sPar.map((r) => r.choices[0].message.content));
    const others = await Promise.all([5, 6, 7].map(seeded));
    check(others.some((r) => r.choices[0].message.content !== s1.choices[0].message.content), 'other seeds give other texts');

    // --- logprobs
    const lp = await client.chat.completions.create({ model: M, messages, max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = lp.choices[0].logprobs && lp.choices[0].logprobs.content;
    const lpOk = Array.isArray(content) && content.length === lp.usage.completion_tokens &&
      content.every((t) => t.top_logprobs.length === 3 && Math.abs(t.top_logprobs[0].logprob - t.logprob) < 1e-6 && t.logprob <= 0 &&
        t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob && t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob);
    check(lpOk, 'logprobs: greedy token is the top logprob, 3 alternatives, sorted', content);
    check(content && content.map((t) => t.token).join('') === lp.choices[0].message.content, 'logprobs tokens spell the text', content && content.map((t) => t.token));
    const lpc = await client.completions.create({ model: M, prompt, max_tokens: 4, temperature: 0, logprobs: 2 });
    const L = lpc.choices[0].logprobs;
    check(L && L.tokens.length === 4 && L.token_logprobs.length === 4 && L.top_logprobs.every((o) => Object.keys(o).length >= 1), 'completion logprobs (legacy shape)', L);

    // --- logit_bias: banning the greedy first token changes it
    // The id of the first generated token: tokenize prompt + its text and take the token after the prompt's.
    const fullIds = lib.run(nuri, ['tokenize', '-m', model, '--ids', '--add-special', prompt + runOut]).trim().split(/\s+/).map(Number);
    const firstTokId = fullIds[nPromptTok];
    const lb = await client.completions.create({ model: M, prompt, max_tokens: 4, temperature: 0, logit_bias: { [firstTokId]: -100 } });
    check(lb.choices[0].text.length > 0 && !runOut.startsWith(lb.choices[0].text), 'logit_bias -100 bans the greedy first token', { text: lb.choices[0].text, firstTokId });

    // --- prefix reuse: the second request reuses the cached prompt and gives the same text
    const longPrompt = 'Once upon a time, there was a little dog named Max. Max liked to run in the big green park with his friends.';
    const before = await lib.metrics(srv.url);
    const p1 = await client.completions.create({ model: M, prompt: longPrompt, max_tokens: 16, temperature: 0 });
    const mid = await lib.metrics(srv.url);
    const p2 = await client.completions.create({ model: M, prompt: longPrompt, max_tokens: 16, temperature: 0 });
    const after = await lib.metrics(srv.url);
    const reused = after.nuri_prompt_tokens_cached_total - mid.nuri_prompt_tokens_cached_total;
    check(reused === p2.usage.prompt_tokens - 1, 'prefix reuse: all but the last prompt token come from the cache', { reused, prompt_tokens: p2.usage.prompt_tokens, before: before.nuri_prompt_tokens_cached_total });
    check(p1.choices[0].text === p2.choices[0].text, 'prefix reuse gives the same greedy text', [p1.choices[0].text, p2.choices[0].text]);
    const pRun = lib.run(nuri, ['run', '-m', model, '-p', longPrompt, '-n', '16', '--no-echo', '-t', '1']).replace(/\n$/, '');
    check(p2.choices[0].text === pRun, 'prefix-reused greedy equals nuri run', { server: p2.choices[0].text, run: pRun });

    // --- errors surfaced through the client
    const expect400 = async (what, body, param) => {
      try {
        await client.chat.completions.create({ model: M, messages, ...body });
        check(false, `400 ${what}`, 'no error');
      } catch (e) {
        check(e instanceof BadRequestError && e.status === 400 && (param === undefined || e.param === param), `400 BadRequestError: ${what}`,
          { name: e.constructor.name, status: e.status, param: e.param, message: e.message });
      }
    };
    await expect400('n = 0', { n: 0 }, 'n');
    await expect400('n above 128', { n: 129 }, 'n');
    await expect400('temperature = 7', { temperature: 7 }, 'temperature');
    await expect400('max_tokens of the wrong type', { max_tokens: 'ten' }, 'max_tokens');
    await expect400('context overflow', { max_tokens: 100000 }, 'max_tokens');
    await expect400('stop of the wrong type', { stop: 5 }, 'stop');
    try {
      await client.chat.completions.create({ model: M, messages: 'hello' });
      check(false, '400 messages not an array');
    } catch (e) {
      check(e instanceof BadRequestError && e.error && e.error.message, '400 when messages is not an array (error body shape)', e.error);
    }
    const bad = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'wrong', maxRetries: 0 });
    try {
      await bad.chat.completions.create({ model: M, messages, max_tokens: 2 });
      check(false, '401 with a wrong API key');
    } catch (e) {
      check(e instanceof AuthenticationError && e.status === 401, '401 AuthenticationError with a wrong API key', { name: e.constructor.name, status: e.status });
    }

    // --- raw HTTP: 404, malformed bodies
    const post = (p, body, headers = {}) => fetch(srv.url + p, { method: 'POST', body, headers: { 'Content-Type': 'application/json', Authorization: 'Bearer ' + key, ...headers } });
    const r404 = await fetch(srv.url + '/v1/nope', { headers: { Authorization: 'Bearer ' + key } });
    const j404 = await r404.json();
    check(r404.status === 404 && j404.error && j404.error.type && 'param' in j404.error && 'code' in j404.error, '404 with the OpenAI error shape', j404);
    const malformed = [
      ['truncated JSON', '{"messages": [{"role": "user", "content": "hi"'],
      ['not JSON', 'hello'],
      ['empty body', ''],
      ['array body', '[1,2,3]'],
      ['deep nesting', '['.repeat(100000) + ']'.repeat(100000)],
      ['deep nesting in a field', '{"messages": [{"role":"user","content":"x"}], "x": ' + '{"a":'.repeat(5000) + '1' + '}'.repeat(5000) + '}'],
      ['huge number', '{"messages": [{"role":"user","content":"x"}], "max_tokens": 1e999}'],
      ['huge integer', '{"messages": [{"role":"user","content":"x"}], "max_tokens": 123456789012345678901234567890}'],
      ['negative n', '{"messages": [{"role":"user","content":"x"}], "n": -1}'],
      ['invalid UTF-8', Buffer.concat([Buffer.from('{"messages": [{"role":"user","content":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}]}')])],
      ['lone surrogate escape', '{"messages": [{"role":"user","content":"\\ud800"}]}'],
      ['content part of unknown type', '{"messages": [{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}'],
      ['bad role', '{"messages": [{"role":"wizard","content":"x"}]}'],
      ['logit_bias bad key', '{"messages": [{"role":"user","content":"x"}], "logit_bias": {"abc": 1}}'],
    ];
    for (const [what, body] of malformed) {
      const r = await post('/v1/chat/completions', body);
      let j = null;
      try { j = await r.json(); } catch (e) { j = null; }
      check(r.status === 400 && j && j.error && typeof j.error.message === 'string', `400 for ${what}`, { status: r.status, j });
    }
    const rBadTok = await post('/v1/completions', JSON.stringify({ prompt: [1, 2, 999999], max_tokens: 2 }));
    check(rBadTok.status === 400, '400 for token ids outside the vocabulary', rBadTok.status);
    const rTokOk = await post('/v1/completions', JSON.stringify({ prompt: [1, 403, 407], max_tokens: 2, temperature: 0 }));
    check(rTokOk.status === 200, 'token-id prompts are accepted', rTokOk.status);

    // --- a client that disconnects mid-stream frees its slot
    const mBefore = await lib.metrics(srv.url);
    const ds = await client.completions.create({ model: M, prompt, max_tokens: 400, temperature: 0.8, stream: true, ignore_eos: true });
    let got = 0;
    for await (const chunk of ds) {
      if (++got >= 3) { ds.controller.abort(); break; }
    }
    const mAfter = await lib.waitMetrics(srv.url, (m) => m.nuri_slots_busy === 0 && m.nuri_requests_cancelled_total > mBefore.nuri_requests_cancelled_total, 10000);
    check(mAfter.nuri_slots_busy === 0 && mAfter.nuri_requests_cancelled_total === mBefore.nuri_requests_cancelled_total + 1, 'disconnect mid-stream cancels the request and frees its slot',
      { busy: mAfter.nuri_slots_busy, cancelled: mAfter.nuri_requests_cancelled_total });
    check(mAfter.nuri_completion_tokens_total - mBefore.nuri_completion_tokens_total < 300, 'the cancelled request stopped early',
      mAfter.nuri_completion_tokens_total - mBefore.nuri_completion_tokens_total);

    // --- /metrics and /health
    const h = await fetch(srv.url + '/health');
    check(h.status === 200, 'GET /health');
    const m = await lib.waitMetrics(srv.url, (x) => x.nuri_requests_active === 0);
    check(m.nuri_requests_active === 0 && m.nuri_slots_busy === 0 && m.nuri_kv_cells_busy === 0 && m.nuri_queue_length === 0,
      'after all requests: no busy slot, no busy KV, empty queue', m);
    check(m.nuri_kv_bytes_used === 0 && m.nuri_kv_blocks_used === 0 && m.nuri_kv_bytes_total > 0 && m.nuri_kv_blocks_cached > 0,
      'paged KV: nothing mapped when idle, finished prompts stay cached', m);
    check(m.nuri_requests_total === m.nuri_requests_finished_total, 'every accepted request finished', m);
    check(m.nuri_completion_tokens_total > 0 && m.nuri_prompt_tokens_total > 0 && 'nuri_tokens_per_second' in m, 'token counters and tokens/s present');
    check(m['nuri_http_requests_total{route="/v1/chat/completions",code="400"}'] >= 10, 'HTTP status counters', m);
  } finally {
    const ex = await lib.stopServer(srv);
    check(ex.code === 0 && ex.signal === null, 'server exits cleanly on SIGTERM', ex);
    if (lib.summary().failures) console.log('--- server log ---\n' + srv.log());
  }

  // --- a client that drops a NON-streaming request frees its slots (issue 18): a long request
  // (4 choices x 6000 tokens) on a server with a large context; the client aborts once it runs.
  const big = await lib.startServer(nuri, ['-m', model, '--parallel', '4', '-t', '1', '--ctx', '8192']);
  try {
    const c = new OpenAI({ baseURL: big.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const mB = await lib.metrics(big.url);
    const ac = new AbortController();
    const pending = c.completions.create({ model: M, prompt, max_tokens: 6000, temperature: 0.8, n: 4, ignore_eos: true }, { signal: ac.signal })
      .then(() => 'finished', (e) => e.constructor.name);
    const mRun = await lib.waitMetrics(big.url, (x) => x.nuri_slots_busy === 4 && x.nuri_completion_tokens_total > mB.nuri_completion_tokens_total + 8, 20000);
    check(mRun.nuri_slots_busy === 4, 'non-streaming n=4 request holds 4 slots', mRun);
    ac.abort();
    const t0 = Date.now();
    const outcome = await pending;
    const mA = await lib.waitMetrics(big.url, (x) => x.nuri_slots_busy === 0, 10000);
    const freedMs = Date.now() - t0;
    const generated = mA.nuri_completion_tokens_total - mB.nuri_completion_tokens_total;
    console.log(`  (dropped non-streaming request: slots free ${freedMs} ms after the abort, ${generated} of 24000 tokens generated)`);
    check(outcome !== 'finished', 'the aborted request did not finish', outcome);
    check(mA.nuri_slots_busy === 0 && mA.nuri_kv_blocks_used === 0 && mA.nuri_requests_cancelled_total === mB.nuri_requests_cancelled_total + 1,
      'dropped non-streaming request: cancelled, slots and KV blocks free', mA);
    check(freedMs < 2000 && generated < 20000, 'the slots were freed promptly (generation stopped early)', { freedMs, generated });
    const again = await c.completions.create({ model: M, prompt, max_tokens: 32, temperature: 0 });
    check(again.choices[0].text === runOut, 'the server serves again afterwards (greedy equals nuri run)', again.choices[0].text);
  } finally {
    const ex = await lib.stopServer(big);
    check(ex.code === 0, 'large-context server exits cleanly', ex);
  }

  // --- 503 when the queue is full (a second server: 1 slot, no queue)
  const small = await lib.startServer(nuri, ['-m', model, '--parallel', '1', '--queue', '0', '-t', '1']);
  try {
    const c = new OpenAI({ baseURL: small.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const long = await c.completions.create({ model: M, prompt, max_tokens: 400, temperature: 0.8, stream: true, ignore_eos: true });
    const it = long[Symbol.asyncIterator]();
    await it.next();  // the first request holds the only slot now
    const r = await fetch(small.url + '/v1/completions', { method: 'POST', body: JSON.stringify({ prompt, max_tokens: 2 }) });
    const j = await r.json();
    check(r.status === 503 && j.error && j.error.type === 'server_error', '503 when the queue is full', { status: r.status, j });
    long.controller.abort();
    const m = await lib.waitMetrics(small.url, (x) => x.nuri_slots_busy === 0);
    check(m.nuri_slots_busy === 0 && m.nuri_kv_cells_busy === 0, 'the aborted stream freed the only slot', m);
    const again = await c.completions.create({ model: M, prompt, max_tokens: 4, temperature: 0 });
    check(runOut.startsWith(again.choices[0].text) && again.choices[0].text.length > 0, 'the server serves again afterwards', again.choices[0].text);
  } finally {
    const ex = await lib.stopServer(small);
    check(ex.code === 0, 'small server exits cleanly', ex);
  }

  // --- a model with its own chat template (Qwen3-MoE, byte-level BPE, 151k vocab)
  const qwen = path.join(shared, 'models', 'tiny-qwen3moe-8x-qwen2vocab-Q4_K_M.gguf');
  const qs = await lib.startServer(nuri, ['-m', qwen, '--parallel', '2', '-t', '1', '--ctx', '1024']);
  try {
    const c = new OpenAI({ baseURL: qs.url + '/v1', apiKey: 'none', maxRetries: 0 });
    const QM = path.basename(qwen);
    const msgs = [{ role: 'system', content: 'You are helpful.' }, { role: 'user', content: 'Wie geht es dir? 你好 🎉' }];
    const rendered = lib.run(nuri, ['template', '-m', qwen, '--messages', JSON.stringify(msgs)]);
    const qRun = lib.run(nuri, ['run', '-m', qwen, '-p', rendered, '-n', '20', '--no-echo', '-t', '1']).replace(/\n$/, '');
    const q = await c.chat.completions.create({ model: QM, messages: msgs, max_tokens: 20, temperature: 0 });
    check(q.choices[0].message.content === qRun, 'qwen3moe: chat (model template) greedy equals nuri run on nuri template output',
      { server: q.choices[0].message.content, run: qRun });
    const nTok = lib.run(nuri, ['tokenize', '-m', qwen, '--ids', '--add-special', '--parse-special', rendered]).trim().split(/\s+/).length;
    check(q.usage.prompt_tokens === nTok, 'qwen3moe: prompt_tokens equals the tokenized template', { usage: q.usage, nTok });
    const qst = await c.chat.completions.create({ model: QM, messages: msgs, max_tokens: 20, temperature: 0, stream: true });
    let qText = '';
    for await (const chunk of qst) for (const ch of chunk.choices) qText += ch.delta.content || '';
    check(qText === q.choices[0].message.content, 'qwen3moe: streamed deltas (multi-byte UTF-8 split across tokens) equal the full text', { qText });
  } finally {
    const ex = await lib.stopServer(qs);
    check(ex.code === 0, 'qwen3moe server exits cleanly', ex);
  }

  const s = lib.summary();
  console.log(`server e2e: ${s.passes} passed, ${s.failures} failed`);
  process.exit(s.failures ? 1 : 0);
}

main().catch((e) => {
  console.error('server e2e: error:', e && e.stack ? e.stack : e);
  process.exit(1);
});
