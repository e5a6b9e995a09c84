/**
 * Proves the fake speaks the provider formats well enough for the official SDKs — including their
 * strict stream assemblers (openai's ChatCompletionStream, Anthropic's MessageStream), which reject
 * out-of-order or incomplete events — and that each misbehavior looks to a client like the real one.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseSseStream } from '../../src/gateway/formats/sse.ts';
import { UsageAccumulator } from '../../src/gateway/formats/usage.ts';
import { type FakeUpstream, startFakeUpstream } from './fake-upstream.ts';

let fake: FakeUpstream;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  fake = await startFakeUpstream();
  openai = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'sk-test-openai', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: fake.url, apiKey: 'sk-ant-test', maxRetries: 0 });
});

afterAll(async () => {
  await fake.close();
});

afterEach(() => {
  fake.setBehavior({});
  fake.requests.length = 0;
});

const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather for a city',
    parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  },
};

describe('fake OpenAI chat completions', () => {
  it('answers a non-stream request with text, the requested model and usage incl. cached tokens', async () => {
    fake.setBehavior({ usage: { input_tokens: 30, cached_input_tokens: 1_024, output_tokens: 7 } });
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Hello?' }],
    });
    expect(completion.choices[0].message.content).toBe('Hello from the fake upstream.');
    expect(completion.choices[0].finish_reason).toBe('stop');
    expect(completion.model).toBe('gpt-4o');
    expect(completion.usage).toMatchObject({
      prompt_tokens: 1_054,
      completion_tokens: 7,
      total_tokens: 1_061,
      prompt_tokens_details: { cached_tokens: 1_024 },
    });
    expect(fake.requests[0]).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      authorization: 'Bearer sk-test-openai',
      credential: 'sk-test-openai',
      behavior: 'normal',
      completed: true,
    });
    expect(fake.requests[0].body.messages).toEqual([{ role: 'user', content: 'Hello?' }]);
  });

  it('streams chunks the SDK assembles, with a final usage chunk when include_usage is set', async () => {
    fake.setBehavior({ outputWordCount: 12, usage: { cached_input_tokens: 4 } });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Count' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finishReason: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
      if (chunk.usage) usage = chunk.usage;
    }
    expect(text).toBe('word1 word2 word3 word4 word5 word6 word7 word8 word9 word10 word11 word12');
    expect(finishReason).toBe('stop');
    expect(usage).toMatchObject({
      prompt_tokens: 14,
      completion_tokens: 12,
      prompt_tokens_details: { cached_tokens: 4 },
    });
  });

  it('sends no usage chunk without include_usage, or with stream_no_usage', async () => {
    for (const [streamOptions, behavior] of [
      [undefined, undefined],
      [{ include_usage: true }, 'stream_no_usage'],
    ] as const) {
      const stream = await openai.chat.completions.create(
        {
          model: 'gpt-4o',
          messages: [{ role: 'user', content: 'x' }],
          stream: true,
          stream_options: streamOptions,
        },
        behavior ? { headers: { 'x-fake-behavior': behavior } } : {},
      );
      let sawUsage = false;
      for await (const chunk of stream) if (chunk.usage) sawUsage = true;
      expect(sawUsage).toBe(false);
    }
  });

  it('passes the strict ChatCompletionStream assembler, tool calls included', async () => {
    const runner = openai.chat.completions.stream({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [weatherTool],
      tool_choice: 'required',
      stream_options: { include_usage: true },
    });
    const completion = await runner.finalChatCompletion();
    expect(completion.choices[0].finish_reason).toBe('tool_calls');
    const call = completion.choices[0].message.tool_calls?.[0];
    expect(call?.type).toBe('function');
    expect(call?.type === 'function' ? call.function : undefined).toMatchObject({
      name: 'get_weather',
      arguments: '{"location":"Paris"}',
    });
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('answers tool calls without streaming when asked through settings', async () => {
    const completion = await openai.chat.completions.create(
      { model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }], tools: [weatherTool] },
      {
        headers: {
          'x-fake-settings': JSON.stringify({ toolCall: true, toolArguments: { location: 'Rome' } }),
        },
      },
    );
    const call = completion.choices[0].message.tool_calls?.[0];
    expect(call?.type === 'function' ? JSON.parse(call.function.arguments) : null).toEqual({
      location: 'Rome',
    });
  });

  it('cuts the answer at max_tokens with finish_reason length', async () => {
    fake.setBehavior({ outputWordCount: 50 });
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
      max_completion_tokens: 5,
    });
    expect(completion.choices[0].message.content).toBe('word1 word2 word3 word4 word5 ');
    expect(completion.choices[0].finish_reason).toBe('length');
  });

  it('returns an empty answer for the empty behavior', async () => {
    const completion = await openai.chat.completions.create({
      model: 'gpt-4o:empty',
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(completion.choices[0].message.content).toBe('');
    expect(completion.usage?.completion_tokens).toBe(0);
    expect(fake.requests[0].behavior).toBe('empty');
  });

  it('fails like a provider: 500, 429 with retry-after, 401', async () => {
    const failures = [
      ['error500', 500],
      ['error429', 429],
      ['error401', 401],
    ] as const;
    for (const [behavior, status] of failures) {
      const error = await openai.chat.completions
        .create({ model: `gpt-4o:${behavior}`, messages: [{ role: 'user', content: 'x' }] })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.APIError);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(status);
    }
  });

  it('cuts a stream midway for stream_then_error', async () => {
    fake.queueBehavior({ behavior: 'stream_then_error', outputWordCount: 20 });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    let text = '';
    await expect(
      (async () => {
        for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
      })(),
    ).rejects.toThrow();
    expect(text).toBe('word1 word2 ');
    // The queued behavior was used once; the next request is normal again.
    await openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] });
    expect(fake.requests.map((request) => request.behavior)).toEqual(['stream_then_error', 'normal']);
  });

  it('hangs until the client times out, and still closes cleanly', async () => {
    const slowClient = new OpenAI({ baseURL: `${fake.url}/v1`, apiKey: 'k', maxRetries: 0, timeout: 300 });
    await expect(
      slowClient.chat.completions.create({
        model: 'gpt-4o:hang',
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.APIConnectionTimeoutError);
  });

  it('records a client that leaves a slow stream midway', async () => {
    fake.setBehavior({ behavior: 'slow_stream', chunkDelayMilliseconds: 30, outputWordCount: 100 });
    const stream = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    let received = 0;
    for await (const _chunk of stream) {
      received += 1;
      if (received === 3) break;
    }
    await expect.poll(() => fake.requests[0].clientDisconnected, { timeout: 2_000 }).toBe(true);
    expect(fake.requests[0].completed).toBe(false);
  });
});

describe('fake Anthropic messages', () => {
  it('answers a non-stream request with cache_read_input_tokens and the x-api-key recorded', async () => {
    fake.setBehavior({ usage: { input_tokens: 21, cached_input_tokens: 2_048, output_tokens: 5 } });
    const message = await anthropic.messages.create({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Hello?' }],
    });
    expect(message.content).toEqual([{ type: 'text', text: 'Hello from the fake upstream.' }]);
    expect(message.stop_reason).toBe('end_turn');
    expect(message.usage).toMatchObject({
      input_tokens: 21,
      cache_read_input_tokens: 2_048,
      output_tokens: 5,
    });
    // This SDK version sends the key as `Authorization: Bearer`; older ones and curl users send x-api-key.
    expect(fake.requests[0]).toMatchObject({ path: '/v1/messages', credential: 'sk-ant-test' });
    const apiKeyRequest = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': 'sk-ant-raw',
        'content-type': 'application/json',
        'anthropic-version': '2023-06-01',
      },
      body: JSON.stringify({ model: 'claude', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(apiKeyRequest.status).toBe(200);
    expect(fake.requests[1]).toMatchObject({ apiKey: 'sk-ant-raw', credential: 'sk-ant-raw' });
    expect(fake.requests[0].headers['anthropic-version']).toBeTruthy();
  });

  it('streams raw events in the documented order', async () => {
    fake.setBehavior({ outputWordCount: 3, usage: { input_tokens: 9, cached_input_tokens: 100 } });
    const stream = await anthropic.messages.create({
      model: 'claude-sonnet-4-20250514',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    const types: string[] = [];
    let text = '';
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      if (event.type === 'message_start')
        expect(event.message.usage).toMatchObject({ input_tokens: 9, cache_read_input_tokens: 100 });
      if (event.type === 'message_delta') expect(event.usage.output_tokens).toBe(3);
    }
    // The SDK skips ping events itself.
    expect(types).toEqual([
      'message_start',
      'content_block_start',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(text).toBe('word1 word2 word3');
  });

  it('passes the strict MessageStream assembler, tool use included', async () => {
    const final = await anthropic.messages
      .stream({
        model: 'claude-sonnet-4-20250514',
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Weather?' }],
        tools: [{ name: 'get_weather', input_schema: { type: 'object', properties: {} } }],
        tool_choice: { type: 'any' },
      })
      .finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.at(-1)).toMatchObject({
      type: 'tool_use',
      name: 'get_weather',
      input: { location: 'Paris' },
    });
    expect(final.usage.output_tokens).toBeGreaterThan(0);
  });

  it('stops at max_tokens and answers empty for empty', async () => {
    fake.setBehavior({ outputWordCount: 10 });
    const cut = await anthropic.messages.create({
      model: 'claude',
      max_tokens: 2,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(cut.stop_reason).toBe('max_tokens');
    expect(cut.content).toEqual([{ type: 'text', text: 'word1 word2 ' }]);
    const empty = await anthropic.messages.create({
      model: 'claude:empty',
      max_tokens: 5,
      messages: [{ role: 'user', content: 'x' }],
    });
    expect(empty.content).toEqual([]);
    expect(empty.usage.output_tokens).toBe(0);
  });

  it('fails like Anthropic: error bodies the SDK reads, cut streams it rejects', async () => {
    const error = await anthropic.messages
      .create({ model: 'claude:error500', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Anthropic.InternalServerError);
    expect((error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'api_error' },
    });

    const stream = await anthropic.messages.create({
      model: 'claude:stream_then_error',
      max_tokens: 100,
      messages: [{ role: 'user', content: 'x' }],
      stream: true,
    });
    await expect(
      (async () => {
        for await (const _event of stream) {
          // drain until the socket is cut
        }
      })(),
    ).rejects.toThrow();
  });

  it('streams without usage fields for stream_no_usage', async () => {
    const stream = await anthropic.messages.create(
      { model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'x' }], stream: true },
      { headers: { 'x-fake-behavior': 'stream_no_usage' } },
    );
    for await (const event of stream) {
      if (event.type === 'message_start') expect(event.message.usage).toBeUndefined();
      if (event.type === 'message_delta') expect(event.usage).toBeUndefined();
    }
  });
});

describe('fake streams through Tollgate’s own parser and usage accumulator', () => {
  it('normalizes the same usage from both dialects', async () => {
    fake.setBehavior({ usage: { input_tokens: 40, cached_input_tokens: 500, output_tokens: 6 } });
    const expected = { input_tokens: 40, output_tokens: 6, cached_input_tokens: 500 };
    const targets = [
      {
        format: 'openai' as const,
        path: '/v1/chat/completions',
        body: {
          model: 'gpt-4o',
          messages: [{ role: 'user', content: 'x' }],
          stream: true,
          stream_options: { include_usage: true },
        },
      },
      {
        format: 'anthropic' as const,
        path: '/v1/messages',
        body: { model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'x' }], stream: true },
      },
    ];
    for (const target of targets) {
      const response = await fetch(`${fake.url}${target.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify(target.body),
      });
      const accumulator = new UsageAccumulator({ format: target.format });
      for await (const event of parseSseStream(response.body!)) accumulator.push(event);
      expect(accumulator.result(), target.format).toEqual({
        usage: expected,
        inputReported: true,
        outputReported: true,
        malformed: false,
      });
      expect(accumulator.streamedText()).toBe('Hello from the fake upstream.');
    }
  });
});

describe('fake chat and messages misbehaving for the metering attacks', () => {
  it('answers n choices with their usage summed, streamed and not', async () => {
    const plain = await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
      n: 3,
      max_tokens: 2,
    });
    expect(plain.choices.map((choice) => choice.message.content)).toEqual([
      'Hello from ',
      'Hello from ',
      'Hello from ',
    ]);
    expect(plain.usage?.completion_tokens).toBe(6);
    const texts = ['', '', ''];
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of await openai.chat.completions.create({
      model: 'gpt-4o',
      messages: [{ role: 'user', content: 'x' }],
      n: 3,
      stream: true,
      stream_options: { include_usage: true },
    })) {
      for (const choice of chunk.choices) texts[choice.index] += choice.delta.content ?? '';
      if (chunk.usage) usage = chunk.usage;
    }
    expect(texts).toEqual(Array(3).fill('Hello from the fake upstream.'));
    expect(usage?.completion_tokens).toBe(15);
  });

  it('refuses what the Messages API refuses: no version, missing fields, a thinking budget out of range, a beta field without its beta', async () => {
    const send = (body: object, headers: Record<string, string> = { 'anthropic-version': '2023-06-01' }) =>
      fetch(`${fake.url}/v1/messages`, { method: 'POST', headers, body: JSON.stringify(body) }).then(
        async (response) => ({ status: response.status, body: await response.json() }),
      );
    const ok = { model: 'claude', max_tokens: 2_000, messages: [{ role: 'user', content: 'x' }] };
    expect((await send(ok)).status).toBe(200);
    for (const [body, headers] of [
      [ok, {}],
      [{ ...ok, max_tokens: undefined }, undefined],
      [{ ...ok, model: undefined }, undefined],
      [{ ...ok, messages: undefined }, undefined],
      [{ ...ok, thinking: { type: 'enabled', budget_tokens: 2_000 } }, undefined],
      [{ ...ok, thinking: { type: 'enabled', budget_tokens: 1_000 } }, undefined],
      [{ ...ok, context_management: { edits: [] } }, undefined],
    ] as const) {
      const answer = await send(body, headers);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.type).toBe('invalid_request_error');
    }
    expect((await send({ ...ok, thinking: { type: 'enabled', budget_tokens: 1_999 } })).status).toBe(200);
    const beta = { 'anthropic-version': '2023-06-01', 'anthropic-beta': 'context-management-2025-06-27' };
    expect((await send({ ...ok, context_management: { edits: [] } }, beta)).status).toBe(200);
  });

  it('sends rawUsage verbatim, or none, and can leave out the end marker', async () => {
    fake.setBehavior({ rawUsage: { prompt_tokens: -5, completion_tokens: 'lots' } });
    const plain = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o', messages: [] }),
    });
    expect((await plain.json()).usage).toEqual({ prompt_tokens: -5, completion_tokens: 'lots' });
    fake.setBehavior({ rawUsage: null });
    const none = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude', max_tokens: 10, messages: [] }),
    });
    expect((await none.json()).usage).toBeUndefined();
    fake.setBehavior({ omitEndMarker: true, rawUsage: { output_tokens: 1e300 } });
    const stream = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude', max_tokens: 10, messages: [], stream: true }),
    });
    const text = await stream.text();
    expect(text).toContain('"output_tokens":1e+300');
    expect(text).not.toContain('message_stop');
  });

  it('echoes the key it was sent in a 401 and in an in-stream error, with a header of its own', async () => {
    fake.setBehavior({ behavior: 'error401_echo' });
    await expect(
      openai.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({ status: 401, message: expect.stringContaining('sk-test-openai') });
    fake.setBehavior({ behavior: 'stream_error_echo', responseHeaders: { 'x-provider-secret': 'p' } });
    const response = await fetch(`${fake.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': 'sk-ant-echo-me', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'claude', max_tokens: 10, messages: [], stream: true }),
    });
    expect(response.headers.get('x-provider-secret')).toBe('p');
    const text = await response.text();
    expect(text).toContain('event: error');
    expect(text).toContain('sk-ant-echo-me');
  });

  it('pauses a stream after pauseAfterFrames until resume()', async () => {
    fake.setBehavior({ pauseAfterFrames: 2 });
    const response = await fetch(`${fake.url}/v1/chat/completions`, {
      method: 'POST',
      body: JSON.stringify({ model: 'gpt-4o', messages: [], stream: true }),
    });
    const reader = response.body!.getReader();
    let seen = '';
    while ((seen.match(/data: /g) ?? []).length < 2)
      seen += new TextDecoder().decode((await reader.read()).value);
    expect(fake.requests.at(-1)!.completed).toBe(false);
    fake.resume();
    for (let part = await reader.read(); !part.done; part = await reader.read())
      seen += new TextDecoder().decode(part.value);
    expect(seen).toContain('[DONE]');
  });
});

describe('fake fal queue', () => {
  async function falJson(path: string, init: RequestInit = {}) {
    const response = await fetch(path.startsWith('http') ? path : `${fake.url}${path}`, {
      ...init,
      headers: { authorization: 'Key fal-key-123', 'content-type': 'application/json', ...init.headers },
    });
    return { status: response.status, body: (await response.json()) as any };
  }

  it('queues an image job, reports progress on each poll and returns the images', async () => {
    const submitted = await falJson('/fal-ai/flux/schnell', {
      method: 'POST',
      body: JSON.stringify({ prompt: 'a cat', num_images: 2 }),
    });
    expect(submitted.status).toBe(200);
    const { request_id: requestId, status_url: statusUrl, response_url: responseUrl } = submitted.body;
    expect(statusUrl).toBe(`${fake.url}/fal-ai/flux/requests/${requestId}/status`);
    expect(responseUrl).toBe(`${fake.url}/fal-ai/flux/requests/${requestId}`);
    expect((await falJson(responseUrl)).status).toBe(400);
    const statuses: string[] = [];
    for (let poll = 0; poll < 4; poll += 1) statuses.push((await falJson(statusUrl)).body.status);
    expect(statuses).toEqual(['IN_QUEUE', 'IN_PROGRESS', 'COMPLETED', 'COMPLETED']);
    const result = await falJson(responseUrl);
    expect(result.body.images).toHaveLength(2);
    expect(result.body.images[0]).toMatchObject({ width: 1024, height: 1024, content_type: 'image/jpeg' });
    expect((await fetch(result.body.images[0].url)).status).toBe(200);
    expect(fake.requests[0]).toMatchObject({ authorization: 'Key fal-key-123', credential: 'fal-key-123' });
    expect(fake.requests[0].body).toEqual({ prompt: 'a cat', num_images: 2 });
  });

  it('serves the short /requests/{id} paths too, and a video result for video models', async () => {
    const submitted = await falJson('/fal-ai/veo3.1', {
      method: 'POST',
      body: JSON.stringify({ prompt: 'waves' }),
    });
    const id = submitted.body.request_id;
    fake.setBehavior({});
    expect((await falJson(`/requests/${id}/status`)).body.status).toBe('IN_QUEUE');
    await falJson(`/requests/${id}/status`);
    expect((await falJson(`/requests/${id}/status`)).body.status).toBe('COMPLETED');
    expect((await falJson(`/requests/${id}`)).body.video).toMatchObject({ content_type: 'video/mp4' });
  });

  it('can fail a job, fail the submit, or return a custom result', async () => {
    fake.setBehavior({ falStatuses: ['IN_PROGRESS', 'FAILED'] });
    const failing = await falJson('/fal-ai/flux/dev', { method: 'POST', body: '{}' });
    await falJson(failing.body.status_url);
    expect((await falJson(failing.body.status_url)).body.status).toBe('FAILED');
    expect((await falJson(failing.body.response_url)).status).toBe(500);

    expect(
      (
        await falJson('/fal-ai/flux/dev', {
          method: 'POST',
          body: '{}',
          headers: { 'x-fake-behavior': 'error500' },
        })
      ).status,
    ).toBe(500);

    fake.setBehavior({
      falStatuses: ['COMPLETED'],
      falResult: { images: [{ url: 'https://cdn.example/x.png' }] },
    });
    const custom = await falJson('/fal-ai/flux/dev', { method: 'POST', body: '{}' });
    expect((await falJson(custom.body.response_url)).body).toEqual({
      images: [{ url: 'https://cdn.example/x.png' }],
    });
    // An unknown request: 401 for a key the fake was not told to accept, 404 for one it was.
    expect((await falJson('/requests/unknown/status')).status).toBe(401);
    fake.acceptKey('fal-key-123');
    expect((await falJson('/requests/unknown/status')).status).toBe(404);
  });
});

describe('fake key checks', () => {
  const get = async (path: string, headers: Record<string, string>) => {
    const response = await fetch(`${fake.url}${path}`, { headers });
    return { status: response.status, body: (await response.json()) as any };
  };

  it('accepts only configured keys, and quotes a refused key the way providers do', async () => {
    const openai = await get('/v1/models', { authorization: 'Bearer sk-not-known-1' });
    expect(openai.status).toBe(401);
    expect(openai.body.error).toMatchObject({ code: 'invalid_api_key' });
    expect(openai.body.error.message).toContain('sk-not-known-1');
    const anthropic = await get('/v1/models', {
      'x-api-key': 'sk-ant-not-known',
      'anthropic-version': '2023-06-01',
    });
    expect(anthropic.status).toBe(401);
    expect(anthropic.body.error.type).toBe('authentication_error');
    expect((await get('/v1/models', { 'x-api-key': 'sk-ant-not-known' })).status).toBe(400);
    expect((await get('/api/v1/key', { authorization: 'Bearer sk-or-not-known' })).status).toBe(401);

    for (const key of ['sk-known-1', 'sk-ant-known', 'sk-or-known']) fake.acceptKey(key);
    expect((await get('/v1/models', { authorization: 'Bearer sk-known-1' })).body.data[0].id).toBe('gpt-4o');
    expect(
      (await get('/v1/models', { 'x-api-key': 'sk-ant-known', 'anthropic-version': '2023-06-01' })).body.data,
    ).toHaveLength(1);
    expect((await get('/api/v1/key', { authorization: 'Bearer sk-or-known' })).status).toBe(200);
    // An accepted key is no skeleton key: another one is still refused.
    expect((await get('/v1/models', { authorization: 'Bearer sk-known-2' })).status).toBe(401);
  });

  it('takes accepted keys as a start option', async () => {
    const other = await startFakeUpstream({ acceptedKeys: ['fal-start-key'] });
    try {
      const status = await fetch(
        `${other.url}/fal-ai/flux/requests/00000000-0000-4000-8000-000000000000/status`,
        {
          headers: { authorization: 'Key fal-start-key' },
        },
      );
      expect(status.status).toBe(404);
    } finally {
      await other.close();
    }
  });
});

describe('OpenAI Responses', () => {
  it('answers the SDK, JSON and stream (its ResponseStream assembles the final response)', async () => {
    const answer = await openai.responses.create({ model: 'gpt-4o', input: 'Hi', max_output_tokens: 100 });
    expect(answer.output_text).toBe('Hello from the fake upstream.');
    const stream = openai.responses.stream({ model: 'gpt-4o', input: 'Hi' });
    const final = await stream.finalResponse();
    expect(final.output_text).toBe('Hello from the fake upstream.');
    expect(final.usage).toMatchObject({ input_tokens: 10, output_tokens: 5 });
  });

  it('refuses what OpenAI refuses, with its 400', async () => {
    const refused = [
      { input: 'Hi', max_tokens: 100 },
      { input: 'Hi', max_output_tokens: 8 },
      { input: 'Hi', tools: [weatherTool] },
      { input: [{ type: 'function_call_output', call_id: 'call_unknown', output: 'x' }] },
      { input: [{ type: 'item_reference', id: 'msg_unknown' }] },
      {},
    ];
    for (const body of refused) {
      const error = await openai.responses
        .create({ model: 'gpt-4o', ...body } as never)
        .catch((thrown) => thrown);
      expect(error, JSON.stringify(body)).toBeInstanceOf(OpenAI.BadRequestError);
    }
  });
});
