/**
 * Auto top-up decisions, pure: whether a payment may start now, and what a failed payment does to the
 * setting. No I/O, no clock: `now` is an argument.
 */

/** Consecutive failed payments after which the setting disables itself. */
export const MAXIMUM_FAILURES = 3;

/** After a failed payment, how long before another may start (a declined card is not retried at once). */
export const RETRY_AFTER_FAILURE_MILLISECONDS = 60 * 60 * 1000;

/** The start of the calendar month (UTC) that `now` is in: the monthly cap counts from there. */
export function monthStart(now: Date): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

export interface StartInput {
  availableMicros: bigint;
  thresholdMicros: bigint;
  amountCents: bigint;
  monthlyCapCents: bigint;
  /** Pending and succeeded top-ups started this calendar month. */
  spentThisMonthCents: bigint;
  retryAfter: Date | null;
  now: Date;
}

export type StartDecision = 'start' | 'above_threshold' | 'monthly_cap_reached' | 'retry_later';

/** Whether a top-up starts: below the threshold, within the cap, not in the pause after a failure. */
export function decideStart(input: StartInput): StartDecision {
  if (input.availableMicros >= input.thresholdMicros) return 'above_threshold';
  if (input.retryAfter !== null && input.now < input.retryAfter) return 'retry_later';
  if (input.spentThisMonthCents + input.amountCents > input.monthlyCapCents) return 'monthly_cap_reached';
  return 'start';
}

/** A failed payment: one more failure; at the limit the setting is disabled, otherwise retried later. */
export function afterFailure(
  failures: number,
  now: Date,
): { failures: number; disabled: boolean; retryAfter: Date } {
  const counted = failures + 1;
  return {
    failures: counted,
    disabled: counted >= MAXIMUM_FAILURES,
    retryAfter: new Date(now.getTime() + RETRY_AFTER_FAILURE_MILLISECONDS),
  };
}
