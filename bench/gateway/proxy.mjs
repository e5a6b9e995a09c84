#!/usr/bin/env node
/**
 * A minimal HTTP pass-through proxy on node:http: each request goes to the next target in turn
 * (round robin), body and answer streamed through unchanged. The benchmark's `ideal-pass` (what any
 * proxy costs at the least, beside Tollgate), and the balancer of the two-node test.
 *
 *   node bench/gateway/proxy.mjs --port 18081 --target http://127.0.0.1:18080 [--target …] [--pid-file F]
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { parseArgs } from 'node:util';

/** Listens on `port` (0: any) and resolves with the server, its URL, and how many requests each target got. */
export async function startProxy({ port = 0, host = '127.0.0.1', targets }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const parsed = targets.map((target) => new URL(target));
  const counts = parsed.map(() => 0);
  let next = 0;
  const server = http.createServer((request, response) => {
    const index = next;
    next = (next + 1) % parsed.length;
    counts[index] += 1;
    const target = parsed[index];
    const upstream = http.request(
      {
        agent,
        hostname: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: { ...request.headers, host: target.host },
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => {
      if (!response.headersSent) response.writeHead(502, { 'content-type': 'text/plain' });
      response.end('bad gateway');
    });
    request.pipe(upstream);
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve) => server.listen(port, host, resolve));
  const address = server.address();
  return {
    server,
    url: `http://${host}:${address.port}`,
    counts,
    close: () =>
      new Promise((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(resolve);
      }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '18081' },
      target: { type: 'string', multiple: true },
      'pid-file': { type: 'string' },
    },
  });
  const proxy = await startProxy({ port: Number(values.port), targets: values.target ?? [] });
  if (values['pid-file']) writeFileSync(values['pid-file'], String(process.pid));
  process.stdout.write(`proxy on ${proxy.url} → ${(values.target ?? []).join(', ')}\n`);
}
