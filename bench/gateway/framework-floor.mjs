#!/usr/bin/env node
/**
 * The framework floor: Fastify (the server Tollgate runs on) receiving the request, parsing its JSON,
 * forwarding it with undici (Tollgate's HTTP client) and answering the parsed upstream JSON — what a
 * gateway built on these parts costs before it meters anything. Beside `ideal-pass` (node:http piping
 * bytes) it splits Tollgate's CPU per call into "the parts we chose" and "what metering adds".
 *
 *   node bench/gateway/framework-floor.mjs --port 18082 --target http://127.0.0.1:18080 [--pid-file F]
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

// The server package's own copies, so the floor runs the same versions Tollgate does.
const require = createRequire(new URL('../../packages/server/package.json', import.meta.url));
const Fastify = require('fastify');
const { Pool } = require('undici');

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '18082' },
    target: { type: 'string' },
    'pid-file': { type: 'string' },
  },
});
const target = new URL(values.target ?? 'http://127.0.0.1:18080');
const pool = new Pool(target.origin, { connections: 128, pipelining: 1 });
const app = Fastify({ logger: false });
app.removeAllContentTypeParsers();
app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => {
  try {
    done(null, JSON.parse(body.toString('utf8')));
  } catch (error) {
    done(error, undefined);
  }
});
app.post('/v1/chat/completions', async (request, reply) => {
  const body = request.body;
  const upstream = await pool.request({
    method: 'POST',
    path: '/v1/chat/completions',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-mock' },
    body: JSON.stringify({ ...body, model: String(body.model).split('/').pop() }),
  });
  if (body.stream) {
    reply.header('content-type', 'text/event-stream');
    return reply.send(upstream.body);
  }
  const answer = await upstream.body.json();
  return reply.code(upstream.statusCode).send(answer);
});
await app.listen({ port: Number(values.port), host: '127.0.0.1' });
if (values['pid-file']) writeFileSync(values['pid-file'], String(process.pid));
process.on('SIGTERM', () => app.close().then(() => process.exit(0)));
