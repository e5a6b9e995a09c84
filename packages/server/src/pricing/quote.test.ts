import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Price } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';
import { parseRate } from './price-inputs.ts';
import { creditsPerRequest, maxOutputTokensAffordable, type PricedModel, quote } from './quote.ts';

const NO_PRICE: Price = {
  perCallMicros: null,
  perUnitMicros: null,
  unit: null,
  inputPerMillionMicros: null,
  outputPerMillionMicros: null,
  cachedInputPerMillionMicros: null,
};

function priced(price: Partial<Price>): PricedModel {
  return { price: { ...NO_PRICE, ...price } };
}

const CREDIT = 1_000_000n;
const gpt4o = priced({
  inputPerMillionMicros: 250n * CREDIT,
  outputPerMillionMicros: 1000n * CREDIT,
  cachedInputPerMillionMicros: 125n * CREDIT,
});

function expectInvalid(run: () => unknown, param: string) {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(TollgateError);
    expect((error as TollgateError).code).toBe('invalid_request');
    expect((error as TollgateError).details.param).toBe(param);
    return;
  }
  throw new Error('expected invalid_request');
}

describe('each price kind', () => {
  it('per_call is charged once, whatever the quantity', () => {
    const model = priced({ perCallMicros: 300_000n });
    expect(quote(model).totalMicros).toBe(300_000n);
    expect(quote(model, { quantity: 4 }).totalMicros).toBe(300_000n);
  });

  it('per_unit scales with a decimal quantity', () => {
    const veo = priced({ perUnitMicros: 10n * CREDIT, unit: 'second' });
    expect(quote(veo).providerCostMicros).toBe(10n * CREDIT);
    expect(quote(veo, { quantity: 4.5 }).providerCostMicros).toBe(45n * CREDIT);
    expect(quote(veo, { quantity: '0.000001' }).providerCostMicros).toBe(10n);
  });

  it('per_unit rounds a fractional micro-credit up', () => {
    const perCharacter = priced({ perUnitMicros: 3n, unit: 'character' });
    // 3 micros × 0.5 = 1.5 micros → 2.
    expect(quote(perCharacter, { quantity: '0.5' }).providerCostMicros).toBe(2n);
  });

  it('input, output and cached input are priced per million tokens', () => {
    expect(quote(gpt4o, { usage: { input_tokens: 1_000_000 } }).totalMicros).toBe(250n * CREDIT);
    expect(quote(gpt4o, { usage: { output_tokens: 1_000_000 } }).totalMicros).toBe(1000n * CREDIT);
    expect(quote(gpt4o, { usage: { cached_input_tokens: 1_000_000 } }).totalMicros).toBe(125n * CREDIT);
  });

  it('cached input falls back to the input rate, and is never billed twice', () => {
    const noCachedRate = priced({ inputPerMillionMicros: 250n * CREDIT });
    expect(quote(noCachedRate, { usage: { input_tokens: 100, cached_input_tokens: 100 } }).totalMicros).toBe(
      50_000n,
    );
    // input_tokens excludes the cached ones: 100 input + 100 cached, not 200 input + 100 cached.
    expect(quote(gpt4o, { usage: { input_tokens: 100, cached_input_tokens: 100 } }).totalMicros).toBe(
      37_500n,
    );
  });

  it('a model without token prices ignores usage; a token model without usage costs nothing', () => {
    expect(quote(priced({ perCallMicros: CREDIT }), { usage: { input_tokens: 99 } }).totalMicros).toBe(
      CREDIT,
    );
    expect(quote(gpt4o).totalMicros).toBe(0n);
  });
});

describe('combined kinds', () => {
  it('sum exactly before the single rounding', () => {
    const model = priced({
      perCallMicros: 2n * CREDIT,
      perUnitMicros: CREDIT,
      unit: 'image',
      inputPerMillionMicros: 300_000n, // 0.3 credits per million tokens
      outputPerMillionMicros: 300_000n,
    });
    // 2 + 3 × 1 credits, plus (1 + 1) × 0.3 micros = 0.6 micros → one rounding up, not two.
    expect(quote(model, { quantity: 3, usage: { input_tokens: 1, output_tokens: 1 } }).totalMicros).toBe(
      5n * CREDIT + 1n,
    );
  });
});

