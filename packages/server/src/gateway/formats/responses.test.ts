import { describe, expect, it } from 'vitest';
import { anthropicResponseToOpenAi } from './response-anthropic-to-openai.ts';
import { openAiResponseToAnthropic } from './response-openai-to-anthropic.ts';
import type { AnthropicMessagesResponse, OpenAiChatResponse } from './wire-types.ts';

const anthropicResponse = (
  overrides: Partial<AnthropicMessagesResponse> = {},
): AnthropicMessagesResponse => ({
  id: 'msg_01',
  type: 'message',
  role: 'assistant',
  model: 'claude-sonnet-4-20250514',
  content: [{ type: 'text', text: 'Hi!' }],
  stop_reason: 'end_turn',
  stop_sequence: null,
  usage: { input_tokens: 12, output_tokens: 6, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 },
  ...overrides,
});

const openAiResponse = (
  message: OpenAiChatResponse['choices'][number]['message'],
  finish_reason: OpenAiChatResponse['choices'][number]['finish_reason'] = 'stop',
): OpenAiChatResponse => ({
  id: 'chatcmpl-1',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'gpt-4o-2024-08-06',
  choices: [{ index: 0, message, logprobs: null, finish_reason }],
  usage: {
    prompt_tokens: 112,
    completion_tokens: 6,
    total_tokens: 118,
    prompt_tokens_details: { cached_tokens: 100 },
  },
});

describe('anthropicResponseToOpenAi', () => {
  it('builds a chat.completion with the client model, content and usage incl. cached tokens', () => {
    expect(
      anthropicResponseToOpenAi(anthropicResponse(), {
        clientModel: 'anthropic/claude-sonnet-4',
        createdSeconds: 42,
      }),
    ).toEqual({
      id: 'msg_01',
      object: 'chat.completion',
      created: 42,
      model: 'anthropic/claude-sonnet-4',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: 'Hi!', refusal: null },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 112,
        completion_tokens: 6,
        total_tokens: 118,
        prompt_tokens_details: { cached_tokens: 100 },
      },
    });
  });

  it('turns tool_use blocks into tool_calls and skips thinking', () => {
    const translated = anthropicResponseToOpenAi(
      anthropicResponse({
        content: [
          { type: 'thinking', thinking: 'plan', signature: 's' },
          { type: 'text', text: 'Calling.' },
          { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
        ],
        stop_reason: 'tool_use',
      }),
      { clientModel: 'c' },
    );
    expect(translated.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: 'Calling.',
        refusal: null,
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
        ],
      },
      logprobs: null,
      finish_reason: 'tool_calls',
    });
  });

  it('maps stop reasons and gives null content when there is no text', () => {
    const cases: Array<[string, string]> = [
      ['end_turn', 'stop'],
      ['stop_sequence', 'stop'],
      ['max_tokens', 'length'],
      ['tool_use', 'tool_calls'],
      ['refusal', 'content_filter'],
      ['pause_turn', 'stop'],
    ];
    for (const [stopReason, finishReason] of cases) {
      const translated = anthropicResponseToOpenAi(
        anthropicResponse({ stop_reason: stopReason, content: [] }),
        {
          clientModel: 'c',
        },
      );
      expect(translated.choices[0].finish_reason, stopReason).toBe(finishReason);
      expect(translated.choices[0].message.content).toBeNull();
    }
  });
});

describe('openAiResponseToAnthropic', () => {
  it('builds a message with the client model, content and usage with cached tokens split out', () => {
    expect(
      openAiResponseToAnthropic(openAiResponse({ role: 'assistant', content: 'Hi!', refusal: null }), {
        clientModel: 'openai/gpt-4o',
      }),
    ).toEqual({
      id: 'chatcmpl-1',
      type: 'message',
      role: 'assistant',
      model: 'openai/gpt-4o',
      content: [{ type: 'text', text: 'Hi!' }],
      stop_reason: 'end_turn',
      stop_sequence: null,
      usage: {
        input_tokens: 12,
        output_tokens: 6,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 100,
      },
    });
  });

  it('turns tool_calls into tool_use blocks with parsed input', () => {
    const translated = openAiResponseToAnthropic(
      openAiResponse(
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_2', type: 'function', function: { name: 'weather', arguments: 'not json' } },
          ],
        },
        'tool_calls',
      ),
      { clientModel: 'c' },
    );
    expect(translated.content).toEqual([
      { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } },
      { type: 'tool_use', id: 'call_2', name: 'weather', input: {} },
    ]);
    expect(translated.stop_reason).toBe('tool_use');
  });

  it('maps finish reasons, and a refusal to refusal', () => {
    expect(
      openAiResponseToAnthropic(openAiResponse({ role: 'assistant', content: 'x' }, 'length'), {
        clientModel: 'c',
      }).stop_reason,
    ).toBe('max_tokens');
    expect(
      openAiResponseToAnthropic(openAiResponse({ role: 'assistant', content: 'x' }, 'content_filter'), {
        clientModel: 'c',
      }).stop_reason,
    ).toBe('refusal');
    const refused = openAiResponseToAnthropic(
      openAiResponse({ role: 'assistant', content: null, refusal: 'I cannot help with that.' }),
      { clientModel: 'c' },
    );
    expect(refused.stop_reason).toBe('refusal');
    expect(refused.content).toEqual([{ type: 'text', text: 'I cannot help with that.' }]);
  });

  it('round-trips text, tool calls, stop reason and usage through both shapes', () => {
    const original = anthropicResponse({
      content: [
        { type: 'text', text: 'Looking up.' },
        { type: 'tool_use', id: 'toolu_1', name: 'find', input: { q: 'cats', limit: 3 } },
      ],
      stop_reason: 'tool_use',
      usage: {
        input_tokens: 12,
        output_tokens: 6,
        cache_read_input_tokens: 100,
        cache_creation_input_tokens: 0,
      },
    });
    const back = openAiResponseToAnthropic(anthropicResponseToOpenAi(original, { clientModel: 'x' }), {
      clientModel: original.model,
    });
    expect(back).toEqual(original);
  });
});
