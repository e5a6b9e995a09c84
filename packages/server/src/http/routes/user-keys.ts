/**
 * A customer's user keys (several, each with a name, an optional spend limit and its own revocation)
 * and the customer's own spend limit. The app's secret key (and the operator) manage them for any of
 * the app's customers; the customer manages its own from a dashboard session (a portal link), never
 * with a plain user key: a key given to a script must not be able to raise its own limit.
 */
import { z } from 'zod';
import type { Principal } from '../../auth/principals.ts';
import type { CustomersService, SpendLimitSetting, UserKeyView } from '../../customers/customers-service.ts';
import type { SpendLimitView } from '../../ledger/ledger.ts';
import { SPEND_LIMIT_PERIODS } from '../../ledger/spend-limits.ts';
import { TollgateError } from '../../shared/errors.ts';
import { microsToCredits, parseCredits } from '../../shared/money.ts';
import { defineRoute } from '../route.ts';
import { creditsSchema, fullListSchema, timestampSchema } from '../wire.ts';
import { creditAmount, customerParams, identifier } from './schemas.ts';

export const limitBody = z.object({ amount: creditAmount, period: z.enum(SPEND_LIMIT_PERIODS) });
export const keyName = z.string().trim().min(1).max(100);
const keyParams = z.object({ id: identifier, key_id: identifier });

export function limitSetting(limit: z.output<typeof limitBody>): SpendLimitSetting {
  const amountMicros = parseCredits(limit.amount, 'limit.amount');
  if (amountMicros < 0n) {
    throw new TollgateError('invalid_request', 'limit.amount must not be negative', {
      param: 'limit.amount',
    });
  }
  return { amountMicros, period: limit.period };
}

export function spendLimitWire(limit: SpendLimitView | null) {
  if (!limit) return null;
  return {
    amount: microsToCredits(limit.amountMicros),
    period: limit.period,
    spent: microsToCredits(limit.spentMicros),
    remaining: microsToCredits(
      limit.amountMicros > limit.spentMicros ? limit.amountMicros - limit.spentMicros : 0n,
    ),
    period_start: limit.periodStart.toISOString(),
    resets_at: limit.resetsAt?.toISOString() ?? null,
  };
}

export function userKeyWire(key: UserKeyView) {
  return {
    id: key.id,
    object: 'user_key',
    customer: key.customerId,
    name: key.name,
    hint: key.hint,
    created_at: key.createdAt.toISOString(),
    last_used_at: key.lastUsedAt?.toISOString() ?? null,
    revoked_at: key.revokedAt?.toISOString() ?? null,
    limit: spendLimitWire(key.limit),
    member: key.memberId,
  };
}

export const spendLimitSchema = z
  .object({
    amount: creditsSchema,
    period: z.enum(SPEND_LIMIT_PERIODS),
    spent: creditsSchema.describe('Spent in the current period'),
    remaining: creditsSchema,
    period_start: timestampSchema,
    resets_at: timestampSchema.nullable().describe('null for a total limit'),
  })
  .nullable();

export const userKeySchema = z.object({
  id: z.string(),
  object: z.literal('user_key'),
  customer: z.string(),
  name: z.string(),
  hint: z.string().describe('The key masked: its prefix and last characters'),
  created_at: timestampSchema,
  last_used_at: timestampSchema.nullable(),
  revoked_at: timestampSchema.nullable(),
  limit: spendLimitSchema,
  member: z.string().nullable().describe("An organisation member's key: the member (`mem_…`)"),
});

const userKeyExample = {
  id: 'uk_5hT2',
  object: 'user_key',
  customer: 'cus_8f3k2m9x1q7z',
  name: 'CI runner',
  hint: 'tg_uk_…x9Qa',
  created_at: '2026-01-01T00:00:00.000Z',
  last_used_at: null,
  revoked_at: null,
  limit: {
    amount: 20,
    period: 'month',
    spent: 3.5,
    remaining: 16.5,
    period_start: '2026-01-01T00:00:00.000Z',
    resets_at: '2026-02-01T00:00:00.000Z',
  },
};

