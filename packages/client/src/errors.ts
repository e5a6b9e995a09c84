/**
 * Typed errors. Every failure the client reports is a `TollgateError`; HTTP failures are mapped
 * from the native error body `{"error":{"code","message", …details}}` by `errorFromResponse`, the
 * one mapper, first by status and then, where a status carries several meanings (402, 409), by code.
 */
import { toMicros } from './amounts.ts';

/** The contract's error codes and the status each is answered with. */
export const ErrorCodes = {
  invalid_request: 400,
  missing_api_key: 401,
  invalid_api_key: 401,
  invalid_user_key: 401,
  insufficient_credits: 402,
  run_limit_exceeded: 402,
  model_not_allowed: 403,
  forbidden: 403,
  model_not_found: 404,
  not_found: 404,
  idempotency_conflict: 409,
  already_redeemed: 409,
  invalid_state: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal_error: 500,
  upstream_error: 502,
  unavailable: 503,
  feature_limit_exceeded: 402,
  spend_limit_exceeded: 402,
} as const;

/** A code from the contract's error table. */
export type ErrorCode = keyof typeof ErrorCodes;

/** Codes the client itself produces when no usable answer arrived. */
export type ClientErrorCode = 'connection_error' | 'timeout' | 'invalid_response' | 'http_error';

/** What a `TollgateError` is built from. */
export interface TollgateErrorInit {
  status: number;
  code: ErrorCode | ClientErrorCode | (string & {});
  message: string;
  requestId?: string;
  details?: Record<string, unknown>;
  headers?: Headers;
  cause?: unknown;
}

/**
 * The base of every error this client throws.
 *
 * `status` is the HTTP status (`0` when no response arrived), `code` the stable machine code from
 * the error body, `requestId` the server's `x-request-id` (quote it when reporting a problem), and
 * `details` the other fields of the error body (e.g. `required`, `available`, `param`).
 *
 * @example
 * ```ts
 * try {
 *   await tollgate.holds.create({ customer: 'cus_123', model: 'fal-ai/veo3.1', quantity: 8 });
 * } catch (error) {
 *   if (error instanceof TollgateError) console.error(error.status, error.code, error.requestId);
 *   throw error;
 * }
 * ```
 */
export class TollgateError extends Error {
  readonly status: number;
  readonly code: ErrorCode | ClientErrorCode | (string & {});
  readonly requestId: string | undefined;
  readonly details: Record<string, unknown>;
  /** Response headers, when a response arrived. */
  readonly headers: Headers | undefined;

  constructor(init: TollgateErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.code = init.code;
    this.requestId = init.requestId;
    this.details = init.details ?? {};
    this.headers = init.headers;
  }
}

/**
 * 400: the request was malformed or a field was invalid (`details.param` names it when known).
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof InvalidRequestError) showFieldError(error.details.param); }
 * ```
 */
export class InvalidRequestError extends TollgateError {}

/**
 * 401: the key is missing or not valid (`missing_api_key`, `invalid_api_key`, `invalid_user_key`).
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof AuthenticationError) await reissueUserKey(); }
 * ```
 */
export class AuthenticationError extends TollgateError {}

/**
 * 402: the work cannot be paid for. Catch this to handle both of its kinds at once.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof PaymentRequiredError) openCheckout(); }
 * ```
 */
export class PaymentRequiredError extends TollgateError {}

/**
 * 402 `insufficient_credits`: the customer's available balance does not cover the work.
 * `required` and `available` are credits as sent by the server; the `…Micros` twins are exact.
 *
 * @example
 * ```ts
 * try {
 *   await tollgate.charges.create({ customer: 'cus_123', model: 'fal-ai/flux/schnell' });
 * } catch (error) {
 *   if (error instanceof InsufficientCreditsError) {
 *     const missingMicros = (error.requiredMicros ?? 0n) - (error.availableMicros ?? 0n);
 *     console.log(`top up ${fromMicros(missingMicros)} credits`);
 *   }
 * }
 * ```
 */
