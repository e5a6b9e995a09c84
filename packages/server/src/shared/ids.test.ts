import { describe, expect, it } from 'vitest';
import { newId, randomToken } from './ids.ts';

describe('ids', () => {
  it('carries the prefix and 128 bits as 25 base-36 characters', () => {
    expect(newId('hold')).toMatch(/^hold_[0-9a-z]{25}$/);
    expect(randomToken(24)).toMatch(/^[0-9a-z]{38}$/);
  });

  it('never repeats, and spreads evenly over the alphabet', () => {
    const ids = new Set(Array.from({ length: 20_000 }, () => newId('x')));
    expect(ids.size).toBe(20_000);
    const counts = new Map<string, number>();
    for (const id of ids)
      for (const character of id.slice(2)) counts.set(character, (counts.get(character) ?? 0) + 1);
    expect(counts.size).toBe(36);
    // 500,000 characters, each of the 36 expected ~13,889 times (σ ≈ 0.8 %): a mapping that skipped
    // characters or favoured some would show; 5 % is six σ, so chance alone never fails it.
    for (const count of counts.values()) expect(Math.abs(count / 13_889 - 1)).toBeLessThan(0.05);
  });
});
