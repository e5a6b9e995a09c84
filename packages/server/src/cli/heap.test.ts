import { describe, expect, it } from 'vitest';
import { DEFAULT_HEAP_GROWING_PERCENT, heapGrowingPercent } from './heap.ts';

describe('heapGrowingPercent', () => {
  it('defaults to doubling, takes 0 to 1000, and refuses anything else naming the variable', () => {
    expect(heapGrowingPercent({})).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(heapGrowingPercent({ TOLLGATE_HEAP_GROWING_PERCENT: '' })).toBe(DEFAULT_HEAP_GROWING_PERCENT);
    expect(heapGrowingPercent({ TOLLGATE_HEAP_GROWING_PERCENT: '0' })).toBe(0);
    expect(heapGrowingPercent({ TOLLGATE_HEAP_GROWING_PERCENT: ' 250 ' })).toBe(250);
    expect(heapGrowingPercent({ TOLLGATE_HEAP_GROWING_PERCENT: '1000' })).toBe(1000);
    for (const value of ['1001', '-5', '1.5', 'lots', '1e3', '0x10']) {
      expect(() => heapGrowingPercent({ TOLLGATE_HEAP_GROWING_PERCENT: value }), value).toThrow(
        /TOLLGATE_HEAP_GROWING_PERCENT must be a whole number from 0 to 1000/,
      );
    }
  });
});
