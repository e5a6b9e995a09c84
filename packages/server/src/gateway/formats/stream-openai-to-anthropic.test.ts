import { describe, expect, it } from 'vitest';
import { formatSseJson, OPENAI_DONE_FRAME } from './sse.ts';
import { AnthropicToOpenAiStream } from './stream-anthropic-to-openai.ts';
import { OpenAiToAnthropicStream } from './stream-openai-to-anthropic.ts';
import { assembleAnthropicStream, assembleOpenAiStream, driveTranslator } from './stream-test-helpers.ts';

function chunk(
  delta: Record<string, unknown> | null,
  finish_reason: string | null = null,
  extra: object = {},
): string {
  return formatSseJson({
    id: 'chatcmpl-xyz',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'gpt-4o-2024-08-06',
    choices: delta === null ? [] : [{ index: 0, delta, logprobs: null, finish_reason }],
    usage: null,
    ...extra,
  });
}
const usageChunk = (prompt: number, completion: number, cached = 0) =>
  chunk(null, null, {
    usage: {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: cached, audio_tokens: 0 },
    },
  });

const TEXT_STREAM = [
  chunk({ role: 'assistant', content: '', refusal: null }),
  chunk({ content: 'Hello' }),
  chunk({ content: ' there, 日本' }),
  chunk({}, 'stop'),
  usageChunk(1_200, 30, 1_024),
  OPENAI_DONE_FRAME,
].join('');

const TOOL_STREAM = [
  chunk({ role: 'assistant', content: null }),
  chunk({ content: 'Checking both.' }),
  chunk({
    tool_calls: [{ index: 0, id: 'call_A', type: 'function', function: { name: 'weather', arguments: '' } }],
  }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"city":' } }] }),
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }] }),
  chunk({
    tool_calls: [
      {
        index: 1,
        id: 'call_B',
        type: 'function',
        function: { name: 'weather', arguments: '{"city":"Rome"}' },
      },
    ],
  }),
  chunk({}, 'tool_calls'),
  usageChunk(80, 25),
  OPENAI_DONE_FRAME,
].join('');

const options = { clientModel: 'openai/gpt-4o', inputTokensEstimate: 77 };

