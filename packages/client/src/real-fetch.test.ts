/** The client over the runtime's real `fetch` and a real HTTP server, not a stub. */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Tollgate } from './client.ts';
import { APITimeoutError, InsufficientCreditsError } from './errors.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let baseUrl: string;
const seen: Seen[] = [];
let holdAttempts = 0;

beforeAll(async () => {
  server = createServer(async (request, response) => {
    let body = '';
    for await (const chunk of request) body += chunk;
    seen.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
    const send = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      response.writeHead(status, {
        'content-type': 'application/json',
        'x-request-id': `req_${seen.length}`,
        ...headers,
      });
      response.end(JSON.stringify(payload));
    };
    if (request.url === '/v1/holds') {
      holdAttempts += 1;
      if (holdAttempts === 1)
        return send(503, { error: { code: 'unavailable', message: 'busy' } }, { 'retry-after': '0' });
      return send(201, {
        id: 'hold_1',
        status: 'held',
        amount: 0.3,
        expires_at: '2026-01-01T00:15:00Z',
        funding: 'credits',
      });
    }
    if (request.url === '/v1/charges') {
      return send(402, {
        error: { code: 'insufficient_credits', message: 'short', required: 5, available: 1.25 },
      });
    }
    if (request.url === '/v1/slow') return; // never answers
    send(404, { error: { code: 'not_found', message: 'no route' } });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('over real HTTP', () => {
  it('retries a 503 after Retry-After with the same Idempotency-Key and the same bytes', async () => {
    const client = new Tollgate({ baseUrl, apiKey: 'tg_sk_real' });
    const hold = await client.holds.create({
      customer: 'cus_1',
      model: 'fal-ai/flux/schnell',
      amount: '0.3',
    });
    expect(hold).toMatchObject({ id: 'hold_1', amount: 0.3 });
    const attempts = seen.filter((request) => request.url === '/v1/holds');
    expect(attempts).toHaveLength(2);
    expect(attempts[0].headers['idempotency-key']).toBe(attempts[1].headers['idempotency-key']);
    expect(attempts[0].body).toBe('{"customer":"cus_1","model":"fal-ai/flux/schnell","amount":0.3}');
    expect(attempts[1].body).toBe(attempts[0].body);
    expect(attempts[0].headers.authorization).toBe('Bearer tg_sk_real');
    expect(attempts[0].headers['content-type']).toBe('application/json');
    expect(attempts[0].headers['user-agent']).toMatch(/^tollgate-client\//);
  });

  it('maps a native error body and the request id', async () => {
    const client = new Tollgate({ baseUrl, apiKey: 'tg_sk_real' });
    const error = await client.charges.create({ customer: 'cus_1', model: 'm' }).catch((caught) => caught);
    expect(error).toBeInstanceOf(InsufficientCreditsError);
    expect(error).toMatchObject({ status: 402, required: 5, available: 1.25, availableMicros: 1_250_000n });
    expect(error.requestId).toMatch(/^req_\d+$/);
  });

  it('times out a server that never answers', async () => {
    const client = new Tollgate({ baseUrl, timeoutMs: 50, maxRetries: 0 });
    const transport = (client as unknown as { transport: { request: (spec: unknown) => Promise<unknown> } })
      .transport;
    const error = await transport
      .request({ method: 'GET', path: '/v1/slow', auth: 'none', retry: 'safe' })
      .catch((e) => e);
    expect(error).toBeInstanceOf(APITimeoutError);
  });
});
