import { describe, expect, it } from 'vitest';
import type { Tollgate } from './client.ts';
import {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  IdempotencyConflictError,
  InternalServerError,
  InvalidRequestError,
  InvalidStateError,
  NotFoundError,
  RateLimitedError,
  UpstreamError,
} from './errors.ts';
import { errorReply, scriptedClient } from './stub-fetch.ts';
import { backoffDelayMs, MAX_RETRY_AFTER_MS } from './transport.ts';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const held = {
  status: 201,
  body: { id: 'hold_1', status: 'held', amount: 3, expires_at: 'x', funding: 'credits' },
};

/** Every money-moving call of the client, with a minimal valid argument list. */
const moneyMovingCalls: Array<[string, (client: Tollgate) => Promise<unknown>]> = [
  ['holds.create', (c) => c.holds.create({ customer: 'cus_1', model: 'm' })],
  ['holds.capture', (c) => c.holds.capture('hold_1')],
  ['holds.void', (c) => c.holds.void('hold_1')],
  ['holds.extend', (c) => c.holds.extend('hold_1', { timeout_seconds: 60 })],
  ['charges.create', (c) => c.charges.create({ customer: 'cus_1', model: 'm' })],
  ['customers.grant', (c) => c.customers.grant('cus_1', { amount: 5, source: 'promo' })],
  ['checkout.createSession', (c) => c.checkout.createSession({ customer: 'cus_1', amount_usd: 10 })],
  ['giftCodes.create', (c) => c.giftCodes.create({ amount: 10 })],
  ['giftCodes.redeem', (c) => c.giftCodes.redeem({ code: 'GIFT' })],
  ['generations.create', (c) => c.generations.create({ model: 'm', input: { prompt: 'p' } })],
  ['subscriptions.start', (c) => c.subscriptions.start('cus_1', { plan: 'pro' })],
  ['subscriptions.change', (c) => c.subscriptions.change('cus_1', { plan: 'pro' })],
  ['subscriptions.cancel', (c) => c.subscriptions.cancel('cus_1')],
];

describe('Idempotency-Key', () => {
  it.each(moneyMovingCalls)('is sent on %s as a random UUID', async (_name, call) => {
    const { client, calls } = scriptedClient([{ body: {} }, { body: {} }]);
    await call(client);
    await call(client);
    const first = calls[0].headers.get('idempotency-key');
    expect(first).toMatch(UUID_PATTERN);
    expect(calls[1].headers.get('idempotency-key')).not.toBe(first);
  });

  it('is reused by every retry of one call: 5xx, network error, 429', async () => {
    const { client, calls, sleeps } = scriptedClient(
      [errorReply(503, 'unavailable'), new TypeError('fetch failed'), errorReply(429, 'rate_limited'), held],
      { maxRetries: 3 },
    );
    const hold = await client.holds.create({ customer: 'cus_1', model: 'm' });
    expect(hold.id).toBe('hold_1');
    expect(calls).toHaveLength(4);
    const keys = new Set(calls.map((call) => call.headers.get('idempotency-key')));
    expect(keys.size).toBe(1);
    expect([...keys][0]).toMatch(UUID_PATTERN);
    expect(new Set(calls.map((call) => call.body)).size).toBe(1);
    expect(sleeps).toHaveLength(3);
  });

  it("uses the caller's own key", async () => {
    const { client, calls } = scriptedClient([errorReply(500, 'internal_error'), { body: {} }]);
    await client.charges.create({ customer: 'cus_1', model: 'm' }, { idempotencyKey: 'order-991' });
    expect(calls.map((call) => call.headers.get('idempotency-key'))).toEqual(['order-991', 'order-991']);
  });

  it('is not sent on reads or on calls that move no money', async () => {
    const { client, calls } = scriptedClient([
      { body: {} },
      { body: {} },
      { body: { data: [] } },
      { body: {} },
    ]);
    await client.customers.retrieve('cus_1');
    await client.customers.create({ external_id: 'u1' });
    await client.models.list();
    await client.apps.create({ name: 'a' });
    for (const call of calls) expect(call.headers.has('idempotency-key')).toBe(false);
  });
});

