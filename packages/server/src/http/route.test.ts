import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { KeyStore } from '../auth/principals.ts';
import { Metrics } from './metrics.ts';
import { defineRoute, registerRoutes, responseMismatch } from './route.ts';
import { createHttpServer } from './server.ts';

const documented = defineRoute({
  method: 'POST',
  url: '/things/:id',
  summary: 'A thing',
  tag: 'Test',
  auth: 'public',
  response: { status: 201, schema: z.object({ id: z.string(), amount: z.number(), at: z.string() }) },
  handler: ({ params, reply }) => {
    reply.code(201);
    const id = (params as { id: string }).id;
    // `at` is a Date here: what is checked is the JSON the client receives (a string).
    return id === 'bad' ? { id, amount: '5', at: new Date(0) } : { id, amount: 5, at: new Date(0) };
  },
});

async function serverWith(checkResponses: boolean) {
  const http = createHttpServer({ metrics: new Metrics() });
  registerRoutes(http, {} as KeyStore, [documented], { checkResponses });
  await http.ready();
  return http;
}

describe('the answer check', () => {
  afterEach(() => vi.restoreAllMocks());

  it('passes a matching answer untouched, and refuses a mismatch loudly: 500 naming the route and the issue', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {});
    const http = await serverWith(true);
    const good = await http.inject({ method: 'POST', url: '/things/a' });
    expect(good.statusCode).toBe(201);
    expect(good.json()).toEqual({ id: 'a', amount: 5, at: '1970-01-01T00:00:00.000Z' });
    const bad = await http.inject({ method: 'POST', url: '/things/bad' });
    expect(bad.statusCode).toBe(500);
    expect(bad.json().error.code).toBe('internal_error');
    expect(bad.json().error.message).toContain('POST /things/:id');
    expect(bad.json().error.message).toContain('amount');
    expect(errors).toHaveBeenCalled();
    await http.close();
  });

  it('is off unless asked: the same mismatch is answered as the handler returned it', async () => {
    const http = await serverWith(false);
    const bad = await http.inject({ method: 'POST', url: '/things/bad' });
    expect(bad.statusCode).toBe(201);
    expect(bad.json().amount).toBe('5');
    await http.close();
  });

  it('names a success status the route does not document', () => {
    expect(responseMismatch(documented, 200, { id: 'a', amount: 1, at: 'x' })).toBe(
      'answered 200, documented 201',
    );
    expect(responseMismatch(documented, 201, { id: 'a', amount: 1, at: 'x' })).toBeNull();
    expect(responseMismatch(documented, 404, { error: {} })).toBeNull();
  });
});