describe('OpenAiToAnthropicStream', () => {
  it('writes the full Anthropic event sequence for a text answer', () => {
    const assembled = assembleAnthropicStream(
      driveTranslator(new OpenAiToAnthropicStream(options), TEXT_STREAM),
    );
    expect(assembled.eventTypes).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(assembled.message).toMatchObject({
      id: 'chatcmpl-xyz',
      type: 'message',
      role: 'assistant',
      model: 'openai/gpt-4o',
      content: [],
      stop_reason: null,
      usage: { input_tokens: 77, output_tokens: 0 },
    });
    expect(assembled.blocks).toEqual([{ type: 'text', text: 'Hello there, 日本' }]);
    expect(assembled.stopReason).toBe('end_turn');
    // The final figures replace the estimate: 1,200 prompt tokens of which 1,024 were cached.
    expect(assembled.usage).toMatchObject({
      input_tokens: 176,
      output_tokens: 30,
      cache_read_input_tokens: 1_024,
    });
  });

  it('gives the same client stream however the upstream bytes are split', () => {
    const reference = driveTranslator(new OpenAiToAnthropicStream(options), TOOL_STREAM, {
      pieceBytes: 100_000,
    });
    for (const pieceBytes of [1, 2, 4, 9, 33]) {
      expect(driveTranslator(new OpenAiToAnthropicStream(options), TOOL_STREAM, { pieceBytes })).toEqual(
        reference,
      );
    }
  });

  it('turns text then tool calls into separate blocks with parsed input', () => {
    const assembled = assembleAnthropicStream(
      driveTranslator(new OpenAiToAnthropicStream(options), TOOL_STREAM),
    );
    expect(assembled.blocks).toEqual([
      { type: 'text', text: 'Checking both.' },
      { type: 'tool_use', id: 'call_A', name: 'weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_B', name: 'weather', input: { city: 'Rome' } },
    ]);
    expect(assembled.stopReason).toBe('tool_use');
    expect(assembled.usage).toMatchObject({ input_tokens: 80, output_tokens: 25 });
  });

  it('maps each finish reason', () => {
    for (const [finishReason, stopReason] of [
      ['stop', 'end_turn'],
      ['length', 'max_tokens'],
      ['tool_calls', 'tool_use'],
      ['content_filter', 'refusal'],
    ]) {
      const stream = [chunk({ content: 'x' }), chunk({}, finishReason), OPENAI_DONE_FRAME].join('');
      const assembled = assembleAnthropicStream(
        driveTranslator(new OpenAiToAnthropicStream(options), stream),
      );
      expect(assembled.stopReason, finishReason).toBe(stopReason);
    }
  });

  it('reports the estimate, or the billed usage from finish(), when the upstream sent no usage', () => {
    const noUsage = [chunk({ content: 'Hi' }), chunk({}, 'stop'), OPENAI_DONE_FRAME].join('');
    const estimated = assembleAnthropicStream(driveTranslator(new OpenAiToAnthropicStream(options), noUsage));
    expect(estimated.usage).toMatchObject({ input_tokens: 77, output_tokens: 0 });
    const billed = assembleAnthropicStream(
      driveTranslator(new OpenAiToAnthropicStream(options), noUsage, {
        finishUsage: { input_tokens: 70, output_tokens: 2, cached_input_tokens: 0 },
      }),
    );
    expect(billed.usage).toMatchObject({ input_tokens: 70, output_tokens: 2 });
  });

  it('opens and closes a message with no content', () => {
    const stream = [
      chunk({ role: 'assistant', content: '' }),
      chunk({}, 'stop'),
      usageChunk(5, 0),
      OPENAI_DONE_FRAME,
    ].join('');
    const assembled = assembleAnthropicStream(driveTranslator(new OpenAiToAnthropicStream(options), stream));
    expect(assembled.eventTypes).toEqual(['message_start', 'message_delta', 'message_stop']);
    expect(assembled.blocks).toEqual([]);
  });

  it('turns an upstream error chunk into an Anthropic error event', () => {
    const translator = new OpenAiToAnthropicStream(options);
    const stream = [
      chunk({ content: 'Part' }),
      formatSseJson({
        error: { message: 'The server had an error', type: 'server_error', param: null, code: null },
      }),
    ].join('');
    const frames = driveTranslator(translator, stream);
    const assembled = assembleAnthropicStream(frames);
    expect(assembled.eventTypes).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'error',
    ]);
    expect(assembled.error).toEqual({
      type: 'api_error',
      code: 'upstream_error',
      message: 'Upstream error (server_error): The server had an error',
    });
    expect(translator.upstreamError?.type).toBe('server_error');
    expect(translator.upstreamCompleted).toBe(false);
  });

  it('closes the open block when the upstream is cut and finish() is called', () => {
    const translator = new OpenAiToAnthropicStream(options);
    const frames = driveTranslator(translator, [chunk({ content: 'Half a sent' })].join(''));
    expect(translator.upstreamCompleted).toBe(false);
    const assembled = assembleAnthropicStream(frames);
    expect(assembled.eventTypes.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
  });

  it('round-trips: OpenAI upstream → Anthropic client → OpenAI client keeps text and tool calls', () => {
    const anthropicFrames = driveTranslator(new OpenAiToAnthropicStream(options), TOOL_STREAM, {
      pieceBytes: 5,
    });
    const openAiFrames = driveTranslator(
      new AnthropicToOpenAiStream({ clientModel: 'openai/gpt-4o', includeUsage: true }),
      anthropicFrames.join(''),
      { pieceBytes: 3 },
    );
    const assembled = assembleOpenAiStream(openAiFrames);
    expect(assembled.content).toBe('Checking both.');
    expect(assembled.toolCalls).toEqual([
      { id: 'call_A', name: 'weather', arguments: '{"city":"Paris"}' },
      { id: 'call_B', name: 'weather', arguments: '{"city":"Rome"}' },
    ]);
    expect(assembled.finishReason).toBe('tool_calls');
    expect(assembled.usage).toMatchObject({ prompt_tokens: 80, completion_tokens: 25 });
  });
});
