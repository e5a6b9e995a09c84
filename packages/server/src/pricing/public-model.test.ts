import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.ts';
import { createCatalog } from './catalog.ts';
import { priceWithShare, publicModel } from './public-model.ts';

const catalog = createCatalog(loadConfig(undefined, {}));

describe('publicModel', () => {
  it('gives the /v1/models shape with limits for chat models', () => {
    expect(publicModel(catalog.require('anthropic/claude-sonnet-4-20250514'))).toEqual({
      id: 'anthropic/claude-sonnet-4-20250514',
      name: 'Claude Sonnet 4',
      type: 'language',
      context_window: 200000,
      max_tokens: 8192,
      pricing: { input_per_million: 300, output_per_million: 1500, cached_input_per_million: 30 },
    });
  });

  it('leaves out absent limits and uncharged kinds; prices are exact JSON numbers', () => {
    expect(publicModel(catalog.require('fal-ai/flux/schnell'))).toEqual({
      id: 'fal-ai/flux/schnell',
      name: 'FLUX Schnell',
      type: 'image',
      pricing: { per_call: 0.3 },
    });
    expect(publicModel(catalog.require('fal-ai/veo3.1')).pricing).toEqual({ per_unit: 10, unit: 'second' });
    expect(JSON.stringify(publicModel(catalog.require('openai/gpt-4o-mini')).pricing)).toBe(
      '{"input_per_million":15,"output_per_million":60,"cached_input_per_million":7.5}',
    );
  });

  it('serializes every catalog model to JSON', () => {
    for (const model of catalog.list()) expect(() => JSON.stringify(publicModel(model))).not.toThrow();
  });
});

describe('priceWithShare', () => {
  it("adds the app's share to every component, rounding up to the micro-credit", () => {
    const price = {
      perCallMicros: 1_000_000n,
      perUnitMicros: 3n,
      unit: 'second',
      inputPerMillionMicros: 250_000_000n,
      outputPerMillionMicros: null,
      cachedInputPerMillionMicros: 0n,
    };
    expect(priceWithShare(price, 100_000n)).toEqual({
      perCallMicros: 1_100_000n,
      perUnitMicros: 4n,
      unit: 'second',
      inputPerMillionMicros: 275_000_000n,
      outputPerMillionMicros: null,
      cachedInputPerMillionMicros: 0n,
    });
    expect(priceWithShare(price, 0n)).toEqual(price);
  });
});