describe('rounding', () => {
  it('1 token at 250 per million is exactly 250 micros', () => {
    expect(quote(gpt4o, { usage: { input_tokens: 1 } })).toEqual({
      providerCostMicros: 250n,
      referralShareMicros: 0n,
      totalMicros: 250n,
    });
  });

  it('1 token at 0.3 per million rounds up to 1 micro', () => {
    expect(
      quote(priced({ inputPerMillionMicros: 300_000n }), { usage: { input_tokens: 1 } }).totalMicros,
    ).toBe(1n);
  });

  it('rounds the total from the exact cost, not from the rounded provider cost', () => {
    // Exact provider cost 0.3 micros: provider 1, total ceil(0.3 × 1.1 = 0.33) = 1, share 0.
    const model = priced({ inputPerMillionMicros: 300_000n });
    expect(quote(model, { usage: { input_tokens: 1 } }, parseRate('0.1'))).toEqual({
      providerCostMicros: 1n,
      referralShareMicros: 0n,
      totalMicros: 1n,
    });
    // Exact 9.5 micros at 10%: provider 10, total ceil(10.45) = 11, share 1.
    const halfMicros = priced({ perUnitMicros: 19n, unit: 'second' });
    expect(quote(halfMicros, { quantity: '0.5' }, parseRate('0.1'))).toEqual({
      providerCostMicros: 10n,
      referralShareMicros: 1n,
      totalMicros: 11n,
    });
  });

  it('never lets the share go negative or the total fall short of the exact price', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 10n }),
        fc.bigInt({ min: 0n, max: 10n ** 10n }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.bigInt({ min: 0n, max: 10_000_000n }),
        (inputRate, outputRate, inputTokens, outputTokens, ratePpm) => {
          const model = priced({ inputPerMillionMicros: inputRate, outputPerMillionMicros: outputRate });
          const result = quote(
            model,
            { usage: { input_tokens: inputTokens, output_tokens: outputTokens } },
            ratePpm,
          );
          const exactTimesMillion = inputRate * BigInt(inputTokens) + outputRate * BigInt(outputTokens);
          expect(result.referralShareMicros).toBeGreaterThanOrEqual(0n);
          expect(result.providerCostMicros * 1_000_000n).toBeGreaterThanOrEqual(exactTimesMillion);
          expect((result.providerCostMicros - 1n) * 1_000_000n).toBeLessThan(exactTimesMillion);
          expect(result.totalMicros).toBe(result.providerCostMicros + result.referralShareMicros);
        },
      ),
    );
  });
});

describe('referral share', () => {
  it("holds seed 004's example: $5.00 provider cost at 10% → 550 credits, 50 to the partner", () => {
    const fiveDollars = priced({ perCallMicros: 500n * CREDIT });
    expect(quote(fiveDollars, {}, parseRate(0.1))).toEqual({
      providerCostMicros: 500n * CREDIT,
      referralShareMicros: 50n * CREDIT,
      totalMicros: 550n * CREDIT,
    });
  });

  it('rejects a rate outside 0..10', () => {
    expectInvalid(() => quote(gpt4o, {}, -1n), 'referral_rate');
    expectInvalid(() => quote(gpt4o, {}, 10_000_001n), 'referral_rate');
  });
});

describe('invalid inputs', () => {
  const veo = priced({ perUnitMicros: CREDIT, unit: 'second' });
  it.each([
    ['zero quantity', { quantity: 0 }, 'quantity'],
    ['negative quantity', { quantity: -1 }, 'quantity'],
    ['7 decimals of quantity', { quantity: '1.0000001' }, 'quantity'],
    ['quantity as text', { quantity: 'ten' }, 'quantity'],
    ['infinite quantity', { quantity: Number.POSITIVE_INFINITY }, 'quantity'],
    ['negative tokens', { usage: { input_tokens: -1 } }, 'usage.input_tokens'],
    ['fractional tokens', { usage: { output_tokens: 1.5 } }, 'usage.output_tokens'],
    [
      'tokens as text',
      { usage: { cached_input_tokens: '5' as unknown as number } },
      'usage.cached_input_tokens',
    ],
    ['negative bigint tokens', { usage: { input_tokens: -1n } }, 'usage.input_tokens'],
  ])('%s', (_label, input, param) => {
    expectInvalid(() => quote(veo, input), param);
  });

  it('accepts trailing zeros beyond 6 decimals and null as "not given"', () => {
    expect(quote(veo, { quantity: '2.50000000' }).totalMicros).toBe(2_500_000n);
    expect(quote(veo, { quantity: null, usage: null }).totalMicros).toBe(CREDIT);
  });

  it('refuses a quote beyond what the ledger can hold', () => {
    const expensive = priced({ perUnitMicros: 2n ** 62n, unit: 'image' });
    expectInvalid(() => quote(expensive, { quantity: 4 }), 'quantity');
  });
});

