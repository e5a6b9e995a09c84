import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load-config.ts';
import { createModelRouter } from '../pricing/model-routing.ts';
import { TollgateError } from '../shared/errors.ts';
import { type Attempt, type AttemptFailure, firstAnswer, planAttempts, platformKey } from './attempts.ts';

const env = {
  ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/anthropic',
  ANTHROPIC_API_KEY: 'sk-platform-anthropic',
  OPENROUTER_BASE_URL: 'http://127.0.0.1:9/openrouter',
  OPENROUTER_API_KEY: 'sk-platform-openrouter',
  GEMINI_BASE_URL: 'http://127.0.0.1:9/gemini',
  GOOGLE_API_KEY: 'sk-platform-google',
};
const config = parseConfig(
  {
    include_default_models: true,
    models: [
      {
        id: 'team/opus',
        type: 'language',
        upstream_model: 'claude-opus-4-5',
        provider: [
          'anthropic',
          {
            name: 'openrouter',
            upstream_model: 'anthropic/claude-opus-4.5',
            price: { input_per_million: 900, output_per_million: 100 },
          },
        ],
        price: { input_per_million: 500, output_per_million: 2500 },
      },
    ],
  },
  env,
);
const router = createModelRouter(config);
const opus = router.resolve('team/opus')!;
const keys = (owned: Record<string, string>) => async (provider: string) => owned[provider] ?? null;

describe('planAttempts', () => {
  it('credits: every configured provider of the model on the platform keys, the hold at the dearest of each price kind', async () => {
    const plan = await planAttempts({ model: opus, config, env, customerKey: keys({}) });
    expect(plan.funding).toBe('credits');
    expect(
      plan.attempts.map((attempt) => [attempt.provider.name, attempt.upstreamModel, attempt.apiKey]),
    ).toEqual([
      ['anthropic', 'claude-opus-4-5', 'sk-platform-anthropic'],
      ['openrouter', 'anthropic/claude-opus-4.5', 'sk-platform-openrouter'],
    ]);
    expect(plan.holdPrice.inputPerMillionMicros).toBe(900_000_000n);
    expect(plan.holdPrice.outputPerMillionMicros).toBe(2_500_000_000n);
  });

  it("BYOK: only the providers the customer holds keys for, never the platform's", async () => {
    const plan = await planAttempts({ model: opus, config, env, customerKey: keys({ anthropic: 'sk-own' }) });
    expect(plan.funding).toBe('byok');
    expect(plan.attempts.map((attempt) => [attempt.provider.name, attempt.apiKey])).toEqual([
      ['anthropic', 'sk-own'],
    ]);
  });

  it("a customer's OpenRouter key serves a model none of their keys otherwise fund", async () => {
    const gemini = router.resolve('gemini-2.5-pro')!;
    const plan = await planAttempts({
      model: gemini,
      config,
      env,
      customerKey: keys({ openrouter: 'sk-or-own' }),
    });
    expect(plan.funding).toBe('byok');
    expect(plan.attempts).toMatchObject([
      { provider: { name: 'openrouter' }, upstreamModel: 'google/gemini-2.5-pro', apiKey: 'sk-or-own' },
    ]);
  });

  it('reads the first platform key variable that is set; refuses a model no provider can serve', async () => {
    expect(platformKey(config.providers.google!, env)).toBe('sk-platform-google');
    expect(platformKey(config.providers.google!, { ...env, GEMINI_API_KEY: 'sk-gemini' })).toBe('sk-gemini');
    const grok = router.resolve('grok-4.3')!;
    await expect(planAttempts({ model: grok, config, env, customerKey: keys({}) })).rejects.toMatchObject({
      code: 'upstream_error',
    });
  });
});

describe('firstAnswer', () => {
  const attempts = ['a', 'b', 'c'].map((name) => ({ provider: { name } }) as unknown as Attempt);
  const failure = (retryable: boolean): AttemptFailure => ({
    kind: 'status',
    status: 503,
    retryable,
    error: new TollgateError('upstream_error', 'down'),
  });

  it('moves on after a retryable failure and answers with the first success', async () => {
    const tried: string[] = [];
    const outcome = await firstAnswer(
      attempts,
      { maxAttempts: 3, maxSeconds: 60, now: () => 0 },
      async (attempt) => {
        tried.push(attempt.provider.name);
        return attempt.provider.name === 'b'
          ? { ok: true, value: 'answer' }
          : { ok: false, failure: failure(true) };
      },
      () => false,
    );
    expect(outcome).toMatchObject({ ok: true, value: 'answer', tried: 2 });
    expect(tried).toEqual(['a', 'b']);
  });

  it('stops at a failure that is not retryable, at the attempt budget, at the time budget, and when the client left', async () => {
    const run = async (
      budget: { maxAttempts: number; maxSeconds: number },
      retryable: boolean,
      stopped = false,
    ) => {
      let clock = 0;
      const tried: string[] = [];
      const outcome = await firstAnswer(
        attempts,
        { ...budget, now: () => clock },
        async (attempt) => {
          tried.push(attempt.provider.name);
          clock += 40_000;
          return { ok: false, failure: failure(retryable) };
        },
        () => stopped,
      );
      expect(outcome.ok).toBe(false);
      return tried;
    };
    expect(await run({ maxAttempts: 3, maxSeconds: 600 }, false)).toEqual(['a']);
    expect(await run({ maxAttempts: 2, maxSeconds: 600 }, true)).toEqual(['a', 'b']);
    expect(await run({ maxAttempts: 3, maxSeconds: 60 }, true)).toEqual(['a', 'b']);
    expect(await run({ maxAttempts: 3, maxSeconds: 600 }, true, true)).toEqual(['a']);
    expect(await run({ maxAttempts: 3, maxSeconds: 600 }, true)).toEqual(['a', 'b', 'c']);
  });
});
