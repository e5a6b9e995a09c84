import { describe, expect, it } from 'vitest';
import { formatSseJson, SseParser } from './sse.ts';
import { countTextTokens } from './tokens.ts';
import {
  addUsage,
  boundUsage,
  reportedUsageFromAnthropic,
  reportedUsageFromOpenAi,
  resolveUsage,
  UsageAccumulator,
  usageFromAnthropic,
  usageFromOpenAi,
  usageFromResponse,
  usageToAnthropic,
  usageToOpenAi,
} from './usage.ts';

function events(frames: string[]) {
  return new SseParser().push(frames.join(''));
}

describe('normalized usage', () => {
  it('takes cached tokens out of OpenAI prompt_tokens', () => {
    expect(
      usageFromOpenAi({
        prompt_tokens: 1_200,
        completion_tokens: 300,
        total_tokens: 1_500,
        prompt_tokens_details: { cached_tokens: 1_024, audio_tokens: 0 },
      }),
    ).toEqual({ input_tokens: 176, output_tokens: 300, cached_input_tokens: 1_024 });
    expect(usageFromOpenAi({ prompt_tokens: 10, completion_tokens: 2 })).toEqual({
      input_tokens: 10,
      output_tokens: 2,
      cached_input_tokens: 0,
    });
    expect(usageFromOpenAi(null)).toBeNull();
    expect(usageFromOpenAi({})).toBeNull();
  });

  it('never lets a malformed cached count make input negative', () => {
    expect(
      usageFromOpenAi({
        prompt_tokens: 5,
        completion_tokens: 1,
        prompt_tokens_details: { cached_tokens: 9 },
      }),
    ).toEqual({ input_tokens: 0, output_tokens: 1, cached_input_tokens: 5 });
    expect(usageFromOpenAi({ prompt_tokens: -3, completion_tokens: 'x' })).toBeNull();
  });

  it('counts Anthropic cache reads as cached and cache writes as input', () => {
    expect(
      usageFromAnthropic({
        input_tokens: 50,
        output_tokens: 20,
        cache_read_input_tokens: 1_000,
        cache_creation_input_tokens: 200,
      }),
    ).toEqual({ input_tokens: 250, output_tokens: 20, cached_input_tokens: 1_000 });
    expect(usageFromAnthropic({ input_tokens: 5, output_tokens: 1, cache_read_input_tokens: null })).toEqual({
      input_tokens: 5,
      output_tokens: 1,
      cached_input_tokens: 0,
    });
  });

  it('reads usage from non-stream bodies of both dialects', () => {
    expect(
      usageFromResponse('openai', {
        usage: { prompt_tokens: 30, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 10 } },
      }),
    ).toEqual({ input_tokens: 20, output_tokens: 4, cached_input_tokens: 10 });
    expect(
      usageFromResponse('anthropic', {
        usage: { input_tokens: 20, output_tokens: 4, cache_read_input_tokens: 10 },
      }),
    ).toEqual({ input_tokens: 20, output_tokens: 4, cached_input_tokens: 10 });
    expect(usageFromResponse('openai', 'not a body')).toBeNull();
  });

  it('round-trips through both wire shapes', () => {
    const usage = { input_tokens: 20, output_tokens: 4, cached_input_tokens: 10 };
    expect(usageToOpenAi(usage)).toEqual({
      prompt_tokens: 30,
      completion_tokens: 4,
      total_tokens: 34,
      prompt_tokens_details: { cached_tokens: 10 },
    });
    expect(usageFromOpenAi(usageToOpenAi(usage))).toEqual(usage);
    expect(usageFromAnthropic(usageToAnthropic(usage))).toEqual(usage);
    expect(addUsage(usage, usage)).toEqual({ input_tokens: 40, output_tokens: 8, cached_input_tokens: 20 });
  });
});

