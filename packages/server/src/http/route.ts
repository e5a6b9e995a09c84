/**
 * Routes are declared once with their schemas and who may call them; `registerRoutes` wires them into
 * Fastify (validation at the edge, authentication, the error dialect) and `openApiDocument` describes
 * the same list, so the reference cannot drift from what the server does.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { KEY_PREFIX } from '../auth/keys.ts';
import type { KeyStore } from '../auth/principals.ts';
import { type Principal, type PrincipalKind, presentedKey } from '../auth/principals.ts';
import { type RateLimiter, takeCustomerRequest } from '../ratelimit/rate-limiter.ts';
import { TollgateError } from '../shared/errors.ts';
import { parseInput } from '../shared/validation.ts';
import type { ErrorDialect } from './error-mapper.ts';
import type { HttpIdempotency } from './idempotency.ts';

export interface RouteContext<Body, Query, Params> {
  request: FastifyRequest;
  reply: FastifyReply;
  principal: Principal;
  body: Body;
  query: Query;
  params: Params;
  /** The Idempotency-Key header, when sent. */
  idempotencyKey: string | undefined;
}

export interface RouteDefinition<Body = unknown, Query = unknown, Params = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  summary: string;
  tag: string;
  /** Who may call it; `public` needs no key. */
  auth: PrincipalKind[] | 'public';
  body?: z.ZodType<Body>;
  query?: z.ZodType<Query>;
  params?: z.ZodType<Params>;
  dialect?: ErrorDialect;
  /**
   * Money-moving POST that accepts Idempotency-Key: `ledger` — the handler passes the key to its ledger
   * operation; `replay` — the HTTP layer stores the first answer and replays it (http/idempotency.ts).
   */
  idempotent?: 'ledger' | 'replay';
  /** Largest body this route reads; default NATIVE_BODY_LIMIT_BYTES. A larger one is 413 `payload_too_large`. */
  bodyLimitBytes?: number;
  /**
   * What a success answers, for the reference (`/openapi.json`) and, with `checkResponses`, checked
   * against every real answer. `status`: the usual one (default 200); `otherStatuses`: other successes
   * with the same body (e.g. 200 when a create found the record already there). `alternatives`: the
   * same operation answering another media type (a CSV export); `streamed`: the body is written
   * straight to the socket, so it can only be documented, not checked. Without it, "a JSON object".
   */
  response?: RouteResponse;
  handler(context: RouteContext<Body, Query, Params>): Promise<unknown> | unknown;
}

