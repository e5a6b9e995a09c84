/**
 * Two Tollgate server processes on one PostgreSQL schema (PostgreSQL only: PGlite is one process's
 * database). The ledger's guarantees must hold across processes, not just across requests:
 * - 200 concurrent holds of 1 credit split across both servers against a balance of 50 → exactly 50;
 * - the same hold captured through both servers at once → captured once; the same Idempotency-Key
 *   on both servers → one movement;
 * - holds with a 1 s timeout and the sweeper running on both servers → every hold voided exactly
 *   once: nothing left held, no reservation released twice, the books audit clean.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { systemClock } from '../src/shared/clock.ts';
import { openTestDatabase, type TestDatabase, testBackends } from './support/databases.ts';
import { expectError, expectHistoryReplays, expectStatus } from './support/expectations.ts';
import { ADMIN_KEY } from './support/server.ts';
import {
  callServer as call,
  type ServerProcess,
  startServerProcess,
  stopServerProcess,
} from './support/server-process.ts';

const postgres = testBackends().filter((backend) => backend.name === 'postgres');

describe.skipIf(postgres.length === 0)('two server processes on one PostgreSQL schema', () => {
  let database: TestDatabase;
  let a: ServerProcess;
  let b: ServerProcess;
  let secretKey: string;
  let customerId: string;

  beforeAll(async () => {
    database = await openTestDatabase(postgres[0]!);
    [a, b] = await Promise.all([startServerProcess(database), startServerProcess(database)]);
    const app = expectStatus(
      await call(a, 'POST', '/v1/apps', { key: ADMIN_KEY, body: { name: 'Shared', referral_rate: 0.1 } }),
      201,
    );
    secretKey = app.secret_key;
    // Created on one server, known to the other at once.
    const customer = expectStatus(
      await call(b, 'POST', '/v1/customers', { key: secretKey, body: { external_id: 'shared-user' } }),
      201,
    );
    customerId = customer.id;
    const debit = await call(a, 'POST', `/v1/customers/${customerId}/grants`, {
      key: secretKey,
      body: { amount: -450, source: 'adjustment', reason: 'leave 50' },
    });
    expect(expectStatus(debit, 201).balance).toBe(50);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([stopServerProcess(a), stopServerProcess(b)]);
    await database?.close();
  });

  const view = async (server: ServerProcess) =>
    expectStatus(await call(server, 'GET', `/v1/customers/${customerId}`, { key: secretKey }), 200);

  it('both servers answer', async () => {
    for (const server of [a, b]) {
      expect((await call(server, 'GET', '/healthz')).body).toEqual({ status: 'ok' });
      expect(await view(server)).toMatchObject({ balance: 50, pending: 0, available: 50 });
    }
  });

  it('200 concurrent holds of 1 credit across both servers against 50 credits: exactly 50 succeed', async () => {
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        call(index % 2 === 0 ? a : b, 'POST', '/v1/holds', {
          key: secretKey,
          body: { customer: customerId, model: 'fal-ai/flux/schnell', amount: 1 },
        }),
      ),
    );
    const held = responses.filter((response) => response.status === 201);
    expect(held).toHaveLength(50);
    for (const response of responses) {
      if (response.status === 201) continue;
      const error = expectError(response, 402, 'insufficient_credits');
      expect(error.required).toBe(1);
      expect(error.available).toBeLessThan(1);
    }
    // Both servers took part in the successes.
    const byServer = [0, 1].map(
      (parity) =>
        responses.filter((response, index) => index % 2 === parity && response.status === 201).length,
    );
    expect(byServer[0]! + byServer[1]!).toBe(50);
    expect(new Set(held.map((response) => response.body.id)).size).toBe(50);
    for (const server of [a, b])
      expect(await view(server)).toMatchObject({ balance: 50, pending: 50, available: 0 });

    // Release them all, each through the other server than the one that made it.
    const voids = await Promise.all(
      held.map((response, index) =>
        call(index % 2 === 0 ? b : a, 'POST', `/v1/holds/${response.body.id}/void`, {
          key: secretKey,
          body: {},
        }),
      ),
    );
    for (const response of voids) expect(expectStatus(response, 200).status).toBe('voided');
    for (const server of [a, b])
      expect(await view(server)).toMatchObject({ balance: 50, pending: 0, available: 50 });
  });

  it('a hold captured through both servers at once is captured once; one Idempotency-Key, one movement', async () => {
    const holds = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        call(index % 2 === 0 ? a : b, 'POST', '/v1/holds', {
          key: secretKey,
          body: { customer: customerId, model: 'fal-ai/flux/schnell', amount: 2 },
        }),
      ),
    );
    const ids = holds.map((response) => expectStatus(response, 201).id as string);
    const captures = await Promise.all(
      ids.flatMap((id) =>
        [a, b, a, b].map((server) =>
          call(server, 'POST', `/v1/holds/${id}/capture`, { key: secretKey, body: { amount: 1 } }),
        ),
      ),
    );
    for (const response of captures)
      expect(expectStatus(response, 200)).toMatchObject({ status: 'captured', amount: 1 });
    for (const id of ids) {
      const transactions = new Set(
        captures
          .filter((response) => response.body.id === id)
          .map((response) => response.body.transaction_id),
      );
      expect(transactions.size).toBe(1);
    }
    expect(await view(a)).toMatchObject({ balance: 40, pending: 0 });

    const charges = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        call(index % 2 === 0 ? a : b, 'POST', '/v1/charges', {
          key: secretKey,
          body: { customer: customerId, model: 'fal-ai/flux/schnell' },
          headers: { 'idempotency-key': 'cross-server-charge' },
        }),
      ),
    );
    for (const response of charges) {
      expect(response.status).toBe(201);
      expect(response.body).toEqual(charges[0]!.body);
    }
    expect(charges[0]!.body.amount).toBe(0.33);
    const after = await view(b);
    expect(after.balance).toBeCloseTo(39.67, 6);
    const history = expectStatus(
      await call(b, 'GET', `/v1/customers/${customerId}/transactions?limit=100`, { key: secretKey }),
      200,
    );
    expect(history.data.filter((row: any) => row.type === 'usage')).toHaveLength(11);
    expectHistoryReplays(history.data);

    // Top back up to exactly 50 for the sweeper round.
    expectStatus(
      await call(a, 'POST', `/v1/customers/${customerId}/grants`, {
        key: secretKey,
        body: { amount: 10.33, source: 'promo' },
      }),
      201,
    );
    expect(await view(a)).toMatchObject({ balance: 50, pending: 0, available: 50 });
  });

  it('with 1 s hold timeouts and both sweepers running, every hold is voided exactly once', async () => {
    const before = await database.db.query<{ n: string }>(
      'select count(*)::text as n from ledger_transactions where customer_id = $1',
      [customerId],
    );
    const responses = await Promise.all(
      Array.from({ length: 60 }, (_, index) =>
        call(index % 2 === 0 ? a : b, 'POST', '/v1/holds', {
          key: secretKey,
          body: { customer: customerId, model: 'fal-ai/flux/schnell', amount: 1, timeout_seconds: 1 },
        }),
      ),
    );
    const ids = responses
      .filter((response) => response.status === 201)
      .map((response) => response.body.id as string);
    // 50 fit; the rest are refused (or fit later, once the first ones expire and are swept).
    expect(ids.length).toBeGreaterThanOrEqual(50);
    for (const response of responses)
      if (response.status !== 201) expectError(response, 402, 'insufficient_credits');

    const deadline = Date.now() + 20_000;
    let open = ids.length;
    while (Date.now() < deadline) {
      const rows = await database.db.query<{ n: string }>(
        `select count(*)::text as n from holds where id = any($1::text[]) and status <> 'voided'`,
        [ids],
      );
      open = Number(rows[0]!.n);
      if (open === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(open).toBe(0);

    const holds = await database.db.query<{ id: string; status: string; void_reason: string | null }>(
      'select id, status, void_reason from holds where id = any($1::text[])',
      [ids],
    );
    expect(holds).toHaveLength(ids.length);
    for (const hold of holds) expect(hold).toMatchObject({ status: 'voided', void_reason: 'expired' });
    for (const server of [a, b]) {
      const one = expectStatus(await call(server, 'GET', `/v1/holds/${ids[0]}`, { key: secretKey }), 200);
      expect(one.status).toBe('voided');
    }

    // Voided once: a second release of any reservation would leave held or reserved amounts negative.
    const [customer] = await database.db.query<{ balance_micros: bigint; held_micros: bigint }>(
      'select balance_micros, held_micros from customers where id = $1',
      [customerId],
    );
    expect(customer!.held_micros).toBe(0n);
    expect(customer!.balance_micros).toBe(50_000_000n);
    const grants = await database.db.query<{ reserved_micros: bigint }>(
      'select reserved_micros from grants where customer_id = $1',
      [customerId],
    );
    for (const grant of grants) expect(grant.reserved_micros).toBe(0n);
    // Voids move no money.
    const after = await database.db.query<{ n: string }>(
      'select count(*)::text as n from ledger_transactions where customer_id = $1',
      [customerId],
    );
    expect(after[0]!.n).toBe(before[0]!.n);
    for (const server of [a, b])
      expect(await view(server)).toMatchObject({ balance: 50, pending: 0, available: 50 });

    const audit = await auditLedger(database.db, systemClock);
    expect(audit.problems).toEqual([]);
    expect(audit.ok).toBe(true);
  });
});
