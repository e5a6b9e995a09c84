import { describe, expect, it } from 'vitest';
import { TollgateError } from '../shared/errors.ts';
import { parseQuantity, parseRate, parseUsage } from './price-inputs.ts';

describe('parseRate', () => {
  it.each([
    [0.1, 100_000n],
    ['0.1', 100_000n],
    [0, 0n],
    ['0.000001', 1n],
    [10, 10_000_000n],
  ])('%s → %s ppm', (value, ppm) => {
    expect(parseRate(value)).toBe(ppm);
  });

  it.each([
    [-0.1],
    [10.000001],
    ['0.0000001'],
    ['ten'],
    [null],
    [Number.NaN],
    ['1e-1'],
    [' 0.1'],
    ['.1'],
    [-0],
  ])('rejects %s', (value) => {
    expect(() => parseRate(value)).toThrowError(
      expect.objectContaining({ code: 'invalid_request', details: { param: 'referral_rate' } }),
    );
  });
});

describe('parseQuantity', () => {
  it('reads decimals exactly as micro-units, default 1', () => {
    expect(parseQuantity(undefined)).toBe(1_000_000n);
    expect(parseQuantity(4.5)).toBe(4_500_000n);
    expect(parseQuantity('0.000001')).toBe(1n);
    expect(parseQuantity('12')).toBe(12_000_000n);
  });

  it.each([' 12 ', '1e1', '+12', '.5', '5.', '-0', '0', -1, 1e-7])(
    'refuses %j: only a positive plain decimal',
    (value) => {
      expect(() => parseQuantity(value)).toThrowError(
        expect.objectContaining({ code: 'invalid_request', details: { param: 'quantity' } }),
      );
    },
  );

  it('rejects objects', () => {
    expect(() => parseQuantity({})).toThrowError(TollgateError);
  });
});

describe('parseUsage', () => {
  it('defaults missing counts to zero and accepts bigint', () => {
    expect(parseUsage({ input_tokens: 3, output_tokens: 4n })).toEqual({
      inputTokens: 3n,
      outputTokens: 4n,
      cachedInputTokens: 0n,
    });
    expect(parseUsage(undefined)).toEqual({ inputTokens: 0n, outputTokens: 0n, cachedInputTokens: 0n });
  });

  it('rejects unsafe integers and a non-object', () => {
    expect(() => parseUsage({ input_tokens: 2 ** 53 })).toThrowError(TollgateError);
    expect(() => parseUsage(5 as never)).toThrowError(
      expect.objectContaining({ details: { param: 'usage' } }),
    );
  });
});
