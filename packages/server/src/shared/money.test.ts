import { describe, expect, it } from 'vitest';
import {
  decimalToScaled,
  formatMicros,
  parseCredits,
  parsePositiveCredits,
  parseUsdToCents,
} from './money.ts';

const refusedAs = (field: string) =>
  expect.objectContaining({ code: 'invalid_request', details: { param: field } });

describe('parseCredits', () => {
  it.each([
    [0.1, 100_000n],
    [100, 100_000_000n],
    [0.000001, 1n],
    [1e-6, 1n],
    [1e2, 100_000_000n],
    [-2.5, -2_500_000n],
    [0, 0n],
    ['0', 0n],
    ['12.000001', 12_000_001n],
    ['-3', -3_000_000n],
    ['007.50', 7_500_000n],
    ['1.0000000', 1_000_000n],
    [9_000_000_000_000, 9_000_000_000_000_000_000n],
  ])('%j → %s micros', (value, micros) => {
    expect(parseCredits(value)).toBe(micros);
  });

  // Each of these was once accepted: a second spelling of a number is a second parser to attack.
  it.each([
    ['-0'],
    ['-0.000'],
    [-0],
    [' 5 '],
    ['5 '],
    ['100e-2'],
    ['1e2'],
    ['1E2'],
    ['+5'],
    ['.5'],
    ['5.'],
    ['0x10'],
    ['١٢'],
    [''],
    ['5,0'],
    ['Infinity'],
    [Number.POSITIVE_INFINITY],
    [Number.NaN],
    [null],
    [true],
    [{}],
  ])('refuses %j', (value) => {
    expect(() => parseCredits(value)).toThrowError(refusedAs('amount'));
  });

  it('refuses a JSON number whose shortest text has an exponent (below 1e-6, from 1e21)', () => {
    // 1e-7 would also be too precise and 1e21 out of range: the exponent never hides a valid amount.
    expect(() => parseCredits(1e-7)).toThrowError(/plain decimal/);
    expect(() => parseCredits(1e21)).toThrowError(/plain decimal/);
  });

  it('refuses precision beyond a micro-credit and amounts beyond 64 bits', () => {
    expect(() => parseCredits('0.0000001')).toThrowError(/more than 6 decimals/);
    expect(() => parseCredits(0.1 + 0.2)).toThrowError(/more than 6 decimals/);
    expect(() => parseCredits('9223372036855')).toThrowError(/out of range/);
  });

  it('names the field it parsed', () => {
    expect(() => parseCredits(' 5 ', 'max_run_cost')).toThrowError(refusedAs('max_run_cost'));
  });
});

describe('parsePositiveCredits', () => {
  it('refuses zero and negatives', () => {
    expect(parsePositiveCredits('0.5')).toBe(500_000n);
    expect(() => parsePositiveCredits(0)).toThrowError(/greater than zero/);
    expect(() => parsePositiveCredits('-1')).toThrowError(/greater than zero/);
  });
});

describe('parseUsdToCents', () => {
  it.each([
    [25, 2_500n],
    ['25', 2_500n],
    [19.99, 1_999n],
    ['0.10', 10n],
  ])('%j → %s cents', (value, cents) => {
    expect(parseUsdToCents(value)).toBe(cents);
  });

  it.each([[' 5 '], ['100e-2'], ['+5'], ['.5'], ['5.'], ['-0'], [-0], ['1.001'], [[5]]])(
    'refuses %j',
    (value) => {
      expect(() => parseUsdToCents(value)).toThrowError(refusedAs('amount_usd'));
    },
  );
});

describe('decimalToScaled', () => {
  it('scales plain decimals exactly and keeps the sign', () => {
    expect(decimalToScaled('12.5', 4)).toBe(125_000n);
    expect(decimalToScaled('-0.25', 2)).toBe(-25n);
    expect(formatMicros(decimalToScaled('0.000001', 6))).toBe('0.000001');
  });
});
