/**
 * The gateway driven by the official OpenAI and Anthropic SDKs, in front of a local fake upstream that
 * speaks both formats: every answer is billed exactly by the usage the fake reported, plus the app's
 * referral share, which lands in the app's account.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/load-config.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import { quote } from '../src/pricing/quote.ts';
import { microsToCredits } from '../src/shared/money.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe.each(testBackends())('gateway on $name', (backend) => {
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
    const created = await server.createCustomer(app.secret_key, `${name}-${Math.random()}`);
    return created;
  }

  async function balanceMicros(userKey: string): Promise<bigint> {
    const response = await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': userKey } });
    return BigInt(Math.round(response.body.balance * 1_000_000));
  }

  function expectedCharge(
    modelId: string,
    usage: { input_tokens: number; output_tokens: number; cached_input_tokens: number },
  ) {
    const model = server.tollgate.catalog.require(modelId);
    return quote(model, { usage }, 100_000n);
  }

  it('OpenAI SDK, non-streaming, passthrough: billed by reported usage plus referral share', async () => {
    const user = await customer('oa');
    const before = await balanceMicros(user.user_key);
    upstream.setBehavior({ usage: { input_tokens: 1200, output_tokens: 300, cached_input_tokens: 400 } });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key });
    // Long enough that 1,600 input tokens (1,200 + 400 cached) are within what it can cost: reported
    // input above a request's bound would be cut to it.
    const answer = await client.chat.completions.create({
      model: 'openai/gpt-4o',
      messages: [{ role: 'user', content: `Hello! ${'Tell me about the weather today. '.repeat(60)}` }],
    });
    expect(answer.model).toBe('openai/gpt-4o');
    expect(answer.choices[0]!.message.content).toContain('Hello');
    const expected = expectedCharge('openai/gpt-4o', {
      input_tokens: 1200,
      output_tokens: 300,
      cached_input_tokens: 400,
    });
    expect(before - (await balanceMicros(user.user_key))).toBe(expected.totalMicros);
    const history = await server.call('GET', '/v1/credits/history?limit=1', {
      headers: { 'x-user-key': user.user_key },
    });
    expect(history.body.data[0]).toMatchObject({
      type: 'usage',
      model: 'openai/gpt-4o',
      provider_cost: microsToCredits(expected.providerCostMicros),
      referral_share: microsToCredits(expected.referralShareMicros),
      total: microsToCredits(expected.totalMicros),
    });
    // The platform key, not the user's Tollgate key, reached the provider.
    expect(upstream.requests.at(-1)!.credential).toBe('sk-platform-openai');
  });

  it('OpenAI SDK, streaming, translated to an Anthropic upstream', async () => {
    const user = await customer('oa-stream');
    const before = await balanceMicros(user.user_key);
    upstream.setBehavior({ usage: { input_tokens: 50, output_tokens: 7, cached_input_tokens: 0 } });
    const client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key });
    const stream = await client.chat.completions.create({
      model: 'anthropic/claude-sonnet-4-20250514',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hello!' },
      ],
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
    expect(usage?.completion_tokens).toBe(7);
    const expected = expectedCharge('anthropic/claude-sonnet-4-20250514', {
      input_tokens: 50,
      output_tokens: 7,
      cached_input_tokens: 0,
    });
    expect(before - (await balanceMicros(user.user_key))).toBe(expected.totalMicros);
    const last = upstream.requests.at(-1)!;
    expect(last.path).toBe('/v1/messages');
    expect(last.body.system).toBeDefined();
  });

  it('Anthropic SDK, streaming passthrough and non-streaming translated to OpenAI', async () => {
    const user = await customer('an');
    const client = new Anthropic({ baseURL: server.url, apiKey: user.user_key });
    upstream.setBehavior({ usage: { input_tokens: 30, output_tokens: 5, cached_input_tokens: 20 } });
    let before = await balanceMicros(user.user_key);
    const stream = client.messages.stream({
      model: 'anthropic/claude-sonnet-4-20250514',
      max_tokens: 256,
      messages: [{ role: 'user', content: 'Hello!' }],
    });
    const message = await stream.finalMessage();
    expect(message.model).toBe('anthropic/claude-sonnet-4-20250514');
    let expected = expectedCharge('anthropic/claude-sonnet-4-20250514', {
      input_tokens: 30,
      output_tokens: 5,
      cached_input_tokens: 20,
    });
    expect(before - (await balanceMicros(user.user_key))).toBe(expected.totalMicros);

    before = await balanceMicros(user.user_key);
    const plain = await client.messages.create({
      model: 'openai/gpt-4o',
      max_tokens: 128,
      messages: [{ role: 'user', content: 'Hello!' }],
    });
    expect(plain.content[0]).toMatchObject({ type: 'text' });
    expected = expectedCharge('openai/gpt-4o', {
      input_tokens: 30,
      output_tokens: 5,
      cached_input_tokens: 20,
    });
    expect(before - (await balanceMicros(user.user_key))).toBe(expected.totalMicros);
  });

  it('credits the referral share to the app and keeps the books balanced', async () => {
    const report = await auditLedger(server.database.db, server.clock, 3600);
    expect(report.problems).toEqual([]);
    expect(report.systemAccounts[`ref:${app.id}`]).toBeGreaterThan(0n);
  });

  it('answers errors in each SDK’s own shape', async () => {
    const user = await customer('errors');
    const openai = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: user.user_key, maxRetries: 0 });
    await expect(
      openai.chat.completions.create({ model: 'nope/unknown', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      status: 404,
      error: { type: 'model_not_found' },
    });
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'tg_uk_notakey', maxRetries: 0 });
    await expect(
      bad.chat.completions.create({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x' }] }),
    ).rejects.toMatchObject({
      status: 401,
    });
    const anthropic = new Anthropic({ baseURL: server.url, apiKey: user.user_key, maxRetries: 0 });
    upstream.queueBehavior({ behavior: 'error500' });
    const before = await balanceMicros(user.user_key);
    await expect(
      anthropic.messages.create({
        model: 'anthropic/claude-sonnet-4-20250514',
        max_tokens: 10,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({
      status: 502,
      error: { type: 'error', error: { type: 'api_error', code: 'upstream_error' } },
    });
    expect(await balanceMicros(user.user_key)).toBe(before);
  });
});
