import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfigSource } from '../config/load-config.ts';
import { createCatalog } from './catalog.ts';
import {
  formatCredits,
  getDefaultImageModelCredits,
  getDefaultVideoModelCredits,
  getDirectorsCutCredits,
  getModelCredits,
  getShotImageCredits,
  getShotVideoCredits,
} from './credit-helpers.ts';

const catalog = createCatalog(loadConfig(undefined, {}));

describe('cost helpers (seed 002 parity)', () => {
  it('getModelCredits gives one call in micros and as decimal text', () => {
    expect(getModelCredits(catalog, 'fal-ai/flux-2')).toEqual({ micros: 6_000_000n, credits: '6' });
    expect(getModelCredits(catalog, 'fal-ai/birefnet')).toEqual({ micros: 500_000n, credits: '0.5' });
    expect(getModelCredits(catalog, 'unknown/model')).toEqual({ micros: 5_000_000n, credits: '5' });
    // A per-second model: one unit.
    expect(getModelCredits(catalog, 'fal-ai/veo3.1').credits).toBe('10');
  });

  it('defaults: Kling O3 Standard T2V for video (20), Nano Banana 2 for images', () => {
    expect(getDefaultVideoModelCredits(catalog).credits).toBe('20');
    // Seed 002 says 4; seed 001's $0.08 wins for this id (see seed-prices.test.ts).
    expect(getDefaultImageModelCredits(catalog).credits).toBe('8');
  });

  it('shot helpers fall back to the default model when none is chosen', () => {
    expect(getShotImageCredits(catalog).credits).toBe('8');
    expect(getShotImageCredits(catalog, null).credits).toBe('8');
    expect(getShotImageCredits(catalog, 'fal-ai/flux-2-max').credits).toBe('10');
    expect(getShotVideoCredits(catalog, '').credits).toBe('20');
    expect(getShotVideoCredits(catalog, 'fal-ai/veo3').credits).toBe('35');
  });

  it("Director's Cut comes from fal-ai/ffmpeg-api/compose, else 12", () => {
    expect(getDirectorsCutCredits(catalog)).toEqual({ micros: 12_000_000n, credits: '12' });
    const priced = createCatalog(
      parseConfigSource(
        'models: [{ id: fal-ai/ffmpeg-api/compose, type: operation, provider: fal, price: { per_call: 15 } }]',
        { env: {} },
      ),
    );
    expect(getDirectorsCutCredits(priced).credits).toBe('15');
    const without = createCatalog(
      parseConfigSource('models: [{ id: a/b, type: language, provider: openai, price: { per_call: 1 } }]', {
        env: {},
      }),
    );
    expect(getDirectorsCutCredits(without).credits).toBe('12');
  });

  it('without marked defaults, the first image or video model; without any, the default price', () => {
    const custom = createCatalog(
      parseConfigSource(
        [
          'models:',
          '  - { id: v/one, type: video, provider: fal, price: { per_call: 30 } }',
          '  - { id: i/one, type: image, provider: fal, price: { per_call: 2.5 } }',
        ].join('\n'),
        { env: {} },
      ),
    );
    expect(getDefaultImageModelCredits(custom).credits).toBe('2.5');
    expect(getDefaultVideoModelCredits(custom).credits).toBe('30');
    const empty = createCatalog(parseConfigSource('models: []\ndefault_price: { per_call: 7 }', { env: {} }));
    expect(getShotVideoCredits(empty).credits).toBe('7');
  });
});

describe('formatCredits', () => {
  it.each([
    [1_234_500_000n, '1,234.5 credits'],
    [1_000_000n, '1 credit'],
    [-1_000_000n, '-1 credit'],
    [0n, '0 credits'],
    [300_000n, '0.3 credits'],
    [1n, '0.000001 credits'],
    [1_234_567_890_000_001n, '1,234,567,890.000001 credits'],
    [-2_500_000_000n, '-2,500 credits'],
  ])('%s → %s', (micros, text) => {
    expect(formatCredits(micros)).toBe(text);
  });
});
