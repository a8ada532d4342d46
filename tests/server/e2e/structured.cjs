// End-to-end test of structured output and forced tool calls through the official `openai` client.
// node structured.cjs --nuri PATH --shared DIR --openai PATH_TO_node_modules/openai [--model GGUF]
// On a random-weight model (tiny-qwen3moe: it picks arbitrary allowed tokens, a fuzzer for the
// grammar): response_format json_schema, tools with tool_choice "required" / a named function,
// streaming and non-streaming; every content / tool call's arguments are validated against its
// schema by Debian's python3-jsonschema (an independent validator), bounded schemas end with
// finish_reason stop / tool_calls; the `grammar` extension; json_object; bad input gives a
// 400 BadRequestError naming the problem.
'use strict';
const path = require('path');
const { execFileSync } = require('child_process');
const lib = require('./lib.cjs');
const { check } = lib;

// [[schema, instance], ...] -> [null | error message, ...] via python3-jsonschema (draft 2020-12).
function validateAll(pairs) {
  const py = `
import json, sys
from jsonschema import Draft202012Validator as V
out = []
for schema, inst in json.load(sys.stdin):
    errs = sorted(V(schema, format_checker=V.FORMAT_CHECKER).iter_errors(inst), key=lambda e: list(e.path))
    out.append(None if not errs else errs[0].message)
print(json.dumps(out))
`;
  const res = execFileSync('/usr/bin/python3', ['-c', py], { input: JSON.stringify(pairs), maxBuffer: 1 << 24 });
  return JSON.parse(res.toString());
}

// A bounded schema (every string maxLength or enum/format, every array maxItems, no extra keys):
// its language is finite, so a generation always ends.
const personSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    role: { enum: ['admin', 'editor', 'viewer'] },
    email: { type: ['string', 'null'], maxLength: 20 },
    score: { type: 'number' },
    tags: { type: 'array', items: { type: 'string', maxLength: 6 }, maxItems: 3 },
    born: { type: 'string', format: 'date' },
  },
  required: ['name', 'age', 'role'],
  additionalProperties: false,
};

const tools = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather of a city',
      parameters: {
        type: 'object',
        properties: {
          city: { type: 'string', minLength: 1, maxLength: 16 },
          unit: { enum: ['celsius', 'fahrenheit'] },
          days: { type: 'integer', minimum: 1, maximum: 7 },
        },
        required: ['city'],
        additionalProperties: false,
      },
    },
  },
  {
    type: 'function',
    function: {
      name: 'send_email',
      parameters: {
        type: 'object',
        properties: {
          to: { type: 'array', items: { type: 'string', maxLength: 10 }, minItems: 1, maxItems: 2 },
          urgent: { type: 'boolean' },
          id: { type: 'string', format: 'uuid' },
        },
        required: ['to', 'urgent'],
        additionalProperties: false,
      },
    },
  },
];
const toolSchema = Object.fromEntries(tools.map((t) => [t.function.name, t.function.parameters]));

