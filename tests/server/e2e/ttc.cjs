// End-to-end test of the "nuri" strategy extension (src/server/ttc_ext.h) with the official
// `openai` npm client, on nuri's own model (models/nuri-tiny.gguf).
// node ttc.cjs --nuri PATH --shared DIR --model FILE --openai PATH_TO_node_modules/openai
// The extension travels as an extra body field (openai-node sends unknown params as they are:
// its equivalent of the Python client's extra_body). Checks: the single choice is the voted
// answer's text, votes add up to the samples used, the same request gives the same votes as
// `nuri run --strategy` with the same seed and sampler, adaptive stops early on an easy problem,
// completions work too, bad fields are 400 naming nuri.<field>, streaming is refused, and
// requests without the field are unchanged.
'use strict';
const path = require('path');
const lib = require('./lib.cjs');
const { check } = lib;

async function main() {
  const args = lib.parseArgs(process.argv.slice(2));
  const nuri = args.nuri;
  const model = args.model;
  const { OpenAI, BadRequestError } = require(path.resolve(args.openai));
  const srv = await lib.startServer(nuri, ['-m', model, '--parallel', '8', '-t', '1']);
  const client = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0, timeout: 120000 });
  const M = path.basename(model);
  const question = 'What is 23 + 45?';
  try {
    const sampler = { temperature: 0.9, top_p: 1, seed: 7, max_tokens: 64 };
    const r = await client.chat.completions.create({
      model: M, messages: [{ role: 'user', content: question }], ...sampler,
      nuri: { strategy: 'self_consistency', samples: 8 },
    });
    const n = r.nuri;
    check(n && Array.isArray(n.votes), 'response has a nuri object with votes', r);
    check(r.choices.length === 1, 'one choice', r.choices.length);
    check(n.samples_used === 8 && n.strategy === 'self-consistency', 'samples_used = 8', n);
    const total = n.votes.reduce((a, v) => a + v.votes, 0) + n.abstained;
    check(total === 8, 'votes + abstained = samples', n);
    check(n.votes.length > 0 && n.answer === n.votes[0].answer, 'the answer is the top vote', n);
    check(n.votes.every((v, i) => i === 0 || v.votes <= n.votes[i - 1].votes), 'votes ranked', n.votes);
    const content = r.choices[0].message.content;
    check(content.includes('Answer: ' + n.answer), 'the choice is a candidate that answered the voted answer', { content, answer: n.answer });
    check(r.usage.completion_tokens === n.tokens && n.tokens > 0, 'usage counts every sample', { usage: r.usage, tokens: n.tokens });

    // Same seed and sampler through `nuri run --strategy` (no server): same votes.
    const out = lib.run(nuri, ['run', '-m', model, '--chat', '-p', question, '--strategy', 'self-consistency', '--samples', '8',
      '--temp', '0.9', '--top-k', '0', '--top-p', '1', '--min-p', '0', '--seed', '7', '-n', '64', '-t', '1', '-v']);
    const voteLine = out.split('\n').find((l) => l.startsWith('votes:')) || '';
    const cliVotes = [...voteLine.matchAll(/ {2}(\S+): (\d+) \(/g)].map((m) => [m[1], Number(m[2])]);
    const srvVotes = n.votes.map((v) => [v.answer, v.votes]);
    check(JSON.stringify(cliVotes) === JSON.stringify(srvVotes), 'server votes equal nuri run --strategy with the same seed', { cliVotes, srvVotes });
    check(out.split('\n')[0] === n.answer, 'nuri run prints the same answer first', { out: out.split('\n')[0], answer: n.answer });

    // Adaptive on an easy problem stops before 16.
    const a = await client.chat.completions.create({
      model: M, messages: [{ role: 'user', content: 'What is 2 + 3?' }], temperature: 0.5, seed: 3, max_tokens: 48,
      nuri: { strategy: 'self_consistency', samples: 16, adaptive: true },
    });
    check(a.nuri.samples_used < 16 && ['beta', 'unassailable'].includes(a.nuri.stop_reason), 'adaptive stops early', a.nuri);

    // Completions endpoint.
    const c = await client.completions.create({
      model: M, prompt: '<|im_start|>user\nWhat is 10 + 4?<|im_end|>\n<|im_start|>assistant\n', temperature: 0.8, seed: 1,
      max_tokens: 48, nuri: { strategy: 'best_of_n', samples: 4 },
    });
    check(c.object === 'text_completion' && c.choices.length === 1 && c.nuri.samples_used === 4, 'completions + best_of_n', c);

    // Errors.
    let err = null;
    try {
      await client.chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }], nuri: { strategy: 'self_consistency', samples: 0 } });
    } catch (e) { err = e; }
    check(err instanceof BadRequestError && err.param === 'nuri.samples', 'samples=0 is a 400 naming nuri.samples', err && err.message);
    err = null;
    try {
      await client.chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }], nuri: { strategy: 'mcts' } });
    } catch (e) { err = e; }
    check(err instanceof BadRequestError && err.param === 'nuri.strategy', 'unknown strategy is a 400', err && err.message);
    err = null;
    try {
      const s = await client.chat.completions.create({ model: M, messages: [{ role: 'user', content: 'x' }], stream: true, nuri: { strategy: 'greedy' } });
      for await (const _ of s) { /* drain */ }
    } catch (e) { err = e; }
    check(err instanceof BadRequestError, 'streaming a strategy is refused', err && err.message);

    // Without the field: an ordinary completion.
    const plain = await client.chat.completions.create({ model: M, messages: [{ role: 'user', content: question }], temperature: 0, max_tokens: 32 });
    check(plain.nuri === undefined && plain.choices[0].message.content.startsWith('23 + 45 = 68'), 'no field: unchanged greedy reply', plain);
  } finally {
    await lib.stopServer(srv);
  }
  const { passes, failures } = lib.summary();
  console.log(`${passes} passed, ${failures} failed`);
  process.exit(failures === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
