import { describe, expect, it } from 'vitest';
import { mergeObjects } from './merge-objects.ts';

describe('mergeObjects', () => {
  it('makes what spreading the same objects makes: keys in order, later sources win', () => {
    const first = { endpoint: 'chat', stream: false, tokens: 1 };
    const second = { stream: true, provider: 'openai', nested: { a: 1 } };
    const third = { tokens: 2, extra: null };
    const merged = mergeObjects(first, second, undefined, third, null, {});
    const spread = { ...first, ...second, ...third };
    expect(merged).toEqual(spread);
    expect(Object.keys(merged)).toEqual(Object.keys(spread));
    expect(JSON.stringify(merged)).toBe(JSON.stringify(spread));
    // Copies, never the sources themselves.
    expect(first).toEqual({ endpoint: 'chat', stream: false, tokens: 1 });
  });

  it('keeps a __proto__ key as a plain key and never changes the prototype', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "after": 1}') as Record<string, unknown>;
    const merged = mergeObjects({ before: 0 }, hostile, { after: 2 });
    const spread = { ...{ before: 0 }, ...hostile, ...{ after: 2 } };
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect((merged as { polluted?: boolean }).polluted).toBeUndefined();
    expect(Object.keys(merged)).toEqual(Object.keys(spread));
    expect(JSON.stringify(merged)).toBe(JSON.stringify(spread));
    expect(JSON.stringify(merged)).toBe('{"before":0,"__proto__":{"polluted":true},"after":2}');
  });
});