async function main() {
  const args = lib.parseArgs(process.argv.slice(2));
  const nuri = args.nuri;
  const { OpenAI, BadRequestError } = require(path.resolve(args.openai));
  const model = args.model || path.join(args.shared, 'models', 'tiny-qwen3moe-8x-qwen2vocab-Q4_K_M.gguf');
  const srv = await lib.startServer(nuri, ['-m', model, '--parallel', '4', '-t', '2', '--ctx', '1024']);
  console.log(`server at ${srv.url}`);
  const client = new OpenAI({ baseURL: srv.url + '/v1', apiKey: 'none', maxRetries: 0, timeout: 120000 });
  const M = path.basename(model);
  const messages = [{ role: 'user', content: 'Describe a person as JSON, and call a tool if you like.' }];
  // Random weights: sample the whole allowed set (no top-k/top-p), temperature 1.
  const fuzz = { temperature: 1.0, top_p: 1.0, max_tokens: 500 };
  try {
    // --- response_format json_schema, non-streaming, n = 4 (four samples of the fuzzer)
    const rf = { type: 'json_schema', json_schema: { name: 'person', strict: true, schema: personSchema } };
    const pairs = [];
    const finishes = [];
    for (const seed of [1, 2]) {
      const r = await client.chat.completions.create({ model: M, messages, response_format: rf, n: 4, seed, ...fuzz });
      for (const c of r.choices) {
        finishes.push(c.finish_reason);
        let v;
        try {
          v = JSON.parse(c.message.content);
        } catch (e) {
          v = { __unparsable__: c.message.content };
        }
        pairs.push([personSchema, v]);
      }
    }
    let verdicts = validateAll(pairs);
    check(verdicts.every((x) => x === null), `json_schema: 8 sampled contents parse and validate (python3-jsonschema)`,
      pairs.map((p, i) => [verdicts[i], p[1]]));
    check(finishes.every((f) => f === 'stop'), 'json_schema (bounded): every choice ends with finish_reason stop', finishes);

    // --- the same, streaming
    const spairs = [];
    const sfin = [];
    for (const seed of [3, 4]) {
      const st = await client.chat.completions.create({ model: M, messages, response_format: rf, seed, stream: true, ...fuzz });
      let text = '';
      let fin = null;
      for await (const chunk of st) for (const c of chunk.choices) {
        text += c.delta.content || '';
        if (c.finish_reason) fin = c.finish_reason;
      }
      sfin.push(fin);
      let v;
      try {
        v = JSON.parse(text);
      } catch (e) {
        v = { __unparsable__: text };
      }
      spairs.push([personSchema, v]);
    }
    verdicts = validateAll(spairs);
    check(verdicts.every((x) => x === null) && sfin.every((f) => f === 'stop'), 'json_schema streaming: deltas join into valid JSON, finish stop',
      { verdicts, spairs, sfin });

    // --- tools, tool_choice "required", non-streaming
    const callPairs = [];
    const callInfo = [];
    // seeds 5, 6: one call each (parallel_tool_calls false); seed 50: parallel calls allowed.
    for (const seed of [5, 6, 50]) {
      const parallel = seed === 50;
      const r = await client.chat.completions.create({ model: M, messages, tools, tool_choice: 'required', n: parallel ? 2 : 3, seed,
        parallel_tool_calls: parallel, ...fuzz });
      for (const c of r.choices) {
        const calls = c.message.tool_calls || [];
        callInfo.push({ parallel, finish: c.finish_reason, n: calls.length, content: c.message.content });
        for (const call of calls) {
          let a;
          try {
            a = JSON.parse(call.function.arguments);
          } catch (e) {
            a = { __unparsable__: call.function.arguments };
          }
          const schema = toolSchema[call.function.name] || { not: {} };
          callPairs.push([schema, a]);
          check(call.type === 'function' && typeof call.id === 'string' && call.id.length > 0, 'tool call has id and type', call);
        }
      }
    }
    // With parallel calls a choice may keep calling until max_tokens cuts it (finish_reason
    // "length"; the cut call is dropped, not returned as content); one-call choices end cleanly.
    check(callInfo.every((x) => (x.parallel ? x.n >= 1 && !x.content && (x.finish === 'length' || x.finish === 'tool_calls')
                                            : x.n === 1 && x.finish === 'tool_calls' && !x.content)),
      'required: every choice returns parsed tool_calls and no content (one call: finish tool_calls; parallel: tool_calls or cut by max_tokens)', callInfo);
    verdicts = validateAll(callPairs);
    check(callPairs.length >= 6 && verdicts.every((x) => x === null), `required: all ${callPairs.length} calls name a tool and their arguments validate`,
      callPairs.map((p, i) => [verdicts[i], p[1]]));

    // --- streaming (one call: the bounded grammar must end): id and name first, then argument
    // fragments; no markup in content
    const sCalls = [];
    const sMeta = [];
    for (const seed of [7, 8]) {
      const st = await client.chat.completions.create({ model: M, messages, tools, tool_choice: 'required', parallel_tool_calls: false,
        seed, stream: true, ...fuzz });
      const acc = {};
      let content = '';
      let fin = null;
      let orderOk = true;
      for await (const chunk of st) for (const c of chunk.choices) {
        content += c.delta.content || '';
        if (c.finish_reason) fin = c.finish_reason;
        for (const d of c.delta.tool_calls || []) {
          if (!acc[d.index]) {
            acc[d.index] = { id: d.id, name: d.function && d.function.name, args: '' };
            if (!d.id || !d.function || !d.function.name) orderOk = false;
          }
          if (d.function && d.function.arguments) acc[d.index].args += d.function.arguments;
        }
      }
      sMeta.push({ fin, content, orderOk, n: Object.keys(acc).length });
      for (const k of Object.keys(acc)) {
        let a;
        try {
          a = JSON.parse(acc[k].args);
        } catch (e) {
          a = { __unparsable__: acc[k].args };
        }
        sCalls.push([toolSchema[acc[k].name] || { not: {} }, a]);
      }
    }
    verdicts = validateAll(sCalls);
    check(sMeta.every((m) => m.n === 1 && m.fin === 'tool_calls' && m.orderOk && !m.content.includes('<tool_call>')),
      'required streaming: tool_calls deltas (id and name first), finish tool_calls, no markup in content', sMeta);
    check(verdicts.every((x) => x === null), `required streaming: all ${sCalls.length} streamed calls validate`, sCalls.map((p, i) => [verdicts[i], p[1]]));

    // --- named function, one call
    const named = await client.chat.completions.create({ model: M, messages, tools, seed: 9, n: 2, parallel_tool_calls: false,
      tool_choice: { type: 'function', function: { name: 'send_email' } }, ...fuzz });
    const nc = named.choices.map((c) => c.message.tool_calls || []);
    check(nc.every((calls) => calls.length === 1 && calls[0].function.name === 'send_email'), 'named tool_choice (parallel_tool_calls false): exactly one send_email call', nc);
    verdicts = validateAll(nc.flat().map((c) => [toolSchema.send_email, JSON.parse(c.function.arguments)]));
    check(verdicts.every((x) => x === null), 'named tool_choice: arguments validate', verdicts);

    // --- the grammar extension and json_object
    const g = await client.chat.completions.create({ model: M, messages, grammar: 'root ::= ("yes" | "no") " " [0-9]{1,2}', n: 4, seed: 10, ...fuzz });
    check(g.choices.every((c) => /^(yes|no) [0-9]{1,2}$/.test(c.message.content) && c.finish_reason === 'stop'), "'grammar' extension: every choice matches",
      g.choices.map((c) => [c.message.content, c.finish_reason]));
    const jo = await client.chat.completions.create({ model: M, messages, response_format: { type: 'json_object' }, seed: 11, max_tokens: 60, temperature: 1.0, top_p: 1.0 });
    const joText = jo.choices[0].message.content;
    let joOk = false;
    if (jo.choices[0].finish_reason === 'stop') {
      try {
        JSON.parse(joText);
        joOk = true;
      } catch (e) {}
    } else {
      joOk = /^\s*[[{"0-9tfn-]/.test(joText);  // cut by max_tokens: a JSON prefix
    }
    check(joOk, 'json_object: a JSON value (or its prefix when cut by max_tokens)', { joText, finish: jo.choices[0].finish_reason });

    // --- bad input: 400 naming the problem
    const bad = async (what, body, param, needle) => {
      try {
        await client.chat.completions.create({ model: M, messages, max_tokens: 4, ...body });
        check(false, `400 for ${what}`, 'request succeeded');
      } catch (e) {
        const msg = (e.error && e.error.message) || '';
        check(e instanceof BadRequestError && e.status === 400 && e.param === param && msg.includes(needle), `400 BadRequestError: ${what}`,
          { status: e.status, param: e.param, msg });
      }
    };
    await bad('malformed grammar', { grammar: 'root ::= "a" (' }, 'grammar', 'line 1, column');
    await bad('left-recursive grammar', { grammar: 'root ::= root "a" | "b"' }, 'grammar', 'left recursion');
    await bad('schema with an unsupported keyword', { response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object', minProperties: 1 } } } },
      'response_format', "unsupported keyword 'minProperties'");
    await bad('tool with an invalid parameters schema', { tool_choice: 'required', tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { x: { type: 'strnig' } } } } }] },
      'tools', 'strnig');
    await bad('tool parameters that are not an object schema', { tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'array' } } }] },
      'tools', 'parameters.type');
    await bad('forced tool call together with response_format', { tools, tool_choice: 'required', response_format: { type: 'json_object' } },
      'response_format', 'does not combine');
  } finally {
    const ex = await lib.stopServer(srv);
    check(ex.code === 0, 'server exits cleanly', ex);
  }
  const s = lib.summary();
  console.log(`structured e2e: ${s.passes} passed, ${s.failures} failed`);
  process.exit(s.failures ? 1 : 0);
}

main().catch((e) => {
  console.error('structured e2e: error:', e && e.stack ? e.stack : e);
  process.exit(1);
});
