import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type AccountState, type HoldState, LedgerBatch, type Operation, type RawResult } from './engine.ts';
import {
  CUSTOMER_SCOPE,
  keyScope,
  memberScope,
  periodEnd,
  periodStart,
  type SpendLimitState,
} from './spend-limits.ts';

const NOW = new Date('2026-03-04T10:00:00Z'); // a Wednesday

function account(balance: bigint, limits: [string, SpendLimitState][] = []): AccountState {
  return {
    id: 'cus_a',
    revision: 1n,
    balance,
    held: 0n,
    grants: [
      {
        id: 'gr_1',
        source: 'purchase',
        priority: 3,
        amount: balance,
        remaining: balance,
        reserved: 0n,
        expiresAt: null,
        createdAt: new Date('2026-01-01T00:00:00Z'),
        scope: null,
        voidedAt: null,
      },
    ],
    runs: new Map(),
    limits: new Map(limits),
  };
}

function limit(amount: bigint, period: SpendLimitState['period'] = 'day', spent = 0n): SpendLimitState {
  return { amount, period, periodStart: periodStart(period, NOW), spent, id: `sl_${period}` };
}

/** Applies operations batch after batch, carrying the committed state over like the ledger's cache. */
class Harness {
  accounts: Map<string, AccountState>;
  holds = new Map<string, HoldState>();
  reached: unknown[] = [];
  documents: unknown[] = [];
  constructor(state: AccountState) {
    this.accounts = new Map([[state.id, state]]);
  }
  run(operation: Operation, now = NOW): RawResult {
    const batch = new LedgerBatch(this.accounts, this.holds, new Map(), now);
    const result = batch.apply(operation);
    const document = batch.document();
    this.documents.push(document);
    const written = document?.t?.length ?? 0;
    const committed = batch.committed(Array.from({ length: written }, (_, index) => String(index + 1)));
    for (const state of committed.accounts) this.accounts.set(state.id, state);
    for (const hold of committed.holds) this.holds.set(hold.id, hold);
    this.reached.push(...batch.spendLimitsReached);
    return result;
  }
  limit(scope: string): SpendLimitState | undefined {
    return this.accounts.get('cus_a')!.limits.get(scope);
  }
}

let holdNumber = 0;
function hold(amount: bigint, userKey?: string, now = NOW): Operation {
  holdNumber += 1;
  return {
    op: 'hold',
    customer: 'cus_a',
    holdId: `hold_${holdNumber}`,
    amount,
    expiresAt: new Date(now.getTime() + 900_000),
    funding: 'credits',
    userKey,
  };
}

