/**
 * Metering `POST /v1/responses` the way chat completions are metered, tried as an attacker would: a
 * short balance lowers `max_output_tokens` (never below what OpenAI accepts), a provider that lies
 * about usage is cut to the worst case, a client that leaves mid-stream pays for what it got, a
 * failed call is free, unmeterable tools are refused before anything is held or sent — and no hold is
 * ever left behind. Both upstream kinds: OpenAI (passed through) and Anthropic (translated).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quote } from '../src/pricing/quote.ts';
import { CLIENT_USAGE, type ClientHarness, startClientHarness } from './clients/client-harness.ts';
import { testBackends } from './support/databases.ts';
import { waitFor } from './support/expectations.ts';

const OPENAI_MODEL = 'openai/gpt-4o-mini';
const ANTHROPIC_MODEL = 'anthropic/claude-sonnet-4-20250514';

describe.each(testBackends())('Responses API metering on $name', (backend) => {
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
  function price(model: string, usage: { input_tokens: number; output_tokens: number }) {
    return quote(
      harness.server.tollgate.catalog.require(model),
      { usage: { ...usage, cached_input_tokens: 0 } },
      100_000n,
    ).totalMicros;
  }

  describe.each([OPENAI_MODEL, ANTHROPIC_MODEL])('%s', (model) => {
    it('a short balance lowers max_output_tokens to what it affords, and the answer stays within it', async () => {
      const customer = await harness.customer('short');
      // Enough for the input bound and 100 output tokens, not for the 4,000 asked.
      const input = 'Write a long story.';
      await harness.setBalance(customer, price(model, { input_tokens: 200, output_tokens: 100 }));
      const before = await harness.balanceMicros(customer.key);
      harness.upstream.queueBehavior({ outputWordCount: 3_000, usage: { output_tokens: undefined } });
      const { data, response } = await client(customer.key)
        .responses.create({ model, input, max_output_tokens: 4_000 })
        .withResponse();
      const lowered = response.headers.get('x-tollgate-max-tokens-lowered');
      expect(lowered).toMatch(/^4000->\d+$/);
      const limit = Number(lowered!.split('->')[1]);
      expect(limit).toBeGreaterThanOrEqual(16);
      expect(limit).toBeLessThan(4_000);
      const sent = harness.upstream.requests.at(-1)!.body;
      expect(model === OPENAI_MODEL ? sent.max_output_tokens : sent.max_tokens).toBe(limit);
      expect(data.status).toBe('incomplete');
      expect(data.incomplete_details?.reason).toBe('max_output_tokens');
      const charged = before - (await harness.balanceMicros(customer.key));
      expect(charged).toBe(BigInt(Math.round((data.usage as any).cost * 1e6)));
      expect(charged).toBeLessThanOrEqual(before);
      expect(await harness.pendingMicros(customer.id)).toBe(0n);
    });

    it('a balance that affords no answer is refused with 402 before the provider is called', async () => {
      const customer = await harness.customer('broke');
      await harness.setBalance(customer, 1n);
      const sent = harness.upstream.requests.length;
      const error = await client(customer.key)
        .responses.create({ model, input: 'Hello' })
        .catch((thrown: unknown) => thrown);
      expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(402);
      expect(harness.upstream.requests.length).toBe(sent);
      expect(await harness.balanceMicros(customer.key)).toBe(1n);
    });

    it('a provider that reports more output than it was allowed is billed the allowed worst case', async () => {
      const customer = await harness.customer('liar');
      const before = await harness.balanceMicros(customer.key);
      harness.upstream.queueBehavior({ usage: { ...CLIENT_USAGE, output_tokens: 5_000_000 } });
      const answer = await client(customer.key).responses.create({
        model,
        input: 'Hi',
        max_output_tokens: 50,
      });
      expect(answer.output_text).toContain('Hello');
      const charged = before - (await harness.balanceMicros(customer.key));
      expect(charged).toBe(price(model, { input_tokens: CLIENT_USAGE.input_tokens, output_tokens: 50 }));
      expect(await harness.pendingMicros(customer.id)).toBe(0n);
    });

    it('a failed provider call is free and leaves nothing held', async () => {
      const customer = await harness.customer('failed');
      const before = await harness.balanceMicros(customer.key);
      for (const stream of [false, true]) {
        harness.upstream.queueBehavior({ behavior: 'error500' });
        const error = await (stream
          ? client(customer.key)
              .responses.create({ model, input: 'Hi', stream: true })
              .then(async (events) => {
                for await (const _ of events);
              })
          : client(customer.key).responses.create({ model, input: 'Hi' })
        ).catch((thrown: unknown) => thrown);
        expect((error as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
      }
      expect(await harness.balanceMicros(customer.key)).toBe(before);
      expect(await harness.pendingMicros(customer.id)).toBe(0n);
    });

    it('a stream the provider cuts ends with an error event, and what was delivered is billed', async () => {
      const customer = await harness.customer('cut');
      const before = await harness.balanceMicros(customer.key);
      harness.upstream.queueBehavior({
        behavior: 'stream_then_error',
        outputWordCount: 50,
        chunksBeforeError: 3,
      });
      const stream = await client(customer.key).responses.create({ model, input: 'Hi', stream: true });
      let text = '';
      const failure = await (async () => {
        for await (const event of stream)
          if (event.type === 'response.output_text.delta') text += event.delta;
      })().catch((thrown: unknown) => thrown);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      expect(text.length).toBeGreaterThan(0);
      await waitFor(async () => (await harness.pendingMicros(customer.id)) === 0n, 'the hold to be resolved');
      expect(before - (await harness.balanceMicros(customer.key))).toBeGreaterThan(0n);
    });

    it('a client that leaves mid-stream pays for what it was sent, and the provider call is aborted', async () => {
      const customer = await harness.customer('leaver');
      const before = await harness.balanceMicros(customer.key);
      harness.upstream.queueBehavior({
        behavior: 'slow_stream',
        outputWordCount: 400,
        chunkDelayMilliseconds: 20,
      });
      const controller = new AbortController();
      const stream = await client(customer.key).responses.create(
        { model, input: 'Tell me everything.', stream: true, max_output_tokens: 1_000 },
        { signal: controller.signal },
      );
      const recorded = harness.upstream.requests.at(-1)!;
      let deltas = 0;
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') deltas += 1;
        if (deltas >= 3) {
          controller.abort();
          break;
        }
      }
      await waitFor(() => recorded.clientDisconnected, 'the upstream request to be aborted');
      await waitFor(async () => (await harness.pendingMicros(customer.id)) === 0n, 'the hold to be resolved');
      const charged = before - (await harness.balanceMicros(customer.key));
      expect(charged).toBeGreaterThan(0n);
      expect(charged).toBeLessThan(price(model, { input_tokens: 100, output_tokens: 400 }));
    });
  });

  it('built-in tools and stored state are refused before anything is held or sent', async () => {
    const customer = await harness.customer('refused');
    const before = await harness.balanceMicros(customer.key);
    const sent = harness.upstream.requests.length;
    const openai = client(customer.key);
    const attempts: Array<() => Promise<unknown>> = [
      () =>
        openai.responses.create({ model: OPENAI_MODEL, input: 'Search', tools: [{ type: 'web_search' }] }),
      () => openai.responses.create({ model: OPENAI_MODEL, input: 'Go on', previous_response_id: 'resp_x' }),
      () => openai.responses.create({ model: OPENAI_MODEL, input: 'Go on', conversation: 'conv_x' }),
      () =>
        openai.responses.create({
          model: OPENAI_MODEL,
          input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_x' }] }],
        }),
      () => openai.responses.create({ model: OPENAI_MODEL, input: [] }),
      () =>
        openai.responses.create({
          model: ANTHROPIC_MODEL,
          input: [{ type: 'item_reference', id: 'msg_x' }] as never,
        }),
    ];
    for (const attempt of attempts) {
      const error = await attempt().catch((thrown: unknown) => thrown);
      expect(error).toBeInstanceOf(OpenAI.BadRequestError);
      expect((error as InstanceType<typeof OpenAI.BadRequestError>).type).toBe('invalid_request');
    }
    expect(harness.upstream.requests.length).toBe(sent);
    expect(await harness.balanceMicros(customer.key)).toBe(before);
  });

  it('an item_reference is held at the model context window, then captured exactly', async () => {
    const customer = await harness.customer('reference');
    const openai = client(customer.key);
    harness.upstream.queueBehavior({ toolCall: true, toolCallWithText: true });
    const first = await openai.responses.create({
      model: OPENAI_MODEL,
      input: 'Weather?',
      tools: [
        {
          type: 'function',
          name: 'get_weather',
          parameters: { type: 'object', properties: {} },
          strict: false,
        },
      ],
    });
    const message = first.output.find((item) => item.type === 'message')!;
    const before = await harness.balanceMicros(customer.key);
    const { response } = await openai.responses
      .create({
        model: OPENAI_MODEL,
        input: [
          { role: 'user', content: 'Weather?' },
          { type: 'item_reference', id: message.id },
        ],
      })
      .withResponse();
    const holdId = response.headers.get('x-tollgate-hold')!;
    const held = await harness.server.database.db.query<{ amount_micros: string }>(
      'select amount_micros::text as amount_micros from holds where id = $1',
      [holdId],
    );
    // The referenced item's size is unknown: gpt-4o-mini's whole context window (128,000) was held.
    expect(BigInt(held[0]!.amount_micros)).toBeGreaterThan(
      price(OPENAI_MODEL, { input_tokens: 128_000, output_tokens: 0 }),
    );
    // And the capture is the usage price.
    expect(before - (await harness.balanceMicros(customer.key))).toBe(price(OPENAI_MODEL, CLIENT_USAGE));
    expect(await harness.pendingMicros(customer.id)).toBe(0n);
  });
});
