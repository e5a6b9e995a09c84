import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../test/support/databases.ts';
import { ManualClock } from '../shared/clock.ts';
import { auditLedger } from './audit.ts';
import { Ledger, unwrap } from './ledger.ts';

describe('ledger batching', () => {
  let testDb: TestDatabase;
  const batches: { op: string; customer?: string; hold?: string }[][] = [];
  const clock = new ManualClock('2026-03-01T00:00:00Z');

  beforeAll(async () => {
    testDb = await openTestDatabase({ name: 'pglite' });
    const query = testDb.db.query.bind(testDb.db);
    (testDb.db as { query: typeof query }).query = (sql, parameters, options) => {
      if (sql.includes('tg_ledger_apply')) batches.push(JSON.parse(parameters![0] as string));
      return query(sql, parameters, options);
    };
  });
  afterAll(async () => {
    await testDb?.close();
  });

  it("keeps one customer's holds and captures in one batch, and shares other customers between batches", async () => {
    const ledger = new Ledger(testDb.db, clock, { maxInFlight: 2 });
    const customers = ['cus_hot', 'cus_a', 'cus_b', 'cus_c', 'cus_d'];
    for (const id of customers) {
      await ledger.createCustomer({ id });
      unwrap(await ledger.grant({ customerId: id, amountMicros: 1_000_000n, source: 'purchase' }));
    }
    const cycles = (customerId: string, clients: number) =>
      Promise.all(
        Array.from({ length: clients }, async () => {
          for (let round = 0; round < 3; round += 1) {
            const hold = unwrap(await ledger.hold({ customerId, amountMicros: 5_000n }));
            unwrap(await ledger.capture({ holdId: hold.id, amountMicros: 3_000n }));
          }
        }),
      );
    batches.length = 0;
    await cycles('cus_hot', 8);
    // Captures carry only the hold id; the ledger remembers whose hold it is.
    expect(batches.map((batch) => batch.length)).toEqual([8, 8, 8, 8, 8, 8]);
    batches.length = 0;
    await Promise.all(['cus_a', 'cus_b', 'cus_c', 'cus_d'].map((customerId) => cycles(customerId, 1)));
    expect(batches.map((batch) => batch.length)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]);
    const report = await auditLedger(testDb.db, clock);
    expect(report.problems).toEqual([]);
  });
});
