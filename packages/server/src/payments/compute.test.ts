import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TollgateError } from '../shared/errors.ts';
import {
  addIntervals,
  centsToUsd,
  formatUsd,
  periodBounds,
  proratedAllowance,
  proratedChargeCents,
  refundedCredits,
} from './compute.ts';

const CREDIT = 1_000_000n;
function thrown(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

describe('refundedCredits', () => {
  const purchase = 11_000n * CREDIT; // $100 → 11,000 credits, bonus included

  it('takes everything back on a full refund', () => {
    expect(refundedCredits(purchase, 10_000n, 10_000n)).toBe(purchase);
  });

  it('takes back the bonus proportionally on a partial refund', () => {
    expect(refundedCredits(purchase, 10_000n, 5_000n)).toBe(5_500n * CREDIT);
  });

  it('rounds up to the micro-credit', () => {
    // 1 cent of a $3 purchase of 100 credits = 0.333333… credits → 333,334 micros.
    expect(refundedCredits(100n * CREDIT, 300n, 1n)).toBe(333_334n);
  });

  it('caps at the purchase, even when more than was paid is reported refunded', () => {
    expect(refundedCredits(purchase, 10_000n, 12_000n)).toBe(purchase);
  });

  it('takes nothing for nothing', () => {
    expect(refundedCredits(purchase, 10_000n, 0n)).toBe(0n);
  });

  it('rejects impossible inputs', () => {
    expect(() => refundedCredits(purchase, 10_000n, -1n)).toThrow();
    expect(() => refundedCredits(purchase, 0n, 1n)).toThrow();
    expect(() => refundedCredits(-1n, 100n, 1n)).toThrow();
  });

  it('sums partial refunds, computed on cumulative amounts, to exactly the purchase', () => {
    // Three refunds of $1 on a $3 purchase of 100 credits: 33.333334 + 33.333333 + 33.333333.
    let clawedBackMicros = 0n;
    const steps: bigint[] = [];
    for (const cumulativeCents of [100n, 200n, 300n]) {
      const step = refundedCredits(100n * CREDIT, 300n, cumulativeCents) - clawedBackMicros;
      steps.push(step);
      clawedBackMicros += step;
    }
    expect(steps).toEqual([33_333_334n, 33_333_333n, 33_333_333n]);
    expect(clawedBackMicros).toBe(100n * CREDIT);
  });

  it('is monotone, capped, and never below the exact share (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 2n * 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        (purchaseMicros, paidCents, refundedCents, moreCents) => {
          const clawback = refundedCredits(purchaseMicros, paidCents, refundedCents);
          expect(clawback <= purchaseMicros).toBe(true);
          expect(clawback >= 0n).toBe(true);
          if (refundedCents < paidCents)
            expect(clawback * paidCents >= purchaseMicros * refundedCents).toBe(true);
          expect(refundedCredits(purchaseMicros, paidCents, refundedCents + moreCents) >= clawback).toBe(
            true,
          );
        },
      ),
    );
  });
});

