import { z } from 'zod';
import type { Principal } from '../../auth/principals.ts';
import type { CustomersService } from '../../customers/customers-service.ts';
import { TollgateError } from '../../shared/errors.ts';
import { microsToCredits, parseCredits } from '../../shared/money.ts';
import { ALL_EVENTS, EVENT_TYPES } from '../../webhooks/events.ts';
import type {
  AttemptRow,
  DeliveryRow,
  EndpointRow,
  EventRow,
  Scope,
  WebhooksService,
} from '../../webhooks/webhooks-service.ts';
import { defineRoute } from '../route.ts';
import { creditsSchema, fullListSchema, listSchema, timestampSchema } from '../wire.ts';
import { creditAmount, identifier } from './schemas.ts';

const eventType = z.enum([...EVENT_TYPES, ALL_EVENTS] as [string, ...string[]]);
const url = z
  .string()
  .max(2000)
  .refine((text) => URL.canParse(text), 'must be an absolute http or https URL');
const endpointFields = {
  url,
  /** The event types it receives (`*`: all). */
  events: z
    .array(eventType)
    .min(1)
    .max(EVENT_TYPES.length + 1),
  description: z.string().max(500).nullable().optional(),
  enabled: z.boolean().optional(),
};
const listLimit = z.coerce.number().int().min(1).max(200).default(50);
const BALANCE_LEVELS = ['above', 'low', 'depleted'] as const;

const time = (value: Date | string | null) => (value === null ? null : new Date(value).toISOString());

function endpointWire(row: EndpointRow, withSecret = false) {
  return {
    id: row.id,
    object: 'webhook_endpoint',
    app: row.app_id,
    url: row.url,
    description: row.description,
    events: row.event_types,
    enabled: row.enabled,
    ...(withSecret ? { secret: row.secret } : {}),
    previous_secret_expires_at: time(row.previous_secret_expires_at),
    created_at: time(row.created_at),
    updated_at: time(row.updated_at),
  };
}

function eventWire(row: EventRow) {
  return {
    id: row.id,
    object: 'event',
    type: row.type,
    app: row.app_id,
    customer: row.customer_id,
    created: Math.floor(new Date(row.created_at).getTime() / 1000),
    created_at: time(row.created_at),
    data: row.data,
  };
}

function deliveryWire(row: DeliveryRow & { attempts_made: AttemptRow[] }) {
  return {
    id: row.id,
    object: 'webhook_delivery',
    event: row.event_id,
    endpoint: row.endpoint_id,
    channel: row.channel,
    status: row.status,
    attempt_count: row.attempts,
    next_attempt_at: row.status === 'pending' ? time(row.next_attempt_at) : null,
    last_status_code: row.last_status_code,
    last_error: row.last_error,
    created_at: time(row.created_at),
    completed_at: time(row.completed_at),
    attempts: row.attempts_made.map((attempt) => ({
      attempt: attempt.attempt,
      started_at: time(attempt.started_at),
      latency_ms: attempt.latency_ms,
      status_code: attempt.status_code,
      error: attempt.error,
    })),
  };
}

export const webhookEndpointSchema = z.object({
  id: z.string(),
  object: z.literal('webhook_endpoint'),
  app: z.string(),
  url: z.string(),
  description: z.string().nullable(),
  events: z.array(z.string()),
  enabled: z.boolean(),
  secret: z.string().optional().describe('The signing secret: only when created or rotated'),
  previous_secret_expires_at: timestampSchema.nullable(),
  created_at: timestampSchema,
  updated_at: timestampSchema,
});

const endpointExample = {
  id: 'we_1',
  object: 'webhook_endpoint',
  app: 'app_1',
  url: 'https://app.example/hooks/tollgate',
  description: null,
  events: ['balance.low', 'purchase.completed'],
  enabled: true,
  secret: 'whsec_…',
  previous_secret_expires_at: null,
  created_at: '2026-01-01T00:00:00.000Z',
  updated_at: '2026-01-01T00:00:00.000Z',
};

