/** Entitlements: what a customer's plan and packs unlock, `check` before an action, `track` after a metered one. */
import { z } from 'zod';
import type { CustomersService } from '../../customers/customers-service.ts';
import type { Entitlement, EntitlementsService } from '../../entitlements/entitlements-service.ts';
import { defineRoute } from '../route.ts';
import { customerParams, identifier } from './schemas.ts';

const featureName = z.string().min(1).max(64);
const quantity = z.number().int().positive().max(Number.MAX_SAFE_INTEGER);

const entitlementSchema = z.object({
  feature: z.string(),
  kind: z.string().describe('switch, limit or metered'),
  enabled: z.boolean(),
  limit: z.number().nullable(),
  allowance: z.number().nullable(),
  used: z.number().nullable(),
  remaining: z.number().nullable(),
  resets_at: z.string().nullable(),
  sources: z.array(z.string()).describe('plan:<code>, pack:<code>'),
});

function entitlementWire(entitlement: Entitlement) {
  return {
    feature: entitlement.feature,
    kind: entitlement.kind,
    enabled: entitlement.enabled,
    limit: entitlement.limit,
    allowance: entitlement.allowance,
    used: entitlement.used,
    remaining: entitlement.remaining,
    resets_at: entitlement.resetsAt,
    sources: entitlement.sources,
  };
}

export function entitlementRoutes(deps: { customers: CustomersService; entitlements: EntitlementsService }) {
  const { customers, entitlements } = deps;
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/entitlements',
      summary:
        "What the customer's plan and bought packs unlock: switches, limits, metered allowances with what is used and when it resets",
      tag: 'Entitlements',
      auth: ['app', 'admin', 'user'],
      params: customerParams,
      response: {
        schema: z.object({
          object: z.literal('entitlements'),
          customer: z.string(),
          plan: z.string().nullable(),
          period_start: z.string().nullable(),
          period_end: z.string().nullable(),
          features: z.array(entitlementSchema),
        }),
      },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        const view = await entitlements.entitlements(customer.id);
        return {
          object: 'entitlements',
          customer: customer.id,
          plan: view.plan,
          period_start: view.periodStart?.toISOString() ?? null,
          period_end: view.periodEnd?.toISOString() ?? null,
          features: view.features.map(entitlementWire),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/check',
      summary:
        'May the customer use this feature (quantity: the total a limit would reach, or how much more of a metered one)? → {allowed, remaining, reason}',
      tag: 'Entitlements',
      auth: ['app', 'admin', 'user'],
      body: z.object({ customer: identifier, feature: featureName, quantity: quantity.default(1) }).strict(),
      response: {
        schema: z.object({
          object: z.literal('check'),
          customer: z.string(),
          feature: z.string(),
          allowed: z.boolean(),
          remaining: z.number().int().nullable(),
          reason: z.enum(['not_included', 'limit_exceeded', 'allowance_exhausted']).nullable(),
          entitlement: entitlementSchema,
        }),
        example: {
          object: 'check',
          customer: 'cus_1',
          feature: 'video_exports',
          allowed: true,
          remaining: 87,
          reason: null,
          entitlement: {
            feature: 'video_exports',
            kind: 'metered',
            enabled: true,
            limit: null,
            allowance: 100,
            used: 13,
            remaining: 87,
            resets_at: '2026-02-01T00:00:00.000Z',
            sources: ['plan:pro'],
          },
        },
      },
      async handler({ body, principal }) {
        const customer = await customers.resolve(body.customer, principal);
        const result = await entitlements.check(customer.id, body.feature, body.quantity);
        return {
          object: 'check',
          customer: customer.id,
          feature: result.feature,
          allowed: result.allowed,
          remaining: result.remaining,
          reason: result.reason,
          entitlement: entitlementWire(result.entitlement),
        };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/track',
      summary:
        "Record use of a metered feature against the period's allowance (402 feature_limit_exceeded past it; idempotent with Idempotency-Key)",
      tag: 'Entitlements',
      auth: ['app', 'admin'],
      idempotent: 'ledger',
      body: z.object({ customer: identifier, feature: featureName, quantity: quantity.default(1) }).strict(),
      response: {
        status: 201,
        schema: z.object({
          id: z.string(),
          object: z.literal('track'),
          customer: z.string(),
          feature: z.string(),
          quantity: z.number().int(),
          used: z.number(),
          remaining: z.number(),
          allowance: z.number(),
          period_start: z.string(),
          resets_at: z.string().nullable(),
        }),
      },
      async handler({ body, principal, idempotencyKey, reply }) {
        const customer = await customers.resolve(body.customer, principal);
        const tracked = await entitlements.track(customer.id, body.feature, body.quantity, idempotencyKey);
        reply.code(201);
        return {
          id: tracked.id,
          object: 'track',
          customer: customer.id,
          feature: tracked.feature,
          quantity: tracked.quantity,
          used: tracked.used,
          remaining: tracked.remaining,
          allowance: tracked.allowance,
          period_start: tracked.periodStart,
          resets_at: tracked.resetsAt,
        };
      },
    }),
  ];
}
