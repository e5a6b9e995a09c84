/**
 * Reserve → run → capture or void, around one piece of metered work. The hold is always resolved:
 * captured when the work succeeds, voided when it throws (and, should the void itself fail, the
 * server voids the hold at `expires_at`), so a failed generation is never charged.
 *
 * Who pays is part of the answer, not a field to remember to read: the work is handed the provider
 * key to run with. A `byok` hold moves no credits, so its work must run on the customer's own key
 * (read here, once, from the server); a `credits` hold's work runs on the app's own key.
 */
import type { AmountInput } from './amounts.ts';
import type { Holds } from './resources.ts';
import type { Hold, HoldCapture, HoldCaptureParams, TokenUsage } from './types.ts';

/**
 * How a hold's work is paid for, and the provider key to run it with (the second argument of the
 * `withHold` work function).
 */
export interface HoldKey {
  /**
   * `byok`: the customer's own provider key pays and no credits move — run the work with `apiKey`.
   * `credits`: the customer's credits pay — run the work with your own key.
   */
  funding: 'credits' | 'byok';
  /**
   * The key to call the provider with: the customer's own for `byok`; for `credits`, the
   * `providerKey` you passed in the options, or null when you did not (then use your own key).
   */
  apiKey: string | null;
  /** The provider the customer's key is for (`byok`); null for `credits`. */
  provider: string | null;
}

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
  /**
   * Your own key for the model's provider. The work function then always gets the one key to use
   * as `key.apiKey`: this one when credits pay, the customer's own when their key pays (`byok`).
   */
  providerKey?: string;
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

/** The work of a hold: gets the hold and the provider key to run with. */
export type HoldWork<T> = (hold: Hold, key: HoldKey) => T | Promise<T>;

export async function runWithHold<T>(
  holds: Holds,
  customer: string,
  model: string,
  work: HoldWork<T>,
  options: WithHoldOptions = {},
): Promise<WithHoldResult<WithHoldValue<T>>> {
  const { signal, idempotencyKey, onVoidError, providerKey, ...holdFields } = options;
  const hold = await holds.create({ customer, model, ...holdFields }, { signal, idempotencyKey });

  let value: T;
  try {
    // Reading a byok hold's key is part of the work: if it fails (key removed, BYOK forbidden since),
    // the work does not run and the hold is voided.
    const key = await keyFor(holds, hold, providerKey);
    value = await work(hold, key);
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

async function keyFor(holds: Holds, hold: Hold, providerKey: string | undefined): Promise<HoldKey> {
  if (hold.funding !== 'byok') return { funding: 'credits', apiKey: providerKey ?? null, provider: null };
  const revealed = await holds.providerKey(hold.id);
  return { funding: 'byok', apiKey: revealed.key, provider: revealed.provider };
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
