/**
 * Pure payment arithmetic: what a refund or a mid-period plan change is worth in micro-credits (or
 * cents); what a purchase buys is `pricing/purchase-credits.ts`. No I/O and no clock of its own: callers pass `now`. Every division
 * happens once, on bigints, in a named direction (see README.md for the rounding table).
 */

// ---------------------------------------------------------------------------------------------
// Refunds
// ---------------------------------------------------------------------------------------------

/**
 * Credits to claw back when `refundedCents` of a purchase that cost `amountPaidCents` and granted
 * `purchaseCreditsMicros` (bonus included) are refunded.
 *
 * Proportional, rounded UP and capped at the purchase: a refunded cent never leaves any of its
 * credits behind, and no refund takes more than the purchase granted. Pass the CUMULATIVE refunded
 * amount (Stripe's `charge.amount_refunded`) and subtract what earlier refunds already took: that way
 * partial refunds never drift, and a full refund always takes exactly the purchase.
 */
export function refundedCredits(
  purchaseCreditsMicros: bigint,
  amountPaidCents: bigint,
  refundedCents: bigint,
): bigint {
  if (purchaseCreditsMicros < 0n) throw new Error('purchase credits must not be negative');
  if (refundedCents < 0n) throw new Error('refunded amount must not be negative');
  if (refundedCents === 0n) return 0n;
  if (amountPaidCents <= 0n) throw new Error('cannot refund a purchase that was not paid for');
  if (refundedCents >= amountPaidCents) return purchaseCreditsMicros;
  const numerator = purchaseCreditsMicros * refundedCents;
  const clawbackMicros = (numerator + amountPaidCents - 1n) / amountPaidCents;
  return clawbackMicros < purchaseCreditsMicros ? clawbackMicros : purchaseCreditsMicros;
}

// ---------------------------------------------------------------------------------------------
// Subscription periods and proration
// ---------------------------------------------------------------------------------------------

export type BillingInterval = 'day' | 'week' | 'month' | 'year';

export interface PeriodBounds {
  periodStart: Date;
  periodEnd: Date;
  /** 0 for the period that starts at the anchor. */
  periodIndex: number;
}

const MILLISECONDS_PER_DAY = 86_400_000;

/**
 * `anchor` moved forward by `count` intervals, in UTC. Month and year steps are calendar steps,
 * always counted from the anchor (not chained), with the day clamped to the month's end: an anchor on
 * Jan 31 gives Feb 28 (29 in leap years), then Mar 31 — the same rule Stripe's billing cycle uses.
 */
export function addIntervals(anchor: Date, count: number, interval: BillingInterval = 'month'): Date {
  if (!Number.isSafeInteger(count)) throw new Error('interval count must be an integer');
  if (interval === 'day' || interval === 'week') {
    const days = interval === 'day' ? count : count * 7;
    return new Date(anchor.getTime() + days * MILLISECONDS_PER_DAY);
  }
  const months = interval === 'year' ? count * 12 : count;
  const monthIndex = anchor.getUTCFullYear() * 12 + anchor.getUTCMonth() + months;
  const year = Math.floor(monthIndex / 12);
  const month = monthIndex - year * 12;
  const day = Math.min(anchor.getUTCDate(), daysInMonth(year, month));
  const result = new Date(0);
  result.setUTCFullYear(year, month, day);
  result.setUTCHours(
    anchor.getUTCHours(),
    anchor.getUTCMinutes(),
    anchor.getUTCSeconds(),
    anchor.getUTCMilliseconds(),
  );
  return result;
}

function daysInMonth(year: number, month: number): number {
  const lastDay = new Date(0);
  lastDay.setUTCFullYear(year, month + 1, 0);
  return lastDay.getUTCDate();
}

/**
 * The billing period containing `now`: `[periodStart, periodEnd)`, stepping `intervalCount`
 * intervals at a time from `anchor`. A `now` before the anchor is a bug in the caller and throws.
 */