describe('UsageAccumulator', () => {
  it('takes an OpenAI stream usage chunk, cached tokens excluded from input', () => {
    const accumulator = new UsageAccumulator({ format: 'openai', inputTokensEstimate: 999 });
    for (const event of events([
      formatSseJson({ choices: [{ index: 0, delta: { role: 'assistant', content: '' } }], usage: null }),
      formatSseJson({ choices: [{ index: 0, delta: { content: 'Hello' } }], usage: null }),
      formatSseJson({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null }),
      formatSseJson({
        choices: [],
        usage: { prompt_tokens: 100, completion_tokens: 7, prompt_tokens_details: { cached_tokens: 64 } },
      }),
      'data: [DONE]\n\n',
    ])) {
      accumulator.push(event);
    }
    expect(accumulator.result()).toEqual({
      usage: { input_tokens: 36, output_tokens: 7, cached_input_tokens: 64 },
      inputReported: true,
      outputReported: true,
      malformed: false,
    });
    expect(accumulator.streamedText()).toBe('Hello');
  });

  it('estimates an OpenAI stream without usage from the request count and the streamed text', () => {
    const accumulator = new UsageAccumulator({ format: 'openai', inputTokensEstimate: 42 });
    const text = 'The rain in Spain stays mainly in the plain.';
    for (const piece of text.match(/.{1,5}/g) ?? []) {
      for (const event of events([formatSseJson({ choices: [{ index: 0, delta: { content: piece } }] })])) {
        accumulator.push(event);
      }
    }
    for (const event of events([
      formatSseJson({
        choices: [
          {
            index: 0,
            delta: {
              tool_calls: [
                { index: 0, id: 'c', type: 'function', function: { name: 'f', arguments: '{"a":' } },
              ],
            },
          },
        ],
      }),
      formatSseJson({
        choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '1}' } }] } }],
      }),
    ])) {
      accumulator.push(event);
    }
    const expectedText = `${text}f{"a":1}`;
    expect(accumulator.streamedText()).toBe(expectedText);
    expect(accumulator.result()).toEqual({
      usage: { input_tokens: 42, output_tokens: countTextTokens(expectedText), cached_input_tokens: 0 },
      inputReported: false,
      outputReported: false,
      malformed: false,
    });
  });

  it('reads Anthropic message_start input and cumulative message_delta output', () => {
    const accumulator = new UsageAccumulator({ format: 'anthropic' });
    for (const event of events([
      formatSseJson(
        {
          type: 'message_start',
          message: {
            usage: {
              input_tokens: 12,
              output_tokens: 1,
              cache_read_input_tokens: 2_000,
              cache_creation_input_tokens: 30,
            },
          },
        },
        'message_start',
      ),
      formatSseJson(
        { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
        'content_block_start',
      ),
      formatSseJson(
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Hi' } },
        'content_block_delta',
      ),
      formatSseJson({ type: 'ping' }, 'ping'),
      formatSseJson(
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 5 } },
        'message_delta',
      ),
      formatSseJson(
        { type: 'message_delta', delta: {}, usage: { output_tokens: 9, input_tokens: null } },
        'message_delta',
      ),
      formatSseJson({ type: 'message_stop' }, 'message_stop'),
    ])) {
      accumulator.push(event);
    }
    expect(accumulator.result()).toEqual({
      usage: { input_tokens: 42, output_tokens: 9, cached_input_tokens: 2_000 },
      inputReported: true,
      outputReported: true,
      malformed: false,
    });
  });

  it('lets message_delta replace message_start input figures when it carries them', () => {
    const accumulator = new UsageAccumulator({ format: 'anthropic' });
    for (const event of events([
      formatSseJson(
        { type: 'message_start', message: { usage: { input_tokens: 10, output_tokens: 1 } } },
        'message_start',
      ),
      formatSseJson(
        {
          type: 'message_delta',
          delta: {},
          usage: { input_tokens: 11, cache_read_input_tokens: 5, output_tokens: 3 },
        },
        'message_delta',
      ),
    ])) {
      accumulator.push(event);
    }
    expect(accumulator.result().usage).toEqual({
      input_tokens: 11,
      output_tokens: 3,
      cached_input_tokens: 5,
    });
  });

  it('bills an Anthropic stream cut before message_delta on its counted text, tool input and thinking', () => {
    const accumulator = new UsageAccumulator({ format: 'anthropic', inputTokensEstimate: 7 });
    for (const event of events([
      formatSseJson(
        { type: 'message_start', message: { usage: { input_tokens: 15, output_tokens: 1 } } },
        'message_start',
      ),
      formatSseJson(
        {
          type: 'content_block_delta',
          index: 0,
          delta: { type: 'thinking_delta', thinking: 'Let me think.' },
        },
        'content_block_delta',
      ),
      formatSseJson(
        {
          type: 'content_block_start',
          index: 1,
          content_block: { type: 'tool_use', id: 't', name: 'lookup', input: {} },
        },
        'content_block_start',
      ),
      formatSseJson(
        {
          type: 'content_block_delta',
          index: 1,
          delta: { type: 'input_json_delta', partial_json: '{"q":"cats"}' },
        },
        'content_block_delta',
      ),
    ])) {
      accumulator.push(event);
    }
    const text = 'Let me think.lookup{"q":"cats"}';
    expect(accumulator.streamedText()).toBe(text);
    expect(accumulator.result()).toEqual({
      usage: { input_tokens: 15, output_tokens: countTextTokens(text), cached_input_tokens: 0 },
      inputReported: true,
      outputReported: false,
      malformed: false,
    });
  });

  it('ignores events that are not JSON or not usage', () => {
    const accumulator = new UsageAccumulator({ format: 'anthropic', inputTokensEstimate: 3 });
    accumulator.push({ data: 'garbage' });
    accumulator.push({
      event: 'error',
      data: '{"type":"error","error":{"type":"overloaded_error","message":"x"}}',
    });
    expect(accumulator.result()).toEqual({
      usage: { input_tokens: 3, output_tokens: 0, cached_input_tokens: 0 },
      inputReported: false,
      outputReported: false,
      malformed: false,
    });
  });
});

