/**
 * The charged cost in Anthropic Messages answers, read with the official `@anthropic-ai/sdk`:
 * `usage.cost` in the body and `x-tollgate-cost` for a non-streamed message, `usage.cost` in the
 * closing message_delta of a stream — from an Anthropic provider (passed through) and an OpenAI one
 * (translated). The cost equals what the customer was charged.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { quote } from '../../src/pricing/quote.ts';
import { microsToCredits } from '../../src/shared/money.ts';
import { testBackends } from '../support/databases.ts';
import { CLIENT_USAGE, type ClientHarness, startClientHarness } from './client-harness.ts';

const MODELS = ['anthropic/claude-sonnet-4-20250514', 'openai/gpt-4o-mini'];

describe.each(testBackends())('Anthropic SDK sees the cost on $name', (backend) => {
  let harness: ClientHarness;
  beforeAll(async () => {
    harness = await startClientHarness(backend);
  });
  afterAll(async () => {
    await harness?.close();
  });

  function charged(model: string): number {
    return microsToCredits(
      quote(harness.server.tollgate.catalog.require(model), { usage: CLIENT_USAGE }, 100_000n).totalMicros,
    );
  }

  it.each(MODELS)('%s: messages.create and messages.stream carry usage.cost', async (model) => {
    const customer = await harness.customer('anthropic-cost');
    const client = new Anthropic({ baseURL: harness.server.url, apiKey: customer.key, maxRetries: 0 });
    const { data, response } = await harness.expectChargedPerCall(customer, model, () =>
      client.messages
        .create({ model, max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] })
        .withResponse(),
    );
    expect((data.usage as unknown as { cost: number }).cost).toBe(charged(model));
    expect(response.headers.get('x-tollgate-cost')).toBe(String(charged(model)));

    const cost = await harness.expectChargedPerCall(customer, model, async () => {
      const stream = client.messages.stream({
        model,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'Hi' }],
      });
      let seen: number | undefined;
      for await (const event of stream) {
        if (event.type === 'message_delta') seen = (event.usage as unknown as { cost?: number }).cost;
      }
      await stream.finalMessage();
      return seen;
    });
    expect(cost).toBe(charged(model));
  });
});
