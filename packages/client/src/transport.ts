/**
 * One HTTP round trip, with the retry policy. Only web-standard globals are used (`fetch`,
 * `AbortController`, `crypto`), so the client runs on Node 20+, Deno, Bun and edge runtimes.
 *
 * Retry policy: 429, 5xx except 501, and failures to get any answer are retried up to
 * `maxRetries` times with exponential backoff and jitter, or after `Retry-After` when the server
 * sends one. Other 4xx (409 included) are never retried. A money-moving request carries one
 * `Idempotency-Key` for all of its attempts, so a retry can never move money twice; a request that
 * is not idempotent at all (creating an app or a user key) is retried only on 429, which the
 * server answers before doing anything.
 */
import {
  APIConnectionError,
  APITimeoutError,
  errorFromResponse,
  parseRetryAfterMs,
  TollgateError,
} from './errors.ts';
import { encodeJson } from './json.ts';

export const SDK_VERSION = '0.1.0';
const INITIAL_RETRY_DELAY_MS = 500;
const MAX_BACKOFF_DELAY_MS = 8_000;
/** A `Retry-After` longer than this is not waited out: the error is thrown for the caller to schedule. */
export const MAX_RETRY_AFTER_MS = 60_000;

/** Waits `ms` milliseconds; rejects with the signal's reason if it aborts first. */
export type SleepFunction = (ms: number, signal?: AbortSignal) => Promise<void>;

/** Per-call options, accepted as the last argument of every method. */
export interface RequestOptions {
  /** Your own `Idempotency-Key` for a money-moving call (default: a random UUID per call). */
  idempotencyKey?: string;
  /** Aborts the call, including any wait between retries. */
  signal?: AbortSignal;
  /** Overrides the client's per-attempt timeout. */
  timeoutMs?: number;
  /** Overrides the client's `maxRetries`. */
  maxRetries?: number;
  /** Acts for this end user (`X-User-Key`) instead of the client's `userKey`. */
  userKey?: string;
  /** Uses this secret or admin key instead of the client's `apiKey`. */
  apiKey?: string;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** Which key an endpoint is called with. */
export type AuthKind = 'secret' | 'user' | 'none';

/**
 * How safe a request is to send twice: `idempotency-key` requests carry a key and replay
 * safely; `safe` requests are naturally idempotent (reads, PUT, DELETE, upserts); `unsafe` ones
 * could act twice and are retried only on 429.
 */
export type RetryClass = 'idempotency-key' | 'safe' | 'unsafe';

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  auth: AuthKind;
  retry: RetryClass;
}

export interface TransportConfig {
  baseUrl: string;
  apiKey?: string;
  userKey?: string;
  fetch?: typeof fetch;
  maxRetries: number;
  timeoutMs: number;
  userAgent?: string;
  sleep: SleepFunction;
}

export class Transport {
  private readonly baseUrl: string;
  private readonly config: TransportConfig;

  constructor(config: TransportConfig) {
    this.config = config;
    this.baseUrl = config.baseUrl.replace(/\/+$/, '');
  }

  async request<T>(spec: RequestSpec, options: RequestOptions = {}): Promise<T> {
    const maxRetries = options.maxRetries ?? this.config.maxRetries;
    // Built once, before the first attempt: every retry sends the same key and the same bytes.
    const body = spec.body === undefined ? undefined : encodeJson(spec.body);
    const headers = this.buildHeaders(spec, options, body !== undefined);
    const url = this.buildUrl(spec);

    for (let attempt = 0; ; attempt += 1) {
      const canRetry = attempt < maxRetries;
      let outcome: AttemptOutcome;
      try {
        outcome = await this.attempt(url, spec.method, headers, body, options);
      } catch (error) {
        if (!(error instanceof APIConnectionError) || !canRetry || spec.retry === 'unsafe') throw error;
        await this.config.sleep(backoffDelayMs(attempt), options.signal);
        continue;
      }

      const { response, text } = outcome;
      if (response.ok) return parseSuccess<T>(response, text);

      const error = errorFromResponse(response.status, text, response.headers);
      if (!canRetry || !isRetryableStatus(response.status, spec.retry)) throw error;
      const retryAfterMs = parseRetryAfterMs(response.headers.get('retry-after'), Date.now());
      if (retryAfterMs !== undefined && retryAfterMs > MAX_RETRY_AFTER_MS) throw error;
      await this.config.sleep(retryAfterMs ?? backoffDelayMs(attempt), options.signal);
    }
  }