describe('usage the provider cannot be trusted with', () => {
  it('reads each figure on its own: garbage in one never zeroes the others', () => {
    expect(reportedUsageFromOpenAi({ prompt_tokens: 10, completion_tokens: 'lots' })).toEqual({
      input_tokens: 10,
      output_tokens: undefined,
      cached_input_tokens: 0,
      malformed: true,
    });
    expect(reportedUsageFromOpenAi({ prompt_tokens: -1, completion_tokens: -5 })).toEqual({
      malformed: true,
    });
    expect(reportedUsageFromAnthropic({ input_tokens: 'NaN', output_tokens: 1e300 })).toEqual({
      input_tokens: undefined,
      output_tokens: 1e300,
      cached_input_tokens: undefined,
      malformed: true,
    });
    expect(reportedUsageFromOpenAi({})).toBeNull();
  });

  it('fills what is missing from the estimate and the delivered text; a reported 0 beside delivered text is not believed', () => {
    const fallback = { inputTokens: 42, countOutput: () => 7, delivered: true };
    expect(resolveUsage(null, fallback)).toEqual({
      usage: { input_tokens: 42, output_tokens: 7, cached_input_tokens: 0 },
      inputReported: false,
      outputReported: false,
      malformed: false,
    });
    expect(
      resolveUsage({ input_tokens: 5, output_tokens: 0, cached_input_tokens: 1, malformed: false }, fallback),
    ).toEqual({
      usage: { input_tokens: 5, output_tokens: 7, cached_input_tokens: 1 },
      inputReported: true,
      outputReported: false,
      malformed: false,
    });
    // Nothing delivered: a reported 0 stands (hidden reasoning may make a reported figure above 0 real).
    expect(
      resolveUsage({ output_tokens: 0, malformed: false }, { ...fallback, delivered: false }).usage
        .output_tokens,
    ).toBe(0);
  });

  it('cuts usage down to what the request allowed, naming what the provider overstated', () => {
    const resolved = {
      usage: { input_tokens: 900, output_tokens: 1_000_000, cached_input_tokens: 300 },
      inputReported: true,
      outputReported: true,
      malformed: false,
    };
    expect(boundUsage(resolved, { inputTokens: 1_000, outputTokens: 100 })).toEqual({
      usage: { input_tokens: 700, output_tokens: 100, cached_input_tokens: 300 },
      anomalies: ['output_above_limit', 'input_above_bound'],
    });
    // Our own count above the limit is cut without blaming the provider.
    expect(
      boundUsage(
        { ...resolved, outputReported: false, inputReported: false },
        { inputTokens: 2_000, outputTokens: 100 },
      ),
    ).toEqual({ usage: { input_tokens: 900, output_tokens: 100, cached_input_tokens: 300 }, anomalies: [] });
    expect(
      boundUsage({ ...resolved, malformed: true }, { inputTokens: 5_000, outputTokens: 5_000_000 }).anomalies,
    ).toEqual(['malformed_usage']);
  });

  it('bills a stream whose usage is garbage from what it delivered', () => {
    const accumulator = new UsageAccumulator({ format: 'openai', inputTokensEstimate: 12 });
    for (const event of events([
      formatSseJson({ choices: [{ index: 0, delta: { content: 'Hello world' } }] }),
      formatSseJson({ choices: [], usage: { prompt_tokens: 'x', completion_tokens: -3 } }),
    ]))
      accumulator.push(event);
    expect(accumulator.result()).toEqual({
      usage: { input_tokens: 12, output_tokens: countTextTokens('Hello world'), cached_input_tokens: 0 },
      inputReported: false,
      outputReported: false,
      malformed: true,
    });
  });
});
