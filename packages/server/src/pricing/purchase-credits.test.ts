import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigSource } from '../config/load-config.ts';
import { creditsForPurchase, paymentCurrency } from './purchase-credits.ts';

const config = loadConfig(undefined, {});
const usd = config.currencies.usd!;

describe('creditsForPurchase', () => {
  it('$25 buys 2,500 credits, no bonus below $50', () => {
    expect(creditsForPurchase(usd, 2_500n)).toEqual({
      baseMicros: 2_500_000_000n,
      bonusMicros: 0n,
      totalMicros: 2_500_000_000n,
      bonusRatePpm: 0n,
    });
  });

  it('seed 001: a $100 purchase gets $110 in credits; the bonus starts at $50', () => {
    expect(creditsForPurchase(usd, 10_000n).totalMicros).toBe(11_000_000_000n);
    expect(creditsForPurchase(usd, 5_000n).bonusMicros).toBe(500_000_000n);
    expect(creditsForPurchase(usd, 4_999n).bonusMicros).toBe(0n);
  });

  it('applies the highest tier reached, and rounds a grant down', () => {
    const tiered = parseConfigSource(
      'credits: { usd_per_credit: 0.03 }\npurchases: { bonus: [{ from_usd: 100, percent: 20 }, { from_usd: 10, percent: 5 }] }',
      { env: {} },
    );
    // $1 at $0.03 a credit = 33.333333… credits → 33.333333.
    expect(creditsForPurchase(tiered.currencies.usd!, 100n).baseMicros).toBe(33_333_333n);
    expect(creditsForPurchase(tiered.currencies.usd!, 1_000n).bonusRatePpm).toBe(50_000n);
    expect(creditsForPurchase(tiered.currencies.usd!, 20_000n).bonusRatePpm).toBe(200_000n);
  });
});

describe('purchases in other currencies', () => {
  const withEuro = parseConfigSource(
    [
      'currencies:',
      '  eur: { per_credit: 0.0095, minimum: 4.5, bonus: [{ from: 40, percent: 12.5 }], packs: { pack_100: 0.95 } }',
      '  jpy: { per_credit: 1.5 }',
    ].join('\n'),
    { env: {} },
  );

  it('prices each currency at its own rate, minimum and bonus tiers, in its own minor units', () => {
    const euro = paymentCurrency(withEuro, 'EUR');
    expect(euro).toMatchObject({ code: 'eur', minorDigits: 2, pricePerCreditMicro: 9_500n });
    expect(euro.minimumMinorUnits).toBe(450n);
    expect(euro.packPricesMinorUnits).toEqual({ pack_100: 95n });
    // €12.50 at €0.0095 a credit = 1,315.789473… credits, rounded down to the micro-credit.
    expect(creditsForPurchase(euro, 1_250n)).toEqual({
      baseMicros: 1_315_789_473n,
      bonusMicros: 0n,
      totalMicros: 1_315_789_473n,
      bonusRatePpm: 0n,
    });
    // €40 reaches the 12.5% tier: 4,210.526315 + 526.315789.
    expect(creditsForPurchase(euro, 4_000n).totalMicros).toBe(4_210_526_315n + 526_315_789n);
    // Yen has no minor unit: ¥300 at ¥1.5 a credit is 200 credits; USD's $5 minimum becomes ¥5.
    const yen = paymentCurrency(withEuro, 'jpy');
    expect(yen.minorDigits).toBe(0);
    expect(creditsForPurchase(yen, 300n).totalMicros).toBe(200_000_000n);
    expect(yen.minimumMinorUnits).toBe(5n);
  });

  it('refuses a currency nobody configured, naming the ones sold', () => {
    expect(() => paymentCurrency(withEuro, 'gbp')).toThrow(/not configured/);
    expect(() => paymentCurrency(withEuro, 'constructor')).toThrow(/not configured/);
  });

  it('reports every mistake in a currency with its path', () => {
    expect(() =>
      parseConfigSource(
        'currencies:\n  EUR: { per_credit: 0.01 }\n  usd: { per_credit: 0.01 }\n  gbp: { per_credit: 0.01, minimum: 1.234, packs: { nope: 1 } }',
        { env: {} },
      ),
    ).toThrow(
      /currencies\.EUR[\s\S]*currencies\.usd[\s\S]*currencies\.gbp\.minimum[\s\S]*currencies\.gbp\.packs\.nope/,
    );
  });
});
