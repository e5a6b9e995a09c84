#!/usr/bin/env node
/**
 * The provider for the gateway benchmark: node:http, fixed answers, nothing recorded (a test fake
 * records every request; at thousands of requests a second that would be what is measured).
 *   POST /v1/chat/completions  OpenAI: a chat.completion, or with "stream":true a role chunk, CHUNKS
 *                              content chunks, a finish chunk, a usage chunk and [DONE]
 *   POST /v1/messages          Anthropic: a message, or its event stream
 *   GET  /v1/models            a one-model list (key checks)
 *
 *   node bench/gateway/mock-upstream.mjs [--port 18080] [--chunks 20] [--first-byte-ms 0] [--pid-file F]
 *   --first-byte-ms: how long the provider thinks before it answers (a real model's time to first
 *   token is 100s of ms; 0 answers at once, which leaves only what the gateway adds to measure)
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '18080' },
    chunks: { type: 'string', default: '20' },
    'first-byte-ms': { type: 'string', default: '0' },
    'pid-file': { type: 'string' },
  },
});
const CHUNKS = Number(values.chunks);
const FIRST_BYTE_MS = Number(values['first-byte-ms']);
const created = Math.floor(Date.now() / 1000);
const usage = { prompt_tokens: 12, completion_tokens: CHUNKS, total_tokens: 12 + CHUNKS };
const word = ' token';

const openaiBody = JSON.stringify({
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created,
  model: 'gpt-4o-mini',
  choices: [
    { index: 0, message: { role: 'assistant', content: word.repeat(CHUNKS) }, finish_reason: 'stop' },
  ],
  usage,
});
const chunk = (delta, finish, extra = {}) =>
  `data: ${JSON.stringify({
    id: 'chatcmpl-bench',
    object: 'chat.completion.chunk',
    created,
    model: 'gpt-4o-mini',
    choices: delta ? [{ index: 0, delta, finish_reason: finish ?? null }] : [],
    ...extra,
  })}\n\n`;
const openaiStream = [
  chunk({ role: 'assistant', content: '' }),
  ...Array.from({ length: CHUNKS }, () => chunk({ content: word })),
  chunk({}, 'stop'),
  chunk(undefined, undefined, { usage }),
  'data: [DONE]\n\n',
];

const anthropicBody = JSON.stringify({
  id: 'msg_bench',
  type: 'message',
  role: 'assistant',
  model: 'claude-bench',
  content: [{ type: 'text', text: word.repeat(CHUNKS) }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: CHUNKS },
});
const event = (name, data) => `event: ${name}\ndata: ${JSON.stringify({ type: name, ...data })}\n\n`;
const anthropicStream = [
  event('message_start', {
    message: {
      id: 'msg_bench',
      type: 'message',
      role: 'assistant',
      model: 'claude-bench',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 12, output_tokens: 1 },
    },
  }),
  event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
  ...Array.from({ length: CHUNKS }, () =>
    event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: word } }),
  ),
  event('content_block_stop', { index: 0 }),
  event('message_delta', {
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: CHUNKS },
  }),
  event('message_stop', {}),
];

function answer(response, stream, body, events) {
  if (FIRST_BYTE_MS > 0) setTimeout(() => send(response, stream, body, events), FIRST_BYTE_MS);
  else send(response, stream, body, events);
}

function send(response, stream, body, events) {
  if (!stream) {
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    response.end(body);
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const part of events) response.write(part);
  response.end();
}

const server = http.createServer((request, response) => {
  const parts = [];
  request.on('data', (part) => parts.push(part));
  request.on('end', () => {
    const stream = /"stream"\s*:\s*true/.test(Buffer.concat(parts).toString('utf8'));
    if (request.method === 'POST' && request.url?.startsWith('/v1/chat/completions'))
      return answer(response, stream, openaiBody, openaiStream);
    if (request.method === 'POST' && request.url?.startsWith('/v1/messages'))
      return answer(response, stream, anthropicBody, anthropicStream);
    if (request.method === 'GET' && request.url?.startsWith('/v1/models')) {
      response.writeHead(200, { 'content-type': 'application/json' });
      return response.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }] }));
    }
    response.writeHead(404, { 'content-type': 'application/json' });
    response.end('{"error":{"message":"not found"}}');
  });
});
server.keepAliveTimeout = 65_000;
server.listen(Number(values.port), '127.0.0.1', () => {
  if (values['pid-file']) writeFileSync(values['pid-file'], String(process.pid));
  process.stdout.write(`mock upstream on http://127.0.0.1:${values.port} (${CHUNKS} chunks)\n`);
});
