/**
 * The set-based batch path (store/migrations/0008) against the per-operation functions of 0002, which
 * stay the reference: the same random batch of holds, captures and voids on the same two customers is
 * applied as one batch to one database, and one operation at a time (through `tg_apply_one`) to a
 * twin database, in the order the batch path promises — plain captures and voids first, then holds,
 * then everything else, each group in submission order. Every result and every row of every ledger
 * table must come out the same.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase, testBackends } from '../../test/support/databases.ts';
import type { Database } from '../store/database.ts';
import { auditLedger } from './audit.ts';
import { FUNDING_ACCOUNT, GRANT_SOURCES, SOURCE_PRIORITY } from './spend-order.ts';

const NOW = new Date('2026-05-01T12:00:00.000Z');
const LATER = new Date('2026-05-02T12:00:00.000Z');
const RUNS = { pglite: 40, postgres: 12 } as const;

type Operation = Record<string, unknown> & { op: string };

const apply = async (db: Database, operations: Operation[]) =>
  (
    await db.query<{ results: Record<string, unknown>[] }>(
      'select tg_ledger_apply($1::jsonb, $2::timestamptz) as results',
      [JSON.stringify(operations), NOW.toISOString()],
    )
  )[0]!.results;

const applyOne = async (db: Database, operation: Operation) =>
  (
    await db.query<{ result: Record<string, unknown> }>(
      'select tg_apply_one($1::jsonb, $2::timestamptz) as result',
      [JSON.stringify(operation), NOW.toISOString()],
    )
  )[0]!.result;

/** Everything the ledger wrote about the run's customers, in a stable order. */
async function snapshot(db: Database, prefix: string) {
  const like = `${prefix}%`;
  return {
    customers: await db.query(
      'select id, balance_micros::text, held_micros::text from customers where id like $1 order by id',
      [like],
    ),
    grants: await db.query(
      `select id, remaining_micros::text, reserved_micros::text from grants where customer_id like $1 order by id`,
      [like],
    ),
    holds: await db.query(
      `select id, status, amount_micros::text, captured_micros::text, allocations, transaction_id::text, result,
              void_reason from holds where customer_id like $1 order by id`,
      [like],
    ),
    transactions: await db.query(
      `select id::text, customer_id, type, amount_micros::text, balance_after_micros::text, hold_id, grant_id, model,
              metadata from ledger_transactions where customer_id like $1 order by id`,
      [like],
    ),
    entries: await db.query(
      `select e.transaction_id::text, e.account_id, e.amount_micros::text from ledger_entries e
       join ledger_transactions t on t.id = e.transaction_id
       where t.customer_id like $1 order by e.transaction_id, e.account_id, e.amount_micros`,
      [like],
    ),
  };
}

const grantArbitrary = fc.record({
  source: fc.constantFrom(...GRANT_SOURCES),
  amount: fc.bigInt({ min: 1n, max: 40_000n }),
  // Few distinct expiries, often none: grants tie on expiry and the later rules of the spend order decide.
  expiresInHours: fc.option(fc.constantFrom(24, 48), { nil: undefined, freq: 2 }),
});

const batchArbitrary = fc.record({
  grants: fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), grantArbitrary), { minLength: 1, maxLength: 5 }),
  openHolds: fc.array(fc.tuple(fc.integer({ min: 0, max: 1 }), fc.bigInt({ min: 0n, max: 20_000n })), {
    maxLength: 6,
  }),
  batch: fc.array(
    fc.oneof(
      fc.record({
        kind: fc.constant('hold' as const),
        customer: fc.integer({ min: 0, max: 1 }),
        amount: fc.bigInt({ min: 0n, max: 25_000n }),
      }),
      fc.record({
        kind: fc.constant('capture' as const),
        hold: fc.nat(),
        amount: fc.option(fc.bigInt({ min: 0n, max: 30_000n }), { nil: undefined }),
        overrun: fc.constantFrom('clamp', 'charge'),
        shareTenths: fc.integer({ min: 0, max: 10 }),
      }),
      fc.record({ kind: fc.constant('void' as const), hold: fc.nat() }),
    ),
    { minLength: 1, maxLength: 14 },
  ),
});

