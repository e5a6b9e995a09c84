/**
 * Token buckets per key (a customer, an IP, an email). In memory by default; shared through Redis when
 * REDIS_URL is set, so that several Tollgate nodes enforce one limit. The Redis bucket is one Lua
 * script call: refill by elapsed time, take a token or say how long to wait.
 *
 * Redis is an optimisation of fairness, never a dependency of answering: every Redis call is bounded
 * by a timeout, and while Redis is unreachable (or too slow) each node falls back to its own
 * in-memory buckets — one warning when that starts, one line when Redis answers again. A limiter
 * never turns a Redis failure into an error for the caller.
 */
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { millisecondsFromEnv } from '../shared/env.ts';
import { TollgateError } from '../shared/errors.ts';

export interface RateLimitDecision {
  allowed: boolean;
  /** Whole seconds until a token is available (for Retry-After). */
  retryAfterSeconds: number;
}

export interface RateLimiter {
  take(key: string): Promise<RateLimitDecision>;
  close(): Promise<void>;
}

export interface BucketSpec {
  /** Tokens added per minute. */
  perMinute: number;
  /** Largest burst. */
  burst: number;
}

export interface RateLimitLog {
  warn(message: string): void;
  info(message: string): void;
}

/** Milliseconds since the epoch; tests pass their manual clock. */
export type Now = () => number;

const MAX_MEMORY_BUCKETS = 100_000;

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly spec: BucketSpec,
    private readonly now: Now = Date.now,
  ) {}

  async take(key: string): Promise<RateLimitDecision> {
    return this.takeNow(key);
  }

  /** Synchronous form for the hot path. */
  takeNow(key: string): RateLimitDecision {
    const now = this.now();
    const ratePerMillisecond = this.spec.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.spec.burst, updatedAt: now };
    bucket.tokens = Math.min(
      this.spec.burst,
      bucket.tokens + Math.max(0, now - bucket.updatedAt) * ratePerMillisecond,
    );
    bucket.updatedAt = now;
    if (this.buckets.size > MAX_MEMORY_BUCKETS) this.buckets.clear();
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return {
      allowed: false,
      retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMillisecond / 1000)),
    };
  }

  async close(): Promise<void> {}
}

const TAKE_SCRIPT = `
local tokens = tonumber(redis.call('HGET', KEYS[1], 't'))
local updated = tonumber(redis.call('HGET', KEYS[1], 'u'))
local now = tonumber(ARGV[1]); local rate = tonumber(ARGV[2]); local burst = tonumber(ARGV[3])
if tokens == nil then tokens = burst; updated = now end
tokens = math.min(burst, tokens + math.max(0, now - updated) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
if allowed == 1 then return {1, 0} end
return {0, math.ceil((1 - tokens) / rate)}
`;

type ScriptedRedis = Redis & {
  tollgateTake(key: string, now: number, rate: number, burst: number): Promise<[number, number]>;
};

export interface RedisTimeouts {
  /** Bound on opening the connection (TCP and the ready check). */
  connectMilliseconds: number;
  /** Bound on each command; past it the request is limited locally. */
  commandMilliseconds: number;
}

export const DEFAULT_REDIS_TIMEOUTS: RedisTimeouts = { connectMilliseconds: 2_000, commandMilliseconds: 500 };

/** TOLLGATE_REDIS_CONNECT_TIMEOUT_MS and TOLLGATE_REDIS_COMMAND_TIMEOUT_MS, defaulting as above. */
export function redisTimeoutsFromEnv(env: Record<string, string | undefined>): RedisTimeouts {
  return {
    connectMilliseconds: millisecondsFromEnv(
      env,
      'TOLLGATE_REDIS_CONNECT_TIMEOUT_MS',
      DEFAULT_REDIS_TIMEOUTS.connectMilliseconds,
    ),
    commandMilliseconds: millisecondsFromEnv(
      env,
      'TOLLGATE_REDIS_COMMAND_TIMEOUT_MS',
      DEFAULT_REDIS_TIMEOUTS.commandMilliseconds,
    ),
  };
}

/**
 * One Redis connection shared by every limiter of a server, and whether it is usable. Reconnects
 * forever in the background (backing off to 2 s); while it is not `ready`, limiters do not wait for
 * it. A command that fails or times out drops the connection and starts a fresh one, so a Redis that
 * froze (answers nothing, connection still open) is noticed once, not on every request.
 */
class SharedRedis {
  readonly redis: ScriptedRedis;
  private degraded = false;