export function periodBounds(
  anchor: Date,
  now: Date,
  interval: BillingInterval = 'month',
  intervalCount = 1,
): PeriodBounds {
  if (!Number.isSafeInteger(intervalCount) || intervalCount < 1)
    throw new Error('intervalCount must be >= 1');
  const anchorTime = anchor.getTime();
  const nowTime = now.getTime();
  if (Number.isNaN(anchorTime) || Number.isNaN(nowTime))
    throw new Error('anchor and now must be valid dates');
  if (nowTime < anchorTime) throw new RangeError('now is before the subscription anchor');

  // A close first guess from elapsed time, then exact correction on calendar dates.
  let index: number;
  if (interval === 'day' || interval === 'week') {
    const stepMilliseconds = (interval === 'day' ? 1 : 7) * MILLISECONDS_PER_DAY * intervalCount;
    index = Math.floor((nowTime - anchorTime) / stepMilliseconds);
  } else {
    const monthsElapsed =
      (now.getUTCFullYear() - anchor.getUTCFullYear()) * 12 + (now.getUTCMonth() - anchor.getUTCMonth());
    const monthsPerStep = (interval === 'year' ? 12 : 1) * intervalCount;
    index = Math.max(0, Math.floor(monthsElapsed / monthsPerStep));
  }
  const startOf = (i: number) => addIntervals(anchor, i * intervalCount, interval);
  while (index > 0 && startOf(index).getTime() > nowTime) index -= 1;
  while (startOf(index + 1).getTime() <= nowTime) index += 1;
  return { periodStart: startOf(index), periodEnd: startOf(index + 1), periodIndex: index };
}

export interface ProratedAllowanceInput {
  oldAllowanceMicros: bigint;
  newAllowanceMicros: bigint;
  periodStart: Date;
  periodEnd: Date;
  now: Date;
}

/**
 * Extra allowance granted by an upgrade at `now`: (new − old) × remaining / total, rounded DOWN to
 * the micro-credit (never grant allowance for time that is not left). A downgrade or an equal plan
 * grants 0 — downgrades take effect at the period end. Time is measured in milliseconds; `now` is
 * clamped into the period, so before the start → the full difference, at or after the end → 0.
 */
export function proratedAllowance(input: ProratedAllowanceInput): bigint {
  return prorateDifference(input.oldAllowanceMicros, input.newAllowanceMicros, input);
}

export interface ProratedChargeInput {
  oldPriceCents: bigint;
  newPriceCents: bigint;
  periodStart: Date;
  periodEnd: Date;
  now: Date;
}

/**
 * What the built-in test-mode provider charges for an upgrade at `now`: (new − old) × remaining /
 * total, rounded DOWN to the cent (never bill a fraction of a cent of unused time); 0 for a downgrade.
 * Stripe computes its own proration for real payments; this never replaces it.
 */
export function proratedChargeCents(input: ProratedChargeInput): bigint {
  return prorateDifference(input.oldPriceCents, input.newPriceCents, input);
}

function prorateDifference(
  oldAmount: bigint,
  newAmount: bigint,
  period: { periodStart: Date; periodEnd: Date; now: Date },
): bigint {
  if (oldAmount < 0n || newAmount < 0n) throw new Error('amounts must not be negative');
  const start = BigInt(period.periodStart.getTime());
  const end = BigInt(period.periodEnd.getTime());
  const now = BigInt(period.now.getTime());
  if (end <= start) throw new Error('periodEnd must be after periodStart');
  const difference = newAmount - oldAmount;
  if (difference <= 0n) return 0n;
  const clampedNow = now < start ? start : now > end ? end : now;
  return (difference * (end - clampedNow)) / (end - start);
}

// ---------------------------------------------------------------------------------------------
// Display helpers (exact, from integer cents)
// ---------------------------------------------------------------------------------------------

/** 500n → 5, 550n → 5.5: a JSON number built from the exact decimal text. */
export function centsToUsd(cents: bigint): number {
  return Number(centsText(cents));
}

/** 500n → "$5.00". */
export function formatUsd(cents: bigint): string {
  const negative = cents < 0n;
  const absolute = negative ? -cents : cents;
  return `${negative ? '-' : ''}$${absolute / 100n}.${(absolute % 100n).toString().padStart(2, '0')}`;
}

function centsText(cents: bigint): string {
  const negative = cents < 0n;
  const absolute = negative ? -cents : cents;
  return `${negative ? '-' : ''}${absolute / 100n}.${(absolute % 100n).toString().padStart(2, '0')}`;
}
