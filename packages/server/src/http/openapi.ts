/**
 * The parts of `/openapi.json` that are not native routes (route.ts describes those from their own
 * definitions): the error body and the table of error codes every operation may answer, the
 * OpenAI- and Anthropic-compatible gateway endpoints, the Stripe webhook, and the operational
 * endpoints (`/healthz`, `/readyz`, `/metrics`, `/openapi.json`).
 */
import { ErrorCodes } from '../shared/errors.ts';
import { EVENT_TYPES } from '../webhooks/events.ts';

/** What each code means to a client: the table in the reference, from the one list of codes. */
const ERROR_MEANINGS: Record<keyof typeof ErrorCodes, string> = {
  invalid_request: 'The request does not match the schema; `param` names the field.',
  missing_api_key: 'No key was sent.',
  invalid_api_key: 'The key is unknown or revoked.',
  invalid_user_key: 'The user key is unknown or revoked.',
  insufficient_credits: 'Not enough available credits; `required` and `available` say how many.',
  run_limit_exceeded: "The run's cap (`max_run_cost`) would be passed.",
  model_not_allowed: "The app's allowed_models leaves this model out.",
  forbidden: 'This key may not call this endpoint or act for this customer.',
  model_not_found: 'No such model in the catalog.',
  not_found: 'No such object (or not visible to this key).',
  idempotency_conflict: 'The Idempotency-Key was used with a different request.',
  already_redeemed: 'The gift code was already redeemed.',
  invalid_state: 'The object is not in a state that allows this (a captured hold, an expired code).',
  payload_too_large: 'The body is larger than the endpoint reads.',
  rate_limited: 'Too many requests; `Retry-After` says when to try again.',
  internal_error: 'A bug on the server; the request id is in `X-Request-Id`.',
  upstream_error: 'The model provider failed or is not configured.',
  unavailable: 'A dependency (database, Redis) does not answer, or a feature is off; retry later.',
  feature_limit_exceeded:
    "A track would pass the metered feature's allowance, or the plan lacks it; `reason`, `remaining` say which.",
  spend_limit_exceeded:
    "The customer's or the user key's spend limit would be passed; `limit`, `spent` (credits), `period` and `resets_at` say which and until when.",
};

export function errorCodeTable(): string {
  const rows = Object.entries(ErrorCodes).map(
    ([code, status]) => `| \`${code}\` | ${status} | ${ERROR_MEANINGS[code as keyof typeof ErrorCodes]} |`,
  );
  return ['| code | HTTP | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

const ERROR_SCHEMA = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string', enum: Object.keys(ErrorCodes) },
        message: { type: 'string' },
        param: { type: 'string' },
      },
      additionalProperties: true,
    },
  },
};

const json = (schema: unknown, example?: unknown) => ({
  'application/json': { schema, ...(example === undefined ? {} : { example }) },
});

const GATEWAY_REQUEST = {
  type: 'object',
  required: ['model'],
  properties: {
    model: { type: 'string', description: 'A catalog model id, e.g. openai/gpt-4o' },
    stream: { type: 'boolean' },
    max_tokens: { type: 'integer', minimum: 1 },
  },
  additionalProperties: true,
};

function gatewayOperation(dialect: 'OpenAI' | 'Anthropic', example: unknown) {
  return {
    summary: `${dialect}-compatible ${dialect === 'OpenAI' ? 'Chat Completions' : 'Messages'}: metered (hold before the call, exact capture after)`,
    description:
      `Point the official ${dialect} SDK at Tollgate with a user key as its API key. The call is held at its worst case before it reaches the provider and captured at the reported usage; ` +
      `with \`stream: true\` the answer is Server-Sent Events. Errors come in the ${dialect} error shape. Headers: \`x-tollgate-cost\` (credits charged, non-streaming).`,
    tags: ['Gateway'],
    security: [{ user: [] }, { bearerUser: [] }],
    requestBody: { required: true, content: json(GATEWAY_REQUEST, example) },
    responses: {
      '200': {
        description: 'The provider answer (JSON), or an event stream with `stream: true`',
        content: { ...json({ type: 'object' }), 'text/event-stream': { schema: { type: 'string' } } },
      },
      '4XX': { description: `An error in the ${dialect} shape`, content: json({ type: 'object' }) },
      '5XX': { description: `An error in the ${dialect} shape`, content: json({ type: 'object' }) },
    },
  };
}

