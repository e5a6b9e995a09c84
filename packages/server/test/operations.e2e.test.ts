/**
 * The operator's endpoints and logs over real HTTP: `/metrics` only for the admin key (or the scrape
 * key, or on an address of its own); request logs at debug, so an info log carries no line per
 * request and never a key.
 */
import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('/metrics access', () => {
  let server: TestServer;
  let app: { secret_key: string };
  beforeAll(async () => {
    server = await startTestServer(
      { name: 'pglite' },
      { env: { TOLLGATE_METRICS_KEY: 'scrape-key-0123456789' } },
    );
    app = await server.createApp();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('needs the admin key or TOLLGATE_METRICS_KEY: no key, an app key and a wrong key are refused', async () => {
    expect((await server.call('GET', '/metrics')).status).toBe(403);
    expect((await server.call('GET', '/metrics', { key: app.secret_key })).status).toBe(403);
    expect((await server.call('GET', '/metrics', { key: 'scrape-key-wrong-0000' })).status).toBe(403);
    const admin = await server.call('GET', '/metrics', { key: ADMIN_KEY });
    expect(admin.status).toBe(200);
    expect(admin.body).toContain('# TYPE tollgate_http_requests_total counter');
    expect((await server.call('GET', '/metrics', { key: 'scrape-key-0123456789' })).status).toBe(200);
  });

  it('TOLLGATE_METRICS_ADDRESS: served there without a key, and not on the API port', async () => {
    const port = await freePort();
    const separate = await startTestServer(
      { name: 'pglite' },
      { env: { TOLLGATE_METRICS_ADDRESS: `127.0.0.1:${port}` } },
    );
    try {
      expect((await separate.call('GET', '/metrics', { key: ADMIN_KEY })).status).toBe(404);
      const scraped = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(scraped.status).toBe(200);
      expect(await scraped.text()).toContain('tollgate_http_requests_total');
    } finally {
      await separate.close();
    }
    // Closed with the server: the port is free again.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  });
});

describe('logs', () => {
  it('at info: no line per request and no key; at debug: one line per request with its route pattern', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    for (const level of ['info', 'debug'] as const) {
      lines.length = 0;
      const server = await startTestServer({ name: 'pglite' }, { logger: { level, stream } });
      try {
        const app = await server.createApp();
        const customer = await server.createCustomer(app.secret_key, 'logged');
        expect((await server.call('GET', '/v1/credits/balance', { key: customer.user_key })).status).toBe(
          200,
        );
        const text = JSON.stringify(lines);
        expect(text).not.toContain(customer.user_key);
        expect(text).not.toContain(app.secret_key);
        expect(text).not.toContain(ADMIN_KEY);
        const requestLines = lines.filter(
          (line) => line.msg === 'request completed' || line.msg === 'incoming request',
        );
        if (level === 'info') expect(requestLines).toEqual([]);
        else {
          expect(requestLines).toHaveLength(3);
          expect(requestLines[2]).toMatchObject({ route: '/v1/credits/balance', statusCode: 200 });
        }
      } finally {
        await server.close();
      }
    }
  });
});