describe('retries', () => {
  it.each([500, 502, 503, 504, 429])('retries %i up to maxRetries, then throws', async (status) => {
    const { client, calls, sleeps } = scriptedClient([
      errorReply(status, 'x'),
      errorReply(status, 'x'),
      errorReply(status, 'x'),
    ]);
    await expect(client.customers.retrieve('cus_1')).rejects.toMatchObject({ status });
    expect(calls).toHaveLength(3); // the first attempt and maxRetries = 2 retries
    expect(sleeps).toHaveLength(2);
  });

  it.each([
    [400, 'invalid_request', InvalidRequestError],
    [401, 'invalid_api_key', AuthenticationError],
    [404, 'not_found', NotFoundError],
    [409, 'idempotency_conflict', IdempotencyConflictError],
    [409, 'invalid_state', InvalidStateError],
    [501, 'not_implemented', InternalServerError],
  ])('never retries %i %s', async (status, code, errorClass) => {
    const { client, calls, sleeps } = scriptedClient([errorReply(status, code), held]);
    await expect(client.holds.capture('hold_1')).rejects.toBeInstanceOf(errorClass);
    expect(calls).toHaveLength(1);
    expect(sleeps).toHaveLength(0);
  });

  it('backs off exponentially with jitter', async () => {
    const { client, sleeps } = scriptedClient(
      [errorReply(500, 'x'), errorReply(500, 'x'), errorReply(500, 'x'), errorReply(500, 'x'), { body: {} }],
      { maxRetries: 4 },
    );
    await client.customers.retrieve('cus_1');
    const bases = [500, 1000, 2000, 4000];
    sleeps.forEach((delay, attempt) => {
      expect(delay).toBeLessThanOrEqual(bases[attempt]);
      expect(delay).toBeGreaterThanOrEqual(bases[attempt] * 0.75);
    });
    expect(backoffDelayMs(0, () => 0)).toBe(500);
    expect(backoffDelayMs(0, () => 1)).toBe(375);
    expect(backoffDelayMs(20, () => 0)).toBe(8000);
  });

  it('honours Retry-After in seconds', async () => {
    const { client, sleeps } = scriptedClient([
      errorReply(429, 'rate_limited', {}, { 'retry-after': '7' }),
      held,
    ]);
    await client.holds.create({ customer: 'cus_1', model: 'm' });
    expect(sleeps).toEqual([7000]);
  });

  it('honours Retry-After as an HTTP date', async () => {
    const at = new Date(Date.now() + 5_000).toUTCString();
    const { client, sleeps } = scriptedClient([
      errorReply(503, 'unavailable', {}, { 'retry-after': at }),
      { body: {} },
    ]);
    await client.customers.retrieve('cus_1');
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(3_000);
    expect(sleeps[0]).toBeLessThanOrEqual(5_000);
  });

  it('does not wait out a Retry-After longer than a minute: it throws for the caller to schedule', async () => {
    const seconds = MAX_RETRY_AFTER_MS / 1000 + 1;
    const { client, calls, sleeps } = scriptedClient([
      errorReply(429, 'rate_limited', {}, { 'retry-after': String(seconds) }),
    ]);
    const error = await client.credits.balance().catch((caught) => caught);
    expect(error).toBeInstanceOf(RateLimitedError);
    expect(error.retryAfterSeconds).toBe(seconds);
    expect(calls).toHaveLength(1);
    expect(sleeps).toHaveLength(0);
  });

  it('retries network errors and reports APIConnectionError once retries are spent', async () => {
    const cause = new TypeError('fetch failed');
    const { client, calls } = scriptedClient([cause, cause, cause]);
    const error = await client.billing.catalog().catch((caught) => caught);
    expect(error).toBeInstanceOf(APIConnectionError);
    expect(error).toMatchObject({ status: 0, code: 'connection_error' });
    expect(error.cause).toBe(cause);
    expect(calls).toHaveLength(3);
  });

  it('does not repeat a non-idempotent call after a failure it may have acted on, but does after 429', async () => {
    const network = scriptedClient([new TypeError('reset'), { body: {} }]);
    await expect(network.client.apps.create({ name: 'a' })).rejects.toBeInstanceOf(APIConnectionError);
    expect(network.calls).toHaveLength(1);

    const serverError = scriptedClient([errorReply(502, 'upstream_error'), { body: {} }]);
    await expect(serverError.client.customers.createUserKey('cus_1')).rejects.toBeInstanceOf(UpstreamError);
    expect(serverError.calls).toHaveLength(1);

    const limited = scriptedClient([errorReply(429, 'rate_limited'), { status: 201, body: { id: 'app_1' } }]);
    await expect(limited.client.apps.create({ name: 'a' })).resolves.toMatchObject({ id: 'app_1' });
    expect(limited.calls).toHaveLength(2);
  });

  it('honours maxRetries per call and 0 for none', async () => {
    const none = scriptedClient([errorReply(500, 'x')], { maxRetries: 0 });
    await expect(none.client.customers.retrieve('c')).rejects.toBeInstanceOf(InternalServerError);
    expect(none.calls).toHaveLength(1);

    const perCall = scriptedClient([errorReply(500, 'x'), errorReply(500, 'x'), { body: {} }], {
      maxRetries: 0,
    });
    await perCall.client.customers.retrieve('c', { maxRetries: 2 });
    expect(perCall.calls).toHaveLength(3);
  });

  it('times out an attempt that does not answer, and retries it', async () => {
    const hang = (_request: unknown, signal?: AbortSignal) =>
      new Promise<Response>((_resolve, reject) =>
        signal?.addEventListener('abort', () => reject(signal.reason)),
      );
    const { client, calls } = scriptedClient([hang, hang], { timeoutMs: 5, maxRetries: 1 });
    const error = await client.customers.retrieve('cus_1').catch((caught) => caught);
    expect(error).toBeInstanceOf(APITimeoutError);
    expect(error.code).toBe('timeout');
    expect(calls).toHaveLength(2);
  });

  it("stops at once when the caller's signal aborts, without retrying", async () => {
    const controller = new AbortController();
    const reason = new Error('user left');
    const { client, calls } = scriptedClient([
      (_request, signal) =>
        new Promise<Response>((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason));
          controller.abort(reason);
        }),
      { body: {} },
    ]);
    await expect(client.customers.retrieve('cus_1', { signal: controller.signal })).rejects.toBe(reason);
    expect(calls).toHaveLength(1);
  });
});