const HEALTH_SCHEMA = {
  type: 'object',
  required: ['status'],
  properties: { status: { type: 'string', const: 'ok' } },
  additionalProperties: false,
};

const READY_SCHEMA = {
  type: 'object',
  required: ['status', 'checks'],
  properties: {
    status: { type: 'string', enum: ['ready', 'unavailable'] },
    checks: {
      type: 'object',
      additionalProperties: { type: 'string', enum: ['ok', 'unreachable', 'not_configured'] },
    },
  },
  additionalProperties: false,
};

/** The native routes' document plus the rest of what the server answers. */
/** What Tollgate POSTs to an app's endpoints (OpenAPI 3.1 `webhooks`). */
const OUTBOUND_EVENT = {
  post: {
    summary: 'An event, POSTed to each enabled endpoint that subscribed to its type',
    description: [
      'Delivered at least once: a non-2xx answer, a timeout or a refused connection is retried with exponential',
      'backoff and jitter, then the delivery is dead (replayable). Redirects are not followed. De-duplicate on',
      '`id` (also in `Tollgate-Event-Id`). Verify `Tollgate-Signature: t=<unix>,v1=<hex>` — HMAC-SHA256 of',
      '`"<t>.<raw body>"` with the endpoint secret; two `v1` while a rotated secret is still honoured — with',
      '`verifyWebhook` from `@tollgate/client`.',
    ].join(' '),
    parameters: [
      { name: 'Tollgate-Signature', in: 'header', required: true, schema: { type: 'string' } },
      { name: 'Tollgate-Event-Id', in: 'header', required: true, schema: { type: 'string' } },
      { name: 'Tollgate-Delivery-Id', in: 'header', required: true, schema: { type: 'string' } },
    ],
    requestBody: {
      required: true,
      content: json(
        {
          type: 'object',
          required: ['id', 'object', 'type', 'created', 'app', 'data'],
          properties: {
            id: { type: 'string' },
            object: { const: 'event' },
            type: { type: 'string', enum: [...EVENT_TYPES] },
            created: { type: 'integer', description: 'Unix seconds' },
            app: { type: 'string' },
            data: { type: 'object', description: 'customer, external_id, and the fields of the type' },
          },
        },
        {
          id: 'evt_3f1c…',
          object: 'event',
          type: 'balance.low',
          created: 1780000000,
          app: 'app_…',
          data: { customer: 'cus_…', external_id: 'user_42', balance: 4.5, threshold: 5 },
        },
      ),
    },
    responses: { '2XX': { description: 'Received (any other answer is retried)' } },
  },
};

