/**
 * The ledger's operation inputs, validated once where they enter. Amounts are bigint micro-credits:
 * the HTTP edge parses decimal credits into them (shared/money.ts).
 */
import { z } from 'zod';
import { MAX_MICROS } from '../shared/money.ts';
import { SPEND_LIMIT_PERIODS } from './spend-limits.ts';
import { GRANT_SOURCES, MAX_PRIORITY } from './spend-order.ts';

const positiveMicros = z
  .bigint({ error: 'amount must be an integer number of micro-credits (bigint)' })
  .positive({ error: 'amount must be greater than zero' })
  .max(MAX_MICROS, { error: 'amount is out of range' });
const nonNegativeMicros = z
  .bigint({ error: 'amount must be an integer number of micro-credits (bigint)' })
  .nonnegative({ error: 'amount must not be negative' })
  .max(MAX_MICROS, { error: 'amount is out of range' });
const identifier = z.string().min(1).max(200);
/**
 * A last bound on what any caller stores beside a movement (the HTTP edge applies the client's tighter
 * rule, http/routes/schemas.ts): metadata is copied onto history rows, so an unbounded object would
 * make a customer's history unreadable. Room above the client's 50 keys / 8 KiB for the keys the
 * services add themselves.
 */
const METADATA_MAX_KEYS = 64;
const METADATA_MAX_KEY_LENGTH = 100;
const METADATA_MAX_JSON_BYTES = 16 * 1024;
/** Bytes as stored; what JSON cannot hold (a bigint, a cycle) measures as too large, so it is refused
 *  here instead of failing the batch of writes it would have joined. */
const jsonBytes = (value: unknown) => {
  try {
    return Buffer.byteLength(JSON.stringify(value));
  } catch {
    return Number.POSITIVE_INFINITY;
  }
};
/**
 * What breaks the bounds, or null. One walk of the keys, stopped at the first key too many: metadata
 * of strings, numbers and booleans only (what the services write) is bounded without serialising it —
 * JSON escapes a UTF-16 unit into at most 6 bytes, and a number or boolean into at most 25 — and
 * anything else (or a bound too loose to decide) is measured exactly.
 */
function metadataProblem(value: Record<string, unknown>): { message: string; path?: string[] } | null {
  let keys = 0;
  let bound = 2;
  let measure = false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    keys += 1;
    if (keys > METADATA_MAX_KEYS) return { message: `metadata may have at most ${METADATA_MAX_KEYS} keys` };
    if (key.length > METADATA_MAX_KEY_LENGTH) {
      return { message: `metadata keys may be at most ${METADATA_MAX_KEY_LENGTH} characters`, path: [key] };
    }
    const item = value[key];
    bound += key.length * 6 + 4;
    if (typeof item === 'string') bound += item.length * 6 + 2;
    else if (typeof item === 'number' || typeof item === 'boolean') bound += 25;
    else if (item !== undefined) measure = true;
  }
  if ((measure || bound > METADATA_MAX_JSON_BYTES) && jsonBytes(value) > METADATA_MAX_JSON_BYTES) {
    return { message: `metadata must be JSON of at most ${METADATA_MAX_JSON_BYTES} bytes` };
  }
  return null;
}
/**
 * Checked by one function rather than as a record of keys: every hold and capture carries metadata, and
 * a record schema copies the object key by key (three quarters of what validating a hold or a capture
 * cost: ~4–5 µs each against ~1 µs now). The object is kept as given: the ledger never changes it.
 */
const metadata = z
  .custom<Record<string, unknown>>(
    (value) => {
      if (typeof value !== 'object' || value === null) return false;
      const prototype = Object.getPrototypeOf(value);
      return prototype === Object.prototype || prototype === null;
    },
    { error: 'metadata must be a plain object' },
  )
  .check((context) => {
    const problem = metadataProblem(context.value);
    if (problem) context.issues.push({ code: 'custom', input: context.value, ...problem });
  })
  .optional();

export const idempotencySchema = z
  .object({
    key: z.string().min(1).max(255),
    /** Who owns the key (an app, an admin); keys of different scopes never collide. */
    scope: z.string().min(1).max(200).default('ledger'),
    /** What the request said; the same key with another fingerprint is a conflict. Defaults to a hash of the input. */
    fingerprint: z.string().min(1).max(200).optional(),
  })
  .optional();

/** Bounded: a scope is loaded with its grant on every read of the account. */
const scopeNames = z.array(z.string().min(1).max(300)).min(1).max(50);
export const grantScopeSchema = z
  .object({ types: scopeNames.optional(), models: scopeNames.optional() })
  .strict()
  .refine((scope) => scope.types !== undefined || scope.models !== undefined, {
    error: 'scope must name types or models',
  });

