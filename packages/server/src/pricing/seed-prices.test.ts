/**
 * The built-in catalog quotes what the seeds publish. Seed 001's tables are in dollars (converted
 * at $0.01 per credit), seed 002's in credits. For ids both list, seed 001's price wins, and
 * `fal-ai/veo3.1` follows the contract's per-second price; those overlaps are asserted apart.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load-config.ts';
import { decimalToScaled, parseCredits } from '../shared/money.ts';
import { createCatalog } from './catalog.ts';
import { getModelCredits } from './credit-helpers.ts';
import { quote } from './quote.ts';

// Seed 001 (Open Animate), "Asset generation costs", dollars per operation.
const SEED_ANIMATE_USD: [string, string][] = [
  ['fal-ai/flux/schnell', '0.003'],
  ['fal-ai/flux-2-flex', '0.05'],
  ['fal-ai/recraft/v4/text-to-image', '0.04'],
  ['fal-ai/recraft/v4/pro/text-to-image', '0.06'],
  ['fal-ai/ideogram/v3', '0.06'],
  ['fal-ai/nano-banana-2', '0.08'],
  ['fal-ai/flux-pro/kontext', '0.04'],
  ['fal-ai/nano-banana-2/edit', '0.08'],
  ['fal-ai/reve/edit', '0.04'],
  ['fal-ai/birefnet', '0.005'],
  ['fal-ai/bria/background/remove', '0.018'],
  ['fal-ai/bria/upscale/creative', '0.03'],
  ['fal-ai/topaz/upscale/image', '0.08'],
  ['fal-ai/minimax/hailuo-02/standard/text-to-video', '0.27'],
  ['fal-ai/kling-video/v2.5-turbo/pro/text-to-video', '0.35'],
  ['fal-ai/kling-video/v3/pro/text-to-video', '1.12'],
  ['fal-ai/veo3.1', '1.00'],
  ['fal-ai/sora-2/text-to-video/pro', '1.50'],
  ['beatoven/music-generation', '0.05'],
  ['beatoven/sound-effect-generation', '0.05'],
  ['minimax/speech-02-hd', '0.05'],
  ['fal-ai/flux/dev/controlnet', '0.03'],
  ['fal-ai/flux/dev/ip-adapter', '0.03'],
  ['fal-ai/lora', '0.02'],
];

// Seed 002 (WZRD Studio), "Credit Cost Reference", credits per call.
const SEED_STUDIO_CREDITS: [string, string][] = [
  ['fal-ai/flux/schnell', '3'],
  ['fal-ai/nano-banana-2', '4'],
  ['fal-ai/flux-2/flash', '4'],
  ['fal-ai/flux/dev', '5'],
  ['fal-ai/ideogram/v3', '5'],
  ['fal-ai/seedream/v5/lite/text-to-image', '5'],
  ['fal-ai/qwen-image-2/text-to-image', '5'],
  ['fal-ai/flux-2/turbo', '5'],
  ['fal-ai/flux-2', '6'],
  ['fal-ai/qwen-image-2512', '6'],
  ['fal-ai/hidream-i1-full', '6'],
  ['fal-ai/nano-banana-pro', '7'],
  ['fal-ai/qwen-image-2/pro/text-to-image', '7'],
  ['fal-ai/flux-pro/kontext/text-to-image', '7'],
  ['fal-ai/flux-pro/v1.1-ultra', '8'],
  ['fal-ai/flux-2-pro', '8'],
  ['fal-ai/gpt-image-1.5', '8'],
  ['fal-ai/flux-2-max', '10'],
  ['fal-ai/imagen4/preview/ultra', '10'],
  ['gmi/seedream-5.0-lite', '2'],
  ['gmi/seedream-5.0', '3'],
  ['gmi/gemini-3.1-flash-image-preview', '4'],
  ['fal-ai/ltx-video', '16'],
  ['fal-ai/bytedance/seedance/v1/lite/text-to-video', '18'],
  ['fal-ai/kling-video/o3/standard/text-to-video', '20'],
  ['fal-ai/veo3/fast', '25'],
  ['fal-ai/kling-video/v2.5-turbo/pro/image-to-video', '22'],
  ['fal-ai/ltx-2.3/text-to-video', '22'],
  ['fal-ai/kling-video/o3/standard/image-to-video', '24'],
  ['fal-ai/minimax/video-01-live', '25'],
  ['fal-ai/veo3', '35'],
  ['fal-ai/kling-video/o3/pro/text-to-video', '30'],
  ['fal-ai/sora-2/text-to-video', '35'],
  ['fal-ai/kling-video/o3/pro/image-to-video', '32'],
  ['fal-ai/veo3.1', '40'],
  ['fal-ai/sora-2/text-to-video/pro', '50'],
  ['fal-ai/minimax/speech-2.8-turbo', '2'],
  ['fal-ai/minimax/speech-02-turbo', '2'],
  ['fal-ai/chatterbox/text-to-speech', '2'],
  ['fal-ai/qwen-3-tts/text-to-speech/1.7b', '2'],
  ['fal-ai/minimax/speech-02-hd', '3'],
  ['fal-ai/kling-video/v1/tts', '3'],
  ['fal-ai/elevenlabs/tts/turbo-v2.5', '4'],
  ['cassetteai/music-generator', '5'],
  ['fal-ai/lyria2', '6'],
  ['gmi/gemini-3.1-flash-lite', '1'],
  ['llama-3.3-70b-versatile', '1'],
  ['llama-3.1-8b-instant', '1'],
  ['gmi/glm-5.1', '2'],
  ['gmi/openai-o4-mini', '3'],
  ['gmi/deepseek-r1', '4'],
  ['gmi/claude-opus-4.7', '5'],
  ['fal-ai/ffmpeg-api/compose', '12'],
];

const catalog = createCatalog(loadConfig(undefined, {}));
const animateIds = new Set(SEED_ANIMATE_USD.map(([id]) => id));
const PER_SECOND_BY_CONTRACT = 'fal-ai/veo3.1';

/** Dollars → micro-credits at $0.01 per credit, exactly. */
function usdToMicros(usd: string): bigint {
  return decimalToScaled(usd, 6) * 100n;
}