export class InsufficientCreditsError extends PaymentRequiredError {
  /** Credits the work needs. */
  readonly required: number | undefined;
  /** Credits the customer has available. */
  readonly available: number | undefined;
  /** `required` in exact micro-credits. */
  readonly requiredMicros: bigint | undefined;
  /** `available` in exact micro-credits. */
  readonly availableMicros: bigint | undefined;

  constructor(init: TollgateErrorInit) {
    super(init);
    const details = this.details;
    this.required = typeof details.required === 'number' ? details.required : undefined;
    this.available = typeof details.available === 'number' ? details.available : undefined;
    this.requiredMicros = exactMicros(details.required);
    this.availableMicros = exactMicros(details.available);
  }
}

/**
 * 402 `run_limit_exceeded`: the run's `max_run_cost` would be exceeded.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof RunLimitExceededError) stopAgentRun(); }
 * ```
 */
export class RunLimitExceededError extends PaymentRequiredError {}

/**
 * 402 `spend_limit_exceeded`: the customer's or the user key's spend limit would be passed. `limit`
 * and `spent` (credits), `period` and `resetsAt` say which limit and until when.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof SpendLimitExceededError) showLimitReached(error.resetsAt); }
 * ```
 */
export class SpendLimitExceededError extends PaymentRequiredError {
  readonly limit: number | undefined;
  readonly spent: number | undefined;
  readonly period: string | undefined;
  /** When the limit's period resets (null: a `total` limit never does). */
  readonly resetsAt: Date | null;

  constructor(init: TollgateErrorInit) {
    super(init);
    const details = this.details;
    this.limit = typeof details.limit === 'number' ? details.limit : undefined;
    this.spent = typeof details.spent === 'number' ? details.spent : undefined;
    this.period = typeof details.period === 'string' ? details.period : undefined;
    this.resetsAt = typeof details.resets_at === 'string' ? new Date(details.resets_at) : null;
  }
}

/**
 * 403: the key may not do this (`model_not_allowed`, `forbidden`).
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof PermissionDeniedError && error.code === 'model_not_allowed') pickAnotherModel(); }
 * ```
 */
export class PermissionDeniedError extends TollgateError {}

/**
 * 404: no such resource (`not_found`) or model (`model_not_found`).
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof NotFoundError) return null; }
 * ```
 */
export class NotFoundError extends TollgateError {}

/**
 * 409: the request conflicts with the resource's state. Subclasses name the three kinds; a 409
 * is never retried automatically.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof ConflictError) console.warn(error.code); }
 * ```
 */
export class ConflictError extends TollgateError {
  /** The same `Idempotency-Key` was used with another body. */
  get isIdempotencyConflict(): boolean {
    return this.code === 'idempotency_conflict';
  }
  /** The gift code was already redeemed. */
  get isAlreadyRedeemed(): boolean {
    return this.code === 'already_redeemed';
  }
  /** The resource is in a state that does not allow this (e.g. capturing a voided hold). */
  get isInvalidState(): boolean {
    return this.code === 'invalid_state';
  }
}

/**
 * 409 `idempotency_conflict`: an `Idempotency-Key` was reused with a different body — a bug in
 * the caller's choice of keys.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof IdempotencyConflictError) logger.error('reused key', error.requestId); }
 * ```
 */
export class IdempotencyConflictError extends ConflictError {}

/**
 * 409 `already_redeemed`: the gift code has no redemptions left for this user.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof AlreadyRedeemedError) toast('This code was already used'); }
 * ```
 */
export class AlreadyRedeemedError extends ConflictError {}

/**
 * 409 `invalid_state`: e.g. a hold that is already voided, captured or expired.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof InvalidStateError) await refreshHold(); }
 * ```
 */
export class InvalidStateError extends ConflictError {}

/**
 * 429: too many requests. Retried automatically (up to `maxRetries`) after `Retry-After`;
 * thrown once retries are spent.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof RateLimitedError) setTimeout(retry, (error.retryAfterSeconds ?? 1) * 1000); }
 * ```
 */
export class RateLimitedError extends TollgateError {
  /** Seconds the server asked to wait (`Retry-After`, else the body's `retry_after_seconds`), when it said. */
  readonly retryAfterSeconds: number | undefined;