describe('addIntervals and periodBounds', () => {
  const at = (text: string) => new Date(text);
  const iso = (date: Date) => date.toISOString();

  it('steps calendar months from the anchor, clamping the day at month end', () => {
    const anchor = at('2026-01-31T10:00:00.000Z');
    expect([1, 2, 3, 4, 13].map((count) => iso(addIntervals(anchor, count)))).toEqual([
      '2026-02-28T10:00:00.000Z',
      '2026-03-31T10:00:00.000Z', // counted from the anchor, not from Feb 28
      '2026-04-30T10:00:00.000Z',
      '2026-05-31T10:00:00.000Z',
      '2027-02-28T10:00:00.000Z',
    ]);
    expect(iso(addIntervals(at('2028-01-31T00:00:00Z'), 1))).toBe('2028-02-29T00:00:00.000Z');
  });

  it('rolls over the year end', () => {
    expect(iso(addIntervals(at('2026-12-15T00:00:00Z'), 1))).toBe('2027-01-15T00:00:00.000Z');
    expect(iso(addIntervals(at('2026-11-30T00:00:00Z'), 3))).toBe('2027-02-28T00:00:00.000Z');
  });

  it('steps years from a leap day and days/weeks by fixed lengths', () => {
    expect(iso(addIntervals(at('2028-02-29T00:00:00Z'), 1, 'year'))).toBe('2029-02-28T00:00:00.000Z');
    expect(iso(addIntervals(at('2028-02-29T00:00:00Z'), 4, 'year'))).toBe('2032-02-29T00:00:00.000Z');
    expect(iso(addIntervals(at('2026-03-28T12:00:00Z'), 2, 'week'))).toBe('2026-04-11T12:00:00.000Z');
    expect(iso(addIntervals(at('2026-02-28T12:00:00Z'), 1, 'day'))).toBe('2026-03-01T12:00:00.000Z');
  });

  it('puts the anchor instant in the first period', () => {
    const anchor = at('2026-01-15T10:00:00.000Z');
    expect(periodBounds(anchor, anchor)).toEqual({
      periodStart: anchor,
      periodEnd: at('2026-02-15T10:00:00.000Z'),
      periodIndex: 0,
    });
  });

  it('switches periods exactly at the boundary millisecond', () => {
    const anchor = at('2026-01-15T10:00:00.000Z');
    const before = periodBounds(anchor, at('2026-02-15T09:59:59.999Z'));
    const after = periodBounds(anchor, at('2026-02-15T10:00:00.000Z'));
    expect(before.periodIndex).toBe(0);
    expect(iso(before.periodEnd)).toBe('2026-02-15T10:00:00.000Z');
    expect(after.periodIndex).toBe(1);
    expect(iso(after.periodStart)).toBe('2026-02-15T10:00:00.000Z');
    expect(iso(after.periodEnd)).toBe('2026-03-15T10:00:00.000Z');
  });

  it('follows a month-end anchor through short months', () => {
    const anchor = at('2026-01-31T00:00:00Z');
    const march = periodBounds(anchor, at('2026-03-10T00:00:00Z'));
    expect([iso(march.periodStart), iso(march.periodEnd)]).toEqual([
      '2026-02-28T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
    ]);
    const endOfMarch = periodBounds(anchor, at('2026-03-31T00:00:00Z'));
    expect([iso(endOfMarch.periodStart), iso(endOfMarch.periodEnd)]).toEqual([
      '2026-03-31T00:00:00.000Z',
      '2026-04-30T00:00:00.000Z',
    ]);
  });

  it('handles a `now` earlier in its month than the anchor day', () => {
    // Anchor day 20; now on the 5th belongs to the period that started on the 20th of the month before.
    const bounds = periodBounds(at('2026-01-20T00:00:00Z'), at('2026-06-05T00:00:00Z'));
    expect([iso(bounds.periodStart), iso(bounds.periodEnd), bounds.periodIndex]).toEqual([
      '2026-05-20T00:00:00.000Z',
      '2026-06-20T00:00:00.000Z',
      4,
    ]);
  });

  it('supports quarterly, yearly, weekly and daily periods', () => {
    const anchor = at('2026-01-31T00:00:00Z');
    const quarter = periodBounds(anchor, at('2026-05-01T00:00:00Z'), 'month', 3);
    expect([iso(quarter.periodStart), iso(quarter.periodEnd)]).toEqual([
      '2026-04-30T00:00:00.000Z',
      '2026-07-31T00:00:00.000Z',
    ]);
    const year = periodBounds(anchor, at('2028-01-30T23:59:59.999Z'), 'year');
    expect([iso(year.periodStart), iso(year.periodEnd), year.periodIndex]).toEqual([
      '2027-01-31T00:00:00.000Z',
      '2028-01-31T00:00:00.000Z',
      1,
    ]);
    const week = periodBounds(anchor, at('2026-02-14T00:00:00Z'), 'week');
    expect([iso(week.periodStart), iso(week.periodEnd)]).toEqual([
      '2026-02-14T00:00:00.000Z',
      '2026-02-21T00:00:00.000Z',
    ]);
    const day = periodBounds(anchor, at('2026-02-01T23:00:00Z'), 'day');
    expect(day.periodIndex).toBe(1);
  });

  it('finds a period a century away without walking every month', () => {
    const bounds = periodBounds(at('2026-01-31T00:00:00Z'), at('2126-02-28T12:00:00Z'));
    expect(bounds.periodIndex).toBe(1201);
    expect(iso(bounds.periodStart)).toBe('2126-02-28T00:00:00.000Z');
    expect(iso(bounds.periodEnd)).toBe('2126-03-31T00:00:00.000Z');
  });

  it('always contains now (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }),
        fc.integer({ min: 0, max: 20 * 365 * 86_400_000 }),
        fc.constantFrom('day', 'week', 'month', 'year') as fc.Arbitrary<'day' | 'week' | 'month' | 'year'>,
        fc.integer({ min: 1, max: 6 }),
        (anchorTime, elapsed, interval, intervalCount) => {
          const anchor = new Date(anchorTime);
          const now = new Date(anchorTime + elapsed);
          const bounds = periodBounds(anchor, now, interval, intervalCount);
          expect(bounds.periodStart.getTime()).toBeLessThanOrEqual(now.getTime());
          expect(bounds.periodEnd.getTime()).toBeGreaterThan(now.getTime());
          expect(iso(bounds.periodEnd)).toBe(
            iso(addIntervals(anchor, (bounds.periodIndex + 1) * intervalCount, interval)),
          );
        },
      ),
    );
  });

  it('refuses a now before the anchor', () => {
    expect(() => periodBounds(at('2026-02-01T00:00:00Z'), at('2026-01-31T23:59:59Z'))).toThrow(RangeError);
  });
});

