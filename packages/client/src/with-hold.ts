/**
 * Reserve → run → capture or void, around one piece of metered work. The hold is always resolved:
 * captured when the work succeeds, voided when it throws (and, should the void itself fail, the
 * server voids the hold at `expires_at`), so a failed generation is never charged.
 */
import type { AmountInput } from './amounts.ts';
import type { Holds } from './resources.ts';
import type { Hold, HoldCapture, HoldCaptureParams, TokenUsage } from './types.ts';

/** Options of `withHold`: the work to reserve for, and how the hold is placed. */
export interface WithHoldOptions {
  /** Units of a `per_unit` price to reserve for (server default 1). */
  quantity?: number | string;
  /** Expected token counts to reserve for. */
  usage?: TokenUsage;
  /** An explicit amount to reserve instead of pricing by model. */
  amount?: AmountInput;
  /** Groups the holds of one agent run or CLI session. */
  run_id?: string;
  /** Cap on what all holds of `run_id` may spend. */
  max_run_cost?: AmountInput;
  metadata?: Record<string, unknown>;
  /** Aborts placing the hold. Once the work has run, the hold is settled regardless. */
  signal?: AbortSignal;
  /** Your own `Idempotency-Key` for placing the hold. */
  idempotencyKey?: string;
  /** Told when voiding after a failure did not succeed (the server voids the hold at `expires_at`). */
  onVoidError?: (error: unknown, hold: Hold) => void;
}

/**
 * What the work function may return to re-state the actual work: the capture then uses
 * `quantity`/`usage`/`amount`, and `withHold` returns `result`. A returned plain object counts as
 * this only when it has no other keys, so returning e.g. an OpenAI completion (which has its own
 * `usage`) never re-states anything by accident.
 */
export interface HoldRestatement<R = undefined> {
  result?: R;
  quantity?: number | string;
  usage?: TokenUsage;
  amount?: AmountInput;
}

type RestatementKey = keyof HoldRestatement;

/** The `result` of `withHold` for a work function returning `T`. */
export type WithHoldValue<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? [Exclude<keyof T, RestatementKey>] extends [never]
      ? 'result' extends keyof T
        ? T['result']
        : undefined
      : T
    : T;

/** What `withHold` resolves to. */
export interface WithHoldResult<R> {
  result: R;
  hold: Hold;
  capture: HoldCapture;
}

const RESTATEMENT_KEYS: ReadonlySet<string> = new Set<RestatementKey>([
  'result',
  'quantity',
  'usage',
  'amount',
]);

export async function runWithHold<T>(
  holds: Holds,
  customer: string,
  model: string,
  work: (hold: Hold) => T | Promise<T>,
  options: WithHoldOptions = {},
): Promise<WithHoldResult<WithHoldValue<T>>> {
  const { signal, idempotencyKey, onVoidError, ...holdFields } = options;
  const hold = await holds.create({ customer, model, ...holdFields }, { signal, idempotencyKey });

  let value: T;
  try {
    value = await work(hold);
  } catch (error) {
    try {
      await holds.void(hold.id);
    } catch (voidError) {
      onVoidError?.(voidError, hold);
    }
    throw error;
  }

  const { result, captureParams } = splitRestatement(value);
  const capture = await holds.capture(hold.id, captureParams);
  return { result: result as WithHoldValue<T>, hold, capture };
}

function splitRestatement(value: unknown): { result: unknown; captureParams: HoldCaptureParams } {
  if (!isPlainObject(value) || !Object.keys(value).every((key) => RESTATEMENT_KEYS.has(key))) {
    return { result: value, captureParams: {} };
  }
  const { result, quantity, usage, amount } = value as HoldRestatement<unknown>;
  return { result, captureParams: { quantity, usage, amount } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
