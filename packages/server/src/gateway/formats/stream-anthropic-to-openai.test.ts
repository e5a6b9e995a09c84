import { describe, expect, it } from 'vitest';
import { formatSseJson } from './sse.ts';
import { AnthropicToOpenAiStream } from './stream-anthropic-to-openai.ts';
import { assembleOpenAiStream, driveTranslator, parseFrames } from './stream-test-helpers.ts';

/** Anthropic upstream frames, CRLF-terminated to exercise the parser too. */
function upstream(...events: Array<Record<string, unknown>>): string {
  return events.map((event) => formatSseJson(event, String(event.type)).replace(/\n/g, '\r\n')).join('');
}

const messageStart = (usage: Record<string, unknown> = { input_tokens: 25, output_tokens: 1 }) => ({
  type: 'message_start',
  message: {
    id: 'msg_01abc',
    type: 'message',
    role: 'assistant',
    model: 'claude-sonnet-4-20250514',
    content: [],
    stop_reason: null,
    stop_sequence: null,
    usage,
  },
});
const textStart = (index: number) => ({
  type: 'content_block_start',
  index,
  content_block: { type: 'text', text: '' },
});
const textDelta = (index: number, text: string) => ({
  type: 'content_block_delta',
  index,
  delta: { type: 'text_delta', text },
});
const blockStop = (index: number) => ({ type: 'content_block_stop', index });
const messageDelta = (stop_reason: string, usage: Record<string, unknown>) => ({
  type: 'message_delta',
  delta: { stop_reason, stop_sequence: null },
  usage,
});
const messageStop = { type: 'message_stop' };

const TEXT_STREAM = upstream(
  messageStart({
    input_tokens: 25,
    output_tokens: 1,
    cache_read_input_tokens: 100,
    cache_creation_input_tokens: 5,
  }),
  textStart(0),
  { type: 'ping' },
  textDelta(0, 'Hello'),
  textDelta(0, ', wörld 🎉'),
  blockStop(0),
  messageDelta('end_turn', { output_tokens: 15 }),
  messageStop,
);

const options = {
  clientModel: 'anthropic/claude-sonnet-4',
  includeUsage: true,
  createdSeconds: 1_700_000_000,
};

