/**
 * Token buckets per key (a user key, a customer). In memory by default; shared through Redis when
 * REDIS_URL is set, so that several Tollgate nodes enforce one limit. The Redis bucket is one Lua
 * script call: refill by elapsed time, take a token or say how long to wait.
 */
import { Redis } from 'ioredis';

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

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly spec: BucketSpec,
    private readonly now: () => number = Date.now,
  ) {}

  async take(key: string): Promise<RateLimitDecision> {
    return this.takeNow(key);
  }

  /** Synchronous form for the hot path. */
  takeNow(key: string): RateLimitDecision {
    const now = this.now();
    const ratePerMillisecond = this.spec.perMinute / 60_000;
    const bucket = this.buckets.get(key) ?? { tokens: this.spec.burst, updatedAt: now };
    bucket.tokens = Math.min(this.spec.burst, bucket.tokens + (now - bucket.updatedAt) * ratePerMillisecond);
    bucket.updatedAt = now;
    if (this.buckets.size > 100_000) this.buckets.clear();
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true, retryAfterSeconds: 0 };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMillisecond / 1000)) };
  }

  async close(): Promise<void> {}
}

const TAKE_SCRIPT = `
local tokens = tonumber(redis.call('HGET', KEYS[1], 't'))
local updated = tonumber(redis.call('HGET', KEYS[1], 'u'))
local now = tonumber(ARGV[1]); local rate = tonumber(ARGV[2]); local burst = tonumber(ARGV[3])
if tokens == nil then tokens = burst; updated = now end
tokens = math.min(burst, tokens + (now - updated) * rate)
local allowed = 0
if tokens >= 1 then tokens = tokens - 1; allowed = 1 end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate) + 1000)
if allowed == 1 then return {1, 0} end
return {0, math.ceil((1 - tokens) / rate)}
`;

export class RedisRateLimiter implements RateLimiter {
  private readonly redis: Redis;

  constructor(
    url: string,
    private readonly spec: BucketSpec,
    private readonly prefix = 'tollgate:rl:',
  ) {
    this.redis = new Redis(url, { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: false });
    this.redis.defineCommand('tollgateTake', { numberOfKeys: 1, lua: TAKE_SCRIPT });
  }

  async take(key: string): Promise<RateLimitDecision> {
    const ratePerMillisecond = this.spec.perMinute / 60_000;
    const [allowed, waitMilliseconds] = (await (this.redis as unknown as {
      tollgateTake(key: string, now: number, rate: number, burst: number): Promise<[number, number]>;
    }).tollgateTake(`${this.prefix}${key}`, Date.now(), ratePerMillisecond, this.spec.burst)) as [number, number];
    return { allowed: allowed === 1, retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil(waitMilliseconds / 1000)) };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}

export function createRateLimiter(spec: BucketSpec, redisUrl?: string, prefix?: string): RateLimiter {
  return redisUrl ? new RedisRateLimiter(redisUrl, spec, prefix) : new MemoryRateLimiter(spec);
}
