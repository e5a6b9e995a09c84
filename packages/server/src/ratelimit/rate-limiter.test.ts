import { afterEach, describe, expect, it } from 'vitest';
import { TollgateError } from '../shared/errors.ts';
import {
  customerRateLimitKey,
  MemoryRateLimiter,
  RateLimits,
  redisTimeoutsFromEnv,
  takeCustomerRequest,
} from './rate-limiter.ts';

describe('MemoryRateLimiter', () => {
  it('gives the burst, then one token per 60/perMinute seconds, and says how long to wait', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter({ perMinute: 60, burst: 3 }, () => now);
    for (let index = 0; index < 3; index += 1) expect((await limiter.take('a')).allowed).toBe(true);
    expect(await limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect((await limiter.take('b')).allowed).toBe(true);
    now += 1_000;
    expect((await limiter.take('a')).allowed).toBe(true);
    expect((await limiter.take('a')).allowed).toBe(false);
    // A clock that steps back never mints tokens.
    now -= 60_000;
    expect((await limiter.take('a')).allowed).toBe(false);
  });
});

describe('takeCustomerRequest', () => {
  it('draws every key of a customer from one bucket and refuses with rate_limited and Retry-After', async () => {
    const limiter = new MemoryRateLimiter({ perMinute: 2, burst: 2 }, () => 0);
    await takeCustomerRequest(limiter, 'cus_1');
    await takeCustomerRequest(limiter, 'cus_1');
    const refused = await takeCustomerRequest(limiter, 'cus_1').catch((error) => error);
    expect(refused).toBeInstanceOf(TollgateError);
    expect(refused).toMatchObject({
      code: 'rate_limited',
      status: 429,
      details: { retry_after_seconds: 30 },
    });
    await takeCustomerRequest(limiter, 'cus_2');
    expect(customerRateLimitKey('cus_1')).toBe('customer:cus_1');
  });
});

describe('RateLimits', () => {
  const opened: RateLimits[] = [];
  afterEach(async () => {
    for (const limits of opened.splice(0)) await limits.close();
  });

  it('without Redis: in-memory limiters, readiness not configured', async () => {
    const limits = new RateLimits({ now: () => 0 });
    opened.push(limits);
    const limiter = limits.limiter({ perMinute: 1, burst: 1 }, 'test:');
    expect((await limiter.take('k')).allowed).toBe(true);
    expect((await limiter.take('k')).allowed).toBe(false);
    expect(await limits.redisReachable(100)).toBeNull();
  });

  it('with Redis unreachable: answers from memory at once, and warns once however many limiters ask', async () => {
    const warnings: string[] = [];
    const limits = new RateLimits({
      redisUrl: 'redis://127.0.0.1:1',
      now: () => 0,
      log: { warn: (message) => warnings.push(message), info: () => {} },
      redisTimeouts: { connectMilliseconds: 200, commandMilliseconds: 100 },
    });
    opened.push(limits);
    const first = limits.limiter({ perMinute: 60, burst: 2 }, 'a:');
    const second = limits.limiter({ perMinute: 60, burst: 2 }, 'b:');
    const decisions = [];
    for (let index = 0; index < 3; index += 1)
      decisions.push((await first.take('k')).allowed, (await second.take('k')).allowed);
    expect(decisions).toEqual([true, true, true, true, false, false]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/Redis is unreachable/);
    expect(await limits.redisReachable(100)).toBe(false);
  });

  it('reads its Redis timeouts from the environment', () => {
    expect(redisTimeoutsFromEnv({})).toEqual({ connectMilliseconds: 2_000, commandMilliseconds: 500 });
    expect(redisTimeoutsFromEnv({ TOLLGATE_REDIS_COMMAND_TIMEOUT_MS: '50' }).commandMilliseconds).toBe(50);
    expect(() => redisTimeoutsFromEnv({ TOLLGATE_REDIS_CONNECT_TIMEOUT_MS: 'x' })).toThrowError(
      /positive whole number/,
    );
  });
});
