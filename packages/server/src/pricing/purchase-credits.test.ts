import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigSource } from '../config/load-config.ts';
import { creditsForPurchase } from './purchase-credits.ts';

const config = loadConfig(undefined, {});

describe('creditsForPurchase', () => {
  it('$25 buys 2,500 credits, no bonus below $50', () => {
    expect(creditsForPurchase(config, 2_500n)).toEqual({
      baseMicros: 2_500_000_000n,
      bonusMicros: 0n,
      totalMicros: 2_500_000_000n,
      bonusRatePpm: 0n,
    });
  });

  it('seed 001: a $100 purchase gets $110 in credits; the bonus starts at $50', () => {
    expect(creditsForPurchase(config, 10_000n).totalMicros).toBe(11_000_000_000n);
    expect(creditsForPurchase(config, 5_000n).bonusMicros).toBe(500_000_000n);
    expect(creditsForPurchase(config, 4_999n).bonusMicros).toBe(0n);
  });

  it('applies the highest tier reached, and rounds a grant down', () => {
    const tiered = parseConfigSource(
      'credits: { usd_per_credit: 0.03 }\npurchases: { bonus: [{ from_usd: 100, percent: 20 }, { from_usd: 10, percent: 5 }] }',
      { env: {} },
    );
    // $1 at $0.03 a credit = 33.333333… credits → 33.333333.
    expect(creditsForPurchase(tiered, 100n).baseMicros).toBe(33_333_333n);
    expect(creditsForPurchase(tiered, 1_000n).bonusRatePpm).toBe(50_000n);
    expect(creditsForPurchase(tiered, 20_000n).bonusRatePpm).toBe(200_000n);
  });
});