export const grantInputSchema = z.object({
  /** The id to give the grant (a scheduled grant keeps its id when credited); default a new one. */
  grantId: identifier.optional(),
  customerId: identifier,
  amountMicros: positiveMicros,
  source: z.enum(GRANT_SOURCES),
  expiresAt: z.date().optional(),
  /** Lower is spent first (spend-order.ts); none: `DEFAULT_PRIORITY`. */
  priority: z.number().int().min(0).max(MAX_PRIORITY).optional(),
  /** What the grant may pay for; none: anything. */
  scope: grantScopeSchema.optional(),
  reason: z.string().max(500).optional(),
  metadata,
  /** Transaction type shown in history (e.g. `purchase`, `signup_bonus`); defaults to `grant`. */
  type: z.string().min(1).max(50).optional(),
  idempotency: idempotencySchema,
});
export type GrantInput = z.input<typeof grantInputSchema>;

export const holdInputSchema = z.object({
  customerId: identifier,
  amountMicros: nonNegativeMicros,
  timeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(31 * 24 * 3600)
    .optional(),
  model: z.string().max(300).optional(),
  /** The model's type (`chat`, `image`, …): grants scoped to types pay only for their types. */
  modelType: z.string().max(50).optional(),
  provider: z.string().max(100).optional(),
  runId: z.string().min(1).max(200).optional(),
  maxRunMicros: nonNegativeMicros.optional(),
  /** The user key the work is done with: its spend limit applies besides the customer's. */
  userKeyId: identifier.optional(),
  /** The organisation member the user key belongs to (teams/): the member's limit applies too. */
  memberId: identifier.optional(),
  funding: z.enum(['credits', 'byok']).default('credits'),
  metadata,
  idempotency: idempotencySchema,
});
export type HoldInput = z.input<typeof holdInputSchema>;
export type ParsedHoldInput = z.output<typeof holdInputSchema>;

export const captureInputSchema = z.object({
  holdId: identifier,
  /** What to charge; omitted → the held amount. */
  amountMicros: nonNegativeMicros.optional(),
  /** `clamp` (default): never charge above the hold. `charge_available`: take the excess from the balance. */
  overrun: z.enum(['clamp', 'charge_available']).default('clamp'),
  /**
   * The work was delivered: capture even past the hold's timeout, and if the hold was already voided,
   * charge from the available balance (what that cannot cover is a loss). Once per hold.
   */
  delivered: z.boolean().default(false),
  /** Part of the amount that goes to the app's referral account instead of revenue. */
  referralShareMicros: nonNegativeMicros.optional(),
  referralAccount: z.string().min(1).max(200).optional(),
  model: z.string().max(300).optional(),
  metadata,
  idempotency: idempotencySchema,
});
export type CaptureInput = z.input<typeof captureInputSchema>;

export const voidInputSchema = z.object({
  holdId: identifier,
  reason: z.string().max(200).optional(),
  idempotency: idempotencySchema,
});
export type VoidInput = z.input<typeof voidInputSchema>;

export const extendInputSchema = z.object({
  holdId: identifier,
  timeoutSeconds: z
    .number()
    .int()
    .positive()
    .max(31 * 24 * 3600),
  /** Work in flight: a hold past its timeout that is still held is extended rather than voided. */
  inFlight: z.boolean().default(false),
});
export type ExtendInput = z.input<typeof extendInputSchema>;

export const chargeInputSchema = holdInputSchema.omit({ funding: true }).extend({
  referralShareMicros: nonNegativeMicros.optional(),
  referralAccount: z.string().min(1).max(200).optional(),
});
export type ChargeInput = z.input<typeof chargeInputSchema>;

export const debitInputSchema = z.object({
  customerId: identifier,
  amountMicros: positiveMicros,
  reason: z.string().max(500).optional(),
  type: z.string().min(1).max(50).optional(),
  metadata,
  idempotency: idempotencySchema,
});
export type DebitInput = z.input<typeof debitInputSchema>;

export const clawbackInputSchema = z.object({
  grantId: identifier,
  amountMicros: positiveMicros,
  type: z.string().min(1).max(50).optional(),
  metadata,
  idempotency: idempotencySchema,
});
export type ClawbackInput = z.input<typeof clawbackInputSchema>;

export const spendLimitInputSchema = z.object({
  customerId: identifier,
  /** The user key whose limit this is; omitted: the customer's own limit. */
  userKeyId: identifier.optional(),
  /** Or the organisation member whose limit this is (over all of the member's keys). */
  memberId: identifier.optional(),
  /** Null removes the limit. */
  amountMicros: nonNegativeMicros.nullable(),
  period: z.enum(SPEND_LIMIT_PERIODS).default('month'),
});
export type SpendLimitInput = z.input<typeof spendLimitInputSchema>;

export const voidGrantInputSchema = z.object({
  grantId: identifier,
  reason: z.string().max(500).optional(),
  idempotency: idempotencySchema,
});
export type VoidGrantInput = z.input<typeof voidGrantInputSchema>;

export const historyInputSchema = z.object({
  customerId: identifier,
  limit: z.number().int().min(1).max(500).default(50),
  offset: z.number().int().min(0).max(10_000_000).default(0),
});
export type HistoryInput = z.input<typeof historyInputSchema>;
