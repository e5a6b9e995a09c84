import { describe, expect, it } from 'vitest';
import { loadConfig, parseConfig } from '../config/load-config.ts';
import {
  createModelRouter,
  dearestPrice,
  familyDefaultPrice,
  globMatches,
  openRouterModelId,
} from './model-routing.ts';
import { quote } from './quote.ts';

const config = loadConfig(undefined, {});
const router = createModelRouter(config);
const usage = { input_tokens: 1000, output_tokens: 1000, cached_input_tokens: 1000 };

describe('globMatches', () => {
  it('matches whole ids, with * for any run and | between alternatives', () => {
    expect(globMatches('claude-*', 'claude-opus-5-5')).toBe(true);
    expect(globMatches('claude-*', 'xclaude-opus')).toBe(false);
    expect(globMatches('gpt-*|o1*|o3*', 'o3-mini')).toBe(true);
    expect(globMatches('gpt-*|o1*|o3*', 'ollama')).toBe(false);
    expect(globMatches('a*b*c', 'axxbyyc')).toBe(true);
    expect(globMatches('a*b*c', 'axxbyy')).toBe(false);
    expect(globMatches('gpt-4o', 'gpt-4o-mini')).toBe(false);
  });

  it('stays fast on patterns built to backtrack', () => {
    const started = performance.now();
    expect(globMatches('a*a*a*a*a*a*a*b', 'a'.repeat(256))).toBe(false);
    expect(performance.now() - started).toBeLessThan(100);
  });
});

describe('model resolution: exact id > alias > route > not found', () => {
  it('an exact catalog id is itself', () => {
    expect(router.resolve('anthropic/claude-opus-5-5')?.id).toBe('anthropic/claude-opus-5-5');
  });

  it('an unprefixed provider name of a catalog model is that catalog model, price and all', () => {
    const model = router.resolve('claude-opus-5-5')!;
    expect(model.id).toBe('anthropic/claude-opus-5-5');
    expect(model.upstreamModel).toBe('claude-opus-5-5');
    expect(router.resolve('gpt-5.4-mini')?.id).toBe('openai/gpt-5.4-mini');
    expect(router.resolve('gemini-2.5-flash')?.id).toBe('google/gemini-2.5-flash');
    expect(router.resolve('grok-4.3')?.id).toBe('xai/grok-4.3');
  });

  it('built-in aliases serve dated ids as their catalog model', () => {
    expect(router.resolve('claude-haiku-4-5-20251001')?.id).toBe('anthropic/claude-haiku-4-5');
  });

  it('a brand-new id of a family is served by its route at the family default: never below any model of it', () => {
    const model = router.resolve('claude-opus-9-9')!;
    expect(model).toMatchObject({
      id: 'anthropic/claude-opus-9-9',
      provider: 'anthropic',
      upstreamModel: 'claude-opus-9-9',
    });
    const family = config.models.filter((candidate) => candidate.provider === 'anthropic');
    expect(family.length).toBeGreaterThan(3);
    for (const known of family) {
      expect(quote(model, { usage }).totalMicros).toBeGreaterThanOrEqual(quote(known, { usage }).totalMicros);
    }
    // A dated snapshot the catalog does not list is such an id too (snapshots are not always priced alike).
    expect(router.resolve('gpt-4o-2024-05-13')?.price).toEqual(familyDefaultPrice(config.models, 'openai'));
  });

  it('a namespaced id goes only to routes of that namespace', () => {
    expect(router.resolve('anthropic/claude-next')?.provider).toBe('anthropic');
    expect(router.resolve('anthropic/gpt-9')).toBeNull();
    expect(router.resolve('openai/gpt-9')?.provider).toBe('openai');
  });

  it('ids no route serves, and absurd ids, are not found', () => {
    expect(router.resolve('llama-9-400b')).toBeNull();
    expect(router.resolve(`claude-${'x'.repeat(300)}`)).toBeNull();
    expect(router.resolve('')).toBeNull();
  });

  it('a route never lowers the price of a model the catalog knows (the price follows the model, not the string)', () => {
    const cheap = parseConfig(
      {
        routes: [
          {
            match: 'claude-*',
            provider: 'anthropic',
            price: { input_per_million: '0.01', output_per_million: '0.01' },
          },
        ],
        aliases: { 'my-opus': 'anthropic/claude-opus-5-5', 'my-next': 'claude-next-1' },
      },
      {},
    );
    const cheapRouter = createModelRouter(cheap);
    const opus = cheap.models.find((model) => model.id === 'anthropic/claude-opus-5-5')!;
    expect(cheapRouter.resolve('claude-opus-5-5')?.price).toEqual(opus.price);
    expect(cheapRouter.resolve('my-opus')?.price).toEqual(opus.price);
    // Only an id the catalog does not know takes the route's own price.
    expect(cheapRouter.resolve('claude-next-1')?.price.outputPerMillionMicros).toBe(10_000n);
    expect(cheapRouter.resolve('my-next')?.id).toBe('anthropic/claude-next-1');
  });

  it('the first matching route wins, the file before the built-in ones', () => {
    const routed = parseConfig(
      {
        providers: { proxy: { base_url: 'http://127.0.0.1:9/v1', format: 'openai' } },
        routes: [
          {
            match: 'claude-*',
            provider: ['proxy', 'anthropic'],
            price: { input_per_million: 7, output_per_million: 9 },
          },
        ],
      },
      {},
    );
    const model = createModelRouter(routed).resolve('claude-next-1')!;
    expect(model.candidates.map((candidate) => candidate.provider)).toEqual(['proxy', 'anthropic']);
    expect(model.price.inputPerMillionMicros).toBe(7_000_000n);
  });
});

