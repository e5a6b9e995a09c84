import { describe, expect, it } from 'vitest';
import { loadConfig } from './load-config.ts';

const config = loadConfig(undefined, {});
const byId = new Map(config.models.map((model) => [model.id, model]));

describe('the built-in catalog', () => {
  it('validates, with unique ids', () => {
    expect(byId.size).toBe(config.models.length);
    // 24 models in seed 001, 53 in seed 002, 5 ids in both, 22 token-priced chat models (7 OpenAI,
    // 9 Anthropic, 5 Google, 1 xAI) and 3 embedding models.
    expect(config.models.length).toBe(24 + 53 - 5 + 22 + 3);
  });

  it("marks seed 001's and seed 002's defaults, one model per purpose", () => {
    const defaults = Object.fromEntries(
      config.models.flatMap((model) => model.defaultFor.map((purpose) => [purpose, model.id])),
    );
    expect(defaults).toEqual({
      asset_image: 'fal-ai/flux-2-flex',
      image_edit: 'fal-ai/flux-pro/kontext',
      background_removal: 'fal-ai/birefnet',
      upscale: 'fal-ai/bria/upscale/creative',
      image: 'fal-ai/nano-banana-2',
      video: 'fal-ai/kling-video/o3/standard/text-to-video',
      tts: 'fal-ai/elevenlabs/tts/turbo-v2.5',
      text: 'gmi/deepseek-r1',
    });
  });

  it('routes each namespace to its provider', () => {
    for (const model of config.models) {
      const expected = /^(fal-ai|beatoven|minimax|cassetteai)\//.test(model.id)
        ? 'fal'
        : model.id.startsWith('gmi/')
          ? 'gmi'
          : model.id.startsWith('openai/')
            ? 'openai'
            : model.id.startsWith('anthropic/')
              ? 'anthropic'
              : model.id.startsWith('google/')
                ? 'google'
                : model.id.startsWith('xai/')
                  ? 'xai'
                  : 'openrouter';
      expect(model.provider, model.id).toBe(expected);
      expect(config.providers[model.provider], model.id).toBeDefined();
    }
    expect(byId.get('gmi/deepseek-r1')?.upstreamModel).toBe('deepseek-r1');
    expect(byId.get('fal-ai/flux/schnell')?.upstreamModel).toBe('fal-ai/flux/schnell');
  });

  it('includes the token-priced chat models with their limits', () => {
    expect(byId.get('anthropic/claude-sonnet-4-20250514')).toMatchObject({
      name: 'Claude Sonnet 4',
      type: 'language',
      provider: 'anthropic',
      upstreamModel: 'claude-sonnet-4-20250514',
      contextWindow: 200_000,
      maxTokens: 8_192,
      price: {
        inputPerMillionMicros: 300_000_000n,
        outputPerMillionMicros: 1_500_000_000n,
        cachedInputPerMillionMicros: 30_000_000n,
        perCallMicros: null,
      },
    });
    expect(byId.get('openai/gpt-4o')).toMatchObject({ upstreamModel: 'gpt-4o', maxTokens: 16_384 });
    expect(byId.get('openai/gpt-4o-mini')?.price.cachedInputPerMillionMicros).toBe(7_500_000n);
    expect(byId.get('anthropic/claude-3-5-haiku-20241022')?.provider).toBe('anthropic');
  });

  it("prices Director's Cut as an operation and Veo 3.1 per second", () => {
    expect(byId.get('fal-ai/ffmpeg-api/compose')).toMatchObject({
      type: 'operation',
      price: { perCallMicros: 12_000_000n },
    });
    expect(byId.get('fal-ai/veo3.1')?.price).toMatchObject({ perUnitMicros: 10_000_000n, unit: 'second' });
  });

  it('says which input of each media model sets the amount of work', () => {
    expect(byId.get('fal-ai/veo3.1')?.workInputs).toEqual([
      {
        field: 'duration',
        role: 'units',
        measure: 'seconds',
        defaultValue: '8s',
        minMicroUnits: 4_000_000n,
        maxMicroUnits: 8_000_000n,
      },
    ]);
    const imageMakers = config.models.filter(
      (model) =>
        model.provider === 'fal' &&
        model.type === 'image' &&
        !['background_removal', 'upscaling'].includes(model.category ?? ''),
    );
    expect(imageMakers.length).toBe(28);
    for (const model of imageMakers) {
      expect(model.workInputs, model.id).toEqual([
        {
          field: 'num_images',
          role: 'outputs',
          measure: 'count',
          defaultValue: 1,
          minMicroUnits: 1_000_000n,
          maxMicroUnits: 4_000_000n,
        },
      ]);
    }
    expect(byId.get('fal-ai/minimax/hailuo-02/standard/text-to-video')?.workInputs).toEqual([
      expect.objectContaining({ field: 'duration', role: 'limit', maxMicroUnits: 6_000_000n }),
    ]);
    expect(byId.get('fal-ai/sora-2/text-to-video/pro')?.workInputs[0]?.maxMicroUnits).toBe(4_000_000n);
    // Every per-unit media model names the input that carries its units.
    for (const model of config.models.filter((candidate) => candidate.price.perUnitMicros !== null)) {
      expect(
        model.workInputs.some((work) => work.role === 'units'),
        model.id,
      ).toBe(true);
    }
    expect(byId.get('gmi/seedream-5.0')?.workInputs).toEqual([]);
    expect(byId.get('openai/gpt-4o')?.workInputs).toEqual([]);
  });
});
