/**
 * Grants as a resource: create (now or at a future `effective_at`, with a priority, a scope and a
 * category), list a customer's with what remains and what holds reserve, void one's remainder
 * (grants/grants-service.ts; the spend order in ledger/spend-order.ts).
 */
import { z } from 'zod';
import type { GrantsService } from '../../grants/grants-service.ts';
import { grantScopeSchema } from '../../ledger/inputs.ts';
import { GRANT_SOURCES, MAX_PRIORITY } from '../../ledger/spend-order.ts';
import { defineRoute } from '../route.ts';
import { creditsSchema, listSchema, timestampSchema } from '../wire.ts';
import { creditAmount, customerParams, identifier } from './schemas.ts';

/** What a grant may pay for: model types and/or model ids; null: anything. */
const scopeSchema = z
  .object({ types: z.array(z.string()).optional(), models: z.array(z.string()).optional() })
  .nullable();

/** grantWire and scheduledWire (grants/grants-service.ts): a live grant, or one not in force yet. */
const grantSchema = z.object({
  id: z.string(),
  object: z.literal('grant'),
  customer: z.string(),
  status: z.enum(['active', 'scheduled', 'voided']),
  source: z.enum(GRANT_SOURCES),
  category: z.enum(['paid', 'promotional']),
  priority: z.number().int().describe('Lower is spent first'),
  amount: creditsSchema,
  remaining: creditsSchema.describe('0 while scheduled'),
  reserved: creditsSchema.describe('Reserved by open holds'),
  available: creditsSchema.describe('remaining − reserved (0 once voided or while scheduled)'),
  scope: scopeSchema,
  effective_at: timestampSchema.nullable().describe('When a scheduled grant is credited; null once live'),
  expires_at: timestampSchema.nullable(),
  voided_at: timestampSchema.nullable(),
  created_at: timestampSchema,
});

const grantExample = {
  id: 'gr_9kT2m4Xq7vLp',
  object: 'grant',
  customer: 'cus_8f3k2m9x1q7z',
  status: 'active',
  source: 'promo',
  category: 'promotional',
  priority: 50,
  amount: 10,
  remaining: 7.5,
  reserved: 0.5,
  available: 7,
  scope: { types: ['chat'] },
  effective_at: null,
  expires_at: '2026-03-01T00:00:00.000Z',
  voided_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
};

/** A grant in force at once (gate.grant, with its category, priority and scope). */
const grantedSchema = z.object({
  id: z.string(),
  object: z.literal('grant'),
  customer: z.string(),
  status: z.literal('active'),
  source: z.enum(GRANT_SOURCES),
  category: z.enum(['paid', 'promotional']),
  priority: z.number().int(),
  amount: creditsSchema,
  scope: scopeSchema,
  effective_at: z.null(),
  expires_at: timestampSchema.nullable().describe('As sent'),
  transaction_id: z.string(),
  balance: creditsSchema.describe("The customer's balance after the grant"),
});

/** A scheduled grant (not in force until `effective_at`); `replayed` when an Idempotency-Key repeats it. */
const scheduledSchema = grantSchema.extend({
  status: z.literal('scheduled'),
  replayed: z.literal(true).optional(),
});

/** A negative amount with source "adjustment": a debit, no grant. */
const adjustmentSchema = z.object({
  customer: z.string(),
  transaction_id: z.string(),
  balance: creditsSchema.describe("The customer's balance after the debit"),
});

/** POST /v1/grants/:id/void of a live grant: its unreserved remainder written off. */
const voidedSchema = z.object({
  id: z.string(),
  object: z.literal('grant'),
  customer: z.string(),
  status: z.literal('voided'),
  voided: creditsSchema.describe('Written off now'),
  reserved: creditsSchema.describe('Still reserved by open holds, left to them'),
  remaining: creditsSchema,
  balance: creditsSchema,
  transaction_id: z.string().nullable().describe('null when nothing was left to write off'),
  replayed: z.literal(true).optional(),
});

/** … of a scheduled grant: cancelled before it was ever credited. */
const cancelledSchema = grantSchema.extend({
  status: z.literal('voided'),
  voided: z.literal(0),
  balance: z.null(),
  transaction_id: z.null(),
});

export function grantRoutes(grants: GrantsService) {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/customers/:id/grants',
      summary:
        'Grant credits, now or from a future effective_at, with a priority (lower spent first) and a scope (model types or ids); or adjust with a negative amount and source "adjustment"',
      tag: 'Grants',
      auth: ['app', 'admin'],
      idempotent: 'ledger',
      params: customerParams,
      body: z.object({
        amount: creditAmount,
        source: z.enum(GRANT_SOURCES).optional(),
        category: z.enum(['paid', 'promotional']).optional(),
        priority: z.number().int().min(0).max(MAX_PRIORITY).optional(),
        effective_at: z.string().datetime({ offset: true }).optional(),
        expires_at: z.string().datetime({ offset: true }).optional(),
        scope: grantScopeSchema.optional(),
        reason: z.string().max(500).optional(),
      }),
      response: {
        status: 201,
        schema: z.union([grantedSchema, scheduledSchema, adjustmentSchema]),
        description:
          'The grant (in force, or scheduled for `effective_at`); for a negative adjustment, the debit and the balance after it',
        example: {
          id: 'gr_9kT2m4Xq7vLp',
          object: 'grant',
          customer: 'cus_8f3k2m9x1q7z',
          status: 'active',
          source: 'promo',
          category: 'promotional',
          priority: 50,
          amount: 10,
          scope: { types: ['chat'] },
          effective_at: null,
          expires_at: '2026-03-01T00:00:00.000Z',
          transaction_id: 'txn_4hQ8',
          balance: 22.5,
        },
      },
      async handler({ params, body, principal, idempotencyKey, reply }) {
        const result = await grants.create(principal, params.id, body, idempotencyKey);
        reply.code(201);
        return result;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/grants',
      summary:
        "A customer's live grants in spend order (remaining, reserved, available), then its scheduled ones",
      tag: 'Grants',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: {
        schema: listSchema(grantSchema).extend({
          customer: z.string(),
          balance: creditsSchema,
          pending: creditsSchema,
          available: creditsSchema,
          scheduled: creditsSchema.describe('Credits of the grants not in force yet'),
        }),
        example: {
          object: 'list',
          customer: 'cus_8f3k2m9x1q7z',
          balance: 7.5,
          pending: 0.5,
          available: 7,
          scheduled: 0,
          data: [grantExample],
          has_more: false,
        },
      },
      handler: ({ params, principal }) => grants.list(principal, params.id),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/grants/:id/void',
      summary:
        'Void a grant: its unreserved remainder is written off now, what open holds reserve stays theirs (a scheduled grant is cancelled)',
      tag: 'Grants',
      auth: ['app', 'admin'],
      idempotent: 'ledger',
      params: z.object({ id: identifier }),
      body: z
        .object({ reason: z.string().max(500).optional() })
        .strict()
        .optional(),
      response: {
        schema: z.union([voidedSchema, cancelledSchema]),
        description: 'A live grant voided, or a scheduled one cancelled',
        example: {
          id: 'gr_9kT2m4Xq7vLp',
          object: 'grant',
          customer: 'cus_8f3k2m9x1q7z',
          status: 'voided',
          voided: 7,
          reserved: 0.5,
          remaining: 0.5,
          balance: 0.5,
          transaction_id: 'txn_5jR9',
        },
      },
      handler: ({ params, body, principal, idempotencyKey }) =>
        grants.void(principal, params.id, body?.reason, idempotencyKey),
    }),
  ];
}
