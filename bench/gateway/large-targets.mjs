#!/usr/bin/env node
// Writes the agent-sized targets files for the gateway benchmark, beside the mock and the minimal proxy:
//   targets-120k.json  a coding agent's turn: ~130 KB of JSON, 20 tools, a 20 KB system prompt, 30 turns
//   targets-400k.json  a long-context call: one 400 KB (~100K-token) prompt
//   targets-claude-120k.json  the agent's turn in Anthropic's dialect (/v1/messages), as Claude Code sends it
// Every target of a file sends the same body (the Tollgate target names its catalog id), so the
// added latency and CPU are Tollgate's own.   node bench/gateway/large-targets.mjs OUT_DIR
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2] ?? process.env.RUN_DIR ?? '/tmp/gw-bench/run';
mkdirSync(out, { recursive: true });

/** Deterministic code-like text of `length` characters (a fixed linear congruential sequence). */
function text(length, seed) {
  const vocabulary = [
    'function',
    'const',
    'return',
    'value',
    'the',
    'a',
    'import',
    'from',
    '{',
    '}',
    '(',
    ')',
    ';',
    'await',
  ];
  let state = seed;
  let result = '';
  while (result.length < length) {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    const word = state % 15 === 14 ? `name${state % 1000}` : vocabulary[state % 15];
    result += word + (state % 7 === 0 ? '\n' : ' ');
  }
  return result.slice(0, length);
}

const tools = Array.from({ length: 20 }, (_, index) => ({
  type: 'function',
  function: {
    name: `tool_${index}`,
    description: text(2_000, index + 1),
    parameters: {
      type: 'object',
      properties: {
        path: { type: 'string', description: text(300, index + 100) },
        content: { type: 'string' },
      },
      required: ['path'],
    },
  },
}));
const agentMessages = [
  { role: 'system', content: text(20_000, 7) },
  ...Array.from({ length: 30 }, (_, index) => ({
    role: index % 2 ? 'assistant' : 'user',
    content: text(1_900, index + 1_000),
  })),
];
const bodies = {
  '120k': { max_tokens: 64, tools, messages: agentMessages },
  '400k': { max_tokens: 64, messages: [{ role: 'user', content: text(400_000, 3) }] },
};
// The same agent turn as Claude Code sends it: Anthropic's dialect, POST /v1/messages (no fastify-floor:
// it forwards chat completions only).
const claudeTurn = {
  max_tokens: 64,
  system: agentMessages[0].content,
  messages: agentMessages.slice(1),
  tools: tools.map(({ function: tool }) => ({
    name: tool.name,
    description: tool.description,
    input_schema: tool.parameters,
  })),
};
const claudeTargets = [
  ['direct', 'http://127.0.0.1:18080', { 'x-api-key': 'sk-mock' }, 'mock', 'claude-sonnet-4-20250514'],
  [
    'ideal-pass',
    'http://127.0.0.1:18081',
    { 'x-api-key': 'sk-mock' },
    'ideal-pass',
    'claude-sonnet-4-20250514',
  ],
  [
    'tollgate',
    'http://127.0.0.1:18090',
    { 'x-api-key': '${TOLLGATE_KEY}' },
    'tollgate',
    'anthropic/claude-sonnet-4-20250514',
  ],
].map(([name, origin, headers, pid, model]) => ({
  name,
  url: `${origin}/v1/messages`,
  headers: { ...headers, 'anthropic-version': '2023-06-01' },
  pidFile: `\${RUN_DIR}/${pid}.pid`,
  body: { model, ...claudeTurn },
}));
writeFileSync(join(out, 'targets-claude-120k.json'), JSON.stringify(claudeTargets));
for (const [size, body] of Object.entries(bodies)) {
  const usage = { stream_options: { include_usage: true } };
  const targets = [
    {
      name: 'direct',
      url: 'http://127.0.0.1:18080/v1/chat/completions',
      headers: { authorization: 'Bearer sk-mock' },
      pidFile: '${RUN_DIR}/mock.pid',
      body: { model: 'gpt-4o-mini', ...body, ...usage },
    },
    {
      name: 'ideal-pass',
      url: 'http://127.0.0.1:18081/v1/chat/completions',
      headers: { authorization: 'Bearer sk-mock' },
      pidFile: '${RUN_DIR}/ideal-pass.pid',
      body: { model: 'gpt-4o-mini', ...body, ...usage },
    },
    {
      name: 'fastify-floor',
      url: 'http://127.0.0.1:18082/v1/chat/completions',
      headers: { authorization: 'Bearer sk-mock' },
      pidFile: '${RUN_DIR}/fastify-floor.pid',
      body: { model: 'openai/gpt-4o-mini', ...body, ...usage },
    },
    {
      name: 'tollgate',
      url: 'http://127.0.0.1:18090/v1/chat/completions',
      headers: { authorization: 'Bearer ${TOLLGATE_KEY}' },
      pidFile: '${RUN_DIR}/tollgate.pid',
      body: { model: 'openai/gpt-4o-mini', ...body, ...usage },
    },
  ];
  const file = join(out, `targets-${size}.json`);
  writeFileSync(file, JSON.stringify(targets));
  console.log(`${file}: ${Buffer.byteLength(JSON.stringify(targets[3].body))} bytes of JSON`);
}
