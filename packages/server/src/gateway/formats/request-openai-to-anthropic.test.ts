import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../shared/errors.ts';
import { anthropicRequestToOpenAi } from './request-anthropic-to-openai.ts';
import { DEFAULT_ANTHROPIC_MAX_TOKENS, openAiRequestToAnthropic } from './request-openai-to-anthropic.ts';
import type { OpenAiChatRequest } from './wire-types.ts';

const upstream = { upstreamModel: 'claude-sonnet-4-20250514' };

describe('openAiRequestToAnthropic', () => {
  it('hoists system and developer messages into system, and keeps the conversation', () => {
    const translated = openAiRequestToAnthropic(
      {
        model: 'anthropic/claude-sonnet-4',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: 'Bonjour' },
          { role: 'user', content: 'Again' },
        ],
      },
      upstream,
    );
    expect(translated).toEqual({
      model: 'claude-sonnet-4-20250514',
      max_tokens: DEFAULT_ANTHROPIC_MAX_TOKENS,
      system: [
        { type: 'text', text: 'You are terse.' },
        { type: 'text', text: 'Answer in French.' },
      ],
      messages: [
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: [{ type: 'text', text: 'Bonjour' }] },
        { role: 'user', content: 'Again' },
      ],
    });
  });

  it('uses a single system string when there is one, and max_completion_tokens over max_tokens over the default', () => {
    const base: OpenAiChatRequest = {
      model: 'm',
      messages: [
        { role: 'system', content: 'Only one.' },
        { role: 'user', content: 'x' },
      ],
    };
    expect(openAiRequestToAnthropic(base, upstream).system).toBe('Only one.');
    expect(openAiRequestToAnthropic({ ...base, max_tokens: 50 }, upstream).max_tokens).toBe(50);
    expect(
      openAiRequestToAnthropic({ ...base, max_tokens: 50, max_completion_tokens: 70 }, upstream).max_tokens,
    ).toBe(70);
    expect(openAiRequestToAnthropic(base, { ...upstream, defaultMaxTokens: 8_192 }).max_tokens).toBe(8_192);
  });

  it('maps stop, temperature (clamped to Anthropic range), top_p, user and stream', () => {
    const translated = openAiRequestToAnthropic(
      {
        model: 'm',
        messages: [{ role: 'user', content: 'x' }],
        stop: 'END',
        temperature: 1.6,
        top_p: 0.9,
        user: 'user-7',
        stream: true,
        stream_options: { include_usage: true },
      },
      upstream,
    );
    expect(translated).toMatchObject({
      stop_sequences: ['END'],
      temperature: 1,
      top_p: 0.9,
      metadata: { user_id: 'user-7' },
      stream: true,
    });
    expect(translated).not.toHaveProperty('stream_options');
    expect(
      openAiRequestToAnthropic(
        { model: 'm', messages: [{ role: 'user', content: 'x' }], stop: ['a', 'b'] },
        upstream,
      ).stop_sequences,
    ).toEqual(['a', 'b']);
  });

  it('translates tools, tool_choice, tool calls and tool results into one user turn', () => {
    const translated = openAiRequestToAnthropic(
      {
        model: 'm',
        messages: [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'weather', arguments: '{"city":"Paris"}' },
              },
              { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Ro' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rainy' }] },
          { role: 'user', content: 'Thanks' },
        ],
        tools: [
          {
            type: 'function',
            function: {
              name: 'weather',
              description: 'Current weather',
              parameters: { type: 'object', properties: { city: { type: 'string' } } },
            },
          },
          { type: 'function', function: { name: 'noop' } },
        ],
        tool_choice: { type: 'function', function: { name: 'weather' } },
        parallel_tool_calls: false,
      },
      upstream,
    );
    expect(translated.tools).toEqual([
      {
        name: 'weather',
        description: 'Current weather',
        input_schema: { type: 'object', properties: { city: { type: 'string' } } },
      },
      { name: 'noop', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(translated.tool_choice).toEqual({
      type: 'tool',
      name: 'weather',
      disable_parallel_tool_use: true,
    });
    expect(translated.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: [
          { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } },
          // Truncated arguments cannot be parsed; the turn stays valid with an empty input.
          { type: 'tool_use', id: 'call_2', name: 'weather', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'call_2', content: 'rainy' },
          { type: 'text', text: 'Thanks' },
        ],
      },
    ]);
  });

  it('maps each tool_choice form', () => {
    const request = (tool_choice: OpenAiChatRequest['tool_choice']): OpenAiChatRequest => ({
      model: 'm',
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'f' } }],
      tool_choice,
    });
    expect(openAiRequestToAnthropic(request('auto'), upstream).tool_choice).toEqual({ type: 'auto' });
    expect(openAiRequestToAnthropic(request('none'), upstream).tool_choice).toEqual({ type: 'none' });
    expect(openAiRequestToAnthropic(request('required'), upstream).tool_choice).toEqual({ type: 'any' });
    expect(openAiRequestToAnthropic(request(undefined), upstream)).not.toHaveProperty('tool_choice');
  });

  it('turns data-URL images into base64 blocks and web URLs into url blocks', () => {
    const translated = openAiRequestToAnthropic(
      {
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Compare' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
            ],
          },
        ],
      },
      upstream,
    );
    expect(translated.messages[0].content).toEqual([
      { type: 'text', text: 'Compare' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ]);
  });

  it('rejects what Anthropic cannot take with invalid_request', () => {
    const reject = (request: OpenAiChatRequest) => {
      try {
        openAiRequestToAnthropic(request, upstream);
      } catch (error) {
        expect(error).toBeInstanceOf(TollgateError);
        return (error as TollgateError).code;
      }
      throw new Error('expected a rejection');
    };
    expect(reject({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 2 })).toBe('invalid_request');
    expect(
      reject({
        model: 'm',
        messages: [
          { role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] },
        ],
      }),
    ).toBe('invalid_request');
    expect(
      reject({
        model: 'm',
        messages: [
          {
            role: 'user',
            content: [{ type: 'image_url', image_url: { url: 'data:image/svg+xml,%3Csvg%3E' } }],
          },
        ],
      }),
    ).toBe('invalid_request');
    expect(reject({ model: 'm', messages: [{ role: 'tool', content: 'orphan' }] })).toBe('invalid_request');
  });

  it('survives a round trip through the Anthropic shape and back', () => {
    const original: OpenAiChatRequest = {
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'Be helpful.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is this?' },
            { type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_9', type: 'function', function: { name: 'identify', arguments: '{"kind":"cat"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_9', content: 'A cat.' },
      ],
      max_completion_tokens: 100,
      stop: ['\n\n'],
      temperature: 0.5,
      top_p: 0.8,
      tools: [
        { type: 'function', function: { name: 'identify', parameters: { type: 'object', properties: {} } } },
      ],
      tool_choice: 'required',
      stream: true,
    };
    const back = anthropicRequestToOpenAi(openAiRequestToAnthropic(original, { upstreamModel: 'claude' }), {
      upstreamModel: 'gpt-4o',
    });
    expect(back).toEqual({
      ...original,
      stream_options: { include_usage: true },
    });
  });
});
