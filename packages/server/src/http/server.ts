/**
 * The Fastify instance: JSON bodies kept raw as well (webhook signatures are computed over the exact
 * bytes), request ids, metrics, the one error mapper, and the operational endpoints: `/healthz` (the
 * process answers), `/readyz` (its dependencies answer too), `/metrics`.
 */

import { randomUUID } from 'node:crypto';
import Fastify, {
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifyServerOptions,
  LogController,
} from 'fastify';
import { TollgateError } from '../shared/errors.ts';
import {
  type ErrorDialect,
  errorBody,
  toTollgateError,
  UNAVAILABLE_RETRY_AFTER_SECONDS,
} from './error-mapper.ts';
import type { Metrics } from './metrics.ts';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody?: Buffer;
  }
  interface FastifyContextConfig {
    dialect?: ErrorDialect;
    /** How this route parses a JSON body (default `JSON.parse`); throws SyntaxError for bytes that are not JSON. */
    readJson?: (raw: Buffer) => unknown;
  }
}

/** Each dependency `/readyz` checks: `ok`, `unreachable`, or `not_configured` (Redis without REDIS_URL). */
export type ReadinessCheck = 'ok' | 'unreachable' | 'not_configured';
export type Readiness = () => Promise<Record<string, ReadinessCheck>>;

export interface HttpServerOptions {
  metrics: Metrics;
  logger?: FastifyServerOptions['logger'];
  bodyLimitBytes?: number;
  /** What `/readyz` checks; without it `/readyz` answers like `/healthz`. */
  readiness?: Readiness;
  /**
   * Who may read `/metrics` here: `public`, `hidden` (served on a listen address of its own), or a
   * check of the request (the admin key or the scrape key). Default public (embedded uses, tests).
   */
  metricsAccess?: 'public' | 'hidden' | ((request: FastifyRequest) => Promise<boolean>);
}

/** While the database is away every request fails the same way: say so once a minute, not per request. */
const UNAVAILABLE_LOG_INTERVAL_MILLISECONDS = 60_000;

function noSchemaCompiler(): never {
  throw new Error('Tollgate routes validate with zod (http/route.ts), not with Fastify schemas');
}

export function createHttpServer(options: HttpServerOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimitBytes ?? 20 * 1024 * 1024,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && /^[\w.-]{1,100}$/.test(incoming)
        ? incoming
        : `req_${randomUUID()}`;
    },
    requestIdHeader: false,
    return503OnClosing: true,
    // Routes validate with zod (http/route.ts), never with Fastify's JSON schemas: without these,
    // Fastify would load Ajv and fast-json-stringify at every start (a fifth of building the server).
    schemaController: {
      compilersFactory: { buildValidator: noSchemaCompiler, buildSerializer: noSchemaCompiler },
    },
    // Two info lines per request drowned everything else: one line per request, at debug (LOG_LEVEL=debug).
    logController: new LogController({ disableRequestLogging: true }),
    // Errors Fastify raises before routing (a malformed percent-encoding in the URL) answer in the
    // native error shape like everything else, not Fastify's own.
    frameworkErrors: (error, _request, reply) => {
      const message =
        (error as { code?: string }).code === 'FST_ERR_BAD_URL'
          ? 'The URL is not valid (malformed percent-encoding)'
          : 'Bad request';
      const body = errorBody(new TollgateError('invalid_request', message), 'native');
      (reply as unknown as FastifyReply).code(400).send(body);
    },
  });

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    if ((body as Buffer).length === 0) return done(null, undefined);
    const readJson = request.routeOptions.config?.readJson;
    let parsed: unknown;
    try {
      parsed = readJson ? readJson(body as Buffer) : JSON.parse((body as Buffer).toString('utf8'));
    } catch (error) {
      // Bytes that are not JSON are the client's; any other failure is a fault of ours, reported as one.
      return done(
        error instanceof SyntaxError
          ? new TollgateError('invalid_request', 'Request body is not valid JSON')
          : (error as Error),
        undefined,
      );
    }
    done(null, parsed);
  });
  // Anything else (forms, text) is kept raw; routes that need JSON refuse it with a typed error.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (request, body, done) => {
    request.rawBody = body as Buffer;
    done(null, undefined);
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    // The route pattern, not the URL: paths can carry a secret (a checkout link's key).
    request.log.debug(
      {
        method: request.method,
        route,
        statusCode: reply.statusCode,
        responseTimeMs: Math.round(reply.elapsedTime),
      },
      'request completed',
    );
    options.metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    options.metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  let unavailableLoggedAt = Number.NEGATIVE_INFINITY;
  app.setErrorHandler((error, request, reply) => {
    const tollgateError = toTollgateError(error);
    if (tollgateError.code === 'internal_error') request.log.error({ err: error }, 'unhandled error');
    if (tollgateError.code === 'insufficient_credits') options.metrics.insufficientCredits.inc();
    if (
      tollgateError.code === 'unavailable' &&
      Date.now() - unavailableLoggedAt > UNAVAILABLE_LOG_INTERVAL_MILLISECONDS
    ) {
      unavailableLoggedAt = Date.now();
      request.log.warn({ err: error }, 'a dependency is unavailable: answering 503 (logged once a minute)');
    }
    const dialect = request.routeOptions.config?.dialect ?? 'native';
    const retryAfterSeconds = tollgateError.details.retry_after_seconds;
    if (
      (tollgateError.code === 'rate_limited' || tollgateError.code === 'unavailable') &&
      retryAfterSeconds !== undefined
    ) {
      reply.header('retry-after', String(retryAfterSeconds));
    }
    reply.code(tollgateError.status).send(errorBody(tollgateError, dialect));
  });
  app.setNotFoundHandler((request, reply) => {
    const error = new TollgateError(
      'not_found',
      `No route for ${request.method} ${request.url.split('?')[0]}`,
    );
    reply.code(404).send(errorBody(error, 'native'));
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  // For a load balancer: 503 while a dependency does not answer, naming which.
  app.get('/readyz', async (_request, reply) => {
    const checks = options.readiness ? await options.readiness() : {};
    const ready = Object.values(checks).every((check) => check !== 'unreachable');
    if (!ready) reply.code(503).header('retry-after', String(UNAVAILABLE_RETRY_AFTER_SECONDS));
    return { status: ready ? 'ready' : 'unavailable', checks };
  });
  const metricsAccess = options.metricsAccess ?? 'public';
  if (metricsAccess !== 'hidden') {
    app.get('/metrics', async (request, reply) => {
      if (metricsAccess !== 'public' && !(await metricsAccess(request))) {
        // Counts of customers' traffic and failures are the operator's business only.
        throw new TollgateError(
          'forbidden',
          '/metrics needs the admin key or TOLLGATE_METRICS_KEY as a bearer token',
        );
      }
      reply.type('text/plain; version=0.0.4').send(options.metrics.render());
    });
  }
  return app;
}
