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
import { creditAmount, customerParams, identifier } from './schemas.ts';

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
      handler: ({ params, body, principal, idempotencyKey }) =>
        grants.void(principal, params.id, body?.reason, idempotencyKey),
    }),
  ];
}