describe('config checks', () => {
  it('refuses an alias to nothing, an alias shadowing a catalog id, and a route without price for a family without prices', () => {
    expect(() => parseConfig({ aliases: { x: 'nowhere/model' } }, {})).toThrow(/aliases\.x/);
    // Resolved as the gateway will: a namespace no route of that provider matches is nothing.
    expect(() => parseConfig({ aliases: { x: 'anthropic/not-claude' } }, {})).toThrow(/aliases\.x/);
    expect(parseConfig({ aliases: { x: 'anthropic/claude-next' } }, {}).aliases.x).toBe(
      'anthropic/claude-next',
    );
    expect(() => parseConfig({ aliases: { 'openai/gpt-4o': 'openai/gpt-4o-mini' } }, {})).toThrow(
      /catalog id/,
    );
    expect(() => parseConfig({ routes: [{ match: 'llama-*', provider: 'gmi' }] }, {})).toThrow(
      /needs a price/,
    );
    expect(() =>
      parseConfig({ routes: [{ match: 'x-*', provider: 'fal', price: { per_call: 1 } }] }, {}),
    ).toThrow(/media provider/);
    expect(() => parseConfig({ routes: [{ match: 'bad match', provider: 'openai' }] }, {})).toThrow(/glob/);
  });

  it('reads a model with several providers, each priced', () => {
    const parsed = parseConfig(
      {
        include_default_models: true,
        models: [
          {
            id: 'team/opus',
            type: 'language',
            provider: [
              'anthropic',
              {
                name: 'openrouter',
                upstream_model: 'anthropic/claude-opus-4.5',
                price: { input_per_million: 600, output_per_million: 3000 },
              },
            ],
            upstream_model: 'claude-opus-4-5',
            price: { input_per_million: 500, output_per_million: 2500 },
          },
        ],
      },
      {},
    );
    const model = parsed.models.find((candidate) => candidate.id === 'team/opus')!;
    expect(model.provider).toBe('anthropic');
    expect(model.candidates).toMatchObject([
      { provider: 'anthropic', upstreamModel: 'claude-opus-4-5' },
      { provider: 'openrouter', upstreamModel: 'anthropic/claude-opus-4.5' },
    ]);
    const dearest = dearestPrice(model.candidates.map((candidate) => candidate.price));
    expect(dearest.outputPerMillionMicros).toBe(3_000_000_000n);
    expect(dearest.cachedInputPerMillionMicros).toBe(600_000_000n);
  });

  it('a file whose models replace the catalog keeps only the built-in routes it still prices', () => {
    const parsed = parseConfig(
      { models: [{ id: 'm', type: 'image', provider: 'fal', price: { per_call: 1 } }] },
      {},
    );
    expect(parsed.routes).toEqual([]);
    expect(parsed.aliases).toEqual({});
  });
});

describe('OpenRouter ids', () => {
  it('uses the catalog name, else the family namespace', () => {
    expect(openRouterModelId(router.resolve('claude-opus-4-5')!)).toBe('anthropic/claude-opus-4.5');
    expect(openRouterModelId(router.resolve('grok-9')!)).toBe('x-ai/grok-9');
  });
});