describe('spend limit periods (UTC calendar)', () => {
  it('starts days at midnight, weeks on Monday, months on the 1st; total never resets', () => {
    const at = new Date('2026-03-01T23:59:59.999Z'); // a Sunday
    expect(periodStart('day', at).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(periodStart('week', at).toISOString()).toBe('2026-02-23T00:00:00.000Z');
    expect(periodStart('week', new Date('2026-03-02T00:00:00Z')).toISOString()).toBe(
      '2026-03-02T00:00:00.000Z',
    );
    expect(periodStart('month', at).toISOString()).toBe('2026-03-01T00:00:00.000Z');
    expect(periodEnd('day', periodStart('day', at))!.toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(periodEnd('week', periodStart('week', at))!.toISOString()).toBe('2026-03-02T00:00:00.000Z');
    expect(periodEnd('month', new Date('2026-12-01T00:00:00Z'))!.toISOString()).toBe(
      '2027-01-01T00:00:00.000Z',
    );
    expect(periodEnd('total', periodStart('total', at))).toBeNull();
  });
});

describe('LedgerBatch spend limits', () => {
  it('refuses the hold that would pass the limit, with the limit, the spent amount and the reset', () => {
    const ledger = new Harness(account(1_000n, [[CUSTOMER_SCOPE, limit(100n)]]));
    expect(ledger.run(hold(60n))).toMatchObject({ ok: true });
    expect(ledger.run(hold(41n))).toMatchObject({
      ok: false,
      code: 'spend_limit_exceeded',
      scope: 'customer',
      limit: '100',
      spent: '60',
      required: '41',
      period: 'day',
      resets_at: '2026-03-05T00:00:00.000Z',
    });
    expect(ledger.run(hold(40n))).toMatchObject({ ok: true });
    expect(ledger.limit(CUSTOMER_SCOPE)!.spent).toBe(100n);
    // Reached once, by the hold that took it to its amount.
    expect(ledger.reached).toEqual([
      expect.objectContaining({ scope: 'customer', limit: 100n, spent: 100n, period: 'day' }),
    ]);
  });

  it("an organisation member's limit counts over all of its keys, beside the customer's and the key's", () => {
    const ledger = new Harness(
      account(1_000n, [
        [CUSTOMER_SCOPE, limit(500n)],
        [memberScope('mem_1'), limit(100n)],
        [keyScope('uk_1'), limit(80n)],
      ]),
    );
    const memberHold = (amount: bigint, userKey: string, member?: string): Operation => ({
      ...hold(amount, userKey),
      ...(member ? { member } : {}),
    });
    expect(ledger.run(memberHold(70n, 'uk_1', 'mem_1'))).toMatchObject({ ok: true });
    // The key's own limit is the nearer one here.
    expect(ledger.run(memberHold(20n, 'uk_1', 'mem_1'))).toMatchObject({
      scope: 'user_key',
      user_key_id: 'uk_1',
    });
    expect(ledger.run(memberHold(30n, 'uk_2', 'mem_1'))).toMatchObject({ ok: true });
    expect(ledger.run(memberHold(1n, 'uk_2', 'mem_1'))).toMatchObject({
      ok: false,
      code: 'spend_limit_exceeded',
      scope: 'member',
      member_id: 'mem_1',
      limit: '100',
      spent: '100',
    });
    // Another member's key is not limited by it; the customer's limit counted every hold.
    expect(ledger.run(memberHold(50n, 'uk_3', 'mem_2'))).toMatchObject({ ok: true });
    expect(ledger.limit(CUSTOMER_SCOPE)!.spent).toBe(150n);
    // A void returns the hold to every limit it counted against.
    const voided = ledger.run(memberHold(0n, 'uk_2', 'mem_1'));
    ledger.run({ op: 'void', hold: String(voided.id) });
    const first = [...ledger.holds.values()].find((each) => each.amount === 70n)!;
    expect(first.spendLimits?.map(([scope]) => scope)).toEqual(['customer', 'member:mem_1', 'key:uk_1']);
    ledger.run({ op: 'void', hold: first.id });
    expect(ledger.limit(memberScope('mem_1'))!.spent).toBe(30n);
    expect(ledger.limit(keyScope('uk_1'))!.spent).toBe(0n);
  });

  it('returns the released part of a hold and a void in full; an overrun counts', () => {
    const ledger = new Harness(account(1_000n, [[CUSTOMER_SCOPE, limit(100n)]]));
    const first = ledger.run(hold(50n));
    const second = ledger.run(hold(30n));
    ledger.run({ op: 'capture', hold: String(first.id), amount: 20n, overrun: 'clamp' });
    expect(ledger.limit(CUSTOMER_SCOPE)!.spent).toBe(50n);
    ledger.run({ op: 'void', hold: String(second.id) });
    expect(ledger.limit(CUSTOMER_SCOPE)!.spent).toBe(20n);
    const third = ledger.run(hold(10n));
    ledger.run({ op: 'capture', hold: String(third.id), amount: 25n, overrun: 'charge' });
    expect(ledger.limit(CUSTOMER_SCOPE)!.spent).toBe(45n);
    // What the batch writes: the limit row with its period and what it spent.
    expect((ledger.documents.at(-1) as { l: unknown[] }).l).toEqual([
      ['cus_a', 'customer', '100', 'day', '2026-03-04T00:00:00.000Z', '45', 'sl_day'],
    ]);
  });

  it("applies the user key's limit and the customer's together; other keys are not limited by it", () => {
    const ledger = new Harness(
      account(1_000n, [
        [CUSTOMER_SCOPE, limit(100n, 'month')],
        [keyScope('uk_1'), limit(30n)],
      ]),
    );
    expect(ledger.run(hold(30n, 'uk_1'))).toMatchObject({ ok: true });
    expect(ledger.run(hold(1n, 'uk_1'))).toMatchObject({
      code: 'spend_limit_exceeded',
      scope: 'user_key',
      user_key_id: 'uk_1',
    });
    expect(ledger.run(hold(70n, 'uk_2'))).toMatchObject({ ok: true });
    expect(ledger.run(hold(1n, 'uk_2'))).toMatchObject({ code: 'spend_limit_exceeded', scope: 'customer' });
    expect(ledger.limit(CUSTOMER_SCOPE)!.spent).toBe(100n);
  });

  it('starts over at the period boundary; a hold of the old period returns nothing to the new one', () => {
    const ledger = new Harness(account(1_000n, [[CUSTOMER_SCOPE, limit(100n)]]));
    const old = ledger.run(hold(100n));
    expect(ledger.run(hold(1n))).toMatchObject({ code: 'spend_limit_exceeded' });
    const tomorrow = new Date('2026-03-05T00:00:00Z');
    expect(ledger.run(hold(100n, undefined, tomorrow), tomorrow)).toMatchObject({ ok: true });
    ledger.run({ op: 'void', hold: String(old.id) }, tomorrow);
    expect(ledger.limit(CUSTOMER_SCOPE)).toMatchObject({ spent: 100n, periodStart: tomorrow });
  });

  it('sets, raises and removes a limit; a limit set again does not take back holds of the old one', () => {
    const ledger = new Harness(account(1_000n));
    let setting = 0;
    const set = (amount: bigint | null, period: SpendLimitState['period'] = 'day') =>
      ledger.run({
        op: 'set_spend_limit',
        customer: 'cus_a',
        scope: CUSTOMER_SCOPE,
        amount,
        period,
        limitId: `sl_${++setting}`,
      });
    expect(set(50n)).toMatchObject({ ok: true, limit: { amount: '50', spent: '0', period: 'day' } });
    const first = ledger.run(hold(50n));
    expect(set(80n)).toMatchObject({ limit: { amount: '80', spent: '50' } });
    expect(set(null)).toMatchObject({ ok: true, limit: null });
    expect(ledger.limit(CUSTOMER_SCOPE)).toBeUndefined();
    expect(set(10n)).toMatchObject({ limit: { amount: '10', spent: '0' } });
    ledger.run({ op: 'void', hold: String(first.id) });
    expect(ledger.limit(CUSTOMER_SCOPE)!.spent).toBe(0n);
    expect(set(10n, 'total')).toMatchObject({ limit: { period: 'total', resets_at: null } });
  });

  it('leaves byok holds out: they spend no credits', () => {
    const ledger = new Harness(account(0n, [[CUSTOMER_SCOPE, limit(0n)]]));
    expect(ledger.run({ ...hold(5n), funding: 'byok' } as Operation)).toMatchObject({ ok: true });
  });

  it('property: spent is always what open holds reserve plus what captures paid, never above the limit by a hold', () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant('hold' as const), amount: fc.bigInt({ min: 0n, max: 40n }) }),
      fc.record({
        kind: fc.constant('capture' as const),
        pick: fc.nat(),
        amount: fc.bigInt({ min: 0n, max: 60n }),
        overrun: fc.constantFrom('clamp' as const, 'charge' as const),
      }),
      fc.record({ kind: fc.constant('void' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(action, { maxLength: 40 }), fc.bigInt({ min: 0n, max: 120n }), (actions, cap) => {
        const ledger = new Harness(account(10_000n, [[CUSTOMER_SCOPE, limit(cap)]]));
        const open = new Map<string, bigint>();
        let paid = 0n;
        for (const step of actions) {
          if (step.kind === 'hold') {
            const before = ledger.limit(CUSTOMER_SCOPE)!.spent;
            const result = ledger.run(hold(step.amount));
            expect(result.ok).toBe(before + step.amount <= cap);
            if (result.ok) open.set(String(result.id), step.amount);
          } else {
            const ids = [...open.keys()];
            if (ids.length === 0) continue;
            const id = ids[step.pick % ids.length]!;
            open.delete(id);
            if (step.kind === 'void') ledger.run({ op: 'void', hold: id });
            else {
              const result = ledger.run({
                op: 'capture',
                hold: id,
                amount: step.amount,
                overrun: step.overrun,
              });
              paid += BigInt(result.amount as string);
            }
          }
          const reserved = [...open.values()].reduce((sum, amount) => sum + amount, 0n);
          expect(ledger.limit(CUSTOMER_SCOPE)!.spent).toBe(reserved + paid);
        }
      }),
      { numRuns: 200 },
    );
  });
});