  /**
   * A download read as it arrives (exports): one attempt, no retry (a retry could not resume the
   * stream); the timeout covers the wait for the answer's headers, not the reading. An error answer
   * throws like `request`'s.
   */
  async stream(spec: RequestSpec, options: RequestOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const headers = this.buildHeaders(spec, options, false);
    headers.accept = '*/*';
    const controller = new AbortController();
    const callerSignal = options.signal;
    if (callerSignal?.aborted) throw abortReason(callerSignal);
    const forwardAbort = () => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', forwardAbort, { once: true });
    const timeoutMs = options.timeoutMs ?? this.config.timeoutMs;
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const fetchFunction = this.config.fetch ?? globalThis.fetch;
    let response: Response;
    try {
      response = await fetchFunction(this.buildUrl(spec), {
        method: spec.method,
        headers,
        signal: controller.signal,
      });
    } catch (error) {
      callerSignal?.removeEventListener('abort', forwardAbort);
      if (callerSignal?.aborted) throw abortReason(callerSignal);
      throw new APIConnectionError({
        status: 0,
        code: 'connection_error',
        message: `${spec.method} ${spec.path} failed: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
    }
    if (!response.ok || !response.body) {
      callerSignal?.removeEventListener('abort', forwardAbort);
      throw errorFromResponse(response.status, await response.text(), response.headers);
    }
    return response.body;
  }

  private async attempt(
    url: string,
    method: string,
    headers: Record<string, string>,
    body: string | undefined,
    options: RequestOptions,
  ): Promise<AttemptOutcome> {
    const callerSignal = options.signal;
    if (callerSignal?.aborted) throw abortReason(callerSignal);
    const controller = new AbortController();
    const timeoutMs = options.timeoutMs ?? this.config.timeoutMs;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const forwardAbort = () => controller.abort(callerSignal?.reason);
    callerSignal?.addEventListener('abort', forwardAbort, { once: true });
    const fetchFunction = this.config.fetch ?? globalThis.fetch;
    try {
      const response = await fetchFunction(url, { method, headers, body, signal: controller.signal });
      // The body is read inside the timeout too: a stalled body is as dead as a stalled connect.
      const text = await response.text();
      return { response, text };
    } catch (error) {
      if (callerSignal?.aborted) throw abortReason(callerSignal);
      if (timedOut) {
        throw new APITimeoutError({
          status: 0,
          code: 'timeout',
          message: `${method} ${url} timed out after ${timeoutMs} ms`,
        });
      }
      throw new APIConnectionError({
        status: 0,
        code: 'connection_error',
        message: `${method} ${url} failed: ${error instanceof Error ? error.message : String(error)}`,
        cause: error,
      });
    } finally {
      clearTimeout(timer);
      callerSignal?.removeEventListener('abort', forwardAbort);
    }
  }

  private buildUrl(spec: RequestSpec): string {
    const search = new URLSearchParams();
    for (const [name, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) search.set(name, String(value));
    }
    const query = search.toString();
    return `${this.baseUrl}${spec.path}${query ? `?${query}` : ''}`;
  }

  private buildHeaders(spec: RequestSpec, options: RequestOptions, hasBody: boolean): Record<string, string> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (hasBody) headers['content-type'] = 'application/json';
    const userAgent = this.config.userAgent ?? defaultUserAgent();
    if (userAgent) headers['user-agent'] = userAgent;

    const apiKey = options.apiKey ?? this.config.apiKey;
    const userKey = options.userKey ?? this.config.userKey;
    if (spec.auth === 'secret' && apiKey) {
      headers.authorization = `Bearer ${apiKey}`;
    } else if (spec.auth === 'user') {
      // A client built with only a user key as `apiKey` (as with the OpenAI SDK) works too: the
      // server reads a user key from `Authorization: Bearer` as well.
      if (userKey) headers['x-user-key'] = userKey;
      else if (apiKey) headers.authorization = `Bearer ${apiKey}`;
    }
    if (spec.retry === 'idempotency-key') {
      headers['idempotency-key'] = options.idempotencyKey ?? randomUuid();
    }
    for (const [name, value] of Object.entries(options.headers ?? {})) headers[name.toLowerCase()] = value;
    return headers;
  }
}

interface AttemptOutcome {
  response: Response;
  text: string;
}

function parseSuccess<T>(response: Response, text: string): T {
  if (text.trim() === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new TollgateError({
      status: response.status,
      code: 'invalid_response',
      message: `expected JSON from Tollgate, got: ${text.slice(0, 200)}`,
      requestId: response.headers.get('x-request-id') ?? undefined,
      headers: response.headers,
      cause: error,
    });
  }
}

function isRetryableStatus(status: number, retry: RetryClass): boolean {
  if (status === 429) return true;
  if (retry === 'unsafe') return false;
  return status >= 500 && status !== 501;
}

/** Exponential backoff with up to 25 % jitter: ~0.5 s, 1 s, 2 s, … capped at 8 s. */
export function backoffDelayMs(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(INITIAL_RETRY_DELAY_MS * 2 ** attempt, MAX_BACKOFF_DELAY_MS);
  return Math.round(base * (1 - 0.25 * random()));
}

/** Waits with `setTimeout`, ending early when the signal aborts. */
export const defaultSleep: SleepFunction = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortReason(signal));
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** A random v4 UUID, from `crypto.randomUUID` where present, else `crypto.getRandomValues`. */
export function randomUuid(): string {
  const webCrypto = globalThis.crypto;
  if (typeof webCrypto?.randomUUID === 'function') return webCrypto.randomUUID();
  const bytes = webCrypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('The operation was aborted.', 'AbortError');
}

/**
 * Browsers treat `User-Agent` as a non-safelisted header (a CORS preflight) or drop it, so the
 * default is sent only where there is no `document`.
 */
function defaultUserAgent(): string | undefined {
  return typeof (globalThis as { document?: unknown }).document === 'undefined'
    ? `tollgate-client/${SDK_VERSION}`
    : undefined;
}