describe('creditsPerRequest', () => {
  it('assumes 2,500 input and 2,500 output tokens and includes the referral share', () => {
    // 2500 × 250/M + 2500 × 1000/M = 0.625 + 2.5 = 3.125 credits; × 1.1 = 3.4375.
    expect(creditsPerRequest(gpt4o)).toBe(3_125_000n);
    expect(creditsPerRequest(gpt4o, undefined, parseRate('0.1'))).toBe(3_437_500n);
    expect(creditsPerRequest(gpt4o, { input_tokens: 1000, output_tokens: 500 })).toBe(750_000n);
    expect(creditsPerRequest(priced({ perCallMicros: 4n * CREDIT }))).toBe(4n * CREDIT);
  });
});

describe('maxOutputTokensAffordable', () => {
  it('finds the largest output that fits', () => {
    // 1000 input tokens = 0.25 credits; output 0.001 credits a token; 1 credit leaves 750 tokens.
    expect(maxOutputTokensAffordable(gpt4o, { input_tokens: 1000 }, CREDIT)).toEqual({
      affordable: true,
      maxOutputTokens: 750n,
    });
    // With 10%: 1.1 × (0.25 + n × 0.001) ≤ 1 → n ≤ 659.09…
    expect(maxOutputTokensAffordable(gpt4o, { input_tokens: 1000 }, CREDIT, parseRate('0.1'))).toEqual({
      affordable: true,
      maxOutputTokens: 659n,
    });
  });

  it('says when even the input cannot be paid, and when output is free', () => {
    expect(maxOutputTokensAffordable(gpt4o, { input_tokens: 10_000 }, CREDIT)).toEqual({ affordable: false });
    expect(maxOutputTokensAffordable(gpt4o, {}, -1n)).toEqual({ affordable: false });
    const inputOnly = priced({ inputPerMillionMicros: CREDIT });
    expect(maxOutputTokensAffordable(inputOnly, { input_tokens: 5 }, 5n)).toEqual({
      affordable: true,
      maxOutputTokens: null,
    });
  });

  it('counts a per-call price', () => {
    const model = priced({ perCallMicros: CREDIT, outputPerMillionMicros: CREDIT });
    expect(maxOutputTokensAffordable(model, {}, 2n * CREDIT)).toEqual({
      affordable: true,
      maxOutputTokens: 1_000_000n,
    });
  });

  it('agrees with quote: n fits, n + 1 does not', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 10n }),
        fc.bigInt({ min: 0n, max: 10n ** 10n }),
        fc.bigInt({ min: 0n, max: 10n ** 10n }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.bigInt({ min: 0n, max: 10n ** 12n }),
        fc.bigInt({ min: 0n, max: 10_000_000n }),
        (outputRate, inputRate, cachedRate, inputTokens, cachedTokens, availableMicros, ratePpm) => {
          const model = priced({
            inputPerMillionMicros: inputRate,
            outputPerMillionMicros: outputRate,
            cachedInputPerMillionMicros: cachedRate,
          });
          const usage = { input_tokens: inputTokens, cached_input_tokens: cachedTokens };
          const budget = maxOutputTokensAffordable(model, usage, availableMicros, ratePpm);
          const totalFor = (outputTokens: bigint) =>
            quote(model, { usage: { ...usage, output_tokens: outputTokens } }, ratePpm).totalMicros;
          if (!budget.affordable) {
            expect(totalFor(0n)).toBeGreaterThan(availableMicros);
            return;
          }
          const max = budget.maxOutputTokens!;
          expect(totalFor(max)).toBeLessThanOrEqual(availableMicros);
          expect(totalFor(max + 1n)).toBeGreaterThan(availableMicros);
        },
      ),
    );
  });
});
