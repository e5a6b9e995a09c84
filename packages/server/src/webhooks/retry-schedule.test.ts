import { describe, expect, it } from 'vitest';
import { retryDelayMilliseconds } from './retry-schedule.ts';

const policy = { maxAttempts: 5, baseMilliseconds: 1000, capMilliseconds: 5000 };

describe('retryDelayMilliseconds', () => {
  it('doubles from the base, keeps at least half of it as jitter, caps, and stops at the last attempt', () => {
    expect(retryDelayMilliseconds(1, policy, 0)).toBe(500);
    expect(retryDelayMilliseconds(1, policy, 0.999999)).toBe(1000);
    expect(retryDelayMilliseconds(2, policy, 0)).toBe(1000);
    expect(retryDelayMilliseconds(3, policy, 0.5)).toBe(3000);
    expect(retryDelayMilliseconds(4, policy, 0.999999)).toBe(5000);
    expect(retryDelayMilliseconds(5, policy, 0)).toBeNull();
  });
});
