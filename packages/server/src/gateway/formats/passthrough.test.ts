import { describe, expect, it } from 'vitest';
import { createStreamTranslator, translateRequest, translateResponse } from './index.ts';
import {
  AnthropicPassthroughStream,
  anthropicPassthroughRequest,
  OpenAiPassthroughStream,
  openAiPassthroughRequest,
  withClientModel,
} from './passthrough.ts';
import { formatSseJson, OPENAI_DONE_FRAME, SseParser } from './sse.ts';
import { AnthropicToOpenAiStream } from './stream-anthropic-to-openai.ts';
import { OpenAiToAnthropicStream } from './stream-openai-to-anthropic.ts';
import {
  assembleAnthropicStream,
  assembleOpenAiStream,
  driveTranslator,
  parseFrames,
} from './stream-test-helpers.ts';

const openAiChunk = (choices: unknown[], usage: unknown = null) =>
  formatSseJson({
    id: 'chatcmpl-1',
    object: 'chat.completion.chunk',
    created: 5,
    model: 'gpt-4o-2024-08-06',
    choices,
    usage,
  });
const OPENAI_STREAM = [
  openAiChunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
  openAiChunk([{ index: 0, delta: { content: 'Yes.' }, finish_reason: null }]),
  openAiChunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
  openAiChunk([], {
    prompt_tokens: 9,
    completion_tokens: 2,
    total_tokens: 11,
    prompt_tokens_details: { cached_tokens: 4 },
  }),
  OPENAI_DONE_FRAME,
].join('');

const anthropicEvent = (event: Record<string, unknown>) => formatSseJson(event, String(event.type));
const ANTHROPIC_START = anthropicEvent({
  type: 'message_start',
  message: {
    id: 'msg_1',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-20250514',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage: { input_tokens: 10, output_tokens: 1, cache_read_input_tokens: 3 },
  },
});
const ANTHROPIC_TEXT = [
  anthropicEvent({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }),
  anthropicEvent({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'Sure' } }),
].join('');
const ANTHROPIC_END = [
  anthropicEvent({ type: 'content_block_stop', index: 0 }),
  anthropicEvent({
    type: 'message_delta',
    delta: { stop_reason: 'end_turn', stop_sequence: null },
    usage: { output_tokens: 4 },
  }),
  anthropicEvent({ type: 'message_stop' }),
].join('');