export interface RouteResponse {
  status?: number;
  otherStatuses?: number[];
  schema: z.ZodType;
  example?: unknown;
  description?: string;
  alternatives?: { contentType: string; description: string }[];
  streamed?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: a heterogenous list of routes
export type AnyRoute = RouteDefinition<any, any, any>;

export function defineRoute<Body, Query, Params>(route: RouteDefinition<Body, Query, Params>): AnyRoute {
  return route as AnyRoute;
}

const PUBLIC_PRINCIPAL = { kind: 'admin' } as const;

export async function authenticate(
  keys: KeyStore,
  headers: FastifyRequest['headers'],
  allowed: PrincipalKind[],
): Promise<Principal> {
  const key = presentedKey(headers);
  if (!key) throw new TollgateError('missing_api_key', 'No API key provided');
  const principal = await keys.resolve(key);
  if (!principal) {
    throw key.startsWith(KEY_PREFIX.user)
      ? new TollgateError('invalid_user_key', 'The user key is invalid or has been revoked')
      : new TollgateError('invalid_api_key', 'The API key is invalid or has been revoked');
  }
  if (!allowed.includes(principal.kind)) {
    throw new TollgateError('forbidden', `This endpoint is not available to a ${principal.kind} key`);
  }
  return principal;
}

function principalKey(principal: Principal): string {
  if (principal.kind === 'app') return `app:${principal.appId}`;
  if (principal.kind === 'user') return `user:${principal.customerId}`;
  return principal.kind;
}

const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** NUL, or half of a surrogate pair: text PostgreSQL cannot store (`text` and `jsonb` both refuse it). */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (text: string) => text.includes('\u0000') || LONE_SURROGATE.test(text);
const MAX_INPUT_DEPTH = 32;

/**
 * Refuses input the database cannot hold before it gets there (it would fail as a 500): strings
 * (values or keys) with NUL or a lone surrogate, and JSON nested deeper than any request needs.
 * Iterative, so a hostile nesting depth cannot overflow the stack.
 */
export function assertStorableInput(value: unknown, where: string): void {
  const pending: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (pending.length > 0) {
    const { value: item, depth } = pending.pop()!;
    if (typeof item === 'string') {
      if (unstorable(item)) {
        throw new TollgateError(
          'invalid_request',
          `${where} contains a NUL character or invalid UTF-16 text`,
        );
      }
      continue;
    }
    if (typeof item !== 'object' || item === null) continue;
    if (depth >= MAX_INPUT_DEPTH) throw new TollgateError('invalid_request', `${where} is nested too deeply`);
    for (const [key, child] of Object.entries(item)) {
      if (unstorable(key)) {
        throw new TollgateError(
          'invalid_request',
          `${where} contains a NUL character or invalid UTF-16 text`,
        );
      }
      pending.push({ value: child, depth: depth + 1 });
    }
  }
}

/**
 * What a native route reads at most: room for any legitimate request (the largest are lists of model
 * ids and generation inputs, which pass media by URL) while one request cannot hold megabytes of
 * memory or storage. The gateway's endpoints are registered apart, with their own limit.
 */
export const NATIVE_BODY_LIMIT_BYTES = 1024 * 1024;

export interface RegisterRoutesOptions {
  idempotency?: HttpIdempotency;
  /**
   * Every request made with a user key draws one token from its customer's bucket, whichever key and
   * endpoint (the gateway draws from the same one). App and admin keys act for many customers and
   * are not limited here.
   */
  customerLimiter?: RateLimiter;
  /**
   * Parse every JSON answer of a route that declares `response` with its schema; a mismatch becomes a
   * 500 `internal_error` naming the route and the issue (and a console error). For the tests
   * (`TOLLGATE_CHECK_RESPONSES=1`), so the whole e2e suite compares real answers with the reference;
   * off in production, where it costs nothing.
   */
  checkResponses?: boolean;
}

/** The mismatch between a route's real answer and its documented one, or null when it matches. */
export function responseMismatch(route: AnyRoute, status: number, body: unknown): string | null {
  const response = route.response;
  if (!response || status < 200 || status >= 300) return null;
  const statuses = [response.status ?? 200, ...(response.otherStatuses ?? [])];
  if (!statuses.includes(status)) return `answered ${status}, documented ${statuses.join(' or ')}`;
  // What the client receives: the JSON text, not the objects (dates become strings, undefined vanishes).
  const sent = body === undefined ? undefined : JSON.parse(JSON.stringify(body));
  const result = response.schema.safeParse(sent);
  if (result.success) return null;
  return result.error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`)
    .join('; ');
}

function checkedAnswer(route: AnyRoute, reply: FastifyReply, body: unknown): unknown {
  // Streamed or hijacked answers, and non-JSON ones (a CSV), are not JSON values to check.
  if (reply.sent || route.response?.streamed || typeof body === 'string' || Buffer.isBuffer(body))
    return body;
  const mismatch = responseMismatch(route, reply.statusCode, body);
  if (mismatch === null) return body;
  const message = `The answer of ${route.method} ${route.url} does not match its documented schema: ${mismatch}`;
  console.error(message, JSON.stringify(body)?.slice(0, 2000));
  throw new TollgateError('internal_error', message);
}

export function registerRoutes(
  app: FastifyInstance,
  keys: KeyStore,
  routes: AnyRoute[],
  options: RegisterRoutesOptions = {},
): void {
  const { idempotency, customerLimiter, checkResponses = false } = options;
  for (const route of routes) {
    app.route({
      method: route.method,
      url: route.url,
      bodyLimit: route.bodyLimitBytes ?? NATIVE_BODY_LIMIT_BYTES,
      config: { dialect: route.dialect ?? 'native' },
      handler: async (request, reply) => {
        const principal =
          route.auth === 'public'
            ? (PUBLIC_PRINCIPAL as Principal)
            : await authenticate(keys, request.headers, route.auth);
        if (principal.kind === 'user' && customerLimiter)
          await takeCustomerRequest(customerLimiter, principal.customerId);
        assertStorableInput(request.params, 'The URL');
        assertStorableInput(request.query, 'The query string');
        // Gateway dialects forward their bodies upstream; native bodies end up in the database.
        if ((route.dialect ?? 'native') === 'native') assertStorableInput(request.body, 'The request body');
        const params = route.params
          ? parseInput(route.params, request.params ?? {})
          : (request.params as unknown);
        const query = route.query ? parseInput(route.query, request.query ?? {}) : (request.query as unknown);
        let body: unknown;
        // A schema that accepts nothing (`.optional()`) makes the body optional: a bare POST is its default.
        const bodyOptional = route.body?.safeParse(undefined).success === true;
        if (route.body && !(bodyOptional && request.body === undefined)) {
          if (request.body === undefined || request.body === null || typeof request.body !== 'object') {
            throw new TollgateError('invalid_request', 'Request body must be a JSON object');
          }
          body = parseInput(route.body, request.body);
        }
        const header = request.headers['idempotency-key'];
        const idempotencyKey = typeof header === 'string' ? header : undefined;
        if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY_PATTERN.test(idempotencyKey)) {
          throw new TollgateError('invalid_request', 'Idempotency-Key must be 1-255 printable characters');
        }
        const context = { request, reply, principal, body, query, params, idempotencyKey };
        const handle = checkResponses
          ? async () => checkedAnswer(route, reply, await route.handler(context))
          : () => route.handler(context);
        if (route.idempotent !== 'replay' || !idempotencyKey || !idempotency) return handle();
        const scope = `${principalKey(principal)}|${route.method} ${route.url}`;
        const answer = await idempotency.run(scope, idempotencyKey, { params, body }, async () => {
          const result = await handle();
          return { status: reply.statusCode, body: result };
        });
        reply.code(answer.status);
        return checkResponses ? checkedAnswer(route, reply, answer.body) : answer.body;
      },
    });
  }
}

export function openApiDocument(routes: AnyRoute[], version: string): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const parameters: unknown[] = [];
    for (const match of route.url.matchAll(/:(\w+)/g)) {
      parameters.push({ name: match[1], in: 'path', required: true, schema: { type: 'string' } });
    }
    if (route.query) {
      const schema = jsonSchema(route.query) as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, property] of Object.entries(schema.properties ?? {})) {
        parameters.push({
          name,
          in: 'query',
          required: schema.required?.includes(name) ?? false,
          schema: property,
        });
      }
    }
    if (route.idempotent) {
      parameters.push({ name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string' } });
    }
    paths[path] ??= {};
    paths[path]![route.method.toLowerCase()] = {
      summary: route.summary,
      tags: [route.tag],
      security: route.auth === 'public' ? [] : route.auth.map((kind) => ({ [kind]: [] })),
      parameters,
      ...(route.body
        ? {
            requestBody: {
              required: route.body.safeParse(undefined).success !== true,
              content: { 'application/json': { schema: jsonSchema(route.body) } },
            },
          }
        : {}),
      responses: {
        ...(route.response
          ? successResponses(route.response)
          : {
              '2XX': {
                description: 'Success: a JSON object',
                content: { 'application/json': { schema: { type: 'object' } } },
              },
            }),
        '4XX': { $ref: '#/components/responses/Error' },
        '5XX': { $ref: '#/components/responses/Error' },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tollgate API', version },
    components: {
      securitySchemes: {
        admin: { type: 'http', scheme: 'bearer' },
        app: { type: 'http', scheme: 'bearer', description: 'App secret key (tg_sk_…)' },
        user: { type: 'apiKey', in: 'header', name: 'X-User-Key', description: 'User key (tg_uk_…)' },
      },
    },
    paths,
  };
}

function successResponses(response: RouteResponse): Record<string, unknown> {
  const content: Record<string, unknown> = {
    'application/json': {
      schema: jsonSchema(response.schema, 'output'),
      ...(response.example === undefined ? {} : { example: response.example }),
    },
  };
  for (const alternative of response.alternatives ?? []) {
    content[alternative.contentType] = { schema: { type: 'string', description: alternative.description } };
  }
  const success = { description: response.description ?? 'Success', content };
  return Object.fromEntries(
    [response.status ?? 200, ...(response.otherStatuses ?? [])].map((status) => [String(status), success]),
  );
}

function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): unknown {
  try {
    return z.toJSONSchema(schema, { io, unrepresentable: 'any' });
  } catch {
    return { type: 'object' };
  }
}