function quotedMicros(id: string): bigint {
  const model = catalog.find(id);
  expect(model, `${id} is in the catalog`).toBeDefined();
  return quote(model!).providerCostMicros;
}

describe("seed 001's dollar prices", () => {
  it.each(SEED_ANIMATE_USD.filter(([id]) => id !== PER_SECOND_BY_CONTRACT))('%s costs $%s', (id, usd) => {
    expect(quotedMicros(id)).toBe(usdToMicros(usd));
  });

  it('charges unknown models the default $0.05', () => {
    expect(quote(catalog.require('fal-ai/some-new-model')).providerCostMicros).toBe(usdToMicros('0.05'));
  });
});

describe("seed 002's credit prices", () => {
  const studioOnly = SEED_STUDIO_CREDITS.filter(([id]) => !animateIds.has(id));

  it.each(studioOnly)('%s costs %s credits', (id, credits) => {
    expect(quotedMicros(id)).toBe(parseCredits(credits));
    expect(getModelCredits(catalog, id).credits).toBe(credits);
  });

  it('lists exactly the documented overlaps with seed 001', () => {
    const overlaps = SEED_STUDIO_CREDITS.map(([id]) => id).filter((id) => animateIds.has(id));
    expect(overlaps.sort()).toEqual(
      [
        'fal-ai/flux/schnell',
        'fal-ai/ideogram/v3',
        'fal-ai/nano-banana-2',
        'fal-ai/sora-2/text-to-video/pro',
        'fal-ai/veo3.1',
      ].sort(),
    );
  });
});

describe('overlaps', () => {
  it("follow seed 001's dollars (the contract's flux/schnell per_call 0.3)", () => {
    expect(getModelCredits(catalog, 'fal-ai/flux/schnell').credits).toBe('0.3');
    expect(getModelCredits(catalog, 'fal-ai/ideogram/v3').credits).toBe('6');
    expect(getModelCredits(catalog, 'fal-ai/nano-banana-2').credits).toBe('8');
    expect(getModelCredits(catalog, 'fal-ai/sora-2/text-to-video/pro').credits).toBe('150');
  });

  it('price fal-ai/veo3.1 at 10 credits a second, as the contract does', () => {
    const veo = catalog.require('fal-ai/veo3.1');
    expect(quote(veo, { quantity: 1 }).providerCostMicros).toBe(10_000_000n);
    // Seed 001's $1.00 clip is ten seconds at this rate.
    expect(quote(veo, { quantity: 10 }).providerCostMicros).toBe(usdToMicros('1.00'));
  });
});

describe('the catalog holds nothing the seeds and the gateway list do not', () => {
  it('every model is a seed model or a token-priced chat model', () => {
    const seedIds = new Set([...SEED_ANIMATE_USD, ...SEED_STUDIO_CREDITS].map(([id]) => id));
    const extra = catalog
      .list()
      .filter((model) => model.category !== 'embedding')
      .map((model) => model.id)
      .filter((id) => !seedIds.has(id));
    // Besides the seeds: only the gateway's token-priced chat models of the four families.
    expect(extra.length).toBeGreaterThan(0);
    for (const id of extra) {
      expect(id).toMatch(/^(openai|anthropic|google|xai)\//);
      const model = catalog.require(id);
      expect(model.type).toBe('language');
      expect(model.price.inputPerMillionMicros, id).not.toBeNull();
      expect(model.price.outputPerMillionMicros, id).not.toBeNull();
      expect(model.price.perCallMicros, id).toBeNull();
    }
  });
});

describe('embedding models', () => {
  it("are priced per input token at OpenAI's list prices, with no output price", () => {
    const perMillionUsd = (id: string) => catalog.require(id).price;
    expect(perMillionUsd('openai/text-embedding-3-small')).toMatchObject({
      inputPerMillionMicros: usdToMicros('0.02'),
      outputPerMillionMicros: null,
    });
    expect(perMillionUsd('openai/text-embedding-3-large').inputPerMillionMicros).toBe(usdToMicros('0.13'));
    expect(perMillionUsd('openai/text-embedding-ada-002').inputPerMillionMicros).toBe(usdToMicros('0.10'));
  });
});
