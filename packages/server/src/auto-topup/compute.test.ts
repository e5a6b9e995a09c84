import { describe, expect, it } from 'vitest';
import { afterFailure, decideStart, MAXIMUM_FAILURES, monthStart } from './compute.ts';

const now = new Date('2026-05-31T23:59:59Z');
const base = {
  availableMicros: 4_000_000n,
  thresholdMicros: 5_000_000n,
  amountCents: 1000n,
  monthlyCapCents: 3000n,
  spentThisMonthCents: 0n,
  retryAfter: null,
  now,
};

describe('auto top-up decisions', () => {
  it('starts below the threshold only', () => {
    expect(decideStart(base)).toBe('start');
    expect(decideStart({ ...base, availableMicros: 5_000_000n })).toBe('above_threshold');
  });
  it('keeps the month within the cap, counting the payment about to start', () => {
    expect(decideStart({ ...base, spentThisMonthCents: 2000n })).toBe('start');
    expect(decideStart({ ...base, spentThisMonthCents: 2001n })).toBe('monthly_cap_reached');
  });
  it('waits after a failure', () => {
    expect(decideStart({ ...base, retryAfter: new Date(now.getTime() + 1) })).toBe('retry_later');
    expect(decideStart({ ...base, retryAfter: now })).toBe('start');
  });
  it('disables after the limit of consecutive failures', () => {
    expect(afterFailure(0, now)).toMatchObject({ failures: 1, disabled: false });
    expect(afterFailure(MAXIMUM_FAILURES - 1, now)).toMatchObject({
      failures: MAXIMUM_FAILURES,
      disabled: true,
    });
  });
  it('counts the month in UTC', () => {
    expect(monthStart(now).toISOString()).toBe('2026-05-01T00:00:00.000Z');
  });
});
