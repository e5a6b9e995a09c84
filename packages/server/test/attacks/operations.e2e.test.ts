/**
 * Attacks on the server's operation rather than its prices (issue 12, holes 9, 14, 15 and part of 17),
 * over real HTTP on PGlite and PostgreSQL:
 *   - one customer floods with reads, holds, and five keys at once: one bucket per customer, 429 with
 *     Retry-After, nothing written for a refused request;
 *   - Redis goes away or freezes: requests are still answered (limited per node), one warning, and it
 *     is shared again when Redis is back;
 *   - PostgreSQL freezes (a proxy stops forwarding): 503 `unavailable` with Retry-After in every dialect
 *     instead of a hang, /readyz says which dependency failed, and a charge retried with its
 *     Idempotency-Key moves credits exactly once, whether or not the first attempt committed;
 *   - oversized metadata and free-form fields, and amounts spelled any way but a plain decimal, are
 *     refused with nothing written;
 *   - `tollgate audit` on a live server does not flag a hold the sweeper has not reached yet.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.ts';
import { auditLedger } from '../../src/ledger/audit.ts';
import { DEFAULT_AUDIT_GRACE_SECONDS, sweepOnce } from '../../src/ledger/sweeper.ts';
import { openTestDatabase, testBackends } from '../support/databases.ts';
import { expectError } from '../support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../support/server.ts';
import { closedPort, startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const IMAGE_MODEL = 'fal-ai/flux/schnell'; // 0.3 credits a call
const LIMIT_PER_MINUTE = 120;
const BIN = fileURLToPath(new URL('../../bin/tollgate.mjs', import.meta.url));

async function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const redisAvailable = await reachable(REDIS_URL);

/** Polls until `condition` holds (bounded): states, not sleeps. */
async function until(
  condition: () => Promise<boolean> | boolean,
  what: string,
  timeoutMilliseconds = 20_000,
) {
  const deadline = Date.now() + timeoutMilliseconds;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** A pino destination that keeps the lines, to count warnings. */
function capturedLog() {
  const lines: { level: number; msg: string }[] = [];
  return {
    lines,
    logger: {
      level: 'info',
      stream: {
        write(line: string) {
          lines.push(JSON.parse(line));
        },
      },
    },
    count: (level: number, pattern: RegExp) =>
      lines.filter((line) => line.level === level && pattern.test(line.msg)).length,
  };
}
const WARN = 40;
const INFO = 30;

async function inBatches<Value>(
  count: number,
  size: number,
  work: (index: number) => Promise<Value>,
): Promise<Value[]> {
  const results: Value[] = [];
  for (let start = 0; start < count; start += size) {
    const batch = Array.from({ length: Math.min(size, count - start) }, (_, offset) => work(start + offset));
    results.push(...(await Promise.all(batch)));
  }
  return results;
}

describe.each(testBackends())('operations on $name', (backend) => {
  const env = {
    TOLLGATE_ADMIN_KEY: ADMIN_KEY,
    // Configured but closed: a gateway call is refused or held before any provider is reached.
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    OPENAI_API_KEY: 'sk-test-openai',
    ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
    ANTHROPIC_API_KEY: 'sk-test-anthropic',
  };
  const config = parseConfig({ rate_limits: { requests_per_minute: LIMIT_PER_MINUTE } }, env);
  let server: TestServer;
  let app: { id: string; secret_key: string };
  const extra: TestServer[] = [];

  beforeAll(async () => {
    server = await startTestServer(backend, { env, config });
    app = await server.createApp();
  });

  afterAll(async () => {
    for (const each of extra) await each.close();
    await server?.close();
  });

  async function customer(name: string, on: TestServer = server) {
    const created = await on.createCustomer(
      on === server ? app.secret_key : (await on.createApp()).secret_key,
      `${name}-${Math.random().toString(36).slice(2)}`,
    );
    return created;
  }

  const rows = async (sql: string, parameters: unknown[], on: TestServer = server) =>
    Number((await on.tollgate.db.query<{ count: string }>(sql, parameters))[0]!.count);
  const transactionsOf = (customerId: string, on: TestServer = server) =>
    rows('select count(*)::text as count from ledger_transactions where customer_id = $1', [customerId], on);
  const holdsOf = (customerId: string, on: TestServer = server) =>
    rows('select count(*)::text as count from holds where customer_id = $1', [customerId], on);

  async function expectCleanBooks(on: TestServer = server) {
    const report = await auditLedger(on.tollgate.db, on.clock);
    expect(report.problems).toEqual([]);
  }

  // ─────────────────────────────── hole 14: one limit per customer ───────────────────────────────

  it('1,000 balance reads on one user key: the first 120 answered, the rest 429 rate_limited with Retry-After', async () => {
    const user = await customer('reader');
    const answers = await inBatches(1_000, 50, () =>
      server.call('GET', '/v1/credits/balance', { key: user.user_key }),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 200)).toHaveLength(LIMIT_PER_MINUTE);
    expect(statuses.filter((status) => status === 429)).toHaveLength(1_000 - LIMIT_PER_MINUTE);
    const limited = answers.find((answer) => answer.status === 429)!;
    expectError(limited, 429, 'rate_limited');
    // 120 a minute: one token every half second, so a client is told to come back in a second.
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // The app acts for many customers: its key is not drawn from this customer's bucket.
    expect((await server.call('GET', `/v1/customers/${user.id}`, { key: app.secret_key })).status).toBe(200);
    // A minute later the bucket is full again.
    server.clock.advance(60_000);
    expect((await server.call('GET', '/v1/credits/balance', { key: user.user_key })).status).toBe(200);
  });

  it('300 holds on one user key: what the bucket holds is placed, the rest refused with nothing held for them', async () => {
    const user = await customer('holder');
    const before = (await server.call('GET', '/v1/credits/balance', { key: user.user_key })).body.balance;
    const answers = await inBatches(300, 30, (index) =>
      server.call('POST', '/v1/holds', {
        key: user.user_key,
        headers: { 'idempotency-key': `hold-${index}` },
        body: { customer: user.id, model: IMAGE_MODEL },
      }),
    );
    const placed = answers.filter((answer) => answer.status === 201);
    const refused = answers.filter((answer) => answer.status === 429);
    // One token went to the balance read above.
    expect(placed).toHaveLength(LIMIT_PER_MINUTE - 1);
    expect(refused).toHaveLength(300 - placed.length);
    for (const answer of refused) expectError(answer, 429, 'rate_limited');
    expect(await holdsOf(user.id)).toBe(placed.length);
    const view = (await server.call('GET', `/v1/customers/${user.id}`, { key: app.secret_key })).body;
    expect(view.balance).toBe(before);
    expect(view.pending).toBeCloseTo(0.3 * placed.length, 6);
    await expectCleanBooks();
  });

  it('five keys of one customer share one bucket, across every user-key endpoint and the gateway', async () => {
    const user = await customer('five-keys');
    const keys = [user.user_key];
    for (let index = 0; index < 4; index += 1) {
      const issued = await server.call('POST', `/v1/customers/${user.id}/user-keys`, { key: app.secret_key });
      expect(issued.status).toBe(201);
      keys.push(issued.body.user_key);
    }
    const other = await customer('neighbour');
    // 200 reads round-robin over the five keys: together they get what one key gets.
    const answers = await inBatches(200, 20, (index) =>
      server.call('GET', '/v1/credits/history', { key: keys[index % keys.length] }),
    );
    expect(answers.filter((answer) => answer.status === 200)).toHaveLength(LIMIT_PER_MINUTE);
    const transactionsBefore = await transactionsOf(user.id);

    // Every endpoint a user key reaches now refuses this customer, in its own dialect, before acting.
    const gift = await server.call('POST', '/v1/gift-codes', { key: app.secret_key, body: { amount: 5 } });
    const attempts: [string, string, unknown][] = [
      ['POST', '/v1/holds', { model: IMAGE_MODEL }],
      ['POST', '/v1/charges', { model: IMAGE_MODEL }],
      ['POST', '/v1/generations', { model: IMAGE_MODEL, input: { prompt: 'a cat' } }],
      ['GET', '/v1/credits/balance', undefined],
      ['POST', '/v1/checkout/sessions', { amount_usd: 10 }],
      ['POST', '/v1/gift-codes/redeem', { code: gift.body.codes[0] }],
      ['GET', `/v1/customers/${user.id}/transactions`, undefined],
    ];
    for (const [index, [method, path, body]] of attempts.entries()) {
      const answer = await server.call(method, path, { key: keys[index % keys.length], body });
      expectError(answer, 429, 'rate_limited');
      expect(Number(answer.headers.get('retry-after')), path).toBeGreaterThanOrEqual(1);
    }
    const chat = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${keys[4]}` },
      body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(chat.status).toBe(429);
    expect(Number(chat.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await chat.json()).error.type).toBe('rate_limited');
    const messages = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': keys[3]! },
      body: JSON.stringify({
        model: 'openai/gpt-4o',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'hi' }],
      }),
    });
    expect(messages.status).toBe(429);
    expect(await messages.json()).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', code: 'rate_limited', message: expect.any(String) },
    });

    // Nothing was written for any of them; the neighbour and the app are untouched by this bucket.
    expect(await transactionsOf(user.id)).toBe(transactionsBefore);
    expect(await holdsOf(user.id)).toBe(0);
    expect((await server.call('GET', '/v1/credits/balance', { key: other.user_key })).status).toBe(200);
    const charged = await server.call('POST', '/v1/charges', {
      key: app.secret_key,
      body: { customer: user.id, model: IMAGE_MODEL },
    });
    expect(charged.status).toBe(201);
    await expectCleanBooks();
  });

  // ─────────────────────────────── hole 15: Redis fails ───────────────────────────────

  it('Redis unreachable: every request answered (limited per node), no 500, one warning; /readyz says redis', async () => {
    const log = capturedLog();
    const node = await startTestServer(backend, {
      env: { ...env, REDIS_URL: `redis://127.0.0.1:${await closedPort()}` },
      config: parseConfig({ rate_limits: { requests_per_minute: 20 } }, env),
      logger: log.logger,
    });
    extra.push(node);
    const nodeApp = await node.createApp();
    const user = await node.createCustomer(nodeApp.secret_key, 'redis-down');
    const answers = await inBatches(60, 10, (index) =>
      index % 2 === 0
        ? node.call('GET', '/v1/credits/balance', { key: user.user_key })
        : node.call('POST', '/v1/charges', {
            key: user.user_key,
            headers: { 'idempotency-key': `redis-down-${index}` },
            body: { customer: user.id, model: IMAGE_MODEL },
          }),
    );
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status !== 200 && status !== 201 && status !== 429)).toEqual([]);
    // The node still limits, from its own memory: 20 a minute.
    expect(statuses.filter((status) => status === 429)).toHaveLength(40);
    expect(log.count(WARN, /Redis is unreachable/)).toBe(1);
    expect(log.lines.filter((line) => line.level >= 50)).toEqual([]);
    const ready = await node.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'unavailable', checks: { database: 'ok', redis: 'unreachable' } });
    expect((await node.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
    expect(log.count(WARN, /Redis/)).toBe(1);
    await expectCleanBooks(node);
  });

  it.skipIf(!redisAvailable)(
    'Redis frozen, then back: no 500 while it hangs, one warning, one recovery line, shared again',
    async () => {
      const { hostname, port } = new URL(REDIS_URL);
      const proxy = await startTcpProxy({ host: hostname, port: Number(port || 6379) });
      const direct = new Redis(REDIS_URL);
      const log = capturedLog();
      const node = await startTestServer(backend, {
        env: {
          ...env,
          REDIS_URL: `redis://127.0.0.1:${proxy.port}`,
          TOLLGATE_REDIS_COMMAND_TIMEOUT_MS: '300',
        },
        config: parseConfig({ rate_limits: { requests_per_minute: 20 } }, env),
        logger: log.logger,
      });
      extra.push(node);
      try {
        const nodeApp = await node.createApp();
        const user = await node.createCustomer(nodeApp.secret_key, 'redis-frozen');
        const bucket = `tollgate:customer:customer:${user.id}`;
        const tokensInRedis = async () => Number(await direct.hget(bucket, 't'));
        for (let index = 0; index < 3; index += 1) {
          expect((await node.call('GET', '/v1/credits/balance', { key: user.user_key })).status).toBe(200);
        }
        expect(await tokensInRedis()).toBe(17);

        proxy.pause();
        const frozen = await inBatches(8, 4, () =>
          node.call('GET', '/v1/credits/balance', { key: user.user_key }),
        );
        expect(frozen.map((answer) => answer.status)).toEqual(Array(8).fill(200));
        expect(log.count(WARN, /Redis is unreachable/)).toBe(1);
        const notReady = await node.call('GET', '/readyz');
        expect(notReady.status).toBe(503);
        expect(notReady.body.checks).toEqual({ database: 'ok', redis: 'unreachable' });

        proxy.resume();
        await until(async () => (await node.call('GET', '/readyz')).status === 200, '/readyz to recover');
        await until(() => log.count(INFO, /Redis answers again/) === 1, 'the recovery line');
        // Shared again: the next request is counted in Redis, not in the node's memory. (The scripts sent
        // before each timeout reached Redis on resume, late, as TCP delivers: they count as well.)
        const tokensBefore = await tokensInRedis();
        expect(tokensBefore).toBeLessThan(17);
        expect((await node.call('GET', '/v1/credits/balance', { key: user.user_key })).status).toBe(200);
        expect(await tokensInRedis()).toBe(tokensBefore - 1);
        expect(log.count(WARN, /Redis/)).toBe(1);
        expect(log.lines.filter((line) => line.level >= 50)).toEqual([]);
      } finally {
        direct.disconnect();
        await proxy.close();
      }
    },
  );

  // ─────────────────────────────── hole 15: PostgreSQL freezes ───────────────────────────────

  it.skipIf(backend.name !== 'postgres')(
    'PostgreSQL frozen: 503 unavailable with Retry-After in each dialect within the bound; a retried charge lands once',
    async () => {
      const target = new URL(backend.url!);
      const proxy: TcpProxy = await startTcpProxy({
        host: target.hostname,
        port: Number(target.port || 5432),
      });
      const proxied = new URL(backend.url!);
      proxied.host = `127.0.0.1:${proxy.port}`;
      const testDatabase = await openTestDatabase(backend, {
        url: proxied.toString(),
        timeouts: {
          connectMilliseconds: 1_000,
          statementMilliseconds: 1_000,
          idleInTransactionMilliseconds: 5_000,
        },
      });
      const node = await startTestServer(backend, { env, config, testDatabase });
      extra.push(node);
      // A hang shows up as this abort, never as a passing test.
      const bounded = { signal: AbortSignal.timeout(15_000) };
      const call = (method: string, path: string, options: Parameters<TestServer['call']>[2] = {}) =>
        Promise.race([
          node.call(method, path, options),
          new Promise<never>((_resolve, reject) =>
            bounded.signal.addEventListener('abort', () => reject(new Error(`${path} hung`))),
          ),
        ]);
      try {
        const nodeApp = await node.createApp();
        const user = await node.createCustomer(nodeApp.secret_key, 'frozen-db');
        const charge = (key: string) =>
          call('POST', '/v1/charges', {
            key: user.user_key,
            headers: { 'idempotency-key': key },
            body: { customer: user.id, model: IMAGE_MODEL },
          });
        expect((await charge('warm-up')).status).toBe(201);
        const movementsBefore = await transactionsOf(user.id, node);

        // 1. The write reaches PostgreSQL and commits, then the network freezes: the answer is lost.
        //    (A proxy that stops forwarding: connections stay open and nothing comes back.)
        const tripped = proxy.pauseAfterSending('tg_ledger_write');
        const lost = await charge('committed-then-frozen');
        await tripped;
        const error = expectError(lost, 503, 'unavailable');
        expect(error.retry_after_seconds).toBe(2);
        expect(lost.headers.get('retry-after')).toBe('2');

        // While frozen: every dialect says 503 with Retry-After; /readyz names the database; /healthz lives.
        expectError(await charge('frozen-second'), 503, 'unavailable');
        const chat = await fetch(`${node.url}/v1/chat/completions`, {
          ...bounded,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${user.user_key}` },
          body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }] }),
        });
        expect(chat.status).toBe(503);
        expect(chat.headers.get('retry-after')).toBe('2');
        expect(await chat.json()).toEqual({
          error: { message: expect.any(String), type: 'unavailable', param: null, code: '503' },
        });
        const messages = await fetch(`${node.url}/v1/messages`, {
          ...bounded,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-api-key': user.user_key },
          body: JSON.stringify({
            model: 'openai/gpt-4o',
            max_tokens: 10,
            messages: [{ role: 'user', content: 'hi' }],
          }),
        });
        expect(messages.status).toBe(503);
        expect(await messages.json()).toEqual({
          type: 'error',
          error: { type: 'overloaded_error', code: 'unavailable', message: expect.any(String) },
        });
        const notReady = await call('GET', '/readyz');
        expect(notReady.status).toBe(503);
        expect(notReady.body).toEqual({
          status: 'unavailable',
          checks: { database: 'unreachable', redis: 'not_configured' },
        });
        expect((await call('GET', '/healthz')).status).toBe(200);

        proxy.resume();
        await until(
          async () => (await call('GET', '/readyz')).status === 200,
          'the database to answer again',
        );

        // The retry with the same key replays what committed; the second frozen charge never reached
        // the ledger write and is written now, once.
        const retried = await charge('committed-then-frozen');
        expect(retried.status).toBe(201);
        expect((await charge('frozen-second')).status).toBe(201);
        expect((await charge('frozen-second')).status).toBe(201);
        expect(await transactionsOf(user.id, node)).toBe(movementsBefore + 2);
        const balance = (await call('GET', `/v1/customers/${user.id}`, { key: nodeApp.secret_key })).body;
        expect(balance.balance).toBeCloseTo(user.balance - 0.3 * 3, 6);
        expect(balance.pending).toBe(0);
        await expectCleanBooks(node);

        // 2. PostgreSQL down (nothing listens): refused connections answer 503 at once, not 500.
        await proxy.close();
        const down = await charge('while-down');
        expectError(down, 503, 'unavailable');
        expect(down.headers.get('retry-after')).toBe('2');
        expect((await call('GET', '/readyz')).body.checks.database).toBe('unreachable');
      } finally {
        proxy.resume();
        await proxy.close();
      }
    },
    60_000,
  );

  it('/readyz: 200 naming what it checked when the database answers (Redis not configured here)', async () => {
    const ready = await server.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'not_configured' } });
    expect((await server.call('GET', '/healthz')).body).toEqual({ status: 'ok' });
  });

  // ─────────────────────────────── hole 9: unbounded stored fields ───────────────────────────────

  it('45 charges with 12 MB metadata are refused with 413 before anything is written; history still reads', async () => {
    const user = await customer('hoarder');
    const movementsBefore = await transactionsOf(user.id);
    const twelveMegabytes = 'x'.repeat(12 * 1024 * 1024);
    const answers = await inBatches(45, 5, (index) =>
      server.call('POST', '/v1/charges', {
        key: app.secret_key,
        headers: { 'idempotency-key': `hoard-${index}` },
        body: { customer: user.id, model: IMAGE_MODEL, metadata: { blob: twelveMegabytes } },
      }),
    );
    for (const answer of answers) expectError(answer, 413, 'payload_too_large');
    expect(await transactionsOf(user.id)).toBe(movementsBefore);
    expect(await holdsOf(user.id)).toBe(0);
    const history = await server.call('GET', `/v1/customers/${user.id}/transactions?limit=500`, {
      key: app.secret_key,
    });
    expect(history.status).toBe(200);
    expect(history.body.data).toHaveLength(movementsBefore);
    expect((await server.call('GET', '/v1/credits/history', { key: user.user_key })).status).toBe(200);
  });

  it('metadata over its limits is 400 invalid_request naming it; at the limits it is stored and shown', async () => {
    const user = await customer('metadata');
    const movementsBefore = await transactionsOf(user.id);
    const charge = (metadata: unknown) =>
      server.call('POST', '/v1/charges', {
        key: app.secret_key,
        body: { customer: user.id, model: IMAGE_MODEL, metadata },
      });
    const manyKeys = Object.fromEntries(Array.from({ length: 51 }, (_, index) => [`k${index}`, 'v']));
    const oversized: [unknown, string, RegExp][] = [
      [manyKeys, 'metadata', /at most 50/],
      [{ ['k'.repeat(41)]: 'v' }, 'metadata', /1 to 40 characters/],
      [{ '': 'v' }, 'metadata', /1 to 40 characters/],
      [{ note: 'x'.repeat(501) }, 'metadata.note', /at most 500 characters/],
      [{ nested: { deeper: 1 } }, 'metadata.nested', /a number, a boolean or null/],
      [{ list: [1, 2] }, 'metadata.list', /a number, a boolean or null/],
      [
        Object.fromEntries(Array.from({ length: 20 }, (_, index) => [`k${index}`, 'é'.repeat(250)])),
        'metadata',
        /bytes as JSON/,
      ],
    ];
    for (const [metadata, param, message] of oversized) {
      const error = expectError(await charge(metadata), 400, 'invalid_request');
      expect(error.param).toBe(param);
      expect(error.message).toMatch(message);
      expect(JSON.stringify(error).length).toBeLessThan(400);
    }
    expect(await transactionsOf(user.id)).toBe(movementsBefore);
    expect(await holdsOf(user.id)).toBe(0);

    // 50 keys of 40 characters with values filling the 8 KiB: accepted, and read back as sent.
    const atLimit = Object.fromEntries(
      Array.from({ length: 50 }, (_, index) => [
        `${String(index).padStart(2, '0')}${'k'.repeat(38)}`,
        'v'.repeat(117),
      ]),
    );
    expect(Buffer.byteLength(JSON.stringify(atLimit))).toBeLessThanOrEqual(8 * 1024);
    const accepted = await charge({ ...atLimit });
    expect(accepted.status).toBe(201);
    const flags = await charge({ retries: 3, preview: true, parent: null });
    expect(flags.status).toBe(201);
    const history = await server.call('GET', `/v1/customers/${user.id}/transactions`, {
      key: app.secret_key,
    });
    const rowsWithMetadata = history.body.data.filter(
      (row: { hold_id: string | null }) => row.hold_id !== null,
    );
    expect(rowsWithMetadata[1].metadata).toMatchObject(atLimit);
    expect(rowsWithMetadata[0].metadata).toMatchObject({ retries: 3, preview: true, parent: null });
    await expectCleanBooks();
  });

  it('every free-form stored field has a bound: over it is 400 naming the field and nothing is created', async () => {
    const user = await customer('fields');
    const before = await transactionsOf(user.id);
    const cases: [string, string, string, unknown, string][] = [
      [ADMIN_KEY, 'POST', '/v1/apps', { name: 'n'.repeat(201) }, 'name'],
      [app.secret_key, 'POST', '/v1/customers', { external_id: 'e'.repeat(201) }, 'external_id'],
      [
        app.secret_key,
        'POST',
        '/v1/customers',
        { external_id: 'ok', email: `${'e'.repeat(320)}@x.io` },
        'email',
      ],
      [
        app.secret_key,
        'POST',
        `/v1/customers/${user.id}/grants`,
        { amount: 1, source: 'promo', reason: 'r'.repeat(501) },
        'reason',
      ],
      [
        app.secret_key,
        'POST',
        '/v1/holds',
        { customer: user.id, model: IMAGE_MODEL, run_id: 'r'.repeat(201) },
        'run_id',
      ],
      [app.secret_key, 'POST', '/v1/charges', { customer: 'c'.repeat(201), model: IMAGE_MODEL }, 'customer'],
      [app.secret_key, 'POST', '/v1/charges', { customer: user.id, model: 'm'.repeat(301) }, 'model'],
    ];
    for (const [key, method, path, body, param] of cases) {
      const error = expectError(await server.call(method, path, { key, body }), 400, 'invalid_request');
      expect(error.param, `${path} ${param}`).toBe(param);
    }
    const longKey = await server.call('POST', '/v1/charges', {
      key: app.secret_key,
      headers: { 'idempotency-key': 'i'.repeat(256) },
      body: { customer: user.id, model: IMAGE_MODEL },
    });
    expectError(longKey, 400, 'invalid_request');
    expect(await transactionsOf(user.id)).toBe(before);
    expect(await holdsOf(user.id)).toBe(0);
    const customers = await server.call('GET', `/v1/customers/ok`, { key: app.secret_key });
    expect(customers.status).toBe(404);
  });

  // ─────────────────────────────── hole 17: amounts ───────────────────────────────

  it('amounts spelled any way but a plain decimal are refused wherever an amount is read; nothing written', async () => {
    const user = await customer('amounts');
    const before = await transactionsOf(user.id);
    const spellings = ['-0', ' 5 ', '100e-2', '1e2', '+5', '.5', '5.', '0x10', '5 credits'];
    const fields: [string, string, string, (value: unknown) => unknown, string][] = [
      [
        app.secret_key,
        'POST',
        '/v1/charges',
        (value) => ({ customer: user.id, model: IMAGE_MODEL, amount: value }),
        'amount',
      ],
      [
        app.secret_key,
        'POST',
        '/v1/charges',
        (value) => ({ customer: user.id, model: IMAGE_MODEL, quantity: value }),
        'quantity',
      ],
      [
        app.secret_key,
        'POST',
        '/v1/holds',
        (value) => ({ customer: user.id, model: IMAGE_MODEL, amount: value }),
        'amount',
      ],
      [
        app.secret_key,
        'POST',
        '/v1/holds',
        (value) => ({ customer: user.id, model: IMAGE_MODEL, run_id: 'run', max_run_cost: value }),
        'max_run_cost',
      ],
      [
        app.secret_key,
        'POST',
        `/v1/customers/${user.id}/grants`,
        (value) => ({ amount: value, source: 'promo' }),
        'amount',
      ],
      [
        app.secret_key,
        'POST',
        '/v1/checkout/sessions',
        (value) => ({ customer: user.id, amount_usd: value }),
        'amount_usd',
      ],
      [app.secret_key, 'POST', '/v1/gift-codes', (value) => ({ amount: value }), 'amount'],
      [ADMIN_KEY, 'POST', '/v1/apps', (value) => ({ name: 'rated', referral_rate: value }), 'referral_rate'],
    ];
    for (const [key, method, path, body, param] of fields) {
      for (const spelling of spellings) {
        const answer = await server.call(method, path, { key, body: body(spelling) });
        const error = expectError(answer, 400, 'invalid_request');
        expect(error.param, `${path} ${param} ${JSON.stringify(spelling)}`).toBe(param);
      }
    }
    // A JSON number -0 is refused too (JSON.stringify would print it as 0, so the text is sent as is).
    const negativeZero = await server.call('POST', '/v1/charges', {
      key: app.secret_key,
      body: `{"customer":"${user.id}","model":"${IMAGE_MODEL}","amount":-0}`,
    });
    expect(expectError(negativeZero, 400, 'invalid_request').param).toBe('amount');
    expect(await transactionsOf(user.id)).toBe(before);
    expect(await holdsOf(user.id)).toBe(0);

    // Every plain spelling still works: JSON numbers (1e2 arrives as 100) and decimal strings.
    for (const amount of [0.1, '0.1', 100, 1e2, '2.500000', '007']) {
      const answer = await server.call('POST', '/v1/charges', {
        key: app.secret_key,
        body: { customer: user.id, model: IMAGE_MODEL, amount },
      });
      expect(answer.status, JSON.stringify(amount)).toBe(201);
    }
    const checkout = await server.call('POST', '/v1/checkout/sessions', {
      key: app.secret_key,
      body: { customer: user.id, amount_usd: '10.50' },
    });
    expect(checkout.status).toBe(201);
    expect(await transactionsOf(user.id)).toBe(before + 6);
    await expectCleanBooks();
  });

  // ─────────────────────────────── hole 17: audit false alarm ───────────────────────────────

  it('audit: a hold expired less than two sweeps ago is not a problem; one left past that is', async () => {
    const user = await customer('audit');
    const hold = await server.call('POST', '/v1/holds', {
      key: app.secret_key,
      body: { customer: user.id, model: IMAGE_MODEL, timeout_seconds: 60 },
    });
    expect(hold.status).toBe(201);
    server.clock.advance(61_000);
    expect(DEFAULT_AUDIT_GRACE_SECONDS).toBe(10);
    expect((await auditLedger(server.tollgate.db, server.clock, DEFAULT_AUDIT_GRACE_SECONDS)).ok).toBe(true);
    const strict = await auditLedger(server.tollgate.db, server.clock, 0);
    expect(strict.problems.map((problem) => problem.check)).toEqual(['holds still open past their timeout']);
    server.clock.advance(DEFAULT_AUDIT_GRACE_SECONDS * 1000);
    expect((await auditLedger(server.tollgate.db, server.clock, DEFAULT_AUDIT_GRACE_SECONDS)).ok).toBe(false);
    await sweepOnce(server.tollgate.db, server.tollgate.ledger, server.clock);
    await expectCleanBooks();
  });

  it.skipIf(backend.name !== 'postgres')(
    '`tollgate audit` against a live server exits 0 while the sweeper has a fresh expiry to void; --grace 0 flags it',
    async () => {
      // Its own server: its clock starts at the real time the CLI reads (the shared one has moved on).
      const node = await startTestServer(backend, { env, config });
      extra.push(node);
      const nodeApp = await node.createApp();
      const user = await node.createCustomer(nodeApp.secret_key, 'audit-cli');
      const hold = await node.call('POST', '/v1/holds', {
        key: nodeApp.secret_key,
        body: { customer: user.id, model: IMAGE_MODEL, timeout_seconds: 1 },
      });
      expect(hold.status).toBe(201);
      const expiresAt = Date.parse(hold.body.expires_at);
      await until(() => Date.now() > expiresAt + 100, 'the hold to expire on the real clock');
      const url = new URL(backend.url!);
      url.searchParams.set('options', `-c search_path=${node.database.schema}`);
      const audit = (args: string[]) =>
        new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
          const child = spawn(process.execPath, [BIN, 'audit', ...args], {
            env: {
              PATH: process.env.PATH ?? '',
              HOME: process.env.HOME ?? '/tmp',
              DATABASE_URL: url.toString(),
            },
          });
          let stdout = '';
          child.stdout.on('data', (chunk: Buffer) => {
            stdout += chunk.toString('utf8');
          });
          child.on('error', reject);
          child.on('close', (code) => resolve({ code, stdout }));
        });
      const lenient = await audit([]);
      expect(lenient.stdout).toMatch(/OK — books balanced/);
      expect(lenient.code).toBe(0);
      const strict = await audit(['--grace', '0']);
      expect(strict.stdout).toMatch(/holds still open past their timeout: 1/);
      expect(strict.code).toBe(1);
      // The sweeper's next pass voids it, and the books are clean at any grace.
      node.clock.advance(2_000);
      await sweepOnce(node.tollgate.db, node.tollgate.ledger, node.clock);
      expect((await audit(['--grace', '0'])).code).toBe(0);
    },
    60_000,
  );
});
