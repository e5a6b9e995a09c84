import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../shared/errors.ts';
import { anthropicRequestToOpenAi } from './request-anthropic-to-openai.ts';
import { openAiRequestToAnthropic } from './request-openai-to-anthropic.ts';
import type { AnthropicMessagesRequest } from './wire-types.ts';

const upstream = { upstreamModel: 'gpt-4o' };

describe('anthropicRequestToOpenAi', () => {
  it('puts system first, keeps turns, and maps limits and sampling', () => {
    const translated = anthropicRequestToOpenAi(
      {
        model: 'openai/gpt-4o',
        max_tokens: 256,
        system: [
          { type: 'text', text: 'You are terse.' },
          { type: 'text', text: 'Use metric units.' },
        ],
        messages: [
          { role: 'user', content: 'Hi' },
          { role: 'assistant', content: [{ type: 'text', text: 'Hello' }] },
          { role: 'user', content: [{ type: 'text', text: 'Bye' }] },
        ],
        stop_sequences: ['STOP'],
        temperature: 0.2,
        top_p: 0.7,
        top_k: 40,
        metadata: { user_id: 'u-1' },
      },
      upstream,
    );
    expect(translated).toEqual({
      model: 'gpt-4o',
      messages: [
        { role: 'system', content: 'You are terse.\nUse metric units.' },
        { role: 'user', content: 'Hi' },
        { role: 'assistant', content: 'Hello' },
        { role: 'user', content: [{ type: 'text', text: 'Bye' }] },
      ],
      max_completion_tokens: 256,
      stop: ['STOP'],
      temperature: 0.2,
      top_p: 0.7,
      user: 'u-1',
    });
  });

  it('can name the limit max_tokens for providers that only know that field', () => {
    const translated = anthropicRequestToOpenAi(
      { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] },
      { ...upstream, maxTokensField: 'max_tokens' },
    );
    expect(translated.max_tokens).toBe(10);
    expect(translated).not.toHaveProperty('max_completion_tokens');
  });

  it('always asks a streaming upstream for the usage chunk', () => {
    const translated = anthropicRequestToOpenAi(
      { model: 'm', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'x' }] },
      upstream,
    );
    expect(translated.stream).toBe(true);
    expect(translated.stream_options).toEqual({ include_usage: true });
  });

  it('turns tool_use into tool_calls and tool_result blocks into tool messages ahead of the user text', () => {
    const translated = anthropicRequestToOpenAi(
      {
        model: 'm',
        max_tokens: 100,
        messages: [
          { role: 'user', content: 'Weather?' },
          {
            role: 'assistant',
            content: [
              { type: 'thinking', thinking: 'hmm', signature: 'sig' },
              { type: 'text', text: 'Checking.' },
              { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
              { type: 'tool_use', id: 'toolu_2', name: 'weather', input: { city: 'Rome' } },
            ],
          },
          {
            role: 'user',
            content: [
              { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
              {
                type: 'tool_result',
                tool_use_id: 'toolu_2',
                content: [
                  { type: 'text', text: 'rainy' },
                  { type: 'image', source: { type: 'url', url: 'https://example.com/radar.png' } },
                ],
                is_error: false,
              },
              { type: 'text', text: 'And tomorrow?' },
            ],
          },
        ],
        tools: [
          { name: 'weather', description: 'Weather now', input_schema: { type: 'object', properties: {} } },
          { name: 'plain', type: 'custom', input_schema: { type: 'object' } },
        ],
        tool_choice: { type: 'any', disable_parallel_tool_use: true },
      },
      upstream,
    );
    expect(translated.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      {
        role: 'assistant',
        content: 'Checking.',
        tool_calls: [
          { id: 'toolu_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_2', type: 'function', function: { name: 'weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'toolu_2', content: 'rainy' },
      {
        role: 'user',
        content: [
          { type: 'image_url', image_url: { url: 'https://example.com/radar.png' } },
          { type: 'text', text: 'And tomorrow?' },
        ],
      },
    ]);
    expect(translated.tools).toEqual([
      {
        type: 'function',
        function: {
          name: 'weather',
          description: 'Weather now',
          parameters: { type: 'object', properties: {} },
        },
      },
      { type: 'function', function: { name: 'plain', parameters: { type: 'object' } } },
    ]);
    expect(translated.tool_choice).toBe('required');
    expect(translated.parallel_tool_calls).toBe(false);
  });

  it('maps each tool_choice form', () => {
    const request = (tool_choice: AnthropicMessagesRequest['tool_choice']): AnthropicMessagesRequest => ({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ name: 'f', input_schema: { type: 'object' } }],
      tool_choice,
    });
    expect(anthropicRequestToOpenAi(request({ type: 'auto' }), upstream).tool_choice).toBe('auto');
    expect(anthropicRequestToOpenAi(request({ type: 'none' }), upstream).tool_choice).toBe('none');
    expect(anthropicRequestToOpenAi(request({ type: 'tool', name: 'f' }), upstream).tool_choice).toEqual({
      type: 'function',
      function: { name: 'f' },
    });
  });

  it('turns base64 and url image blocks into image_url parts', () => {
    const translated = anthropicRequestToOpenAi(
      {
        model: 'm',
        max_tokens: 5,
        messages: [
          {
            role: 'user',
            content: [
              { type: 'image', source: { type: 'base64', media_type: 'image/webp', data: 'UklGR' } },
              { type: 'image', source: { type: 'url', url: 'https://example.com/a.gif' } },
              { type: 'text', text: 'Describe both' },
            ],
          },
        ],
      },
      upstream,
    );
    expect(translated.messages[0].content).toEqual([
      { type: 'image_url', image_url: { url: 'data:image/webp;base64,UklGR' } },
      { type: 'image_url', image_url: { url: 'https://example.com/a.gif' } },
      { type: 'text', text: 'Describe both' },
    ]);
  });

  it('rejects server tools, file references and unknown blocks with invalid_request', () => {
    const reject = (request: AnthropicMessagesRequest) => {
      expect(() => anthropicRequestToOpenAi(request, upstream)).toThrow(TollgateError);
    };
    reject({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'web_search_20250305', name: 'web_search' }],
    });
    reject({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'file', file_id: 'file_1' } }] }],
    });
    reject({
      model: 'm',
      max_tokens: 5,
      messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'x' } }] }],
    });
  });

  it('survives a round trip through the OpenAI shape and back', () => {
    const original: AnthropicMessagesRequest = {
      model: 'claude',
      max_tokens: 300,
      system: 'Be brief.',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'Look' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Looking.' },
            { type: 'tool_use', id: 'toolu_1', name: 'zoom', input: { factor: 2 } },
          ],
        },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'zoomed' }] },
      ],
      stop_sequences: ['###'],
      temperature: 0.3,
      tools: [{ name: 'zoom', description: 'Zoom in', input_schema: { type: 'object', properties: {} } }],
      tool_choice: { type: 'auto' },
      stream: true,
    };
    const back = openAiRequestToAnthropic(anthropicRequestToOpenAi(original, upstream), {
      upstreamModel: 'claude',
    });
    expect(back).toEqual(original);
  });
});