describe('requests', () => {
  it('send the secret key as a bearer token and the user key as X-User-Key', async () => {
    const { client, calls } = scriptedClient([{ body: {} }, { body: {} }, { body: { data: [] } }], {
      userKey: 'tg_uk_user',
    });
    await client.customers.retrieve('cus_1');
    await client.credits.balance();
    await client.models.list();
    expect(calls[0].headers.get('authorization')).toBe('Bearer tg_sk_secret');
    expect(calls[0].headers.has('x-user-key')).toBe(false);
    expect(calls[1].headers.get('x-user-key')).toBe('tg_uk_user');
    expect(calls[1].headers.has('authorization')).toBe(false);
    expect(calls[2].headers.has('authorization')).toBe(false);
    expect(calls[2].headers.has('x-user-key')).toBe(false);
  });

  it('act for another user per call, and accept a user key given as apiKey', async () => {
    const perCall = scriptedClient([{ body: {} }]);
    await perCall.client.generations.retrieve('gen_1', { userKey: 'tg_uk_other' });
    expect(perCall.calls[0].headers.get('x-user-key')).toBe('tg_uk_other');

    const asApiKey = scriptedClient([{ body: {} }], { apiKey: 'tg_uk_only' });
    await asApiKey.client.credits.balance();
    expect(asApiKey.calls[0].headers.get('authorization')).toBe('Bearer tg_uk_only');
  });

  it('encode path segments and build query strings', async () => {
    const { client, calls } = scriptedClient([{ body: { data: [], has_more: false } }, { body: {} }]);
    await client.customers.transactions('user/42 ü', { limit: 20 });
    await client.billing.catalog({ customer: 'cus_1' });
    expect(calls[0].url).toBe('http://tollgate.test/v1/customers/user%2F42%20%C3%BC/transactions?limit=20');
    expect(calls[1].url).toBe('http://tollgate.test/v1/billing/catalog?customer=cus_1');
  });

  it('send JSON with a user agent, and accept an empty answer', async () => {
    const { client, calls } = scriptedClient([{ status: 204 }], { baseUrl: 'http://tollgate.test///' });
    await expect(client.providerKeys.remove('cus_1', 'fal')).resolves.toBeUndefined();
    expect(calls[0].url).toBe('http://tollgate.test/v1/customers/cus_1/provider-keys/fal');
    expect(calls[0].method).toBe('DELETE');
    expect(calls[0].headers.get('user-agent')).toMatch(/^tollgate-client\//);
    expect(calls[0].headers.get('accept')).toBe('application/json');
  });

  it('reject a constructor without baseUrl or with a bad maxRetries', async () => {
    const { Tollgate } = await import('./client.ts');
    expect(() => new Tollgate({} as never)).toThrow(TypeError);
    expect(() => new Tollgate({ baseUrl: 'http://x', maxRetries: -1 })).toThrow(RangeError);
    expect(() => new Tollgate({ baseUrl: 'http://x', timeoutMs: 0 })).toThrow(RangeError);
  });
});