export const eventSchema = z.object({
  id: z.string(),
  object: z.literal('event'),
  type: z.string(),
  app: z.string(),
  customer: z.string(),
  created: z.number().int().describe('Unix seconds'),
  created_at: timestampSchema,
  data: z.record(z.string(), z.unknown()),
});

export const webhookDeliverySchema = z.object({
  id: z.string(),
  object: z.literal('webhook_delivery'),
  event: z.string(),
  endpoint: z.string().nullable(),
  channel: z.enum(['webhook', 'email']),
  status: z.enum(['pending', 'succeeded', 'dead']),
  attempt_count: z.number().int(),
  next_attempt_at: timestampSchema.nullable(),
  last_status_code: z.number().int().nullable(),
  last_error: z.string().nullable(),
  created_at: timestampSchema,
  completed_at: timestampSchema.nullable(),
  attempts: z.array(
    z.object({
      attempt: z.number().int(),
      started_at: timestampSchema,
      latency_ms: z.number().nullable(),
      status_code: z.number().int().nullable(),
      error: z.string().nullable(),
    }),
  ),
});

const appAlertsSchema = z.object({
  object: z.literal('alerts'),
  app: z.string(),
  low_balance: creditsSchema.nullable(),
});
const customerAlertsSchema = z.object({
  object: z.literal('alerts'),
  customer: z.string(),
  low_balance: creditsSchema.nullable().describe("The customer's own threshold (null: the app's)"),
  effective_low_balance: creditsSchema.nullable(),
  level: z.enum(BALANCE_LEVELS),
});

function scopeOf(principal: Principal): Scope {
  return { appId: principal.kind === 'app' ? principal.appId : null };
}

/** An app key acts on its own app; the operator names one (`app`), for creating and listing. */
function appOf(principal: Principal, named: string | undefined): string {
  if (principal.kind === 'app') {
    if (named !== undefined && named !== principal.appId)
      throw new TollgateError('not_found', `No such app: ${named}`);
    return principal.appId;
  }
  if (!named)
    throw new TollgateError('invalid_request', 'app is required with the admin key', { param: 'app' });
  return named;
}

const threshold = z.object({ low_balance: creditAmount.nullable() }).strict();

function parseThreshold(value: number | string | null): bigint | null {
  if (value === null) return null;
  const micros = parseCredits(value, 'low_balance');
  if (micros < 0n) {
    throw new TollgateError('invalid_request', 'low_balance must not be negative', {
      param: 'low_balance',
    });
  }
  return micros;
}

const credits = (micros: bigint | null) => (micros === null ? null : microsToCredits(micros));

