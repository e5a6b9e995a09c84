/**
 * The OpenAI Agents SDK (`@openai/agents`) against Tollgate with its defaults: the Responses API, an
 * OpenAI client pointed at Tollgate with the user key (given to a Runner's provider). An agent answers, streams, and runs a tool
 * loop; every model call is charged exactly its usage price and nothing stays held.
 */
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { testBackends } from '../support/databases.ts';
import { type ClientHarness, startClientHarness } from './client-harness.ts';

const MODELS = ['openai/gpt-4o-mini', 'anthropic/claude-sonnet-4-20250514'];

describe.each(testBackends())('OpenAI Agents SDK through Tollgate on $name', (backend) => {
  let harness: ClientHarness;
  beforeAll(async () => {
    harness = await startClientHarness(backend);
    setTracingDisabled(true);
  });
  afterAll(async () => {
    await harness?.close();
  });

  /** A runner whose model calls carry this customer's key (the SDK's default provider caches its client). */
  function runnerFor(key: string): Runner {
    return new Runner({
      modelProvider: new OpenAIProvider({ baseURL: `${harness.server.url}/v1`, apiKey: key }),
    });
  }

  describe.each(MODELS)('%s', (model) => {
    it('an agent answers', async () => {
      const customer = await harness.customer('agents-run');
      const runner = runnerFor(customer.key);
      const agent = new Agent({ name: 'Greeter', instructions: 'Be brief.', model });
      const result = await harness.expectChargedPerCall(customer, model, () =>
        runner.run(agent, 'Say hello.'),
      );
      expect(result.finalOutput).toBe('Hello from the fake upstream.');
      const path = model.startsWith('openai/') ? '/v1/responses' : '/v1/messages';
      expect(harness.upstream.requests.at(-1)!.path).toBe(path);
    });

    it('an agent streams', async () => {
      const customer = await harness.customer('agents-stream');
      const runner = runnerFor(customer.key);
      const agent = new Agent({ name: 'Greeter', instructions: 'Be brief.', model });
      const text = await harness.expectChargedPerCall(customer, model, async () => {
        const result = await runner.run(agent, 'Say hello.', { stream: true });
        let collected = '';
        for await (const chunk of result.toTextStream()) collected += chunk;
        await result.completed;
        return collected;
      });
      expect(text).toBe('Hello from the fake upstream.');
    });

    it('an agent runs a tool loop', async () => {
      const customer = await harness.customer('agents-tools');
      const runner = runnerFor(customer.key);
      const asked: string[] = [];
      const weather = tool({
        name: 'get_weather',
        description: 'The weather in a city',
        parameters: z.object({ location: z.string() }),
        execute: async ({ location }) => {
          asked.push(location);
          return `Sunny in ${location}`;
        },
      });
      const agent = new Agent({ name: 'Weather', instructions: 'Use the tool.', model, tools: [weather] });
      const result = await harness.expectChargedPerCall(customer, model, async () => {
        harness.upstream.queueBehavior({ toolCall: true });
        return runner.run(agent, 'Weather in Paris?');
      });
      expect(asked).toEqual(['Paris']);
      expect(result.finalOutput).toContain('Hello from the fake upstream.');
      expect(JSON.stringify(harness.upstream.requests.at(-1)!.body)).toContain('Sunny in Paris');
    });
  });
});
