import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../shared/errors.ts';
import { MAX_CHOICES, readOutputLimits, withOutputLimit } from './output-limits.ts';

describe('readOutputLimits', () => {
  it('takes the smallest limit named in any field, and the answers asked for', () => {
    expect(readOutputLimits('openai', { max_tokens: 100, max_completion_tokens: 100_000 })).toEqual({
      choices: 1,
      requestedMaxTokens: 100,
    });
    expect(readOutputLimits('openai', { max_completion_tokens: 50, n: 4, best_of: 6 })).toEqual({
      choices: 6,
      requestedMaxTokens: 50,
    });
    expect(readOutputLimits('anthropic', { max_tokens: 20 })).toEqual({ choices: 1, requestedMaxTokens: 20 });
    expect(readOutputLimits('openai', { max_tokens: null, n: null })).toEqual({
      choices: 1,
      requestedMaxTokens: undefined,
    });
  });

  it('refuses absurd or malformed values with a 400 naming the field', () => {
    for (const [body, param] of [
      [{ n: MAX_CHOICES + 1 }, 'n'],
      [{ n: 0 }, 'n'],
      [{ n: 2.5 }, 'n'],
      [{ n: '64' }, 'n'],
      [{ best_of: 10_000 }, 'best_of'],
      [{ max_completion_tokens: -1 }, 'max_completion_tokens'],
      [{ max_tokens: 1e300 }, 'max_tokens'],
    ] as const) {
      let thrown: unknown;
      try {
        readOutputLimits('openai', body as Record<string, unknown>);
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(body)).toBeInstanceOf(TollgateError);
      expect((thrown as TollgateError).code).toBe('invalid_request');
      expect((thrown as TollgateError).details.param).toBe(param);
    }
  });
});

describe('withOutputLimit', () => {
  it('lowers every limit an OpenAI body carries, and adds max_tokens when it names none', () => {
    expect(
      withOutputLimit(
        'openai',
        { max_tokens: 100, max_completion_tokens: 100_000, max_output_tokens: 9 },
        40,
      ),
    ).toMatchObject({ max_tokens: 40, max_completion_tokens: 40, max_output_tokens: 40 });
    expect(withOutputLimit('openai', { max_completion_tokens: 100_000 }, 40)).toEqual({
      max_completion_tokens: 40,
    });
    expect(withOutputLimit('openai', {}, 40)).toEqual({ max_tokens: 40 });
    expect(withOutputLimit('openai', { max_output_tokens: 9 }, 40)).toEqual({
      max_output_tokens: 40,
      max_tokens: 40,
    });
    expect(withOutputLimit('openai', { max_tokens: null, max_completion_tokens: 5 }, 40)).toEqual({
      max_completion_tokens: 40,
    });
  });

  it('keeps an Anthropic thinking budget below the lowered max_tokens, or drops thinking', () => {
    const thinking = { type: 'enabled', budget_tokens: 10_000 };
    expect(withOutputLimit('anthropic', { max_tokens: 16_000, thinking }, 5_000)).toEqual({
      max_tokens: 5_000,
      thinking: { type: 'enabled', budget_tokens: 4_999 },
    });
    // No budget of at least 1,024 fits below 1,000: thinking goes.
    expect(withOutputLimit('anthropic', { max_tokens: 16_000, thinking }, 1_000)).toEqual({
      max_tokens: 1_000,
    });
    // A budget that still fits is left alone.
    expect(withOutputLimit('anthropic', { max_tokens: 16_000, thinking }, 12_000)).toMatchObject({
      thinking,
    });
    expect(withOutputLimit('anthropic', { max_tokens: 16_000, thinking: { type: 'disabled' } }, 10)).toEqual({
      max_tokens: 10,
      thinking: { type: 'disabled' },
    });
  });
});