  constructor(
    url: string,
    readonly timeouts: RedisTimeouts,
    private readonly log: RateLimitLog,
  ) {
    // Loaded here, not at start: a server without REDIS_URL never needs the client (~0.2 s of CPU).
    const { Redis: RedisClient } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
    this.redis = new RedisClient(url, {
      connectTimeout: timeouts.connectMilliseconds,
      commandTimeout: timeouts.commandMilliseconds,
      // Fail at once while disconnected instead of queueing behind the outage.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
    }) as ScriptedRedis;
    this.redis.defineCommand('tollgateTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    // Without a listener ioredis prints every failed reconnect: the log flood of an outage.
    this.redis.on('error', (error: Error) => this.markDown(error.message));
    this.redis.on('ready', () => {
      if (!this.degraded) return;
      this.degraded = false;
      this.log.info('Redis answers again: rate limits are shared across nodes again');
    });
  }

  get ready(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * Whether to ask Redis now. The first connection is waited for (bounded), so that the first requests
   * after a start share the limit like the rest; during an outage nothing waits.
   */
  async usable(): Promise<boolean> {
    if (this.ready) return true;
    if (this.degraded || (this.redis.status !== 'connecting' && this.redis.status !== 'connect'))
      return false;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off('ready', done);
        this.redis.off('error', done);
        resolve();
      };
      const timer = setTimeout(done, this.timeouts.connectMilliseconds);
      this.redis.once('ready', done);
      this.redis.once('error', done);
    });
    return this.ready;
  }

  markDown(reason: string): void {
    if (this.degraded) return;
    this.degraded = true;
    this.log.warn(
      `Redis is unreachable (${reason}): rate limits are kept per node in memory until it answers`,
    );
  }

  /** After a failed command: warn once, and reconnect so that a frozen connection is not reused. */
  failed(error: unknown): void {
    this.markDown(error instanceof Error ? error.message : String(error));
    if (this.redis.status === 'ready') this.redis.disconnect(true);
  }

  async ping(timeoutMilliseconds: number): Promise<boolean> {
    if (!this.ready) return false;
    return withTimeout(
      this.redis.ping().then(() => true),
      timeoutMilliseconds,
    ).catch(() => false);
  }

  close(): void {
    this.redis.disconnect();
  }
}

function withTimeout<Value>(work: Promise<Value>, milliseconds: number): Promise<Value> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${milliseconds} ms`)), milliseconds);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

class RedisRateLimiter implements RateLimiter {
  private readonly local: MemoryRateLimiter;

  constructor(
    private readonly shared: SharedRedis,
    private readonly spec: BucketSpec,
    private readonly prefix: string,
    private readonly now: Now,
  ) {
    this.local = new MemoryRateLimiter(spec, now);
  }

  async take(key: string): Promise<RateLimitDecision> {
    if (!(await this.shared.usable())) {
      this.shared.markDown(`connection ${this.shared.redis.status}`);
      return this.local.takeNow(key);
    }
    const ratePerMillisecond = this.spec.perMinute / 60_000;
    try {
      const [allowed, waitMilliseconds] = await withTimeout(
        this.shared.redis.tollgateTake(
          `${this.prefix}${key}`,
          this.now(),
          ratePerMillisecond,
          this.spec.burst,
        ),
        this.shared.timeouts.commandMilliseconds,
      );
      return {
        allowed: allowed === 1,
        retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMilliseconds / 1000)),
      };
    } catch (error) {
      this.shared.failed(error);
      return this.local.takeNow(key);
    }
  }

  async close(): Promise<void> {}
}

export interface RateLimitsOptions {
  redisUrl?: string;
  now?: Now;
  log?: RateLimitLog;
  redisTimeouts?: RedisTimeouts;
}

/**
 * The server's limiters: each `limiter()` is a bucket family under its own prefix; they share one
 * Redis connection (one warning per outage, not one per limiter) or none.
 */
export class RateLimits {
  private readonly shared: SharedRedis | null;
  private readonly now: Now;

  constructor(options: RateLimitsOptions = {}) {
    this.now = options.now ?? Date.now;
    const log = options.log ?? { warn: () => {}, info: () => {} };
    this.shared = options.redisUrl
      ? new SharedRedis(options.redisUrl, options.redisTimeouts ?? DEFAULT_REDIS_TIMEOUTS, log)
      : null;
  }

  get redisConfigured(): boolean {
    return this.shared !== null;
  }

  limiter(spec: BucketSpec, prefix: string): RateLimiter {
    return this.shared
      ? new RedisRateLimiter(this.shared, spec, prefix, this.now)
      : new MemoryRateLimiter(spec, this.now);
  }

  /** For /readyz: null without Redis, else whether it answered a PING within the bound. */
  async redisReachable(timeoutMilliseconds: number): Promise<boolean | null> {
    return this.shared ? this.shared.ping(timeoutMilliseconds) : null;
  }

  async close(): Promise<void> {
    this.shared?.close();
  }
}

/** A standalone limiter with its own connection (for code that has no `RateLimits` at hand). */
export function createRateLimiter(spec: BucketSpec, redisUrl?: string, prefix = 'tollgate:rl:'): RateLimiter {
  if (!redisUrl) return new MemoryRateLimiter(spec);
  const limits = new RateLimits({ redisUrl });
  const limiter = limits.limiter(spec, prefix);
  return { take: (key) => limiter.take(key), close: () => limits.close() };
}

/** The bucket every user-key request of one customer draws from, whichever key and endpoint. */
export function customerRateLimitKey(customerId: string): string {
  return `customer:${customerId}`;
}

/** Takes one request from the customer's bucket; refuses with 429 `rate_limited` and Retry-After. */
export async function takeCustomerRequest(limiter: RateLimiter, customerId: string): Promise<void> {
  const decision = await limiter.take(customerRateLimitKey(customerId));
  if (!decision.allowed) {
    throw new TollgateError('rate_limited', 'Too many requests. Back off and retry.', {
      retry_after_seconds: decision.retryAfterSeconds,
    });
  }
}
