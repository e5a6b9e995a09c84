import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../test/support/databases.ts';
import { ManualClock } from '../shared/clock.ts';
import { auditLedger } from './audit.ts';
import { Ledger, unwrap } from './ledger.ts';

/**
 * The audit is only worth something if it finds what is wrong: each check, given the damage it names.
 * Every test damages the books, asks the audit, and repairs them (the next test starts clean).
 */
describe('auditLedger', () => {
  let testDb: TestDatabase;
  let customerId: string;
  const clock = new ManualClock('2026-03-01T00:00:00Z');

  beforeAll(async () => {
    testDb = await openTestDatabase({ name: 'pglite' });
    const ledger = new Ledger(testDb.db, clock, { holdTimeoutSeconds: 60 });
    customerId = (await ledger.createCustomer({})).id;
    unwrap(await ledger.grant({ customerId, amountMicros: 10_000_000n, source: 'purchase' }));
    unwrap(await ledger.charge({ customerId, amountMicros: 2_000_000n }));
    unwrap(await ledger.hold({ customerId, amountMicros: 1_000_000n }));
  });
  afterAll(async () => {
    await testDb?.close();
  });

  async function problems(): Promise<string[]> {
    const report = await auditLedger(testDb.db, clock);
    return report.problems.map((problem) => problem.check);
  }

  async function damaged(damage: string, repair: string, parameters: unknown[] = []): Promise<string[]> {
    await testDb.db.query(damage, parameters);
    try {
      return await problems();
    } finally {
      await testDb.db.query(repair, parameters);
    }
  }

  it('is clean on books the ledger wrote', async () => {
    expect(await problems()).toEqual([]);
  });

  it('finds an unbalanced transaction, and the sum over all accounts off zero', async () => {
    const found = await damaged(
      `update ledger_entries set amount_micros = amount_micros + 1 where account_id = 'sys:revenue'`,
      `update ledger_entries set amount_micros = amount_micros - 1 where account_id = 'sys:revenue'`,
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'transactions whose legs do not sum to zero',
        'sum over all accounts is not zero',
      ]),
    );
  });

  it('finds a balance that its entries, grants and history do not explain', async () => {
    const found = await damaged(
      'update customers set balance_micros = balance_micros + 5 where id = $1',
      'update customers set balance_micros = balance_micros - 5 where id = $1',
      [customerId],
    );
    expect(found).toEqual(
      expect.arrayContaining([
        'customer balance differs from the sum of its entries',
        'customer balance differs from the sum of grant remainders',
        'history does not replay to the stored balance',
      ]),
    );
  });

  it('finds held credits that no open hold or reservation accounts for', async () => {
    const found = await damaged(
      'update grants set reserved_micros = reserved_micros - 1 where customer_id = $1 and reserved_micros > 0',
      'update grants set reserved_micros = reserved_micros + 1 where customer_id = $1 and remaining_micros > 0',
      [customerId],
    );
    expect(found).toEqual(['customer held amount differs from open holds and from grant reservations']);
  });

  it('finds legs, transactions and holds that point at nothing', async () => {
    const found = await damaged(
      `insert into ledger_entries (transaction_id, customer_id, account_id, amount_micros) values (999999, 'cus_x', 'sys:revenue', 0)`,
      'delete from ledger_entries where transaction_id = 999999',
    );
    expect(found).toEqual(['holds, transactions or legs that point at nothing']);
  });

  it('finds a leg that names another customer than its transaction (they share a shard when distributed)', async () => {
    const found = await damaged(
      `update ledger_entries set customer_id = 'cus_other' where account_id = $1`,
      'update ledger_entries set customer_id = $1 where account_id = $1',
      [customerId],
    );
    expect(found).toEqual(['holds, transactions or legs that point at nothing']);
  });

  it('finds a hold left open past its timeout', async () => {
    clock.advance(61_000);
    expect(await problems()).toEqual(['holds still open past their timeout']);
    clock.advance(-61_000);
    expect(await problems()).toEqual([]);
  });
});