describe('same-dialect requests and responses', () => {
  it('swaps in the upstream model and forces include_usage on OpenAI streams only', () => {
    const request = { model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x' }], temperature: 0.1 };
    expect(openAiPassthroughRequest(request, 'gpt-4o')).toEqual({ ...request, model: 'gpt-4o' });
    expect(openAiPassthroughRequest({ ...request, stream: true }, 'gpt-4o').stream_options).toEqual({
      include_usage: true,
    });
    const anthropic = {
      model: 'anthropic/claude',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    };
    expect(anthropicPassthroughRequest(anthropic, 'claude-x')).toEqual({ ...anthropic, model: 'claude-x' });
    expect(request.model).toBe('openai/gpt-4o');
  });

  it('puts the client model back on a response body', () => {
    expect(withClientModel({ id: 'x', model: 'gpt-4o-2024-08-06' }, 'openai/gpt-4o')).toEqual({
      id: 'x',
      model: 'openai/gpt-4o',
    });
  });
});

describe('OpenAiPassthroughStream', () => {
  it('rewrites the model and forwards the usage chunk, then [DONE], when the client asked', () => {
    const frames = driveTranslator(
      new OpenAiPassthroughStream({ clientModel: 'openai/gpt-4o', includeUsage: true }),
      OPENAI_STREAM,
      {
        pieceBytes: 4,
      },
    );
    const assembled = assembleOpenAiStream(frames);
    expect([...assembled.models]).toEqual(['openai/gpt-4o']);
    expect(assembled.content).toBe('Yes.');
    expect(assembled.usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: 2,
      total_tokens: 11,
      prompt_tokens_details: { cached_tokens: 4 },
    });
    expect(assembled.usageChunkCount).toBe(1);
    expect(assembled.sawDone).toBe(true);
  });

  it('hides the usage it forced on the upstream from a client that did not ask', () => {
    const frames = driveTranslator(
      new OpenAiPassthroughStream({ clientModel: 'm', includeUsage: false }),
      OPENAI_STREAM,
    );
    for (const event of parseFrames(frames)) {
      if (event.data !== '[DONE]') expect(JSON.parse(event.data)).not.toHaveProperty('usage');
    }
    expect(assembleOpenAiStream(frames).sawDone).toBe(true);
  });

  it('adds the billed usage when the upstream sent none', () => {
    const withoutUsage = OPENAI_STREAM.split('\n\n')
      .filter((frame) => !frame.includes('"choices":[]'))
      .join('\n\n');
    const frames = driveTranslator(
      new OpenAiPassthroughStream({ clientModel: 'm', includeUsage: true }),
      withoutUsage,
      {
        finishUsage: { input_tokens: 7, output_tokens: 3, cached_input_tokens: 0 },
      },
    );
    expect(assembleOpenAiStream(frames).usage).toMatchObject({ prompt_tokens: 7, completion_tokens: 3 });
  });

  it('renders an upstream error chunk as our upstream_error', () => {
    const translator = new OpenAiPassthroughStream({ clientModel: 'm', includeUsage: true });
    const frames = driveTranslator(
      translator,
      formatSseJson({ error: { message: 'boom', type: 'server_error' } }),
    );
    expect(assembleOpenAiStream(frames).error).toMatchObject({ type: 'upstream_error', code: '502' });
    expect(translator.upstreamError).toEqual({ type: 'server_error', message: 'boom' });
  });
});