export function webhookRoutes(webhooks: WebhooksService, customers: CustomersService) {
  const tag = 'Webhooks';
  const auth: Principal['kind'][] = ['app', 'admin'];
  const customerAlerts = async (customerId: string) => {
    const alert = await webhooks.customerAlert(customerId);
    return {
      object: 'alerts',
      customer: customerId,
      low_balance: credits(alert.overrideMicros),
      effective_low_balance: credits(alert.effectiveMicros),
      level: BALANCE_LEVELS[alert.level],
    };
  };
  return [
    defineRoute({
      method: 'POST',
      url: '/v1/webhook-endpoints',
      summary:
        'Register a webhook endpoint; the answer shows its signing secret (once; rotate to get a new one)',
      tag,
      auth,
      body: z.object({ ...endpointFields, app: identifier.optional() }).strict(),
      response: { status: 201, schema: webhookEndpointSchema, example: endpointExample },
      async handler({ body, principal, reply }) {
        const row = await webhooks.createEndpoint(appOf(principal, body.app), {
          url: body.url,
          eventTypes: body.events,
          description: body.description,
          enabled: body.enabled,
        });
        reply.code(201);
        return endpointWire(row, true);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/webhook-endpoints',
      summary: "The app's webhook endpoints (the operator: every app's, or one app's with ?app=)",
      tag,
      auth,
      query: z.object({ app: identifier.optional() }),
      response: { schema: fullListSchema(webhookEndpointSchema) },
      async handler({ query, principal }) {
        const appId = principal.kind === 'app' ? appOf(principal, query.app) : (query.app ?? null);
        return {
          object: 'list',
          data: (await webhooks.listEndpoints(appId)).map((row) => endpointWire(row)),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/webhook-endpoints/:id',
      summary: 'A webhook endpoint',
      tag,
      auth,
      params: z.object({ id: identifier }),
      response: { schema: webhookEndpointSchema },
      async handler({ params, principal }) {
        return endpointWire(await webhooks.endpoint(scopeOf(principal), params.id));
      },
    }),
    defineRoute({
      method: 'PATCH',
      url: '/v1/webhook-endpoints/:id',
      summary: 'Change a webhook endpoint (URL, event types, description, enabled)',
      tag,
      auth,
      params: z.object({ id: identifier }),
      body: z
        .object({
          url: url.optional(),
          events: endpointFields.events.optional(),
          description: endpointFields.description,
          enabled: z.boolean().optional(),
        })
        .strict(),
      response: { schema: webhookEndpointSchema },
      async handler({ params, body, principal }) {
        const row = await webhooks.updateEndpoint(scopeOf(principal), params.id, {
          url: body.url,
          eventTypes: body.events,
          description: body.description,
          enabled: body.enabled,
        });
        return endpointWire(row);
      },
    }),
    defineRoute({
      method: 'DELETE',
      url: '/v1/webhook-endpoints/:id',
      summary: 'Delete a webhook endpoint (what was still owed to it is dead-lettered)',
      tag,
      auth,
      params: z.object({ id: identifier }),
      response: {
        schema: z.object({ id: z.string(), object: z.literal('webhook_endpoint'), deleted: z.literal(true) }),
      },
      async handler({ params, principal }) {
        await webhooks.deleteEndpoint(scopeOf(principal), params.id);
        return { id: params.id, object: 'webhook_endpoint', deleted: true };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/webhook-endpoints/:id/rotate-secret',
      summary:
        'Give an endpoint a new signing secret; the old one keeps signing too for previous_secret_valid_seconds (default 86400)',
      tag,
      auth,
      params: z.object({ id: identifier }),
      body: z
        .object({
          previous_secret_valid_seconds: z
            .number()
            .int()
            .min(0)
            .max(7 * 86400)
            .optional(),
        })
        .strict()
        .optional(),
      response: { schema: webhookEndpointSchema },
      async handler({ params, body, principal }) {
        const row = await webhooks.rotateSecret(
          scopeOf(principal),
          params.id,
          body?.previous_secret_valid_seconds ?? 86400,
        );
        return endpointWire(row, true);
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/events',
      summary: "The app's events, newest first (filter by type or customer; page with starting_after)",
      tag,
      auth,
      query: z.object({
        type: eventType.optional(),
        customer: identifier.optional(),
        starting_after: identifier.optional(),
        limit: listLimit,
      }),
      response: {
        schema: listSchema(eventSchema),
        example: {
          object: 'list',
          data: [
            {
              id: 'evt_1',
              object: 'event',
              type: 'balance.low',
              app: 'app_1',
              customer: 'cus_8f3k2m9x1q7z',
              created: 1767225600,
              created_at: '2026-01-01T00:00:00.000Z',
              data: { balance: 0.8, threshold: 1 },
            },
          ],
          has_more: false,
        },
      },
      async handler({ query, principal }) {
        const page = await webhooks.listEvents(scopeOf(principal), {
          type: query.type,
          customerId: query.customer,
          before: query.starting_after,
          limit: query.limit,
        });
        return { object: 'list', data: page.data.map(eventWire), has_more: page.hasMore };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/events/:id',
      summary: 'An event',
      tag,
      auth,
      params: z.object({ id: identifier }),
      response: { schema: eventSchema },
      async handler({ params, principal }) {
        return eventWire(await webhooks.event(scopeOf(principal), params.id));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/events/:id/replay',
      summary:
        'Send an event again (same event id): to one endpoint, or to every enabled endpoint that wants its type',
      tag,
      auth,
      params: z.object({ id: identifier }),
      body: z.object({ endpoint: identifier.optional() }).strict().optional(),
      response: { status: 202, schema: fullListSchema(webhookDeliverySchema) },
      async handler({ params, body, principal, reply }) {
        const rows = await webhooks.replayEvent(scopeOf(principal), params.id, body?.endpoint);
        reply.code(202);
        return {
          object: 'list',
          data: rows.map((row) => deliveryWire({ ...row, attempts_made: [] })),
        };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/webhook-deliveries',
      summary: 'Delivery history, newest first, each with its attempts (status code, latency, error)',
      tag,
      auth,
      query: z.object({
        event: identifier.optional(),
        endpoint: identifier.optional(),
        status: z.enum(['pending', 'succeeded', 'dead']).optional(),
        limit: listLimit,
      }),
      response: { schema: listSchema(webhookDeliverySchema) },
      async handler({ query, principal }) {
        const page = await webhooks.listDeliveries(scopeOf(principal), {
          eventId: query.event,
          endpointId: query.endpoint,
          status: query.status,
          limit: query.limit,
        });
        return { object: 'list', data: page.data.map(deliveryWire), has_more: page.hasMore };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/webhook-deliveries/:id',
      summary: 'One delivery with its attempts',
      tag,
      auth,
      params: z.object({ id: identifier }),
      response: { schema: webhookDeliverySchema },
      async handler({ params, principal }) {
        return deliveryWire(await webhooks.delivery(scopeOf(principal), params.id));
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/webhook-deliveries/:id/replay',
      summary: 'Send a delivery again, as a new delivery of the same event to the same endpoint',
      tag,
      auth,
      params: z.object({ id: identifier }),
      response: { status: 202, schema: webhookDeliverySchema },
      async handler({ params, principal, reply }) {
        const row = await webhooks.replayDelivery(scopeOf(principal), params.id);
        reply.code(202);
        return deliveryWire({ ...row, attempts_made: [] });
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/apps/:id/alerts',
      summary: "The app's default low-balance threshold (credits; null: no balance.low)",
      tag,
      auth,
      params: z.object({ id: identifier }),
      response: { schema: appAlertsSchema },
      async handler({ params, principal }) {
        const appId = appOf(principal, params.id);
        return {
          object: 'alerts',
          app: appId,
          low_balance: credits(await webhooks.appThreshold(appId)),
        };
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/apps/:id/alerts',
      summary: "Set the app's default low-balance threshold (crossing it downwards emits balance.low once)",
      tag,
      auth,
      params: z.object({ id: identifier }),
      body: threshold,
      response: { schema: appAlertsSchema },
      async handler({ params, body, principal }) {
        const appId = appOf(principal, params.id);
        const micros = parseThreshold(body.low_balance);
        await webhooks.setAppThreshold(appId, micros);
        return { object: 'alerts', app: appId, low_balance: credits(micros) };
      },
    }),
    defineRoute({
      method: 'GET',
      url: '/v1/customers/:id/alerts',
      summary: "A customer's low-balance threshold (its own, the effective one) and what was last reported",
      tag,
      auth: ['app', 'admin', 'user'],
      params: z.object({ id: identifier }),
      response: { schema: customerAlertsSchema },
      async handler({ params, principal }) {
        const customer = await customers.resolve(params.id, principal);
        return customerAlerts(customer.id);
      },
    }),
    defineRoute({
      method: 'PUT',
      url: '/v1/customers/:id/alerts',
      summary: "Set a customer's own low-balance threshold (null: the app's default)",
      tag,
      auth,
      params: z.object({ id: identifier }),
      body: threshold,
      response: { schema: customerAlertsSchema },
      async handler({ params, body, principal }) {
        const customer = await customers.resolve(params.id, principal);
        await webhooks.setCustomerThreshold(customer.id, parseThreshold(body.low_balance));
        return customerAlerts(customer.id);
      },
    }),
  ];
}