export function completeOpenApiDocument(document: Record<string, any>): Record<string, any> {
  const paths = { ...document.paths };
  paths['/v1/chat/completions'] = {
    post: gatewayOperation('OpenAI', {
      model: 'openai/gpt-4o',
      messages: [{ role: 'user', content: 'Hello' }],
      max_tokens: 200,
    }),
  };
  paths['/v1/messages'] = {
    post: gatewayOperation('Anthropic', {
      model: 'anthropic/claude-sonnet-4-20250514',
      max_tokens: 200,
      messages: [{ role: 'user', content: 'Hello' }],
    }),
  };
  // The usage export is a file, not a JSON object: say what it streams.
  const usageExport = paths['/v1/usage/export']?.get;
  if (usageExport) {
    usageExport.responses = {
      ...usageExport.responses,
      '200': {
        description:
          'Every usage row, streamed: CSV with a header line (`format=csv`) or a JSON array of objects (`format=json`)',
        content: {
          'text/csv': {
            schema: { type: 'string' },
            example:
              'id,created_at,customer,model,type,endpoint,key_id,hold_id,input_tokens,output_tokens,cached_input_tokens,cost,provider_cost,referral_share,member_id\n',
          },
          'application/json': { schema: { type: 'array', items: { type: 'object' } } },
        },
      },
    };
    delete usageExport.responses['2XX'];
  }
  paths['/v1/webhooks/stripe'] = {
    post: {
      summary:
        "Stripe's events (checkout completed, invoices, refunds, auto top-up payment intents); signed with STRIPE_WEBHOOK_SECRET",
      description:
        'Point a Stripe webhook endpoint here. The `Stripe-Signature` header is checked over the raw body; an unsigned or mis-signed event is refused with 400. Each event is applied once.',
      tags: ['Webhooks'],
      security: [],
      parameters: [{ name: 'Stripe-Signature', in: 'header', required: true, schema: { type: 'string' } }],
      requestBody: { required: true, content: json({ type: 'object' }) },
      responses: {
        '200': {
          description: 'Received',
          content: json({ type: 'object', properties: { received: { type: 'boolean' } } }),
        },
        '4XX': { $ref: '#/components/responses/Error' },
        '5XX': { $ref: '#/components/responses/Error' },
      },
    },
  };
  paths['/healthz'] = {
    get: {
      summary: 'The process answers (liveness)',
      tags: ['Operations'],
      security: [],
      responses: { '200': { description: 'Alive', content: json(HEALTH_SCHEMA, { status: 'ok' }) } },
    },
  };
  paths['/readyz'] = {
    get: {
      summary: 'The database (and Redis, when configured) answer too (readiness)',
      tags: ['Operations'],
      security: [],
      responses: {
        '200': {
          description: 'Ready',
          content: json(READY_SCHEMA, {
            status: 'ready',
            checks: { database: 'ok', redis: 'not_configured' },
          }),
        },
        '503': { description: 'A dependency does not answer', content: json(READY_SCHEMA) },
      },
    },
  };
  paths['/metrics'] = {
    get: {
      summary: 'Prometheus metrics (admin key or TOLLGATE_METRICS_KEY; or on TOLLGATE_METRICS_ADDRESS)',
      tags: ['Operations'],
      security: [{ admin: [] }],
      responses: {
        '200': {
          description: 'Prometheus text format 0.0.4',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
        '403': { $ref: '#/components/responses/Error' },
      },
    },
  };
  paths['/openapi.json'] = {
    get: {
      summary: 'This document',
      tags: ['Operations'],
      security: [],
      responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } },
    },
  };
  return {
    ...document,
    info: {
      ...document.info,
      description: [
        'Credits and billing for AI apps, and an OpenAI/Anthropic-compatible metering gateway.',
        '',
        'Amounts are JSON numbers of credits (at most 6 decimals). Every money-moving POST accepts an `Idempotency-Key` header.',
        'Errors are `{"error":{"code","message",…}}` (the gateway endpoints answer in their provider\'s error shape):',
        '',
        errorCodeTable(),
      ].join('\n'),
    },
    paths,
    webhooks: { event: OUTBOUND_EVENT },
    components: {
      ...document.components,
      securitySchemes: {
        ...document.components?.securitySchemes,
        bearerUser: {
          type: 'http',
          scheme: 'bearer',
          description: 'User key (tg_uk_…) as a bearer token (the gateway, SDKs)',
        },
      },
      schemas: { ...document.components?.schemas, Error: ERROR_SCHEMA },
      responses: {
        ...document.components?.responses,
        Error: {
          description: 'An error with a stable `code` (see the table above)',
          content: json(
            { $ref: '#/components/schemas/Error' },
            { error: { code: 'not_found', message: 'No such customer' } },
          ),
        },
      },
    },
  };
}