describe('AnthropicPassthroughStream', () => {
  it('forwards events unchanged except the model in message_start', () => {
    const upstream = ANTHROPIC_START + ANTHROPIC_TEXT + ANTHROPIC_END;
    const frames = driveTranslator(
      new AnthropicPassthroughStream({ clientModel: 'anthropic/claude' }),
      upstream,
      { pieceBytes: 6 },
    );
    const assembled = assembleAnthropicStream(frames);
    expect(assembled.message.model).toBe('anthropic/claude');
    expect(assembled.blocks).toEqual([{ type: 'text', text: 'Sure' }]);
    expect(assembled.eventTypes.at(-1)).toBe('message_stop');
    expect(assembled.usage).toMatchObject({ input_tokens: 10, output_tokens: 4, cache_read_input_tokens: 3 });
    expect(frames.slice(1, -1).join('')).toBe(
      ANTHROPIC_TEXT + ANTHROPIC_END.replace(anthropicEvent({ type: 'message_stop' }), ''),
    );
  });

  it('closes a cut stream: open blocks, a message_delta with billed usage, message_stop', () => {
    const translator = new AnthropicPassthroughStream({ clientModel: 'm' });
    const frames = driveTranslator(translator, ANTHROPIC_START + ANTHROPIC_TEXT, {
      finishUsage: { input_tokens: 10, output_tokens: 2, cached_input_tokens: 3 },
    });
    expect(translator.upstreamCompleted).toBe(false);
    const assembled = assembleAnthropicStream(frames);
    expect(assembled.eventTypes.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(assembled.usage).toMatchObject({ output_tokens: 2 });
  });

  it('fills in usage when the upstream streams none (clients read message.usage and message_delta.usage)', () => {
    const withoutUsage = (frames: string) =>
      frames
        .replace(/,"usage":\{"input_tokens":10,"output_tokens":1,"cache_read_input_tokens":3\}/, '')
        .replace(/,"usage":\{"output_tokens":4\}/, '');
    const upstream = withoutUsage(ANTHROPIC_START + ANTHROPIC_TEXT + ANTHROPIC_END);
    expect(upstream).not.toContain('usage');
    const frames = driveTranslator(
      new AnthropicPassthroughStream({ clientModel: 'm', inputTokensEstimate: 12 }),
      upstream,
      {
        finishUsage: { input_tokens: 12, output_tokens: 1, cached_input_tokens: 0 },
      },
    );
    const assembled = assembleAnthropicStream(frames);
    expect(assembled.message?.usage).toMatchObject({ input_tokens: 12, output_tokens: 0 });
    expect(assembled.eventTypes.slice(-3)).toEqual(['content_block_stop', 'message_delta', 'message_stop']);
    expect(assembled.eventTypes.filter((type) => type === 'message_delta')).toHaveLength(1);
    expect(assembled.stopReason).toBe('end_turn');
    expect(assembled.usage).toMatchObject({ input_tokens: 12, output_tokens: 1 });
  });

  it('asks for the counted input only for a message_start without usage', () => {
    const translator = new AnthropicPassthroughStream({ clientModel: 'm' });
    const events = (text: string) => new SseParser().push(Buffer.from(text));
    for (const event of events(ANTHROPIC_START + ANTHROPIC_TEXT + ANTHROPIC_END))
      expect(translator.needsInputTokensEstimate(event)).toBe(false);
    const [start] = events(
      ANTHROPIC_START.replace(
        /,"usage":\{"input_tokens":10,"output_tokens":1,"cache_read_input_tokens":3\}/,
        '',
      ),
    );
    expect(translator.needsInputTokensEstimate(start!)).toBe(true);
    translator.useInputTokensEstimate(21);
    const frames = translator.push(start!);
    expect(assembleAnthropicStream(frames).message?.usage).toMatchObject({ input_tokens: 21 });
  });

  it('renders an upstream error event as our upstream_error', () => {
    const frames = driveTranslator(
      new AnthropicPassthroughStream({ clientModel: 'm' }),
      ANTHROPIC_START +
        anthropicEvent({ type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }),
    );
    expect(assembleAnthropicStream(frames).error).toEqual({
      type: 'api_error',
      code: 'upstream_error',
      message: 'Upstream error (overloaded_error): Overloaded',
    });
  });
});

describe('format dispatch', () => {
  it('picks the translator for each client/upstream pair', () => {
    const options = { clientModel: 'm' };
    expect(createStreamTranslator('openai', 'openai', options)).toBeInstanceOf(OpenAiPassthroughStream);
    expect(createStreamTranslator('openai', 'anthropic', options)).toBeInstanceOf(AnthropicToOpenAiStream);
    expect(createStreamTranslator('anthropic', 'openai', options)).toBeInstanceOf(OpenAiToAnthropicStream);
    expect(createStreamTranslator('anthropic', 'anthropic', options)).toBeInstanceOf(
      AnthropicPassthroughStream,
    );
  });

  it('translates requests and responses across and within dialects', () => {
    const openAiRequest = {
      model: 'anthropic/claude',
      messages: [{ role: 'user', content: 'Hi' }],
      max_tokens: 9,
    };
    expect(translateRequest('openai', 'anthropic', openAiRequest, { upstreamModel: 'claude-x' })).toEqual({
      model: 'claude-x',
      max_tokens: 9,
      messages: [{ role: 'user', content: 'Hi' }],
    });
    expect(translateRequest('openai', 'openai', openAiRequest, { upstreamModel: 'gpt' })).toMatchObject({
      model: 'gpt',
    });
    const anthropicBody = {
      id: 'msg',
      type: 'message' as const,
      role: 'assistant' as const,
      model: 'claude-x',
      content: [{ type: 'text' as const, text: 'Hello' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: 1, output_tokens: 1 },
    };
    expect(
      translateResponse('anthropic', 'anthropic', anthropicBody, { clientModel: 'anthropic/claude' }),
    ).toMatchObject({
      model: 'anthropic/claude',
    });
    expect(
      translateResponse('openai', 'anthropic', anthropicBody, { clientModel: 'anthropic/claude' }),
    ).toMatchObject({
      object: 'chat.completion',
      model: 'anthropic/claude',
    });
  });
});
