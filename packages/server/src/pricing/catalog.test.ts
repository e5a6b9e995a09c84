import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigSource } from '../config/load-config.ts';
import { TollgateError } from '../shared/errors.ts';
import { createCatalog } from './catalog.ts';
import { quote } from './quote.ts';

const config = loadConfig(undefined, {});
const catalog = createCatalog(config);

describe('catalog', () => {
  it('finds listed models and lists them in config order', () => {
    expect(catalog.find('openai/gpt-4o')).toMatchObject({ id: 'openai/gpt-4o', isDefault: false });
    expect(catalog.find('nope/nothing')).toBeUndefined();
    expect(catalog.list().map((model) => model.id)).toEqual(config.models.map((model) => model.id));
    expect(Object.isFrozen(catalog.list())).toBe(true);
  });

  it('answers an unknown id with the default-price pseudo-model', () => {
    const unknown = catalog.require('fal-ai/brand-new');
    expect(unknown).toMatchObject({
      id: 'fal-ai/brand-new',
      isDefault: true,
      provider: 'fal',
      upstreamModel: 'fal-ai/brand-new',
      type: 'operation',
    });
    expect(quote(unknown).totalMicros).toBe(5_000_000n);
  });

  it('routes an unknown id namespaced by a provider to that provider', () => {
    expect(catalog.require('openai/gpt-next')).toMatchObject({
      provider: 'openai',
      upstreamModel: 'gpt-next',
    });
  });

  it('throws model_not_found for an unknown id when strict', () => {
    expect(() => catalog.require('nope/nothing', { strict: true })).toThrowError(
      expect.objectContaining({ code: 'model_not_found', status: 404 }),
    );
    expect(catalog.require('openai/gpt-4o', { strict: true }).id).toBe('openai/gpt-4o');
  });

  it('rejects an empty model id', () => {
    expect(() => catalog.require('')).toThrowError(TollgateError);
    expect(() => catalog.require(' ')).toThrowError(expect.objectContaining({ code: 'invalid_request' }));
  });

  it('finds defaults by purpose, and the first model of a type', () => {
    expect(catalog.defaultFor('video')?.id).toBe('fal-ai/kling-video/o3/standard/text-to-video');
    expect(catalog.defaultFor('nothing')).toBeUndefined();
    expect(catalog.firstOfType('language')?.id).toBe('gmi/gemini-3.1-flash-lite');
  });

  it('uses the configured default price', () => {
    const cheap = createCatalog(parseConfigSource('default_price: { per_call: 0.25 }', { env: {} }));
    expect(quote(cheap.require('x/y')).totalMicros).toBe(250_000n);
  });
});