describe('proratedAllowance', () => {
  const pro = 2_500n * CREDIT;
  const max = 10_000n * CREDIT;
  const february = {
    periodStart: new Date('2026-02-01T00:00:00Z'),
    periodEnd: new Date('2026-03-01T00:00:00Z'),
  };
  const april = {
    periodStart: new Date('2026-04-01T00:00:00Z'),
    periodEnd: new Date('2026-05-01T00:00:00Z'),
  };
  const march = {
    periodStart: new Date('2026-03-01T00:00:00Z'),
    periodEnd: new Date('2026-04-01T00:00:00Z'),
  };
  const upgrade = (period: { periodStart: Date; periodEnd: Date }, now: string) =>
    proratedAllowance({ oldAllowanceMicros: pro, newAllowanceMicros: max, ...period, now: new Date(now) });

  it('grants the full difference at the start of the period', () => {
    expect(upgrade(february, '2026-02-01T00:00:00Z')).toBe(7_500n * CREDIT);
  });

  it('grants half in the middle of the period', () => {
    expect(upgrade(february, '2026-02-15T00:00:00Z')).toBe(3_750n * CREDIT);
    expect(upgrade(april, '2026-04-16T00:00:00Z')).toBe(3_750n * CREDIT);
  });

  it('depends on the month length for the same calendar day', () => {
    // Upgrading on the 16th at 00:00: 13 of 28 days left in February, 16 of 31 in March.
    expect(upgrade(february, '2026-02-16T00:00:00Z')).toBe((7_500n * CREDIT * 13n) / 28n);
    expect(upgrade(march, '2026-03-16T00:00:00Z')).toBe((7_500n * CREDIT * 16n) / 31n);
    expect(upgrade(february, '2026-02-16T00:00:00Z')).toBe(3_482_142_857n); // 3,482.142857142… → down
  });

  it('grants one second’s worth, rounded down, in the last second', () => {
    // 7,500 credits × 1 s / 2,592,000 s (April) = 0.0028935185… credits → 2,893 micros.
    expect(upgrade(april, '2026-04-30T23:59:59Z')).toBe(2_893n);
    expect(upgrade(february, '2026-02-28T23:59:59.999Z')).toBe((7_500n * CREDIT) / 2_419_200_000n);
  });

  it('grants nothing at or after the period end, and everything before its start', () => {
    expect(upgrade(february, '2026-03-01T00:00:00Z')).toBe(0n);
    expect(upgrade(february, '2026-03-05T00:00:00Z')).toBe(0n);
    expect(upgrade(february, '2026-01-20T00:00:00Z')).toBe(7_500n * CREDIT);
  });

  it('grants nothing for a downgrade or the same plan', () => {
    const now = new Date('2026-02-10T00:00:00Z');
    expect(proratedAllowance({ oldAllowanceMicros: max, newAllowanceMicros: pro, ...february, now })).toBe(
      0n,
    );
    expect(proratedAllowance({ oldAllowanceMicros: pro, newAllowanceMicros: pro, ...february, now })).toBe(
      0n,
    );
  });

  it('rounds a fraction of a micro-credit down to zero', () => {
    const now = new Date('2026-02-15T00:00:01Z');
    expect(proratedAllowance({ oldAllowanceMicros: 0n, newAllowanceMicros: 1n, ...february, now })).toBe(0n);
  });

  it('never exceeds the exact share (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 13n }),
        fc.bigInt({ min: 0n, max: 10n ** 13n }),
        fc.integer({ min: 0, max: 28 * 86_400_000 }),
        (oldAllowanceMicros, newAllowanceMicros, offset) => {
          const now = new Date(february.periodStart.getTime() + offset);
          const extra = proratedAllowance({ oldAllowanceMicros, newAllowanceMicros, ...february, now });
          const difference =
            newAllowanceMicros > oldAllowanceMicros ? newAllowanceMicros - oldAllowanceMicros : 0n;
          const remaining = BigInt(february.periodEnd.getTime() - now.getTime());
          const total = BigInt(february.periodEnd.getTime() - february.periodStart.getTime());
          expect(extra * total <= difference * remaining).toBe(true);
          expect((extra + 1n) * total > difference * remaining).toBe(true);
        },
      ),
    );
  });

  it('rejects an empty or inverted period and negative allowances', () => {
    const now = new Date('2026-02-10T00:00:00Z');
    const start = new Date('2026-02-01T00:00:00Z');
    expect(() =>
      proratedAllowance({
        oldAllowanceMicros: 0n,
        newAllowanceMicros: 1n,
        periodStart: start,
        periodEnd: start,
        now,
      }),
    ).toThrow();
    expect(() =>
      proratedAllowance({ oldAllowanceMicros: -1n, newAllowanceMicros: 1n, ...february, now }),
    ).toThrow();
  });
});

