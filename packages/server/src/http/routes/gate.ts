import { z } from 'zod';
import {
  captureExample,
  captureSchema,
  extendSchema,
  type GateService,
  holdExample,
  holdSchema,
  holdStateSchema,
  voidSchema,
} from '../../gate/gate-service.ts';
import type { Clock } from '../../shared/clock.ts';
import { defineRoute } from '../route.ts';
import { creditAmount, identifier, metadata, usage } from './schemas.ts';

const holdBody = z.object({
  customer: identifier,
  model: z.string().min(1).max(300),
  quantity: creditAmount.optional(),
  usage: usage.optional(),
  amount: creditAmount.optional(),
  run_id: z.string().min(1).max(200).optional(),
  max_run_cost: creditAmount.optional(),
  /** The app's call for one of the customer's user keys: that key's spend limit applies too. */
  user_key_id: identifier.optional(),
  metadata,
  timeout_seconds: z
    .number()
    .int()
    .positive()
    .max(31 * 24 * 3600)
    .optional(),
});

const captureBody = z.object({
  quantity: creditAmount.optional(),
  usage: usage.optional(),
  amount: creditAmount.optional(),
});

const holdParams = z.object({ id: identifier });

export function gateRoutes(gate: GateService, clock: Clock) {
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/holds',
      summary: 'Reserve credits before work (priced from the catalog, or an explicit amount)',
      tag: 'Gate',
      auth: ['app', 'admin', 'user'],
      idempotent: 'ledger',
      body: holdBody,
      response: { status: 201, schema: holdSchema, example: holdExample },
      async handler({ body, principal, idempotencyKey, reply }) {
        const hold = await gate.hold(principal, body, idempotencyKey);
        reply.code(201);
        return hold;
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/holds/:id',
      summary: 'A hold',
      tag: 'Gate',
      auth: ['app', 'admin', 'user'],
      params: holdParams,
      response: { schema: holdStateSchema },
      handler: ({ params, principal }) => gate.getHold(principal, params.id),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/holds/:id/capture',
      summary: 'Charge the actual cost of the work (re-priced; never above the hold)',
      tag: 'Gate',
      auth: ['app', 'admin', 'user'],
      idempotent: 'ledger',
      params: holdParams,
      body: captureBody,
      response: { schema: captureSchema, example: captureExample },
      handler: ({ params, body, principal, idempotencyKey }) =>
        gate.capture(principal, params.id, body ?? {}, idempotencyKey),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/holds/:id/void',
      summary: 'Release a hold: failed work costs nothing',
      tag: 'Gate',
      auth: ['app', 'admin', 'user'],
      idempotent: 'ledger',
      params: holdParams,
      response: { schema: voidSchema },
      async handler({ params, principal, idempotencyKey, request }) {
        const reason = (request.body as { reason?: unknown } | undefined)?.reason;
        return gate.void(
          principal,
          params.id,
          typeof reason === 'string' ? reason.slice(0, 200) : undefined,
          idempotencyKey,
        );
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/holds/:id/extend',
      summary: 'Give a long job more time before the hold times out',
      tag: 'Gate',
      auth: ['app', 'admin', 'user'],
      params: holdParams,
      body: z.object({
        timeout_seconds: z
          .number()
          .int()
          .positive()
          .max(31 * 24 * 3600),
      }),
      response: { schema: extendSchema },
      handler: ({ params, body, principal }) => gate.extend(principal, params.id, body.timeout_seconds),
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/holds/:id/provider-key',
      summary: "Read the customer's provider key for a byok hold (once)",
      tag: 'Gate',
      auth: ['app', 'admin'],
      params: holdParams,
      response: {
        schema: z.object({ hold: z.string(), provider: z.string(), key: z.string() }),
      },
      handler: ({ params, principal }) => gate.revealProviderKey(principal, params.id, clock.now()),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/charges',
      summary: 'One-shot hold and capture',
      tag: 'Gate',
      auth: ['app', 'admin', 'user'],
      idempotent: 'ledger',
      body: holdBody.omit({ timeout_seconds: true }),
      response: { status: 201, schema: captureSchema, example: captureExample },
      async handler({ body, principal, idempotencyKey, reply }) {
        const charge = await gate.charge(principal, body, idempotencyKey);
        reply.code(201);
        return charge;
      },
    }),
  ];
}
