/**
 * The official `openai` SDK against Tollgate: the Responses API (JSON, streaming, a function-tool round
 * trip) served by an OpenAI provider (passed through) and by an Anthropic one (translated), and the
 * charged cost in every answer — `usage.cost` and `x-tollgate-cost` — for Responses and Chat
 * Completions. Every call is charged exactly its usage price, and nothing stays held.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quote } from '../../src/pricing/quote.ts';
import { microsToCredits } from '../../src/shared/money.ts';
import { testBackends } from '../support/databases.ts';
import { CLIENT_USAGE, type ClientHarness, startClientHarness } from './client-harness.ts';

const OPENAI_MODEL = 'openai/gpt-4o-mini';
const ANTHROPIC_MODEL = 'anthropic/claude-sonnet-4-20250514';
const WEATHER_TOOL = {
  type: 'function' as const,
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
  strict: false,
};

describe.each(testBackends())('openai SDK through Tollgate on $name', (backend) => {
  let harness: ClientHarness;
  beforeAll(async () => {
    harness = await startClientHarness(backend);
  });
  afterAll(async () => {
    await harness?.close();
  });

  function client(key: string) {
    return new OpenAI({ baseURL: `${harness.server.url}/v1`, apiKey: key, maxRetries: 0 });
  }
  function chargedCredits(model: string): number {
    const model_ = harness.server.tollgate.catalog.require(model);
    return microsToCredits(quote(model_, { usage: CLIENT_USAGE }, 100_000n).totalMicros);
  }

  describe.each([OPENAI_MODEL, ANTHROPIC_MODEL])('responses.create with %s', (model) => {
    it('answers JSON with the cost in usage and in x-tollgate-cost', async () => {
      const customer = await harness.customer('responses-json');
      const { data, response } = await harness.expectChargedPerCall(customer, model, () =>
        client(customer.key)
          .responses.create({ model, instructions: 'Be brief.', input: 'Say hello.', max_output_tokens: 200 })
          .withResponse(),
      );
      expect(data.object).toBe('response');
      expect(data.model).toBe(model);
      expect(data.status).toBe('completed');
      expect(data.output_text).toContain('Hello');
      expect(data.usage?.output_tokens).toBe(CLIENT_USAGE.output_tokens);
      expect((data.usage as unknown as { cost: number }).cost).toBe(chargedCredits(model));
      expect(response.headers.get('x-tollgate-cost')).toBe(String(chargedCredits(model)));
      const sent = harness.upstream.requests.at(-1)!;
      if (model === OPENAI_MODEL) {
        expect(sent.path).toBe('/v1/responses');
        expect(sent.body).toMatchObject({
          model: 'gpt-4o-mini',
          instructions: 'Be brief.',
          max_output_tokens: 200,
        });
      } else {
        expect(sent.path).toBe('/v1/messages');
        expect(sent.body).toMatchObject({ system: 'Be brief.', max_tokens: 200 });
      }
    });

    it('streams the Responses event sequence, the billed usage and cost in response.completed', async () => {
      const customer = await harness.customer('responses-stream');
      const events = await harness.expectChargedPerCall(customer, model, async () => {
        const stream = await client(customer.key).responses.create({
          model,
          input: 'Say hello.',
          stream: true,
        });
        const seen: OpenAI.Responses.ResponseStreamEvent[] = [];
        for await (const event of stream) seen.push(event);
        return seen;
      });
      const types = events.map((event) => event.type);
      expect(types.slice(0, 5)).toEqual([
        'response.created',
        'response.in_progress',
        'response.output_item.added',
        'response.content_part.added',
        'response.output_text.delta',
      ]);
      expect(types.slice(-4)).toEqual([
        'response.output_text.done',
        'response.content_part.done',
        'response.output_item.done',
        'response.completed',
      ]);
      const numbers = events.map((event) => event.sequence_number);
      expect(numbers).toEqual([...numbers].sort((left, right) => left - right));
      const text = events
        .filter((event) => event.type === 'response.output_text.delta')
        .map((event) => (event as OpenAI.Responses.ResponseTextDeltaEvent).delta)
        .join('');
      expect(text).toBe('Hello from the fake upstream.');
      const completed = events.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
      expect(completed.response.model).toBe(model);
      expect(completed.response.output_text ?? completed.response.output.length).toBeTruthy();
      expect(completed.response.usage?.output_tokens).toBe(CLIENT_USAGE.output_tokens);
      expect((completed.response.usage as unknown as { cost: number }).cost).toBe(chargedCredits(model));
    });

    it("responses.stream: the SDK's ResponseStream assembles the final response from the events", async () => {
      const customer = await harness.customer('responses-assembled');
      const final = await harness.expectChargedPerCall(customer, model, async () => {
        harness.upstream.queueBehavior({ toolCall: true, toolCallWithText: true });
        const stream = client(customer.key).responses.stream({
          model,
          input: 'Weather?',
          tools: [WEATHER_TOOL],
        });
        let deltas = '';
        stream.on('response.output_text.delta', (event) => {
          deltas += event.delta;
        });
        const response = await stream.finalResponse();
        return { response, deltas };
      });
      expect(final.response.output_text).toBe('Hello from the fake upstream.');
      expect(final.deltas).toBe('Hello from the fake upstream.');
      expect(final.response.output.map((item) => item.type)).toEqual(['message', 'function_call']);
      expect(final.response.output[1]).toMatchObject({
        name: 'get_weather',
        arguments: '{"location":"Paris"}',
      });
      expect((final.response.usage as unknown as { cost: number }).cost).toBe(chargedCredits(model));
    });

    it('runs a function-tool round trip, each turn charged', async () => {
      const customer = await harness.customer('responses-tools');
      const openai = client(customer.key);
      await harness.expectChargedPerCall(customer, model, async () => {
        harness.upstream.queueBehavior({ toolCall: true, toolArguments: { location: 'Paris' } });
        const first = await openai.responses.create({
          model,
          input: 'Weather in Paris?',
          tools: [WEATHER_TOOL],
        });
        const call = first.output.find((item) => item.type === 'function_call');
        expect(call).toMatchObject({
          type: 'function_call',
          name: 'get_weather',
          arguments: '{"location":"Paris"}',
        });
        if (call?.type !== 'function_call') throw new Error('no call');
        // The stream of the second turn carries the same call and its output back.
        const stream = await openai.responses.create({
          model,
          stream: true,
          tools: [WEATHER_TOOL],
          input: [
            { role: 'user', content: 'Weather in Paris?' },
            { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
            { type: 'function_call_output', call_id: call.call_id, output: 'Sunny, 21 °C' },
          ],
        });
        let text = '';
        for await (const event of stream)
          if (event.type === 'response.output_text.delta') text += event.delta;
        expect(text).toContain('Hello');
      });
      const second = harness.upstream.requests.at(-1)!;
      if (model === ANTHROPIC_MODEL) {
        expect(second.body.messages.at(-1).content[0]).toMatchObject({
          type: 'tool_result',
          content: 'Sunny, 21 °C',
        });
      } else {
        expect(second.body.input.at(-1)).toMatchObject({
          type: 'function_call_output',
          output: 'Sunny, 21 °C',
        });
      }
    });

    it('streams a function call as function_call_arguments events', async () => {
      const customer = await harness.customer('responses-tool-stream');
      const events = await harness.expectChargedPerCall(customer, model, async () => {
        harness.upstream.queueBehavior({ toolCall: true });
        const stream = await client(customer.key).responses.create({
          model,
          input: 'Weather in Paris?',
          tools: [WEATHER_TOOL],
          stream: true,
        });
        const seen: OpenAI.Responses.ResponseStreamEvent[] = [];
        for await (const event of stream) seen.push(event);
        return seen;
      });
      const types = events.map((event) => event.type);
      expect(types).toContain('response.function_call_arguments.delta');
      const done = events.find((event) => event.type === 'response.function_call_arguments.done');
      expect(done).toMatchObject({ arguments: '{"location":"Paris"}' });
      const item = events.find(
        (event) => event.type === 'response.output_item.done' && event.item.type === 'function_call',
      );
      expect(item).toMatchObject({
        item: { type: 'function_call', name: 'get_weather', status: 'completed' },
      });
      expect(types.at(-1)).toBe('response.completed');
    });
  });

  describe('Codex-style tools on an Anthropic-format model', () => {
    // Codex's apply_patch: a freeform tool whose input is one string under a grammar.
    const PATCH_TOOL = {
      type: 'custom' as const,
      name: 'apply_patch',
      description: 'Apply a patch to the workspace.',
      format: {
        type: 'grammar' as const,
        syntax: 'lark' as const,
        definition: 'start: "*** Begin Patch" /.+/s',
      },
    };
    const PATCH = '*** Begin Patch\n*** Add File: hello.txt\n+hello\n*** End Patch';

    it('a custom tool is sent as a one-string tool and its call comes back as custom_tool_call (JSON and stream), each turn charged', async () => {
      const customer = await harness.customer('responses-custom-tool');
      const openai = client(customer.key);
      await harness.expectChargedPerCall(customer, ANTHROPIC_MODEL, async () => {
        harness.upstream.queueBehavior({ toolCall: true, toolArguments: { input: PATCH } });
        const first = await openai.responses.create({
          model: ANTHROPIC_MODEL,
          input: 'Add hello.txt',
          tools: [PATCH_TOOL],
        });
        const call = first.output.find((item) => item.type === 'custom_tool_call');
        expect(call).toMatchObject({ type: 'custom_tool_call', name: 'apply_patch', input: PATCH });
        if (call?.type !== 'custom_tool_call') throw new Error('no custom tool call');
        const sent = harness.upstream.requests.at(-1)!.body;
        expect(sent.tools[0]).toMatchObject({
          name: 'apply_patch',
          input_schema: { type: 'object', required: ['input'], properties: { input: { type: 'string' } } },
        });
        expect(sent.tools[0].description).toContain('*** Begin Patch');

        // Streamed, then the call and its output sent back as the next turn's input.
        harness.upstream.queueBehavior({ toolCall: true, toolArguments: { input: PATCH } });
        const stream = await openai.responses.create({
          model: ANTHROPIC_MODEL,
          input: 'Add hello.txt',
          tools: [PATCH_TOOL],
          stream: true,
        });
        const events: OpenAI.Responses.ResponseStreamEvent[] = [];
        for await (const event of stream) events.push(event);
        expect(events.find((event) => event.type === 'response.custom_tool_call_input.done')).toMatchObject({
          input: PATCH,
        });
        expect(
          events.find(
            (event) => event.type === 'response.output_item.done' && event.item.type === 'custom_tool_call',
          ),
        ).toMatchObject({ item: { name: 'apply_patch', input: PATCH, status: 'completed' } });

        const second = await openai.responses.create({
          model: ANTHROPIC_MODEL,
          tools: [PATCH_TOOL],
          input: [
            { role: 'user', content: 'Add hello.txt' },
            { type: 'custom_tool_call', call_id: call.call_id, name: call.name, input: call.input },
            { type: 'custom_tool_call_output', call_id: call.call_id, output: 'Done.' },
          ],
        });
        expect(second.output_text).toContain('Hello');
      });
      const last = harness.upstream.requests.at(-1)!.body;
      expect(last.messages.at(-2).content[0]).toMatchObject({
        type: 'tool_use',
        name: 'apply_patch',
        input: { input: PATCH },
      });
      expect(last.messages.at(-1).content[0]).toMatchObject({ type: 'tool_result', content: 'Done.' });
    });

    it("a tool namespace (Codex's sub-agent tools) is flattened upstream and its calls come back with their namespace, each turn charged", async () => {
      const customer = await harness.customer('responses-namespace');
      const openai = client(customer.key);
      const NAMESPACE = {
        type: 'namespace',
        name: 'agents',
        description: 'Sub-agents you can start.',
        tools: [
          {
            type: 'function',
            name: 'spawn',
            description: 'Start one.',
            parameters: { type: 'object', properties: { task: { type: 'string' } }, required: ['task'] },
          },
        ],
      } as never;
      await harness.expectChargedPerCall(customer, ANTHROPIC_MODEL, async () => {
        harness.upstream.queueBehavior({ toolCall: true, toolArguments: { task: 'tests' } });
        const first = await openai.responses.create({
          model: ANTHROPIC_MODEL,
          input: 'Split the work',
          tools: [NAMESPACE],
        });
        expect(harness.upstream.requests.at(-1)!.body.tools[0]).toMatchObject({
          name: 'agents__spawn',
          description: 'Sub-agents you can start.\n\nStart one.',
        });
        const call = first.output.find((item) => item.type === 'function_call') as unknown as Record<
          string,
          unknown
        >;
        expect(call).toMatchObject({ name: 'spawn', namespace: 'agents', arguments: '{"task":"tests"}' });

        const second = await openai.responses.create({
          model: ANTHROPIC_MODEL,
          tools: [NAMESPACE],
          input: [
            { role: 'user', content: 'Split the work' },
            {
              type: 'function_call',
              call_id: String(call.call_id),
              name: 'spawn',
              namespace: 'agents',
              arguments: String(call.arguments),
            } as never,
            { type: 'function_call_output', call_id: String(call.call_id), output: 'started' },
          ],
        });
        expect(second.output_text).toContain('Hello');
      });
      expect(harness.upstream.requests.at(-1)!.body.messages.at(-2).content[0]).toMatchObject({
        type: 'tool_use',
        name: 'agents__spawn',
        input: { task: 'tests' },
      });
    });

    it.each([
      ['local_shell', { type: 'local_shell' }],
      ['web_search', { type: 'web_search' }],
    ])('%s is refused with a 400 in the OpenAI shape, nothing held or sent', async (name, tool) => {
      const customer = await harness.customer(`responses-${name}`);
      const before = await harness.balanceMicros(customer.key);
      const sent = harness.upstream.requests.length;
      const error = await client(customer.key)
        .responses.create({ model: ANTHROPIC_MODEL, input: 'Run ls', tools: [tool as never] })
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      const body = (error as InstanceType<typeof OpenAI.BadRequestError>).error as Record<string, unknown>;
      expect(body).toMatchObject({ param: 'tools' });
      expect(String(body.message)).toContain(name);
      expect(harness.upstream.requests.length).toBe(sent);
      expect(await harness.balanceMicros(customer.key)).toBe(before);
      expect(await harness.pendingMicros(customer.id)).toBe(0n);
    });
  });

  it('refuses previous_response_id with a 400 before anything is held or sent', async () => {
    const customer = await harness.customer('responses-previous');
    const before = await harness.balanceMicros(customer.key);
    const sent = harness.upstream.requests.length;
    const error = await client(customer.key)
      .responses.create({ model: OPENAI_MODEL, input: 'Go on.', previous_response_id: 'resp_123' })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).type).toBe('invalid_request');
    expect((error as Error).message).toContain('previous_response_id');
    expect(harness.upstream.requests.length).toBe(sent);
    expect(await harness.balanceMicros(customer.key)).toBe(before);
  });

  it('chat completions carry the cost too: usage.cost, x-tollgate-cost, and the stream usage chunk', async () => {
    const customer = await harness.customer('chat-cost');
    const openai = client(customer.key);
    const { data, response } = await harness.expectChargedPerCall(customer, OPENAI_MODEL, () =>
      openai.chat.completions
        .create({ model: OPENAI_MODEL, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse(),
    );
    expect((data.usage as unknown as { cost: number }).cost).toBe(chargedCredits(OPENAI_MODEL));
    expect(response.headers.get('x-tollgate-cost')).toBe(String(chargedCredits(OPENAI_MODEL)));
    for (const model of [OPENAI_MODEL, ANTHROPIC_MODEL]) {
      const usage = await harness.expectChargedPerCall(customer, model, async () => {
        const stream = await openai.chat.completions.create({
          model,
          messages: [{ role: 'user', content: 'Hi' }],
          stream: true,
          stream_options: { include_usage: true },
        });
        let last: OpenAI.CompletionUsage | undefined;
        for await (const chunk of stream) if (chunk.usage) last = chunk.usage;
        return last;
      });
      expect((usage as unknown as { cost: number }).cost).toBe(chargedCredits(model));
    }
  });
});
