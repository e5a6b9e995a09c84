/**
 * The ledger under concurrent callers. On PostgreSQL (TEST_DATABASE_URL) the "servers" are several
 * `Ledger` instances, each on its own connection pool, against the same schema, so that operations
 * really race on rows; on PGlite (always) they are several `Ledger` instances sharing the one session,
 * which still puts many competing operations into the same batches.
 *
 * Every ledger's database calls are recorded: a passing run also proves that no batch hit a deadlock,
 * a serialization failure or any other error that the batcher would have retried behind our back. The
 * one refusal that is part of the design is the stale-read conflict (SQLSTATE TGC01): a ledger computed
 * a batch from accounts another ledger changed meanwhile, and it recomputes under the customers' locks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { Ledger, unwrap } from '../src/ledger/ledger.ts';
import { isConflict } from '../src/ledger/ledger-store.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { type Database, openDatabase } from '../src/store/database.ts';
import { openTestDatabase, type TestDatabase, testBackends } from './support/databases.ts';

const credits = (value: number) => BigInt(value) * 1_000_000n;
const SERVERS = 4;

/** A small seeded generator, so that a failing interleaving of amounts can be replayed. */
function random(seed: number) {
  let state = seed >>> 0;
  return (below: number) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return (((value ^ (value >>> 14)) >>> 0) % below) | 0;
  };
}

/** The same database, with every failed statement recorded. */
function recording(db: Database, errors: unknown[]): Database {
  return {
    kind: db.kind,
    kysely: db.kysely,
    async query<Row>(sql: string, parameters?: unknown[]): Promise<Row[]> {
      try {
        return await db.query<Row>(sql, parameters);
      } catch (error) {
        errors.push(error);
        throw error;
      }
    },
    transaction: (work) =>
      db.transaction((query) =>
        work(async (sql, parameters) => {
          try {
            return await query(sql, parameters);
          } catch (error) {
            errors.push(error);
            throw error;
          }
        }),
      ),
    close: () => db.close(),
  };
}