  constructor(init: TollgateErrorInit) {
    super(init);
    const delayMs = init.headers ? parseRetryAfterMs(init.headers.get('retry-after'), Date.now()) : undefined;
    const fromBody = this.details.retry_after_seconds;
    this.retryAfterSeconds =
      delayMs !== undefined ? Math.ceil(delayMs / 1000) : typeof fromBody === 'number' ? fromBody : undefined;
  }
}

/**
 * 502 `upstream_error`: the AI provider failed. Retried automatically.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof UpstreamError) showProviderOutage(); }
 * ```
 */
export class UpstreamError extends TollgateError {}

/**
 * Any other 5xx answer from Tollgate itself.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof InternalServerError) reportToOnCall(error.requestId); }
 * ```
 */
export class InternalServerError extends TollgateError {}

/**
 * No usable answer arrived: DNS, connection refused, reset, or a body that could not be read.
 * `status` is `0`.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof APIConnectionError) console.error('Tollgate unreachable', error.cause); }
 * ```
 */
export class APIConnectionError extends TollgateError {}

/**
 * The attempt took longer than `timeoutMs`.
 *
 * @example
 * ```ts
 * catch (error) { if (error instanceof APITimeoutError) console.error('Tollgate timed out'); }
 * ```
 */
export class APITimeoutError extends APIConnectionError {}

/** The one mapper from an HTTP answer to an error. */
export function errorFromResponse(status: number, bodyText: string, headers: Headers): TollgateError {
  const requestId = headers.get('x-request-id') ?? undefined;
  const parsed = parseErrorBody(bodyText);
  const code = parsed?.code ?? fallbackCode(status);
  const message = parsed?.message ?? fallbackMessage(status, bodyText);
  const init: TollgateErrorInit = { status, code, message, requestId, details: parsed?.details, headers };
  switch (status) {
    case 400:
      return new InvalidRequestError(init);
    case 401:
      return new AuthenticationError(init);
    case 402:
      if (code === 'insufficient_credits') return new InsufficientCreditsError(init);
      if (code === 'run_limit_exceeded') return new RunLimitExceededError(init);
      if (code === 'spend_limit_exceeded') return new SpendLimitExceededError(init);
      return new PaymentRequiredError(init);
    case 403:
      return new PermissionDeniedError(init);
    case 404:
      return new NotFoundError(init);
    case 409:
      if (code === 'idempotency_conflict') return new IdempotencyConflictError(init);
      if (code === 'already_redeemed') return new AlreadyRedeemedError(init);
      if (code === 'invalid_state') return new InvalidStateError(init);
      return new ConflictError(init);
    case 429:
      return new RateLimitedError(init);
    case 502:
      return new UpstreamError(init);
    default:
      return status >= 500 ? new InternalServerError(init) : new TollgateError(init);
  }
}

/**
 * Milliseconds a `Retry-After` header asks to wait: delay-seconds or an HTTP date.
 * `undefined` when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(?:\.\d+)?$/.test(text)) return Number(text) * 1000;
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.max(0, dateMs - nowMs);
}

interface ParsedErrorBody {
  code: string;
  message: string;
  details: Record<string, unknown>;
}

function parseErrorBody(text: string): ParsedErrorBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(body) || !isRecord(body.error)) return undefined;
  const { code, message, ...details } = body.error;
  if (typeof code !== 'string') return undefined;
  return { code, message: typeof message === 'string' ? message : code, details };
}

function fallbackCode(status: number): string {
  const known: Record<number, string> = {
    400: 'invalid_request',
    401: 'invalid_api_key',
    403: 'forbidden',
    404: 'not_found',
    429: 'rate_limited',
    500: 'internal_error',
    502: 'upstream_error',
    503: 'unavailable',
  };
  return known[status] ?? 'http_error';
}

function fallbackMessage(status: number, bodyText: string): string {
  const snippet = bodyText.trim().slice(0, 200);
  return snippet ? `HTTP ${status}: ${snippet}` : `HTTP ${status}`;
}

function exactMicros(value: unknown): bigint | undefined {
  if (typeof value !== 'number' && typeof value !== 'string') return undefined;
  try {
    return toMicros(value);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
