import { describe, expect, it } from 'vitest';
import { defaultModelFor, estimateCostMicros } from './costs.ts';
import { scriptedClient } from './stub-fetch.ts';
import type { Model } from './types.ts';

const model = (id: string, type: string, pricing: Model['pricing'], extra: Partial<Model> = {}): Model => ({
  id,
  name: id,
  type,
  pricing,
  ...extra,
});

/** A slice of the seed-002 catalog, the defaults not listed first (as in the real one). */
const catalog: Model[] = [
  model('fal-ai/flux/schnell', 'image', { per_call: 3 }),
  model('fal-ai/nano-banana-2', 'image', { per_call: 4 }, { default_for: 'image' }),
  model('fal-ai/flux/dev', 'image', { per_call: 5 }),
  model('fal-ai/ltx-video', 'video', { per_call: 16 }),
  model(
    'fal-ai/kling-video/o3/standard/text-to-video',
    'video',
    { per_call: 20 },
    { default_for: ['video', 'shot'] },
  ),
  model('fal-ai/veo3.1', 'video', { per_unit: 10, unit: 'second' }),
  model('fal-ai/ffmpeg-api/compose', 'video', { per_call: 12 }),
  model('openai/gpt-4o', 'language', {
    input_per_million: 250,
    output_per_million: 1000,
    cached_input_per_million: 125,
  }),
];

function catalogClient(models: Model[] = catalog) {
  return scriptedClient([{ body: { data: models } }]);
}

describe('estimateCostMicros', () => {
  it('adds per-call, per-unit × quantity and per-token prices exactly', () => {
    const mixed = model('x', 'video', { per_call: 0.1, per_unit: 0.2, input_per_million: 3 });
    expect(estimateCostMicros(mixed)).toBe(300_000n); // 0.1 + 0.2 × 1, no tokens
    expect(estimateCostMicros(mixed, { quantity: '2.5', usage: { input_tokens: 1_000_000 } })).toBe(
      3_600_000n,
    );
  });

  it('rounds a fraction of a micro-credit up, once, on the total', () => {
    const gpt = catalog[7];
    // 1 input token at 250 credits per million = 250 micros; 1 output token = 1000 micros.
    expect(estimateCostMicros(gpt, { usage: { input_tokens: 1, output_tokens: 1 } })).toBe(1250n);
    // 3 cached tokens at 125 credits per million = 375 micros exactly.
    expect(estimateCostMicros(gpt, { usage: { cached_input_tokens: 3 } })).toBe(375n);
    const tiny = model('t', 'language', { input_per_million: 0.000001 });
    expect(estimateCostMicros(tiny, { usage: { input_tokens: 1 } })).toBe(1n); // 10^-6 micro → 1 micro
    expect(estimateCostMicros(tiny, { usage: { input_tokens: 2_000_000 } })).toBe(2n);
  });
});

describe('defaultModelFor', () => {
  it('prefers the model marked default_for, as a string or a list, then the first of the type', () => {
    expect(defaultModelFor(catalog, 'image')?.id).toBe('fal-ai/nano-banana-2');
    expect(defaultModelFor(catalog, 'video')?.id).toBe('fal-ai/kling-video/o3/standard/text-to-video');
    expect(defaultModelFor(catalog, 'language')?.id).toBe('openai/gpt-4o');
    expect(defaultModelFor(catalog, 'audio')).toBeUndefined();
  });
});

describe('cost helpers of the client (seed 002 parity)', () => {
  it('getModelCredits: a model call, a quantity, tokens; undefined when unknown', async () => {
    const { client } = catalogClient();
    expect(await client.getModelCredits('fal-ai/flux/schnell')).toBe(3);
    expect(await client.getModelCredits('fal-ai/veo3.1')).toBe(10);
    expect(await client.getModelCredits('fal-ai/veo3.1', { quantity: 8 })).toBe(80);
    expect(
      await client.getModelCredits('openai/gpt-4o', { usage: { input_tokens: 2500, output_tokens: 2500 } }),
    ).toBe(3.125);
    expect(await client.getModelCredits('no/such-model')).toBeUndefined();
  });

  it('defaults for images and videos', async () => {
    const { client } = catalogClient();
    expect(await client.getDefaultImageModelCredits()).toBe(4);
    expect(await client.getDefaultVideoModelCredits()).toBe(20);
  });

  it('shot helpers use the chosen model, else the default of the kind', async () => {
    const { client } = catalogClient();
    expect(await client.getShotImageCredits('fal-ai/flux/schnell')).toBe(3);
    expect(await client.getShotImageCredits('fal-ai/flux/dev')).toBe(5);
    expect(await client.getShotImageCredits()).toBe(4);
    expect(await client.getShotImageCredits('unknown-model')).toBe(4);
    expect(await client.getShotVideoCredits('fal-ai/ltx-video')).toBe(16);
    expect(await client.getShotVideoCredits()).toBe(20);
    expect(await client.getShotVideoCredits('unknown-model')).toBe(20);
  });

  it("Director's Cut costs the compose model, with a hard fallback of 12", async () => {
    const priced = catalogClient([model('fal-ai/ffmpeg-api/compose', 'video', { per_call: 15 })]);
    expect(await priced.client.getDirectorsCutCredits()).toBe(15);
    const missing = catalogClient([]);
    expect(await missing.client.getDirectorsCutCredits()).toBe(12);
    expect(await missing.client.getDefaultImageModelCredits()).toBeUndefined();
  });

  it('formatCredits', () => {
    const { client } = catalogClient();
    expect(client.formatCredits(12)).toBe('12 credits');
    expect(client.formatCredits(1)).toBe('1 credit');
    expect(client.formatCredits(1234.5)).toBe('1,234.5 credits');
  });

  it('fetches the catalog once per client, without a key, and shares it between concurrent calls', async () => {
    const { client, calls } = catalogClient();
    await Promise.all([client.getModelCredits('fal-ai/flux/schnell'), client.getShotVideoCredits()]);
    await client.getDirectorsCutCredits();
    expect(calls).toHaveLength(1);
    expect(calls[0].url).toBe('http://tollgate.test/v1/models');
    expect(calls[0].headers.has('authorization')).toBe(false);
  });

  it('does not cache a failed fetch, and models.list() refreshes the cache', async () => {
    const { client, calls } = scriptedClient(
      [
        { status: 500, body: { error: { code: 'internal_error', message: 'down' } } },
        { body: { data: catalog } },
        { body: { data: [model('fal-ai/flux/schnell', 'image', { per_call: 3.5 })] } },
      ],
      { maxRetries: 0 },
    );
    await expect(client.getModelCredits('fal-ai/flux/schnell')).rejects.toMatchObject({ status: 500 });
    expect(await client.getModelCredits('fal-ai/flux/schnell')).toBe(3);
    await client.models.list();
    expect(await client.getModelCredits('fal-ai/flux/schnell')).toBe(3.5);
    expect(calls).toHaveLength(3);
  });
});