describe.each(testBackends())('set-based ledger batches on $name', (backend) => {
  let left: TestDatabase;
  let right: TestDatabase;
  let run = 0;

  beforeAll(async () => {
    left = await openTestDatabase(backend);
    right = await openTestDatabase(backend);
    for (const db of [left.db, right.db]) {
      await db.query(`insert into ledger_accounts (id, kind) values ('ref:app_s', 'referral')`);
    }
  });
  afterAll(async () => {
    await left?.close();
    await right?.close();
  });

  async function onBoth(operation: Operation) {
    const [a, b] = [await applyOne(left.db, operation), await applyOne(right.db, operation)];
    expect(a).toEqual(b);
    return a;
  }

  it('gives the results and rows of applying the operations one at a time', async () => {
    await fc.assert(
      fc.asyncProperty(batchArbitrary, async (scenario) => {
        run += 1;
        const prefix = `cus_s${run}_`;
        const customers = [`${prefix}a`, `${prefix}b`];
        for (const db of [left.db, right.db]) {
          for (const id of customers) await db.query('insert into customers (id) values ($1)', [id]);
        }
        let sequence = 0;
        for (const [customer, grant] of scenario.grants) {
          sequence += 1;
          await onBoth({
            op: 'grant',
            customer: customers[customer],
            grant_id: `gr_s${run}_${sequence}`,
            amount: grant.amount.toString(),
            source: grant.source,
            priority: SOURCE_PRIORITY[grant.source],
            expires_at:
              grant.expiresInHours === undefined
                ? undefined
                : new Date(NOW.getTime() + grant.expiresInHours * 3_600_000).toISOString(),
            funding_account: FUNDING_ACCOUNT[grant.source],
          });
        }
        const held: { id: string; amount: bigint }[] = [];
        for (const [customer, amount] of scenario.openHolds) {
          sequence += 1;
          const result = await onBoth({
            op: 'hold',
            customer: customers[customer],
            hold_id: `hold_s${run}_${sequence}`,
            amount: amount.toString(),
            expires_at: LATER.toISOString(),
          });
          if (result.ok) held.push({ id: String(result.id), amount });
        }

        // The batch: each open hold is captured or voided at most once, so that each is named once.
        const named = new Set<string>();
        const operations: Operation[] = [];
        const plainResolutions: Operation[] = [];
        const otherResolutions: Operation[] = [];
        const holds: Operation[] = [];
        for (const item of scenario.batch) {
          sequence += 1;
          if (item.kind === 'hold') {
            const operation = {
              op: 'hold',
              customer: customers[item.customer],
              hold_id: `hold_s${run}_${sequence}`,
              amount: item.amount.toString(),
              expires_at: LATER.toISOString(),
              model: 'model-x',
            };
            operations.push(operation);
            holds.push(operation);
            continue;
          }
          const target = held[item.hold % Math.max(1, held.length)];
          if (!target || named.has(target.id)) continue;
          named.add(target.id);
          if (item.kind === 'void') {
            const operation = { op: 'void', hold: target.id, reason: 'failed' };
            operations.push(operation);
            plainResolutions.push(operation);
            continue;
          }
          const requested = item.amount ?? target.amount;
          const operation: Operation = {
            op: 'capture',
            hold: target.id,
            amount: item.amount?.toString(),
            overrun: item.overrun,
            referral_share: ((requested * BigInt(item.shareTenths)) / 10n).toString(),
            referral_account: 'ref:app_s',
          };
          operations.push(operation);
          // An overrun charged from the balance takes the per-operation path, after the holds.
          (item.overrun === 'charge' && requested > target.amount ? otherResolutions : plainResolutions).push(
            operation,
          );
        }
        if (operations.length === 0) return;

        const batchResults = await apply(left.db, operations);
        const expected = new Map<Operation, Record<string, unknown>>();
        for (const operation of plainResolutions)
          expected.set(operation, await applyOne(right.db, operation));
        // Holds go together while each customer's fit in what it has available; the rest of them join
        // the per-operation path, in submission order with everything else.
        const available = new Map<string, bigint>();
        for (const row of await right.db.query<{ id: string; available: bigint }>(
          'select id, balance_micros - held_micros as available from customers where id = any($1)',
          [customers],
        )) {
          available.set(row.id, BigInt(row.available));
        }
        const fitted = new Set<Operation>();
        for (const operation of holds) {
          const left = available.get(String(operation.customer))! - BigInt(String(operation.amount));
          available.set(String(operation.customer), left < 0n ? -1n : left);
          if (left >= 0n) fitted.add(operation);
        }
        for (const operation of holds) {
          if (fitted.has(operation)) expected.set(operation, await applyOne(right.db, operation));
        }
        for (const operation of operations) {
          if (!expected.has(operation)) expected.set(operation, await applyOne(right.db, operation));
        }
        expect(batchResults).toEqual(operations.map((operation) => expected.get(operation)));
        expect(await snapshot(left.db, prefix)).toEqual(await snapshot(right.db, prefix));
      }),
      {
        numRuns: RUNS[backend.name],
        seed: process.env.LEDGER_PROPERTY_SEED ? Number(process.env.LEDGER_PROPERTY_SEED) : undefined,
      },
    );
    const report = await auditLedger(left.db, { now: () => NOW });
    expect(report.problems).toEqual([]);
  }, 240_000);
});
