/**
 * Runs the chat-app example: the official `openai` SDK with a user key against a real Tollgate,
 * which forwards to a local fake OpenAI (packages/server/test/fakes/fake-upstream.ts) and charges
 * the user exactly the tokens the fake reports.
 */
import { Tollgate } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../packages/server/src/config/load-config.ts';
import { type FakeUpstream, startFakeUpstream } from '../../packages/server/test/fakes/fake-upstream.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../../packages/server/test/support/server.ts';
import { createChatApp } from './chat-app.ts';

describe('examples/chat-app', () => {
  let upstream: FakeUpstream;
  let server: TestServer;
  let tollgate: Tollgate;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const env = {
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      OPENAI_API_KEY: 'sk-platform-openai',
      ANTHROPIC_BASE_URL: upstream.url,
      ANTHROPIC_API_KEY: 'sk-platform-anthropic',
      TOLLGATE_UPSTREAM_TIMEOUT_MS: '5000',
    };
    server = await startTestServer({ name: 'pglite' }, { env, config: loadConfig(undefined, env) });
    const admin = new Tollgate({ baseUrl: server.url, apiKey: ADMIN_KEY });
    const app = await admin.apps.create({ name: 'Chat app' });
    tollgate = new Tollgate({ baseUrl: server.url, apiKey: app.secret_key });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  async function signedInUser(userId: string) {
    const customer = await tollgate.customers.create({ external_id: userId });
    return createChatApp({ tollgateUrl: server.url, userKey: customer.user_key! });
  }

  it('answers through Tollgate and charges the reported tokens (gpt-4o: 250 in, 1,000 out per 1M)', async () => {
    const chat = await signedInUser('chat-ada');
    expect(await chat.balance()).toBe(500);
    // A plausible count for a short prompt: Tollgate caps input the request could not contain.
    upstream.setBehavior({ usage: { input_tokens: 20, output_tokens: 500 } });

    const reply = await chat.ask('Hello!');
    expect(reply).toMatchObject({ ok: true, text: 'Hello from the fake upstream.' });
    // 20 × 250 / 1M + 500 × 1,000 / 1M = 0.005 + 0.5 credits
    expect(await chat.balance()).toBe(499.495);
    // The provider saw the platform's key, never the user's Tollgate key.
    expect(upstream.requests.at(-1)!.credential).toBe('sk-platform-openai');
  });

  it('streams, and charges once when the stream ends', async () => {
    const chat = await signedInUser('chat-grace');
    upstream.setBehavior({ outputText: 'one two three', usage: { input_tokens: 20, output_tokens: 1000 } });
    let text = '';
    for await (const piece of chat.stream('Count to three')) text += piece;
    expect(text).toBe('one two three');
    // 20 × 250 / 1M + 1,000 × 1,000 / 1M = 0.005 + 1 credits
    expect(await chat.balance()).toBe(498.995);
  });

  it('tells the user to top up when credits run out (402 through the OpenAI SDK)', async () => {
    const chat = await signedInUser('chat-linus');
    await tollgate.customers.grant('chat-linus', {
      amount: -500,
      source: 'adjustment',
      reason: 'example: empty wallet',
    });
    upstream.setBehavior({});
    expect(await chat.ask('Hello?')).toEqual({ ok: false, reason: 'insufficient_credits' });
    expect(await chat.balance()).toBe(0);
  });

  it('runs a user who brought their own OpenAI key on that key, free of credits, unless the app forbids it', async () => {
    const chat = await signedInUser('chat-ada-byok');
    upstream.acceptKey('sk-ada-own-openai-key');
    await tollgate.providerKeys.set('chat-ada-byok', 'openai', { key: 'sk-ada-own-openai-key' });
    upstream.setBehavior({ usage: { input_tokens: 20, output_tokens: 500 } });
    expect(await chat.ask('On my key?')).toMatchObject({ ok: true });
    expect(upstream.requests.at(-1)!.credential).toBe('sk-ada-own-openai-key');
    expect(await chat.balance()).toBe(500);

    // The same user under an app that forbids BYOK: the stored key is ignored and credits pay.
    const admin = new Tollgate({ baseUrl: server.url, apiKey: ADMIN_KEY });
    const strict = await admin.apps.create({ name: 'Strict chat app' });
    const strictApp = new Tollgate({ baseUrl: server.url, apiKey: strict.secret_key });
    const member = await strictApp.customers.create({ external_id: 'chat-strict' });
    await strictApp.providerKeys.set(member.id, 'openai', { key: 'sk-ada-own-openai-key' });
    await server.call('PATCH', `/v1/apps/${strict.id}`, { key: ADMIN_KEY, body: { allow_byok: false } });
    const strictChat = createChatApp({ tollgateUrl: server.url, userKey: member.user_key! });
    expect(await strictChat.ask('On whose key?')).toMatchObject({ ok: true });
    expect(upstream.requests.at(-1)!.credential).toBe('sk-platform-openai');
    expect(await strictChat.balance()).toBe(499.495);
  });
});