describe('proratedChargeCents', () => {
  const february = {
    periodStart: new Date('2026-02-01T00:00:00Z'),
    periodEnd: new Date('2026-03-01T00:00:00Z'),
  };
  const charge = (now: string, oldPriceCents = 2_500n, newPriceCents = 5_000n) =>
    proratedChargeCents({ oldPriceCents, newPriceCents, ...february, now: new Date(now) });

  it('charges the full difference at the start, half in the middle, nothing at the end', () => {
    expect(charge('2026-02-01T00:00:00Z')).toBe(2_500n);
    expect(charge('2026-02-15T00:00:00Z')).toBe(1_250n);
    expect(charge('2026-03-01T00:00:00Z')).toBe(0n);
  });

  it('rounds down to the cent', () => {
    expect(charge('2026-02-10T00:00:00Z')).toBe((2_500n * 19n) / 28n); // 1,696.43 → 1,696
    expect(charge('2026-02-28T23:59:59Z')).toBe(0n);
  });

  it('charges nothing for a downgrade', () => {
    expect(charge('2026-02-10T00:00:00Z', 5_000n, 2_500n)).toBe(0n);
  });
});

describe('display helpers', () => {
  it('formats cents exactly', () => {
    expect(formatUsd(500n)).toBe('$5.00');
    expect(formatUsd(5n)).toBe('$0.05');
    expect(formatUsd(123_456_789n)).toBe('$1234567.89');
    expect(centsToUsd(550n)).toBe(5.5);
    expect(centsToUsd(1n)).toBe(0.01);
  });
});