describe.each(testBackends())('ledger concurrency on $name', (backend) => {
  let primary: TestDatabase;
  /** Separate pools on the same schema (PostgreSQL); PGlite has the one. */
  const pools: Database[] = [];
  const clock = new ManualClock('2026-06-01T00:00:00Z');
  const errors: unknown[] = [];

  beforeAll(async () => {
    primary = await openTestDatabase(backend, { poolSize: 8 });
    pools.push(primary.db);
    if (backend.name === 'postgres') {
      for (let index = 1; index < SERVERS; index += 1) {
        pools.push(await openDatabase({ url: primary.url, schema: primary.schema, poolSize: 6 }));
      }
    }
  });
  afterAll(async () => {
    for (const pool of pools.slice(1)) await pool.close();
    await primary?.close();
  });

  /** `count` ledgers, one per pool where there are several pools (like several servers). */
  function servers(count: number): Ledger[] {
    return Array.from(
      { length: count },
      (_, index) =>
        new Ledger(recording(pools[index % pools.length]!, errors), clock, { holdTimeoutSeconds: 600 }),
    );
  }

  async function customerWith(ledger: Ledger, amount: bigint): Promise<string> {
    const { id } = await ledger.createCustomer({});
    if (amount > 0n) unwrap(await ledger.grant({ customerId: id, amountMicros: amount, source: 'purchase' }));
    return id;
  }

  async function expectCleanBooks() {
    expect(errors.filter((error) => !isConflict(error))).toEqual([]);
    const report = await auditLedger(primary.db, clock, 0);
    expect(report.problems).toEqual([]);
    expect(report.totalMicros).toBe(0n);
  }

  async function holdsOf(customerId: string) {
    return primary.db.query<{ id: string; status: string; amount: string; captured: string | null }>(
      `select id, status, amount_micros::text as amount, captured_micros::text as captured from holds where customer_id = $1`,
      [customerId],
    );
  }

  async function transactionsOf(customerId: string) {
    return primary.db.query<{ id: string; type: string; amount: string }>(
      'select id::text, type, amount_micros::text as amount from ledger_transactions where customer_id = $1 order by id',
      [customerId],
    );
  }

  /** What the customer's transactions paid into an account (e.g. sys:revenue). */
  async function paidInto(customerId: string, account: string): Promise<bigint> {
    const [row] = await primary.db.query<{ total: string }>(
      `select coalesce(sum(e.amount_micros), 0)::text as total from ledger_entries e
       join ledger_transactions t on t.id = e.transaction_id
       where t.customer_id = $1 and e.account_id = $2`,
      [customerId, account],
    );
    return BigInt(row!.total);
  }

  it.each([1, SERVERS])(
    '200 concurrent holds of 1 credit against 50 credits: exactly 50 succeed (%i ledger instances)',
    async (count) => {
      const ledgers = servers(count);
      const customerId = await customerWith(ledgers[0]!, credits(50));
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, index) =>
          ledgers[index % count]!.hold({ customerId, amountMicros: credits(1), timeoutSeconds: 600 }),
        ),
      );
      const succeeded = results.filter((result) => result.ok);
      const refused = results.filter((result) => !result.ok);
      expect(succeeded).toHaveLength(50);
      expect(new Set(refused.map((result) => !result.ok && result.error.code))).toEqual(
        new Set(['insufficient_credits']),
      );
      const balance = (await ledgers[0]!.balance(customerId))!;
      expect(balance).toMatchObject({
        balanceMicros: credits(50),
        pendingMicros: credits(50),
        availableMicros: 0n,
      });
      const holds = await holdsOf(customerId);
      expect(holds).toHaveLength(50);
      expect(new Set(holds.map((hold) => hold.id))).toEqual(
        new Set(succeeded.map((result) => result.ok && result.value.id)),
      );

      // Release them all at once, from every instance, and the credits are all back.
      const voids = await Promise.all(
        holds.map((hold, index) => ledgers[index % count]!.void({ holdId: hold.id })),
      );
      expect(voids.every((result) => result.ok)).toBe(true);
      expect((await ledgers[0]!.balance(customerId))!).toMatchObject({
        pendingMicros: 0n,
        availableMicros: credits(50),
      });
      await expectCleanBooks();
    },
  );

  it('holds race with captures and voids of earlier holds: never overdrawn, totals exact', async () => {
    const ledgers = servers(SERVERS);
    const initial = credits(100);
    const customerId = await customerWith(ledgers[0]!, initial);
    const next = random(20260601);
    let paid = 0n;
    let held = 0;
    let refused = 0;
    let captured = 0;
    let voided = 0;
    let running = true;

    // 100 callers × 3 rounds: hold 1–5 credits, then capture (all, part, or nothing of it) or void it.
    const callers = Array.from({ length: 100 }, async (_, caller) => {
      const ledger = ledgers[caller % ledgers.length]!;
      for (let round = 0; round < 3; round += 1) {
        const amount = credits(1 + next(5));
        const hold = await ledger.hold({ customerId, amountMicros: amount, timeoutSeconds: 600 });
        if (!hold.ok) {
          expect(hold.error.code).toBe('insufficient_credits');
          refused += 1;
          continue;
        }
        held += 1;
        if (next(2) === 0) {
          const asked = next(3) === 0 ? undefined : (amount * BigInt(next(101))) / 100n;
          const capture = unwrap(await ledger.capture({ holdId: hold.value.id, amountMicros: asked }));
          expect(capture.amountMicros).toBe(asked ?? amount);
          paid += capture.amountMicros;
          captured += 1;
        } else {
          unwrap(await ledger.void({ holdId: hold.value.id }));
          voided += 1;
        }
      }
    });

    // Meanwhile, someone keeps reading the balance: it is never negative, nor is what is available.
    let reads = 0;
    const reader = (async () => {
      while (running && reads < 300) {
        const [row] = await primary.db.query<{ balance: bigint | string; held: bigint | string }>(
          'select balance_micros as balance, held_micros as held from customers where id = $1',
          [customerId],
        );
        expect(BigInt(row!.held) >= 0n && BigInt(row!.balance) >= BigInt(row!.held)).toBe(true);
        const view = (await ledgers[reads % ledgers.length]!.balance(customerId))!;
        expect(view.availableMicros >= 0n && view.balanceMicros >= 0n).toBe(true);
        reads += 1;
      }
    })();
    await Promise.all(callers);
    running = false;
    await reader;

    expect(held + refused).toBe(300);
    expect(captured + voided).toBe(held);
    expect(refused).toBeGreaterThan(0); // the 900 or so credits asked for did not fit in 100
    expect(reads).toBeGreaterThan(0);
    const balance = (await ledgers[0]!.balance(customerId))!;
    expect(balance).toMatchObject({
      balanceMicros: initial - paid,
      pendingMicros: 0n,
      availableMicros: initial - paid,
    });
    const holds = await holdsOf(customerId);
    expect(holds).toHaveLength(held);
    expect(holds.filter((hold) => hold.status === 'captured')).toHaveLength(captured);
    expect(holds.filter((hold) => hold.status === 'voided')).toHaveLength(voided);
    expect(holds.reduce((sum, hold) => sum + BigInt(hold.captured ?? 0), 0n)).toBe(paid);
    expect(await paidInto(customerId, 'sys:revenue')).toBe(paid);
    await expectCleanBooks();
  });

  it('batches that span many customers in random order neither deadlock nor overdraw', async () => {
    const ledgers = servers(SERVERS);
    const customers: string[] = [];
    for (let index = 0; index < 5; index += 1) customers.push(await customerWith(ledgers[0]!, credits(20)));
    const next = random(7);
    const order = customers.flatMap((customerId) => Array.from({ length: 60 }, () => customerId));
    for (let index = order.length - 1; index > 0; index -= 1) {
      const other = next(index + 1);
      [order[index], order[other]] = [order[other]!, order[index]!];
    }
    const results = await Promise.all(
      order.map((customerId, index) =>
        ledgers[index % ledgers.length]!.hold({ customerId, amountMicros: credits(1), timeoutSeconds: 600 }),
      ),
    );
    for (const customerId of customers) {
      const mine = results.filter((_result, index) => order[index] === customerId);
      expect(mine.filter((result) => result.ok)).toHaveLength(20);
      expect((await ledgers[0]!.balance(customerId))!.availableMicros).toBe(0n);
    }
    // Capture everything at once, again mixed across customers and instances.
    const captures = await Promise.all(
      results.flatMap((result, index) =>
        result.ok ? [ledgers[(index + 1) % ledgers.length]!.capture({ holdId: result.value.id })] : [],
      ),
    );
    expect(captures.every((result) => result.ok)).toBe(true);
    for (const customerId of customers) {
      expect((await ledgers[0]!.balance(customerId))!).toMatchObject({
        balanceMicros: 0n,
        pendingMicros: 0n,
      });
      expect(await paidInto(customerId, 'sys:revenue')).toBe(credits(20));
    }
    await expectCleanBooks();
  });

  it('20 parallel retries with one idempotency key make one grant, one hold, one capture, one charge', async () => {
    const ledgers = servers(SERVERS);
    const customerId = await customerWith(ledgers[0]!, 0n);
    const parallel = <Result>(call: (ledger: Ledger) => Promise<Result>) =>
      Promise.all(Array.from({ length: 20 }, (_, index) => call(ledgers[index % ledgers.length]!)));
    const idempotency = (key: string) => ({ key: `${customerId}:${key}`, scope: 'concurrency-test' });

    const grants = (
      await parallel((ledger) =>
        ledger.grant({
          customerId,
          amountMicros: credits(30),
          source: 'purchase',
          idempotency: idempotency('grant'),
        }),
      )
    ).map(unwrap);
    expect(new Set(grants.map((grant) => `${grant.grantId} ${grant.transactionId}`)).size).toBe(1);
    expect(grants.filter((grant) => !grant.replayed)).toHaveLength(1);

    const holds = (
      await parallel((ledger) =>
        ledger.hold({ customerId, amountMicros: credits(10), idempotency: idempotency('hold') }),
      )
    ).map(unwrap);
    expect(new Set(holds.map((hold) => hold.id)).size).toBe(1);
    expect(holds.filter((hold) => !hold.replayed)).toHaveLength(1);
    expect((await holdsOf(customerId)).length).toBe(1);
    expect((await ledgers[0]!.balance(customerId))!).toMatchObject({
      pendingMicros: credits(10),
      availableMicros: credits(20),
    });

    const captures = (
      await parallel((ledger) =>
        ledger.capture({
          holdId: holds[0]!.id,
          amountMicros: credits(4),
          idempotency: idempotency('capture'),
        }),
      )
    ).map(unwrap);
    expect(new Set(captures.map((capture) => capture.transactionId)).size).toBe(1);
    expect(captures.filter((capture) => !capture.replayed)).toHaveLength(1);

    const charges = (
      await parallel((ledger) =>
        ledger.charge({ customerId, amountMicros: credits(5), idempotency: idempotency('charge') }),
      )
    ).map(unwrap);
    expect(new Set(charges.map((charge) => `${charge.id} ${charge.transactionId}`)).size).toBe(1);
    expect(charges.filter((charge) => !charge.replayed)).toHaveLength(1);

    const debits = (
      await parallel((ledger) =>
        ledger.debit({ customerId, amountMicros: credits(1), idempotency: idempotency('debit') }),
      )
    ).map(unwrap);
    expect(new Set(debits.map((debit) => debit.transactionId)).size).toBe(1);

    expect((await transactionsOf(customerId)).map((row) => [row.type, row.amount])).toEqual([
      ['grant', credits(30).toString()],
      ['usage', (-credits(4)).toString()],
      ['usage', (-credits(5)).toString()],
      ['adjustment', (-credits(1)).toString()],
    ]);
    expect((await ledgers[0]!.balance(customerId))!).toMatchObject({
      balanceMicros: credits(20),
      pendingMicros: 0n,
    });
    expect((await holdsOf(customerId)).length).toBe(2);
    await expectCleanBooks();
  });

  it('parallel captures and voids of one hold without keys: exactly one outcome wins', async () => {
    const ledgers = servers(SERVERS);
    const customerId = await customerWith(ledgers[0]!, credits(10));
    for (let trial = 0; trial < 5; trial += 1) {
      const hold = unwrap(await ledgers[0]!.hold({ customerId, amountMicros: credits(2) }));
      const results = await Promise.all(
        Array.from({ length: 20 }, async (_, index) => {
          const ledger = ledgers[index % ledgers.length]!;
          if (index % 2 === 0) {
            const result = await ledger.capture({ holdId: hold.id, amountMicros: credits(1) });
            return {
              kind: 'capture',
              ok: result.ok,
              code: result.ok ? null : result.error.code,
              transaction: result.ok ? result.value.transactionId : null,
            };
          }
          const result = await ledger.void({ holdId: hold.id });
          return {
            kind: 'void',
            ok: result.ok,
            code: result.ok ? null : result.error.code,
            transaction: null,
          };
        }),
      );
      const [row] = await primary.db.query<{ status: string }>('select status from holds where id = $1', [
        hold.id,
      ]);
      const winner = row!.status === 'captured' ? 'capture' : 'void';
      for (const result of results) {
        if (result.kind === winner) expect(result.ok).toBe(true);
        else expect(result.code).toBe('invalid_state');
      }
      if (winner === 'capture') {
        const transactions = new Set(
          results.filter((result) => result.kind === 'capture').map((result) => result.transaction),
        );
        expect(transactions.size).toBe(1);
        expect([...transactions][0]).toMatch(/^txn_/);
      }
    }
    const usage = (await transactionsOf(customerId)).filter((row) => row.type === 'usage');
    const captured = (await holdsOf(customerId)).filter((hold) => hold.status === 'captured');
    expect(usage).toHaveLength(captured.length);
    expect((await ledgers[0]!.balance(customerId))!).toMatchObject({
      balanceMicros: credits(10) - credits(captured.length),
      pendingMicros: 0n,
    });
    await expectCleanBooks();
  });
});