const customerLimitSchema = z.object({ customer: z.string(), limit: spendLimitSchema });

/** A user key may manage keys (and an organisation's members) only as a dashboard session. */
export function assertManages(principal: Principal): void {
  if (principal.kind === 'user' && !principal.session) {
    throw new TollgateError(
      'forbidden',
      "A user key cannot manage user keys: use the app's secret key or the customer's dashboard",
    );
  }
}

export function userKeyRoutes(customers: CustomersService) {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/user-keys',
      summary: 'Issue a new user key for the customer, with a name and an optional spend limit (shown once)',
      tag: 'User keys',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      body: z.object({ name: keyName.optional(), limit: limitBody.optional() }).optional(),
      response: {
        status: 201,
        schema: userKeySchema.extend({ user_key: z.string().describe('tg_uk_…: shown once') }),
        example: { ...userKeyExample, user_key: 'tg_uk_…' },
      },
      async handler({ params, body, principal, reply }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        const { id, userKey } = await customers.createUserKey(customer, {
          name: body?.name,
          limit: body?.limit ? limitSetting(body.limit) : undefined,
        });
        reply.code(201);
        return { ...userKeyWire(await customers.getUserKey(customer.id, id)), user_key: userKey };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/user-keys',
      summary:
        "List a customer's user keys: hint, name, created, last used, limit with what it spent this period and when it resets",
      tag: 'User keys',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: fullListSchema(userKeySchema) },
      async handler({ params, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        return { object: 'list', data: (await customers.listUserKeys(customer.id)).map(userKeyWire) };
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/customers/:id/user-keys/:key_id',
      summary: 'Rename a user key, or set (null: remove) its spend limit',
      tag: 'User keys',
      auth: ['app', 'admin', 'user'],
      params: keyParams,
      body: z.object({ name: keyName.optional(), limit: limitBody.nullable().optional() }),
      response: { schema: userKeySchema, example: userKeyExample },
      async handler({ params, body, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        const key = await customers.updateUserKey(customer.id, params.key_id, {
          name: body.name,
          limit: body.limit === undefined ? undefined : body.limit === null ? null : limitSetting(body.limit),
        });
        return userKeyWire(key);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/customers/:id/user-keys/:key_id',
      summary: 'Revoke a user key (at once on this server, within seconds on the others)',
      tag: 'User keys',
      auth: ['app', 'admin', 'user'],
      params: keyParams,
      response: {
        schema: z.object({ id: z.string(), object: z.literal('user_key'), revoked: z.literal(true) }),
      },
      async handler({ params, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        await customers.revokeUserKey(customer.id, params.key_id);
        return { id: params.key_id, object: 'user_key', revoked: true };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/spend-limit',
      summary: "The customer's own spend limit (over all its keys), with what it spent this period",
      tag: 'User keys',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: customerLimitSchema },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return { customer: customer.id, limit: spendLimitWire(await customers.customerLimit(customer.id)) };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/customers/:id/spend-limit',
      summary: "Set the customer's spend limit: an amount per day, week, month (UTC) or in total",
      tag: 'User keys',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      body: limitBody,
      response: { schema: customerLimitSchema },
      async handler({ params, body, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        const limit = await customers.setCustomerLimit(customer.id, limitSetting(body));
        return { customer: customer.id, limit: spendLimitWire(limit) };
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/customers/:id/spend-limit',
      summary: "Remove the customer's spend limit",
      tag: 'User keys',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: { schema: z.object({ customer: z.string(), limit: z.null() }) },
      async handler({ params, principal }) {
        assertManages(principal);
        const customer = await customers.resolve(params.id, principal);
        await customers.setCustomerLimit(customer.id, null);
        return { customer: customer.id, limit: null };
      },
    }),
  ];
}
