/** Shapes on the wire: snake_case, credits as JSON numbers built from exact decimal text. */

import { z } from 'zod';
import type { CustomerRecord } from '../customers/customers-service.ts';
import type { BalanceView, TransactionView } from '../ledger/ledger.ts';
import { microsToCredits } from '../shared/money.ts';

export const credits = microsToCredits;

export function balanceWire(balance: BalanceView) {
  return {
    balance: credits(balance.balanceMicros),
    pending: credits(balance.pendingMicros),
    available: credits(balance.availableMicros),
    breakdown: Object.fromEntries(
      Object.entries(balance.bySource).map(([source, micros]) => [source, credits(micros)]),
    ),
    grants: balance.grants.map((grant) => ({
      id: grant.id,
      source: grant.source,
      amount: credits(grant.amountMicros),
      remaining: credits(grant.remainingMicros),
      reserved: credits(grant.reservedMicros),
      expires_at: grant.expiresAt?.toISOString() ?? null,
      created_at: grant.createdAt.toISOString(),
    })),
  };
}

export function customerWire(customer: CustomerRecord, balance: BalanceView, subscription: unknown = null) {
  return {
    id: customer.id,
    object: 'customer',
    external_id: customer.externalId,
    type: customer.type,
    email: customer.email,
    created_at: customer.createdAt.toISOString(),
    ...balanceWire(balance),
    subscription,
  };
}

const METADATA_CREDIT_FIELDS = ['provider_cost', 'referral_share', 'total', 'shortfall', 'requested'];

export function transactionWire(row: TransactionView) {
  const metadata: Record<string, unknown> = { ...row.metadata };
  const amounts: Record<string, number> = {};
  for (const field of METADATA_CREDIT_FIELDS) {
    const value = metadata[field];
    if (typeof value === 'string' && /^-?\d+$/.test(value)) {
      amounts[field] = credits(BigInt(value));
      delete metadata[field];
    }
  }
  const { source, reason, ...rest } = metadata as { source?: string; reason?: string; member_id?: unknown };
  return {
    id: row.id,
    type: row.type,
    amount: credits(row.amountMicros),
    balance_after: credits(row.balanceAfterMicros),
    model: row.model,
    hold_id: row.holdId,
    grant_id: row.grantId,
    source: source ?? null,
    description: reason ?? null,
    // Which member of an organisation spent (teams/): the hold names it, its capture inherits it.
    ...(typeof rest.member_id === 'string' ? { member: rest.member_id } : {}),
    ...amounts,
    metadata: rest,
    created_at: row.createdAt.toISOString(),
  };
}

// --- The same shapes as zod schemas: `response:` of the routes, `/openapi.json`, and the answer check. ---

/** Credits: a JSON number (exact decimal text, at most 6 decimals). */
export const creditsSchema = z.number();
/** An instant as ISO 8601 text (UTC, `Z`). */
export const timestampSchema = z.string().datetime({ offset: true });

/** `{object: 'list', data, has_more}`: a page of items (has_more only where the list pages). */
export function listSchema<Item extends z.ZodType>(item: Item) {
  return z.object({ object: z.literal('list'), data: z.array(item), has_more: z.boolean() });
}
/** A whole list: `{object: 'list', data}`. */
export function fullListSchema<Item extends z.ZodType>(item: Item) {
  return z.object({ object: z.literal('list'), data: z.array(item) });
}

export const balanceSchema = z.object({
  balance: creditsSchema.describe('Live grants, including what open holds reserve'),
  pending: creditsSchema.describe('Reserved by open holds'),
  available: creditsSchema.describe('balance − pending: what a new hold may take'),
  breakdown: z.record(z.string(), creditsSchema).describe('Balance by grant source'),
  grants: z.array(
    z.object({
      id: z.string(),
      source: z.string(),
      amount: creditsSchema,
      remaining: creditsSchema,
      reserved: creditsSchema,
      expires_at: timestampSchema.nullable(),
      created_at: timestampSchema,
    }),
  ),
});

/** SubscriptionsService.view: the customer's live plan. */
export const subscriptionSchema = z.object({
  id: z.string(),
  object: z.literal('subscription'),
  plan: z.string(),
  plan_name: z.string(),
  status: z.string(),
  price_usd: z.number().nullable(),
  allowance: creditsSchema.nullable(),
  allowance_remaining: creditsSchema,
  current_period_start: timestampSchema.nullable(),
  current_period_end: timestampSchema.nullable(),
  cancel_at_period_end: z.boolean(),
  pending_plan: z.string().nullable(),
  provider: z.string(),
});

export const customerSchema = z
  .object({
    id: z.string(),
    object: z.literal('customer'),
    external_id: z.string().nullable(),
    email: z.string().nullable(),
    created_at: timestampSchema,
    subscription: subscriptionSchema.nullable(),
  })
  .extend(balanceSchema.shape);

export const customerExample = {
  id: 'cus_8f3k2m9x1q7z',
  object: 'customer',
  external_id: 'user_42',
  email: 'ada@example.com',
  created_at: '2026-01-01T00:00:00.000Z',
  balance: 12.5,
  pending: 0.2,
  available: 12.3,
  breakdown: { purchase: 10, promo: 2.5 },
  grants: [
    {
      id: 'grt_1',
      source: 'purchase',
      amount: 10,
      remaining: 10,
      reserved: 0.2,
      expires_at: null,
      created_at: '2026-01-01T00:00:00.000Z',
    },
  ],
  subscription: null,
};

export const transactionSchema = z
  .object({
    id: z.string(),
    type: z.string(),
    amount: creditsSchema,
    balance_after: creditsSchema,
    model: z.string().nullable(),
    hold_id: z.string().nullable(),
    grant_id: z.string().nullable(),
    source: z.string().nullable(),
    description: z.string().nullable(),
    provider_cost: creditsSchema.optional(),
    referral_share: creditsSchema.optional(),
    total: creditsSchema.optional(),
    shortfall: creditsSchema.optional(),
    requested: creditsSchema.optional(),
    metadata: z.record(z.string(), z.unknown()),
    created_at: timestampSchema,
  })
  .describe('One ledger movement of the customer, with the balance after it');
