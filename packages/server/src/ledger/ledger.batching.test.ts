import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../../test/support/databases.ts';
import { ManualClock } from '../shared/clock.ts';
import { auditLedger } from './audit.ts';
import { Ledger, unwrap } from './ledger.ts';

describe('ledger batching', () => {
  let testDb: TestDatabase;
  const writes: { hi?: unknown[]; hu?: unknown[]; c: unknown[] }[] = [];
  let loads = 0;
  const clock = new ManualClock('2026-03-01T00:00:00Z');

  beforeAll(async () => {
    testDb = await openTestDatabase({ name: 'pglite' });
    const query = testDb.db.query.bind(testDb.db);
    (testDb.db as { query: typeof query }).query = (sql, parameters, options) => {
      if (sql.includes('tg_ledger_write')) writes.push(JSON.parse(parameters![0] as string));
      if (sql.includes('tg_ledger_load')) loads += 1;
      return query(sql, parameters, options);
    };
  });
  afterAll(async () => {
    await testDb?.close();
  });

  it('writes what concurrent callers submit as one batch, from cached accounts: one round trip per batch', async () => {
    const ledger = new Ledger(testDb.db, clock);
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
    writes.length = 0;
    loads = 0;
    await cycles('cus_hot', 8);
    // Eight holds, then their eight captures, three times over; one customer row per batch.
    expect(writes.map((write) => [write.hi?.length ?? 0, write.hu?.length ?? 0, write.c.length])).toEqual([
      [8, 0, 1],
      [0, 8, 1],
      [8, 0, 1],
      [0, 8, 1],
      [8, 0, 1],
      [0, 8, 1],
    ]);
    writes.length = 0;
    await Promise.all(['cus_a', 'cus_b', 'cus_c', 'cus_d'].map((customerId) => cycles(customerId, 1)));
    expect(writes.map((write) => [write.hi?.length ?? 0, write.hu?.length ?? 0, write.c.length])).toEqual([
      [4, 0, 4],
      [0, 4, 4],
      [4, 0, 4],
      [0, 4, 4],
      [4, 0, 4],
      [0, 4, 4],
    ]);
    // Every account and hold was already known: nothing was read back.
    expect(loads).toBe(0);
    const report = await auditLedger(testDb.db, clock);
    expect(report.problems).toEqual([]);
  });

  it('recomputes a batch whose accounts another ledger changed meanwhile', async () => {
    const first = new Ledger(testDb.db, clock);
    const second = new Ledger(testDb.db, clock);
    const { id: customerId } = await first.createCustomer({});
    unwrap(await first.grant({ customerId, amountMicros: 10_000_000n, source: 'purchase' }));
    // Both ledgers now know the account; the second one spends from it behind the first one's back.
    unwrap(await second.charge({ customerId, amountMicros: 4_000_000n }));
    const refused = await first.hold({ customerId, amountMicros: 7_000_000n });
    expect(!refused.ok && refused.error.code).toBe('insufficient_credits');
    const hold = unwrap(await first.hold({ customerId, amountMicros: 6_000_000n }));
    expect(hold.availableMicros).toBe(0n);
    // The hold is captured by the other ledger, which has never seen it.
    const capture = unwrap(await second.capture({ holdId: hold.id }));
    expect(capture.amountMicros).toBe(6_000_000n);
    const again = await first.void({ holdId: hold.id });
    expect(!again.ok && again.error.code).toBe('invalid_state');
    expect((await first.balance(customerId))!.balanceMicros).toBe(0n);
    const report = await auditLedger(testDb.db, clock);
    expect(report.problems).toEqual([]);
  });
});
