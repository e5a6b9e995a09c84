import { describe, expect, it } from 'vitest';
import { TollgateError } from '../shared/errors.ts';
import { operatorRateChange } from './apps-service.ts';

describe("the operator's change of a referral rate and its ceiling", () => {
  const current = { ratePpm: 100_000n, maxPpm: 300_000n };

  it('keeps what is not changed', () => {
    expect(operatorRateChange(current, {})).toEqual(current);
    expect(operatorRateChange(current, { ratePpm: 200_000n })).toEqual({
      ratePpm: 200_000n,
      maxPpm: 300_000n,
    });
  });

  it('lifts the ceiling to a rate set above it, and lowers the rate to a ceiling set under it', () => {
    expect(operatorRateChange(current, { ratePpm: 500_000n })).toEqual({
      ratePpm: 500_000n,
      maxPpm: 500_000n,
    });
    expect(operatorRateChange(current, { maxPpm: 50_000n })).toEqual({ ratePpm: 50_000n, maxPpm: 50_000n });
  });

  it('refuses both at once with the rate above the ceiling', () => {
    expect(() => operatorRateChange(current, { ratePpm: 400_000n, maxPpm: 300_000n })).toThrow(TollgateError);
    expect(operatorRateChange(current, { ratePpm: 300_000n, maxPpm: 300_000n })).toEqual({
      ratePpm: 300_000n,
      maxPpm: 300_000n,
    });
  });
});
