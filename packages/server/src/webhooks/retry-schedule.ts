/**
 * When a failed delivery is tried again: exponential backoff with jitter (so endpoints that failed
 * together do not retry together), capped, and dead after `maxAttempts`.
 */
export interface RetryPolicy {
  maxAttempts: number;
  baseMilliseconds: number;
  capMilliseconds: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  // 10 s, 20 s, 40 s … capped at 6 h: 16 attempts span about three days, like Stripe's.
  maxAttempts: 16,
  baseMilliseconds: 10_000,
  capMilliseconds: 6 * 3600_000,
};

/**
 * The wait after failed attempt `attempt` (1-based), or null when it was the last: between half and
 * all of base × 2^(attempt−1), capped. `random` is in [0, 1).
 */
export function retryDelayMilliseconds(attempt: number, policy: RetryPolicy, random: number): number | null {
  if (attempt >= policy.maxAttempts) return null;
  const ceiling = Math.min(policy.capMilliseconds, policy.baseMilliseconds * 2 ** Math.min(attempt - 1, 40));
  return Math.ceil(ceiling / 2 + (ceiling / 2) * random);
}
