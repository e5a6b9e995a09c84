/**
 * Spend limits (the OpenRouter/LiteLLM model): an amount a customer, or one of its user keys, may spend
 * per period. Periods are UTC calendar periods: a day starts at 00:00 UTC, a week on Monday 00:00 UTC
 * (ISO weeks), a month on the 1st at 00:00 UTC; `total` never resets. Pure: the engine keeps the state
 * (`SpendLimitState`) and calls these to know which period `now` is in.
 */

export const SPEND_LIMIT_PERIODS = ['day', 'week', 'month', 'total'] as const;
export type SpendLimitPeriod = (typeof SPEND_LIMIT_PERIODS)[number];

/** The scope of a customer's own limit; a user key's is `key:<key id>`, an organisation member's `member:<member id>`. */
export const CUSTOMER_SCOPE = 'customer';

export function keyScope(keyId: string): string {
  return `key:${keyId}`;
}

/** A member of an organisation (teams/): one limit over all of the member's user keys. */
export function memberScope(memberId: string): string {
  return `member:${memberId}`;
}

export interface SpendLimitState {
  amount: bigint;
  period: SpendLimitPeriod;
  /** Start of the period `spent` counts in. */
  periodStart: Date;
  /** Reserved by open holds plus charged by captures, within the period. */
  spent: bigint;
  /**
   * Which setting of the limit this is: a new limit or a new period gets a new id, a changed amount
   * keeps it. A hold records it with the period start it counted in, so a hold placed under a limit
   * that was removed and set again returns nothing to the new one.
   */
  id: string;
}

const DAY_MILLISECONDS = 86_400_000;
const EPOCH = new Date(0);

/** Start of the period that `at` falls in. */
export function periodStart(period: SpendLimitPeriod, at: Date): Date {
  const year = at.getUTCFullYear();
  const month = at.getUTCMonth();
  const day = at.getUTCDate();
  switch (period) {
    case 'day':
      return new Date(Date.UTC(year, month, day));
    case 'week': {
      // getUTCDay: Sunday 0 … Saturday 6; ISO weeks start on Monday.
      const sinceMonday = (at.getUTCDay() + 6) % 7;
      return new Date(Date.UTC(year, month, day) - sinceMonday * DAY_MILLISECONDS);
    }
    case 'month':
      return new Date(Date.UTC(year, month, 1));
    case 'total':
      return EPOCH;
  }
}

/** When the period that starts at `start` ends and spending counts from zero again (null: never). */
export function periodEnd(period: SpendLimitPeriod, start: Date): Date | null {
  switch (period) {
    case 'day':
      return new Date(start.getTime() + DAY_MILLISECONDS);
    case 'week':
      return new Date(start.getTime() + 7 * DAY_MILLISECONDS);
    case 'month':
      return new Date(Date.UTC(start.getUTCFullYear(), start.getUTCMonth() + 1, 1));
    case 'total':
      return null;
  }
}

/** The limit as of `now`: a period that has ended starts over at zero. Returns whether it rolled over. */
export function rollOver(limit: SpendLimitState, now: Date): boolean {
  const current = periodStart(limit.period, now);
  if (current.getTime() <= limit.periodStart.getTime()) return false;
  limit.periodStart = current;
  limit.spent = 0n;
  return true;
}