describe('AnthropicToOpenAiStream', () => {
  it('writes the exact OpenAI chunk sequence for a text answer', () => {
    const frames = driveTranslator(new AnthropicToOpenAiStream(options), TEXT_STREAM);
    const chunks = parseFrames(frames).map((event) =>
      event.data === '[DONE]' ? '[DONE]' : JSON.parse(event.data),
    );
    const base = {
      id: 'msg_01abc',
      object: 'chat.completion.chunk',
      created: 1_700_000_000,
      model: 'anthropic/claude-sonnet-4',
    };
    const choice = (delta: object, finish_reason: string | null = null) => ({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason }],
      usage: null,
    });
    expect(chunks).toEqual([
      choice({ role: 'assistant', content: '' }),
      choice({ content: 'Hello' }),
      choice({ content: ', wörld 🎉' }),
      choice({}, 'stop'),
      {
        ...base,
        choices: [],
        usage: {
          prompt_tokens: 130,
          completion_tokens: 15,
          total_tokens: 145,
          prompt_tokens_details: { cached_tokens: 100 },
        },
      },
      '[DONE]',
    ]);
  });

  it('gives the same client stream however the upstream bytes are split', () => {
    const reference = driveTranslator(new AnthropicToOpenAiStream(options), TEXT_STREAM, {
      pieceBytes: 100_000,
    });
    for (const pieceBytes of [1, 2, 3, 5, 11, 64]) {
      expect(driveTranslator(new AnthropicToOpenAiStream(options), TEXT_STREAM, { pieceBytes })).toEqual(
        reference,
      );
    }
  });

  it('streams tool_use blocks as tool_calls with growing arguments', () => {
    const stream = upstream(
      messageStart(),
      textStart(0),
      textDelta(0, 'Let me look.'),
      blockStop(0),
      {
        type: 'content_block_start',
        index: 1,
        content_block: { type: 'tool_use', id: 'toolu_A', name: 'weather', input: {} },
      },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '' } },
      {
        type: 'content_block_delta',
        index: 1,
        delta: { type: 'input_json_delta', partial_json: '{"city": "Pa' },
      },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: 'ris"}' } },
      blockStop(1),
      {
        type: 'content_block_start',
        index: 2,
        content_block: { type: 'tool_use', id: 'toolu_B', name: 'time', input: {} },
      },
      { type: 'content_block_delta', index: 2, delta: { type: 'input_json_delta', partial_json: '{}' } },
      blockStop(2),
      messageDelta('tool_use', { output_tokens: 40 }),
      messageStop,
    );
    const assembled = assembleOpenAiStream(
      driveTranslator(new AnthropicToOpenAiStream(options), stream, { pieceBytes: 3 }),
    );
    expect(assembled.content).toBe('Let me look.');
    expect(assembled.toolCalls).toEqual([
      { id: 'toolu_A', name: 'weather', arguments: '{"city": "Paris"}' },
      { id: 'toolu_B', name: 'time', arguments: '{}' },
    ]);
    expect(assembled.finishReason).toBe('tool_calls');
    expect(assembled.sawDone).toBe(true);
  });

  it('maps each stop reason', () => {
    for (const [stopReason, finishReason] of [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['tool_use', 'tool_calls'],
      ['refusal', 'content_filter'],
    ]) {
      const stream = upstream(messageStart(), messageDelta(stopReason, { output_tokens: 1 }), messageStop);
      const assembled = assembleOpenAiStream(driveTranslator(new AnthropicToOpenAiStream(options), stream));
      expect(assembled.finishReason, stopReason).toBe(finishReason);
    }
  });

  it('leaves usage out entirely when the client did not ask for it', () => {
    const frames = driveTranslator(
      new AnthropicToOpenAiStream({ ...options, includeUsage: false }),
      TEXT_STREAM,
    );
    for (const event of parseFrames(frames)) {
      if (event.data !== '[DONE]') expect(JSON.parse(event.data)).not.toHaveProperty('usage');
    }
    expect(assembleOpenAiStream(frames).content).toBe('Hello, wörld 🎉');
  });

  it('reports the billed usage passed to finish() over what the upstream said', () => {
    const billed = { input_tokens: 1, output_tokens: 2, cached_input_tokens: 3 };
    const assembled = assembleOpenAiStream(
      driveTranslator(new AnthropicToOpenAiStream(options), TEXT_STREAM, { finishUsage: billed }),
    );
    expect(assembled.usage).toEqual({
      prompt_tokens: 4,
      completion_tokens: 2,
      total_tokens: 6,
      prompt_tokens_details: { cached_tokens: 3 },
    });
    expect(assembled.usageChunkCount).toBe(1);
  });

  it('drops thinking blocks, which have no Chat Completions field', () => {
    const stream = upstream(
      messageStart(),
      { type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'secret plan' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'signature_delta', signature: 'abc' } },
      blockStop(0),
      textStart(1),
      textDelta(1, 'Answer'),
      blockStop(1),
      messageDelta('end_turn', { output_tokens: 9 }),
      messageStop,
    );
    const assembled = assembleOpenAiStream(driveTranslator(new AnthropicToOpenAiStream(options), stream));
    expect(assembled.content).toBe('Answer');
    expect(assembled.toolCalls).toEqual([]);
  });

  it('turns an upstream error event into an OpenAI error frame with no [DONE]', () => {
    const translator = new AnthropicToOpenAiStream(options);
    const stream = upstream(messageStart(), textStart(0), textDelta(0, 'Partial'), {
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    const frames = driveTranslator(translator, stream);
    const assembled = assembleOpenAiStream(frames);
    expect(assembled.content).toBe('Partial');
    expect(assembled.error).toEqual({
      message: 'Upstream error (overloaded_error): Overloaded',
      type: 'upstream_error',
      param: null,
      code: '502',
    });
    expect(assembled.sawDone).toBe(false);
    expect(translator.upstreamError).toEqual({ type: 'overloaded_error', message: 'Overloaded' });
    expect(translator.closed).toBe(true);
  });

  it('tracks whether the upstream finished, and fail() ends a cut stream with an error frame', () => {
    const complete = new AnthropicToOpenAiStream(options);
    driveTranslator(complete, TEXT_STREAM, { finish: false });
    expect(complete.upstreamCompleted).toBe(true);

    const cut = new AnthropicToOpenAiStream(options);
    const partial = driveTranslator(cut, upstream(messageStart(), textStart(0), textDelta(0, 'Hal')), {
      finish: false,
    });
    expect(cut.upstreamCompleted).toBe(false);
    const failure = cut.fail({ code: 'upstream_error', message: 'Upstream connection lost.', status: 502 });
    const assembled = assembleOpenAiStream([...partial, ...failure]);
    expect(assembled.content).toBe('Hal');
    expect(assembled.error.type).toBe('upstream_error');
    expect(cut.finish()).toEqual([]);
  });

  it('still opens and closes a stream that produced nothing', () => {
    const assembled = assembleOpenAiStream(driveTranslator(new AnthropicToOpenAiStream(options), ''));
    expect(assembled.role).toBe('assistant');
    expect(assembled.finishReason).toBe('stop');
    expect(assembled.usage).toEqual({
      prompt_tokens: 0,
      completion_tokens: 0,
      total_tokens: 0,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    expect(assembled.sawDone).toBe(true);
    expect(assembled.framesAfterDone).toBe(0);
  });
});
