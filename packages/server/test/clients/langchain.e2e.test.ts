/**
 * LangChain against Tollgate: `@langchain/openai` with Chat Completions and with the Responses API
 * (`useResponsesApi`), and `@langchain/anthropic`: invoke, stream, and a tool call answered with its
 * result. Every call is charged exactly its usage price; nothing stays held.
 */
import { ChatAnthropic } from '@langchain/anthropic';
import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { HumanMessage, ToolMessage } from '@langchain/core/messages';
import { tool } from '@langchain/core/tools';
import { ChatOpenAI } from '@langchain/openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testBackends } from '../support/databases.ts';
import { type ClientHarness, startClientHarness } from './client-harness.ts';

const OPENAI_MODEL = 'openai/gpt-4o-mini';
const ANTHROPIC_MODEL = 'anthropic/claude-sonnet-4-20250514';

describe.each(testBackends())('LangChain through Tollgate on $name', (backend) => {
  let harness: ClientHarness;
  beforeAll(async () => {
    harness = await startClientHarness(backend);
  });
  afterAll(async () => {
    await harness?.close();
  });

  const variants: { name: string; model: string; path: string; build(key: string): BaseChatModel }[] = [
    {
      name: 'ChatOpenAI (Chat Completions)',
      model: OPENAI_MODEL,
      path: '/v1/chat/completions',
      build: (key) =>
        new ChatOpenAI({
          model: OPENAI_MODEL,
          apiKey: key,
          maxRetries: 0,
          configuration: { baseURL: `${harness.server.url}/v1` },
        }),
    },
    {
      name: 'ChatOpenAI with useResponsesApi',
      model: OPENAI_MODEL,
      path: '/v1/responses',
      build: (key) =>
        new ChatOpenAI({
          model: OPENAI_MODEL,
          apiKey: key,
          maxRetries: 0,
          useResponsesApi: true,
          configuration: { baseURL: `${harness.server.url}/v1` },
        }),
    },
    {
      name: 'ChatOpenAI with useResponsesApi, served by Anthropic',
      model: ANTHROPIC_MODEL,
      path: '/v1/messages',
      build: (key) =>
        new ChatOpenAI({
          model: ANTHROPIC_MODEL,
          apiKey: key,
          maxRetries: 0,
          useResponsesApi: true,
          configuration: { baseURL: `${harness.server.url}/v1` },
        }),
    },
    {
      name: 'ChatAnthropic',
      model: ANTHROPIC_MODEL,
      path: '/v1/messages',
      build: (key) =>
        new ChatAnthropic({
          model: ANTHROPIC_MODEL,
          apiKey: key,
          maxRetries: 0,
          anthropicApiUrl: harness.server.url,
        }),
    },
  ];

  describe.each(variants)('$name', (variant) => {
    it('invoke', async () => {
      const customer = await harness.customer('lc-invoke');
      const answer = await harness.expectChargedPerCall(customer, variant.model, () =>
        variant.build(customer.key).invoke('Say hello.'),
      );
      expect(answer.text).toBe('Hello from the fake upstream.');
      expect(harness.upstream.requests.at(-1)!.path).toBe(variant.path);
    });

    it('stream', async () => {
      const customer = await harness.customer('lc-stream');
      const text = await harness.expectChargedPerCall(customer, variant.model, async () => {
        let collected = '';
        for await (const chunk of await variant.build(customer.key).stream('Say hello.'))
          collected += chunk.text;
        return collected;
      });
      expect(text).toBe('Hello from the fake upstream.');
    });

    it('a tool call answered with its result', async () => {
      const customer = await harness.customer('lc-tools');
      const weather = tool(async ({ location }) => `Sunny in ${location}`, {
        name: 'get_weather',
        description: 'The weather in a city',
        schema: z.object({ location: z.string() }),
      });
      const answer = await harness.expectChargedPerCall(customer, variant.model, async () => {
        const model = variant.build(customer.key).bindTools!([weather]);
        const question = new HumanMessage('Weather in Paris?');
        harness.upstream.queueBehavior({ toolCall: true });
        const first = await model.invoke([question]);
        const call = first.tool_calls?.[0];
        expect(call).toMatchObject({ name: 'get_weather', args: { location: 'Paris' } });
        const result = new ToolMessage({
          content: await weather.invoke(call!.args as { location: string }),
          tool_call_id: call!.id!,
        });
        return model.invoke([question, first, result]);
      });
      expect(answer.text).toContain('Hello from the fake upstream.');
      expect(JSON.stringify(harness.upstream.requests.at(-1)!.body)).toContain('Sunny in Paris');
    });
  });
});
