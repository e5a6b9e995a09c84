/**
 * Model routing and provider fallbacks, driven by the official OpenAI and Anthropic SDKs against local
 * fake providers:
 * - unprefixed, aliased and brand-new model ids are served and priced (the price follows the model
 *   the id resolves to, never a cheaper route the client's string also matches);
 * - a model's providers are tried in order when one fails before the first byte (500, 429, a hang
 *   past the timeout, a refused connection), the call is charged at the price of the provider that
 *   answered, and nothing stays held; all failing is a clean error and free; a stream that already
 *   started is never retried elsewhere;
 * - a customer's own OpenRouter key serves any model, and moves no credits.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load-config.ts';
import type { Price } from '../src/config/types.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import type { CatalogModel } from '../src/pricing/catalog.ts';
import { createModelRouter } from '../src/pricing/model-routing.ts';
import { quote } from '../src/pricing/quote.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

const PROMPT = `Hello! ${'Tell me about the weather today. '.repeat(20)}`;
const USAGE = { input_tokens: 40, output_tokens: 8, cached_input_tokens: 0 };
const PRIMARY_PRICE = { input_per_million: 300, output_per_million: 1500 };
const SECONDARY_PRICE = { input_per_million: 100, output_per_million: 400 };
const OPENROUTER_CUSTOMER_KEY = 'sk-or-customer-0123456789';

async function waitFor<T>(probe: () => Promise<T | null | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe.each(testBackends())('model routing and fallbacks on $name', (backend) => {
  let server: TestServer;
  let primary: FakeUpstream;
  let secondary: FakeUpstream;
  let vendor: FakeUpstream;
  let app: { id: string; secret_key: string };

  beforeAll(async () => {
    primary = await startFakeUpstream();
    secondary = await startFakeUpstream();
    vendor = await startFakeUpstream({ acceptedKeys: [OPENROUTER_CUSTOMER_KEY] });
    const env = {
      PRIMARY_KEY: 'sk-platform-primary',
      SECONDARY_KEY: 'sk-platform-secondary',
      DEAD_KEY: 'sk-platform-dead',
      ANTHROPIC_BASE_URL: vendor.url,
      ANTHROPIC_API_KEY: 'sk-platform-anthropic',
      OPENAI_BASE_URL: `${vendor.url}/v1`,
      OPENAI_API_KEY: 'sk-platform-openai',
      OPENROUTER_BASE_URL: `${vendor.url}/v1`,
      OPENROUTER_API_KEY: 'sk-platform-openrouter',
      // Gemini's OpenAI-compatible endpoint, keyed by its second variable; xAI's.
      GEMINI_BASE_URL: `${vendor.url}/v1`,
      GOOGLE_API_KEY: 'sk-platform-google',
      XAI_BASE_URL: `${vendor.url}/v1`,
      XAI_API_KEY: 'sk-platform-xai',
      TOLLGATE_UPSTREAM_TIMEOUT_MS: '1000',
    };
    const config = parseConfig(
      {
        include_default_models: true,
        providers: {
          primary: { base_url: primary.url, format: 'anthropic', api_key_env: 'PRIMARY_KEY' },
          secondary: { base_url: `${secondary.url}/v1`, format: 'openai', api_key_env: 'SECONDARY_KEY' },
          // Nothing listens on port 1: the connection is refused.
          dead: { base_url: 'http://127.0.0.1:1/v1', format: 'openai', api_key_env: 'DEAD_KEY' },
        },
        models: [
          {
            id: 'team/chat',
            type: 'language',
            upstream_model: 'main-chat',
            max_tokens: 1000,
            provider: [
              'primary',
              { name: 'secondary', upstream_model: 'backup-chat', price: SECONDARY_PRICE },
            ],
            price: PRIMARY_PRICE,
          },
          {
            id: 'team/cheap-first',
            type: 'language',
            max_tokens: 1000,
            provider: [
              'primary',
              { name: 'secondary', price: { input_per_million: 3000, output_per_million: 18000 } },
            ],
            price: { input_per_million: 1, output_per_million: 1 },
          },
          {
            id: 'team/dead-first',
            type: 'language',
            max_tokens: 1000,
            provider: ['dead', { name: 'secondary', upstream_model: 'backup-chat', price: SECONDARY_PRICE }],
            price: PRIMARY_PRICE,
          },
        ],
        aliases: { 'claude-opus-9-9': 'anthropic/claude-opus-4-5' },
        // A careless operator's route: every claude-* id at almost nothing. It may price ids the
        // catalog does not know; it must not price the catalog's Opus.
        routes: [
          {
            match: 'claude-*',
            provider: 'anthropic',
            price: { input_per_million: '0.01', output_per_million: '0.01' },
          },
        ],
        fallbacks: { max_attempts: 3, max_seconds: 30 },
      },
      env,
    );
    server = await startTestServer(backend, { env, config });
    app = await server.createApp({});
  });
  afterAll(async () => {
    await server?.close();
    await Promise.all([primary?.close(), secondary?.close(), vendor?.close()]);
  });

  async function customer(name: string) {
    return server.createCustomer(app.secret_key, `${name}-${Math.random()}`);
  }

  async function balanceMicros(userKey: string): Promise<bigint> {
    const response = await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': userKey } });
    return BigInt(Math.round(response.body.balance * 1_000_000));
  }

  async function holds(customerId: string) {
    return server.database.db.query<{
      status: string;
      funding: string;
      provider: string | null;
      amount_micros: string;
      captured_micros: string | null;
    }>(
      `select status, funding, provider, amount_micros::text as amount_micros, captured_micros::text as captured_micros
       from holds where customer_id = $1 order by created_at`,
      [customerId],
    );
  }

  /** Every hold of the customer is settled; returns them. */
  async function settled(customerId: string, count: number) {
    return waitFor(async () => {
      const rows = await holds(customerId);
      return rows.length === count && rows.every((row) => row.status !== 'held') ? rows : null;
    }, `${count} settled holds`);
  }

  function priced(modelId: string, price: Price) {
    const model = server.tollgate.catalog.require(modelId);
    return quote({ ...model, price }, { usage: USAGE }).totalMicros;
  }

  function candidatePrice(modelId: string, index: number): Price {
    return server.tollgate.catalog.require(modelId).candidates[index]!.price;
  }

  async function lastUsageRow(userKey: string) {
    const history = await server.call('GET', '/v1/credits/history?limit=5', {
      headers: { 'x-user-key': userKey },
    });
    return history.body.data.find((row: { type: string }) => row.type === 'usage');
  }

  describe('fallbacks', () => {
    it.each(['error500', 'error429', 'hang'] as const)(
      'the first provider answers %s: the next serves the call, charged at its own price, nothing held',
      async (behavior) => {
        const user = await customer(`fallback-${behavior}`);
        const before = await balanceMicros(user.user_key);
        const primaryCalls = primary.requests.length;
        primary.queueBehavior({ behavior });
        secondary.queueBehavior({ usage: USAGE });
        const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
        const answer = await client.chat.completions.create({
          model: 'team/chat',
          messages: [{ role: 'user', content: PROMPT }],
        });
        expect(answer.choices[0]!.message.content).toContain('Hello');
        expect(answer.model).toBe('team/chat');
        // The first provider was asked (in its own format), then the second, with its own name and key.
        expect(primary.requests.length).toBe(primaryCalls + 1);
        expect(primary.requests.at(-1)!.body.model).toBe('main-chat');
        const served = secondary.requests.at(-1)!;
        expect(served.body.model).toBe('backup-chat');
        expect(served.credential).toBe('sk-platform-secondary');

        const charge = priced('team/chat', candidatePrice('team/chat', 1));
        expect(charge).toBeLessThan(priced('team/chat', candidatePrice('team/chat', 0)));
        expect(before - (await balanceMicros(user.user_key))).toBe(charge);
        const [hold] = await settled(user.id, 1);
        expect(hold).toMatchObject({ status: 'captured', captured_micros: String(charge) });
        // The hold covered the dearer provider: the fallback could never overdraw it.
        expect(BigInt(hold!.amount_micros)).toBeGreaterThan(charge);
        const row = await lastUsageRow(user.user_key);
        expect(row).toMatchObject({
          model: 'team/chat',
          metadata: { provider: 'secondary', upstream_model: 'backup-chat', attempts: 2 },
        });
      },
    );

    it('the hold covers a dearer fallback: when it answers, its full price is charged, not one cut to the first provider', async () => {
      const user = await customer('dearer-fallback');
      const before = await balanceMicros(user.user_key);
      primary.queueBehavior({ behavior: 'error500' });
      secondary.queueBehavior({ usage: USAGE });
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      await client.chat.completions.create({
        model: 'team/cheap-first',
        messages: [{ role: 'user', content: PROMPT }],
      });
      const charge = priced('team/cheap-first', candidatePrice('team/cheap-first', 1));
      // Far above what the cheap provider's worst case could have held.
      const cheapWorstCase = quote(server.tollgate.catalog.require('team/cheap-first'), {
        usage: { input_tokens: 100_000, output_tokens: 1000, cached_input_tokens: 0 },
      }).totalMicros;
      expect(charge).toBeGreaterThan(cheapWorstCase);
      expect(before - (await balanceMicros(user.user_key))).toBe(charge);
      const [hold] = await settled(user.id, 1);
      expect(hold).toMatchObject({ status: 'captured', captured_micros: String(charge) });
    });

    it('a refused connection moves a stream to the next provider before its first byte (Anthropic SDK)', async () => {
      const user = await customer('refused');
      const before = await balanceMicros(user.user_key);
      secondary.queueBehavior({ usage: USAGE });
      const client = new Anthropic({ baseURL: server.url, apiKey: user.user_key, maxRetries: 0 });
      const message = await client.messages
        .stream({ model: 'team/dead-first', max_tokens: 100, messages: [{ role: 'user', content: PROMPT }] })
        .finalMessage();
      expect(message.content[0]).toMatchObject({ type: 'text' });
      expect(secondary.requests.at(-1)!.body).toMatchObject({ model: 'backup-chat', stream: true });
      const charge = priced('team/dead-first', candidatePrice('team/dead-first', 1));
      expect(before - (await balanceMicros(user.user_key))).toBe(charge);
      await settled(user.id, 1);
      expect((await lastUsageRow(user.user_key)).metadata).toMatchObject({
        provider: 'secondary',
        attempts: 2,
      });
    });

    it('an OpenAI SDK stream falls back on a 500 and is charged at the provider that answered', async () => {
      const user = await customer('stream-500');
      const before = await balanceMicros(user.user_key);
      primary.queueBehavior({ behavior: 'error500' });
      secondary.queueBehavior({ usage: USAGE });
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'team/chat',
        messages: [{ role: 'user', content: PROMPT }],
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let usage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta?.content ?? '';
        if (chunk.usage) usage = chunk.usage;
      }
      expect(text).toContain('Hello');
      expect(usage?.completion_tokens).toBe(USAGE.output_tokens);
      expect(before - (await balanceMicros(user.user_key))).toBe(
        priced('team/chat', candidatePrice('team/chat', 1)),
      );
      await settled(user.id, 1);
    });

    it('every provider failing is one clean error, and free', async () => {
      const user = await customer('all-fail');
      const before = await balanceMicros(user.user_key);
      primary.queueBehavior({ behavior: 'error500' });
      secondary.queueBehavior({ behavior: 'error429' });
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      await expect(
        client.chat.completions.create({ model: 'team/chat', messages: [{ role: 'user', content: PROMPT }] }),
      ).rejects.toMatchObject({ status: 502, error: { type: 'upstream_error' } });
      expect(await balanceMicros(user.user_key)).toBe(before);
      expect(await settled(user.id, 1)).toMatchObject([{ status: 'voided' }]);
      const metrics = await server.call('GET', '/metrics', { key: ADMIN_KEY });
      expect(metrics.body).toMatch(
        /tollgate_gateway_upstream_attempts_total\{provider="primary",outcome="status_5xx"\} \d+/,
      );
      expect(metrics.body).toMatch(
        /tollgate_gateway_upstream_attempts_total\{provider="secondary",outcome="status_429"\} \d+/,
      );
      expect(metrics.body).toMatch(
        /tollgate_gateway_upstream_attempts_total\{provider="secondary",outcome="answered"\} \d+/,
      );
      expect(metrics.body).toMatch(
        /tollgate_gateway_upstream_attempts_total\{provider="primary",outcome="timeout"\} \d+/,
      );
      expect(metrics.body).toMatch(
        /tollgate_gateway_upstream_attempts_total\{provider="dead",outcome="unreachable"\} \d+/,
      );
    });

    it('a refusal of the request itself (4xx) is not retried elsewhere', async () => {
      const user = await customer('refusal');
      const secondaryCalls = secondary.requests.length;
      primary.queueBehavior({ behavior: 'error401' });
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      await expect(
        client.chat.completions.create({ model: 'team/chat', messages: [{ role: 'user', content: PROMPT }] }),
      ).rejects.toMatchObject({ status: 502 });
      expect(secondary.requests.length).toBe(secondaryCalls);
      await settled(user.id, 1);
    });

    it('a stream that has started is never retried elsewhere: what was delivered is billed at the first provider', async () => {
      const user = await customer('no-retry-after-bytes');
      const before = await balanceMicros(user.user_key);
      const secondaryCalls = secondary.requests.length;
      primary.queueBehavior({ behavior: 'stream_then_error', chunksBeforeError: 2 });
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      const stream = await client.chat.completions.create({
        model: 'team/chat',
        messages: [{ role: 'user', content: PROMPT }],
        stream: true,
      });
      let text = '';
      await expect(
        (async () => {
          for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        })(),
      ).rejects.toThrow();
      expect(text.length).toBeGreaterThan(0);
      expect(secondary.requests.length).toBe(secondaryCalls);
      const [hold] = await settled(user.id, 1);
      expect(hold!.status).toBe('captured');
      expect(before - (await balanceMicros(user.user_key))).toBe(BigInt(hold!.captured_micros!));
      expect((await lastUsageRow(user.user_key)).metadata).toMatchObject({
        provider: 'primary',
        attempts: 1,
      });
    });
  });

  describe('routing', () => {
    it('an unprefixed catalog name is that model at its own price, whatever a cheaper route says', async () => {
      const user = await customer('unprefixed');
      const before = await balanceMicros(user.user_key);
      vendor.queueBehavior({ usage: USAGE });
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      const answer = await client.chat.completions.create({
        model: 'claude-opus-5-5',
        messages: [{ role: 'user', content: PROMPT }],
      });
      expect(answer.model).toBe('claude-opus-5-5');
      const sent = vendor.requests.at(-1)!;
      expect(sent).toMatchObject({ path: '/v1/messages', credential: 'sk-platform-anthropic' });
      expect(sent.body.model).toBe('claude-opus-5-5');
      const opus = server.tollgate.catalog.require('anthropic/claude-opus-5-5');
      const charge = quote(opus, { usage: USAGE }).totalMicros;
      expect(charge).toBeGreaterThan(1000n);
      expect(before - (await balanceMicros(user.user_key))).toBe(charge);
      expect((await lastUsageRow(user.user_key)).model).toBe('anthropic/claude-opus-5-5');
    });

    it('an alias (Anthropic SDK) is served and priced as its target', async () => {
      const user = await customer('alias');
      const before = await balanceMicros(user.user_key);
      vendor.queueBehavior({ usage: USAGE });
      const client = new Anthropic({ baseURL: server.url, apiKey: user.user_key, maxRetries: 0 });
      const message = await client.messages.create({
        model: 'claude-opus-9-9',
        max_tokens: 200,
        messages: [{ role: 'user', content: PROMPT }],
      });
      expect(message.model).toBe('claude-opus-9-9');
      expect(vendor.requests.at(-1)!.body.model).toBe('claude-opus-4-5');
      const target = server.tollgate.catalog.require('anthropic/claude-opus-4-5');
      expect(before - (await balanceMicros(user.user_key))).toBe(quote(target, { usage: USAGE }).totalMicros);
    });

    it('a brand-new id is served by its route at the route price; an unprefixed OpenAI id by the built-in route', async () => {
      const user = await customer('new-id');
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      let before = await balanceMicros(user.user_key);
      vendor.queueBehavior({ usage: USAGE });
      await client.chat.completions.create({
        model: 'claude-next-1',
        messages: [{ role: 'user', content: PROMPT }],
      });
      expect(vendor.requests.at(-1)!.body.model).toBe('claude-next-1');
      const routed = createModelRouter(server.tollgate.config).resolve('claude-next-1') as CatalogModel;
      expect(routed.price.outputPerMillionMicros).toBe(10_000n);
      expect(before - (await balanceMicros(user.user_key))).toBe(quote(routed, { usage: USAGE }).totalMicros);

      before = await balanceMicros(user.user_key);
      vendor.queueBehavior({ usage: USAGE });
      await client.chat.completions.create({
        model: 'gpt-5.4-mini',
        messages: [{ role: 'user', content: PROMPT }],
      });
      expect(vendor.requests.at(-1)!).toMatchObject({
        path: '/v1/chat/completions',
        credential: 'sk-platform-openai',
      });
      const mini = server.tollgate.catalog.require('openai/gpt-5.4-mini');
      expect(before - (await balanceMicros(user.user_key))).toBe(quote(mini, { usage: USAGE }).totalMicros);

      await expect(
        client.chat.completions.create({
          model: 'totally-unknown',
          messages: [{ role: 'user', content: 'x' }],
        }),
      ).rejects.toMatchObject({ status: 404, error: { type: 'model_not_found' } });
    });

    it('Google (OpenAI-compatible) and xAI serve their models with the platform keys, at catalog prices', async () => {
      const user = await customer('google-xai');
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      for (const [clientId, catalogId, key] of [
        ['gemini-2.5-flash', 'google/gemini-2.5-flash', 'sk-platform-google'],
        ['xai/grok-4.3', 'xai/grok-4.3', 'sk-platform-xai'],
      ] as const) {
        const before = await balanceMicros(user.user_key);
        vendor.queueBehavior({ usage: USAGE });
        const stream = await client.chat.completions.create({
          model: clientId,
          messages: [{ role: 'user', content: PROMPT }],
          stream: true,
        });
        for await (const _chunk of stream) {
          // drain
        }
        const sent = vendor.requests.at(-1)!;
        expect(sent).toMatchObject({ path: '/v1/chat/completions', credential: key });
        expect(sent.body.model).toBe(catalogId.split('/')[1]);
        const model = server.tollgate.catalog.require(catalogId);
        expect(before - (await balanceMicros(user.user_key))).toBe(
          quote(model, { usage: USAGE }).totalMicros,
        );
      }
    });
  });

  describe("a customer's OpenRouter key", () => {
    it('serves any model through OpenRouter on their key, moving no credits', async () => {
      const user = await customer('openrouter-byok');
      const stored = await server.call('PUT', `/v1/customers/${user.id}/provider-keys/openrouter`, {
        headers: { 'x-user-key': user.user_key },
        body: { key: OPENROUTER_CUSTOMER_KEY },
      });
      expect(stored.status).toBe(200);
      const before = await balanceMicros(user.user_key);
      const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
      for (const [model, openRouterId] of [
        ['anthropic/claude-opus-4-5', 'anthropic/claude-opus-4.5'],
        ['gpt-5.4', 'openai/gpt-5.4'],
        ['claude-next-1', 'anthropic/claude-next-1'],
      ] as const) {
        vendor.queueBehavior({ usage: USAGE });
        await client.chat.completions.create({ model, messages: [{ role: 'user', content: PROMPT }] });
        const sent = vendor.requests.at(-1)!;
        expect(sent).toMatchObject({ path: '/v1/chat/completions', credential: OPENROUTER_CUSTOMER_KEY });
        expect(sent.body.model).toBe(openRouterId);
      }
      expect(await balanceMicros(user.user_key)).toBe(before);
      const rows = await settled(user.id, 3);
      // BYOK holds move no credits, and name the provider whose key paid.
      expect(rows.map((row) => [row.funding, row.provider])).toEqual(Array(3).fill(['byok', 'openrouter']));
    });
  });

  it('keeps the books balanced', async () => {
    const report = await auditLedger(server.database.db, server.clock, 3600);
    expect(report.problems).toEqual([]);
  });
});
