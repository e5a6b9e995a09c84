/**
 * The gateway's wider surface, driven by the official SDKs against the fake upstream, which refuses
 * what the real APIs refuse: embeddings (charged their usage price exactly, capped at the input's
 * bound, failed calls free), count_tokens (free, still needs a user key), beta headers passed on, and a
 * thinking budget kept valid when a short balance lowers `max_tokens`.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.ts';
import { boundEmbeddingTokens } from '../src/gateway/embeddings.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import { quote } from '../src/pricing/quote.ts';
import { formatMicros } from '../src/shared/money.ts';
import { type FakeUpstream, fakeCountTokens, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const EMBEDDING = 'openai/text-embedding-3-small';
const CLAUDE = 'anthropic/claude-sonnet-4-20250514';
const GPT = 'openai/gpt-4o-mini';

describe.each(testBackends())('gateway surface on $name', (backend) => {
  let server: TestServer;
  let upstream: FakeUpstream;
  let app: { id: string; secret_key: string };

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const env = {
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      OPENAI_API_KEY: 'sk-platform-openai',
      ANTHROPIC_BASE_URL: upstream.url,
      ANTHROPIC_API_KEY: 'sk-platform-anthropic',
      TOLLGATE_UPSTREAM_TIMEOUT_MS: '2000',
    };
    server = await startTestServer(backend, { env, config: loadConfig(undefined, env) });
    app = await server.createApp({ referral_rate: 0.1 });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  async function customer(name: string) {
    return server.createCustomer(app.secret_key, `${name}-${Math.random()}`);
  }

  async function balanceMicros(userKey: string): Promise<bigint> {
    const response = await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': userKey } });
    return BigInt(Math.round(response.body.balance * 1_000_000));
  }

  async function setBalance(customerId: string, userKey: string, targetMicros: bigint): Promise<void> {
    const delta = targetMicros - (await balanceMicros(userKey));
    if (delta === 0n) return;
    const response = await server.call('POST', `/v1/customers/${customerId}/grants`, {
      key: app.secret_key,
      body: {
        amount: formatMicros(delta),
        source: delta > 0n ? 'promo' : 'adjustment',
        reason: 'test balance',
      },
    });
    expect(response.status).toBe(201);
  }

  async function holdsOf(customerId: string) {
    return server.database.db.query<{
      status: string;
      amount_micros: string;
      captured_micros: string | null;
    }>(
      'select status, amount_micros::text as amount_micros, captured_micros::text as captured_micros from holds where customer_id = $1 order by created_at',
      [customerId],
    );
  }

  function charge(modelId: string, usage: { input_tokens: number; output_tokens: number }) {
    return quote(server.tollgate.catalog.require(modelId), { usage }, 100_000n).totalMicros;
  }

  describe('embeddings', () => {
    it('string, string list and token-id inputs are each charged their usage price exactly', async () => {
      const user = await customer('embed');
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      const inputs: OpenAI.EmbeddingCreateParams['input'][] = [
        'The quick brown fox jumps over the lazy dog.',
        ['first text to embed', 'second one, a little longer than the first'],
        [101, 2023, 2003, 1037, 3231],
        [
          [1, 2, 3],
          [4, 5],
        ],
      ];
      for (const input of inputs) {
        const before = await balanceMicros(user.user_key);
        // The SDK asks for base64 by default and decodes it: the vectors come back as numbers.
        const answer = await client.embeddings.create({ model: EMBEDDING, input });
        const items = typeof input === 'string' || typeof input[0] === 'number' ? 1 : input.length;
        expect(answer.data).toHaveLength(items);
        expect(answer.data[0]!.embedding).toHaveLength(8);
        expect(answer.data[0]!.embedding[0]).toBeCloseTo(0.01, 5);
        expect(answer.model).toBe(EMBEDDING);
        const reported = upstream.requests.at(-1)!;
        expect(reported.path).toBe('/v1/embeddings');
        expect(reported.body.model).toBe('text-embedding-3-small');
        expect(reported.credential).toBe('sk-platform-openai');
        const tokens =
          typeof input === 'string'
            ? fakeCountTokens(input)
            : (input as unknown[]).reduce<number>(
                (total, item) =>
                  total +
                  (typeof item === 'string' ? fakeCountTokens(item) : Array.isArray(item) ? item.length : 1),
                0,
              );
        expect(answer.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
        expect(before - (await balanceMicros(user.user_key))).toBe(
          charge(EMBEDDING, { input_tokens: tokens, output_tokens: 0 }),
        );
      }
      const holds = await holdsOf(user.id);
      expect(holds.map((hold) => hold.status)).toEqual(['captured', 'captured', 'captured', 'captured']);
    });

    it('a provider that overstates usage is cut to the bound; missing usage is counted, never free', async () => {
      const user = await customer('embed-lies');
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      const input = 'twelve bytes';
      const bound = boundEmbeddingTokens(input);
      expect(bound).toBe(12);
      upstream.queueBehavior({ usage: { input_tokens: 1_000_000_000 } });
      let before = await balanceMicros(user.user_key);
      const lied = await client.embeddings.create({ model: EMBEDDING, input, encoding_format: 'float' });
      expect(lied.usage.prompt_tokens).toBe(bound);
      expect(before - (await balanceMicros(user.user_key))).toBe(
        charge(EMBEDDING, { input_tokens: bound, output_tokens: 0 }),
      );
      upstream.queueBehavior({ rawUsage: null });
      before = await balanceMicros(user.user_key);
      const silent = await client.embeddings.create({ model: EMBEDDING, input });
      expect(silent.usage.prompt_tokens).toBeGreaterThan(0);
      expect(before - (await balanceMicros(user.user_key))).toBe(
        charge(EMBEDDING, { input_tokens: silent.usage.prompt_tokens, output_tokens: 0 }),
      );
      const holds = await holdsOf(user.id);
      for (const hold of holds)
        expect(BigInt(hold.captured_micros!)).toBeLessThanOrEqual(BigInt(hold.amount_micros));
    });

    it('refuses oversized batches, wrong models and a short balance before anything is held; a failed call is free', async () => {
      const user = await customer('embed-refused');
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      const requestsBefore = upstream.requests.length;
      await expect(
        client.embeddings.create({ model: EMBEDDING, input: Array.from({ length: 2049 }, () => 'x') }),
      ).rejects.toMatchObject({ status: 400, error: { type: 'invalid_request', param: 'input' } });
      await expect(client.embeddings.create({ model: EMBEDDING, input: '' })).rejects.toMatchObject({
        status: 400,
      });
      await expect(client.embeddings.create({ model: GPT, input: 'x' })).rejects.toMatchObject({
        status: 400,
        error: { param: 'model' },
      });
      await expect(
        client.chat.completions.create({ model: EMBEDDING, messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({ status: 400, error: { param: 'model' } });
      const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'tg_uk_notakey', maxRetries: 0 });
      await expect(bad.embeddings.create({ model: EMBEDDING, input: 'x' })).rejects.toMatchObject({
        status: 401,
      });
      expect(upstream.requests.length).toBe(requestsBefore);

      upstream.queueBehavior({ behavior: 'error500' });
      const before = await balanceMicros(user.user_key);
      await expect(client.embeddings.create({ model: EMBEDDING, input: 'x' })).rejects.toMatchObject({
        status: 502,
      });
      expect(await balanceMicros(user.user_key)).toBe(before);

      await setBalance(user.id, user.user_key, 0n);
      await expect(client.embeddings.create({ model: EMBEDDING, input: 'x' })).rejects.toMatchObject({
        status: 402,
        error: { type: 'insufficient_credits' },
      });
      expect((await holdsOf(user.id)).map((hold) => hold.status)).toEqual(['voided']);
    });
  });

  describe('count_tokens', () => {
    it('is answered by an Anthropic provider, with the beta header passed on, and is free', async () => {
      const user = await customer('count');
      const client = new Anthropic({ baseURL: server.url, apiKey: user.user_key, maxRetries: 0 });
      const before = await balanceMicros(user.user_key);
      const messages = [{ role: 'user' as const, content: 'How many tokens is this sentence, roughly?' }];
      const counted = await client.messages.countTokens({ model: CLAUDE, messages, system: 'Be brief.' });
      expect(counted).toEqual({ input_tokens: fakeCountTokens([messages, 'Be brief.']) + 3 });
      const forwarded = upstream.requests.at(-1)!;
      expect(forwarded.path).toBe('/v1/messages/count_tokens');
      expect(forwarded.body.model).toBe('claude-sonnet-4-20250514');
      expect(forwarded.credential).toBe('sk-platform-anthropic');

      const beta = await client.beta.messages.countTokens({
        model: CLAUDE,
        messages,
        context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
        betas: ['context-management-2025-06-27'],
      });
      expect(beta.input_tokens).toBeGreaterThan(0);
      expect(upstream.requests.at(-1)!.headers['anthropic-beta']).toContain('context-management-2025-06-27');
      expect(await balanceMicros(user.user_key)).toBe(before);
      expect(await holdsOf(user.id)).toEqual([]);
    });

    it('is counted locally for a model of an OpenAI-format provider, and needs a valid user key', async () => {
      const user = await customer('count-local');
      const client = new Anthropic({ baseURL: server.url, apiKey: user.user_key, maxRetries: 0 });
      const requestsBefore = upstream.requests.length;
      const counted = await client.messages.countTokens({
        model: GPT,
        messages: [{ role: 'user', content: 'Hello there, how are you today?' }],
      });
      expect(counted.input_tokens).toBeGreaterThan(5);
      expect(counted.input_tokens).toBeLessThan(40);
      expect(upstream.requests.length).toBe(requestsBefore);
      const bad = new Anthropic({ baseURL: server.url, apiKey: 'tg_uk_notakey', maxRetries: 0 });
      await expect(
        bad.messages.countTokens({ model: CLAUDE, messages: [{ role: 'user', content: 'x' }] }),
      ).rejects.toMatchObject({
        status: 401,
        error: { type: 'error', error: { type: 'authentication_error', code: 'invalid_user_key' } },
      });
    });
  });

  describe('headers and thinking', () => {
    it('anthropic-beta reaches the provider, so a beta field is accepted; without it the provider refuses, free', async () => {
      const user = await customer('beta');
      const client = new Anthropic({ baseURL: server.url, apiKey: user.user_key, maxRetries: 0 });
      const before = await balanceMicros(user.user_key);
      const answer = await client.beta.messages.create({
        model: CLAUDE,
        max_tokens: 100,
        messages: [{ role: 'user', content: 'hi' }],
        context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
        betas: ['context-management-2025-06-27'],
      });
      expect(answer.content[0]).toMatchObject({ type: 'text' });
      const forwarded = upstream.requests.at(-1)!;
      expect(forwarded.headers['anthropic-beta']).toBe('context-management-2025-06-27');
      expect(forwarded.body.context_management).toEqual({ edits: [{ type: 'clear_tool_uses_20250919' }] });
      // The client's own key and headers of no meaning to the provider stay behind.
      expect(JSON.stringify(forwarded.headers)).not.toContain(user.user_key);
      expect(before - (await balanceMicros(user.user_key))).toBe(
        charge(CLAUDE, { input_tokens: 10, output_tokens: 5 }),
      );

      const afterFirst = await balanceMicros(user.user_key);
      await expect(
        client.messages.create({
          model: CLAUDE,
          max_tokens: 100,
          messages: [{ role: 'user', content: 'hi' }],
          // @ts-expect-error: a beta field without its beta header
          context_management: { edits: [{ type: 'clear_tool_uses_20250919' }] },
        }),
      ).rejects.toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error' } } });
      expect(await balanceMicros(user.user_key)).toBe(afterFirst);
    });

    it('a short balance lowers max_tokens and keeps the thinking budget below it, or drops thinking: the provider accepts', async () => {
      const user = await customer('thinking');
      const client = new Anthropic({ baseURL: server.url, apiKey: user.user_key, maxRetries: 0 });
      const messages = [{ role: 'user' as const, content: 'Think about it.' }];
      // Room for about 3,000 output tokens: max_tokens 16,000 with a 10,000 budget is lowered.
      const input = 200;
      for (const [affordable, expectThinking] of [
        [3_000, true],
        [600, false],
      ] as const) {
        await setBalance(
          user.id,
          user.user_key,
          charge(CLAUDE, { input_tokens: input, output_tokens: affordable }),
        );
        const before = await balanceMicros(user.user_key);
        const answer = await client.messages.create({
          model: CLAUDE,
          max_tokens: 8_192,
          thinking: { type: 'enabled', budget_tokens: 6_000 },
          messages,
        });
        expect(answer.content.length).toBeGreaterThan(0);
        const sent = upstream.requests.at(-1)!.body;
        // The input bound is below the 200 tokens paid for, so a little more than `affordable` fits.
        expect(sent.max_tokens).toBeGreaterThanOrEqual(affordable);
        expect(sent.max_tokens).toBeLessThan(affordable + input);
        if (expectThinking) {
          expect(sent.thinking.budget_tokens).toBeLessThan(sent.max_tokens);
          expect(sent.thinking.budget_tokens).toBeGreaterThanOrEqual(1_024);
        } else {
          expect(sent.thinking).toBeUndefined();
        }
        expect(before - (await balanceMicros(user.user_key))).toBe(
          charge(CLAUDE, { input_tokens: 10, output_tokens: 5 }),
        );
      }
      // The fake refuses what Anthropic refuses, so the clamp above is what made those calls pass.
      const direct = await fetch(`${upstream.url}/v1/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': 'k', 'anthropic-version': '2023-06-01' },
        body: JSON.stringify({
          model: 'claude',
          max_tokens: 2_000,
          thinking: { type: 'enabled', budget_tokens: 2_000 },
          messages,
        }),
      });
      expect(direct.status).toBe(400);
    });

    it('leaves the books balanced with nothing held', async () => {
      const report = await auditLedger(server.database.db, server.clock);
      expect(report.problems).toEqual([]);
      const open = await server.database.db.query<{ count: string }>(
        "select count(*)::text as count from holds where status = 'held'",
      );
      expect(open[0]!.count).toBe('0');
    });
  });
});
