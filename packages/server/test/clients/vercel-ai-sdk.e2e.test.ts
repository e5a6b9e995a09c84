/**
 * The Vercel AI SDK against Tollgate: `@ai-sdk/openai`'s default `openai(model)` (the Responses API),
 * `openai.chat(model)` (Chat Completions) and `@ai-sdk/anthropic` (Messages), each with generateText,
 * streamText and a tool loop. Every call is charged exactly its usage price; nothing stays held.
 */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { generateText, type LanguageModel, stepCountIs, streamText, tool } from 'ai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testBackends } from '../support/databases.ts';
import { CLIENT_USAGE, type ClientHarness, startClientHarness } from './client-harness.ts';

const OPENAI_MODEL = 'openai/gpt-4o-mini';
const ANTHROPIC_MODEL = 'anthropic/claude-sonnet-4-20250514';

describe.each(testBackends())('Vercel AI SDK through Tollgate on $name', (backend) => {
  let harness: ClientHarness;
  beforeAll(async () => {
    harness = await startClientHarness(backend);
  });
  afterAll(async () => {
    await harness?.close();
  });

  const variants: {
    name: string;
    model: string;
    path: string;
    build(key: string): LanguageModel;
    /** Anthropic cannot resolve items OpenAI stored: the AI SDK must send them whole (`store: false`). */
    providerOptions?: { openai: { store: boolean } };
  }[] = [
    {
      name: 'openai(model) — Responses',
      model: OPENAI_MODEL,
      path: '/v1/responses',
      build: (key) => createOpenAI({ baseURL: `${harness.server.url}/v1`, apiKey: key })(OPENAI_MODEL),
    },
    {
      name: 'openai(model) — Responses, served by Anthropic',
      model: ANTHROPIC_MODEL,
      path: '/v1/messages',
      build: (key) => createOpenAI({ baseURL: `${harness.server.url}/v1`, apiKey: key })(ANTHROPIC_MODEL),
      providerOptions: { openai: { store: false } },
    },
    {
      name: 'openai.chat(model)',
      model: OPENAI_MODEL,
      path: '/v1/chat/completions',
      build: (key) => createOpenAI({ baseURL: `${harness.server.url}/v1`, apiKey: key }).chat(OPENAI_MODEL),
    },
    {
      name: 'anthropic(model)',
      model: ANTHROPIC_MODEL,
      path: '/v1/messages',
      build: (key) => createAnthropic({ baseURL: `${harness.server.url}/v1`, apiKey: key })(ANTHROPIC_MODEL),
    },
  ];

  describe.each(variants)('$name', (variant) => {
    it('generateText', async () => {
      const customer = await harness.customer('ai-generate');
      const result = await harness.expectChargedPerCall(customer, variant.model, () =>
        generateText({ model: variant.build(customer.key), prompt: 'Say hello.', maxRetries: 0 }),
      );
      expect(result.text).toBe('Hello from the fake upstream.');
      expect(result.usage.outputTokens).toBe(CLIENT_USAGE.output_tokens);
      expect(harness.upstream.requests.at(-1)!.path).toBe(variant.path);
    });

    it('streamText', async () => {
      const customer = await harness.customer('ai-stream');
      const result = await harness.expectChargedPerCall(customer, variant.model, async () => {
        const stream = streamText({
          model: variant.build(customer.key),
          system: 'Be brief.',
          prompt: 'Say hello.',
          maxRetries: 0,
          onError: ({ error }) => {
            throw error;
          },
        });
        let text = '';
        for await (const part of stream.textStream) text += part;
        return { text, usage: await stream.usage };
      });
      expect(result.text).toBe('Hello from the fake upstream.');
      expect(result.usage.outputTokens).toBe(CLIENT_USAGE.output_tokens);
    });

    it('a tool loop: the tool runs, its result goes back, the model answers', async () => {
      const customer = await harness.customer('ai-tools');
      const calls: string[] = [];
      const result = await harness.expectChargedPerCall(customer, variant.model, async () => {
        // Text before the call: with `store` on, the AI SDK then refers to it by id (item_reference).
        harness.upstream.queueBehavior({
          toolCall: true,
          toolCallWithText: true,
          toolArguments: { location: 'Paris' },
        });
        return generateText({
          model: variant.build(customer.key),
          prompt: 'Weather in Paris?',
          maxRetries: 0,
          stopWhen: stepCountIs(3),
          providerOptions: variant.providerOptions,
          tools: {
            get_weather: tool({
              description: 'The weather in a city',
              inputSchema: z.object({ location: z.string() }),
              execute: async ({ location }) => {
                calls.push(location);
                return `Sunny in ${location}`;
              },
            }),
          },
        });
      });
      expect(calls).toEqual(['Paris']);
      expect(result.steps.length).toBe(2);
      expect(result.text).toBe('Hello from the fake upstream.');
      expect(JSON.stringify(harness.upstream.requests.at(-1)!.body)).toContain('Sunny in Paris');
    });
  });

  it('an item_reference reaches an OpenAI provider (held at the context window); Anthropic refuses it free', async () => {
    const customer = await harness.customer('ai-reference');
    const openai = createOpenAI({ baseURL: `${harness.server.url}/v1`, apiKey: customer.key });
    const weather = tool({ inputSchema: z.object({ location: z.string() }), execute: async () => 'Sunny' });
    await harness.expectChargedPerCall(customer, OPENAI_MODEL, async () => {
      harness.upstream.queueBehavior({ toolCall: true, toolCallWithText: true });
      await generateText({
        model: openai(OPENAI_MODEL),
        prompt: 'Weather in Paris?',
        maxRetries: 0,
        stopWhen: stepCountIs(3),
        tools: { get_weather: weather },
      });
    });
    const second = harness.upstream.requests.at(-1)!.body;
    expect(second.input.some((item: any) => item.type === 'item_reference')).toBe(true);

    const before = await harness.balanceMicros(customer.key);
    const sent = harness.upstream.requests.length;
    const failure = await generateText({
      model: openai(ANTHROPIC_MODEL),
      maxRetries: 0,
      messages: [
        { role: 'user', content: 'Weather in Paris?' },
        {
          role: 'assistant',
          content: [{ type: 'text', text: 'Let me look.', providerOptions: { openai: { itemId: 'msg_1' } } }],
        },
        { role: 'user', content: 'Well?' },
      ],
    }).catch((error: unknown) => error);
    expect(String(failure)).toContain('item_reference');
    expect(harness.upstream.requests.length).toBe(sent);
    expect(await harness.balanceMicros(customer.key)).toBe(before);
  });
});
