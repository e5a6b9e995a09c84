/**
 * The gateway's metering, end to end with the official OpenAI and Anthropic SDKs in front of the fake
 * upstream: concurrent streams cannot overdraw a small balance (holds of the worst case, max_tokens
 * lowered to what is left, 402 for the rest); usage above what the request allowed is billed at its
 * limit, never beyond the hold; a client that leaves mid-stream stops the upstream and pays for what
 * was generated, as does a stream the upstream cut; upstream failures before any output, hangs and
 * empty answers are free; a stream
 * without usage is billed by counting its text; bring-your-own keys move no credits; every error comes
 * back in the endpoint's own shape; tools and images cross between the dialects.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTollgate, type Tollgate } from '../src/app.ts';
import { loadConfig, parseConfig } from '../src/config/load-config.ts';
import type { TollgateConfig } from '../src/config/types.ts';
import { boundRequestTokens, countRequestTokens } from '../src/gateway/formats/index.ts';
import { countTextTokens } from '../src/gateway/formats/tokens.ts';
import { auditLedger } from '../src/ledger/audit.ts';
import { quote } from '../src/pricing/quote.ts';
import { formatMicros, parseCredits } from '../src/shared/money.ts';
import type { Database } from '../src/store/database.ts';
import { type FakeUpstream, type RecordedRequest, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import { metricValue, waitFor } from './support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

const GPT = 'openai/gpt-4o';
const CLAUDE = 'anthropic/claude-sonnet-4-20250514';
/** The test app's referral rate (0.1) in parts per million: part of every quote. */
const REFERRAL_PPM = 100_000n;
const UPSTREAM_TIMEOUT_MS = 800;
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

type Usage = { input_tokens: number; output_tokens: number; cached_input_tokens?: number };

/** Fails instead of hanging when a stream never ends. */
async function within<T>(promise: Promise<T>, what: string, timeoutMs = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function headerOf(headers: unknown, name: string): string | null {
  if (!headers) return null;
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name);
  const value = (headers as Record<string, string | undefined>)[name];
  return value ?? null;
}

async function redisReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 6379) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const redisAvailable = await redisReachable(REDIS_URL);

describe.each(testBackends())('gateway metering on $name', (backend) => {
  let server: TestServer;
  let upstream: FakeUpstream;
  let app: { id: string; secret_key: string };
  const siblings: Tollgate[] = [];
  const env = {
    OPENAI_BASE_URL: '',
    OPENAI_API_KEY: 'sk-platform-openai',
    ANTHROPIC_BASE_URL: '',
    ANTHROPIC_API_KEY: 'sk-platform-anthropic',
    TOLLGATE_UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
  };

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    env.OPENAI_BASE_URL = `${upstream.url}/v1`;
    env.ANTHROPIC_BASE_URL = upstream.url;
    server = await startTestServer(backend, { env, config: loadConfig(undefined, env) });
    app = await server.createApp({ referral_rate: 0.1 });
  });
  afterAll(async () => {
    for (const sibling of siblings) await sibling.close();
    await server?.close();
    await upstream?.close();
  });

  /** Another Tollgate node on the same database (another config, or a shared Redis). */
  async function startSibling(config: TollgateConfig, extraEnv: Record<string, string> = {}) {
    const siblingEnv = {
      ...env,
      TOLLGATE_ADMIN_KEY: ADMIN_KEY,
      TOLLGATE_SECRET: 'test-secret-0123456789abcdef',
      ...extraEnv,
    };
    const tollgate = await createTollgate({
      sweeper: false,
      announce: () => {},
      database: server.database.db,
      clock: server.clock,
      env: siblingEnv,
      config,
    });
    siblings.push(tollgate);
    const address = await tollgate.listen(0);
    return address.replace('[::1]', '127.0.0.1');
  }

  async function customer(tag: string, appKey = app.secret_key) {
    return server.createCustomer(appKey, `${tag}-${randomUUID()}`);
  }

  async function balanceMicros(userKey: string): Promise<bigint> {
    const response = await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': userKey } });
    expect(response.status).toBe(200);
    return parseCredits(response.body.balance);
  }

  /** Sets a customer's balance exactly, with a (negative) adjustment over the signup bonus. */
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
    expect(await balanceMicros(userKey)).toBe(targetMicros);
  }

  function cost(modelId: string, usage: Usage): bigint {
    return quote(server.tollgate.catalog.require(modelId), { usage }, REFERRAL_PPM).totalMicros;
  }

  async function holdsOf(customerId: string) {
    return server.database.db.query<{
      id: string;
      status: string;
      funding: string;
      amount_micros: string;
      captured_micros: string | null;
    }>(
      'select id, status, funding, amount_micros::text as amount_micros, captured_micros::text as captured_micros from holds where customer_id = $1',
      [customerId],
    );
  }

  async function holdView(holdId: string) {
    const response = await server.call('GET', `/v1/holds/${holdId}`, { key: app.secret_key });
    expect(response.status).toBe(200);
    return response.body as { id: string; status: string; funding: string; amount: number };
  }

  /** Waits until the hold is resolved and returns its final status. */
  async function resolvedHold(holdId: string): Promise<string> {
    const hold = await waitFor(async () => {
      const view = await holdView(holdId);
      return view.status === 'held' ? null : view;
    }, `hold ${holdId} to be resolved`);
    return hold.status;
  }

  async function usageRows(userKey: string) {
    const response = await server.call('GET', '/v1/credits/history?limit=100', {
      headers: { 'x-user-key': userKey },
    });
    expect(response.status).toBe(200);
    return (
      response.body.data as {
        type: string;
        amount: number;
        hold_id: string | null;
        metadata: Record<string, unknown>;
      }[]
    ).filter((row) => row.type === 'usage');
  }

  async function lossMicros(): Promise<bigint> {
    const report = await auditLedger(server.database.db, server.clock, 3600);
    expect(report.problems).toEqual([]);
    return report.systemAccounts['sys:loss'] ?? 0n;
  }

  function openai(userKey: string) {
    return new OpenAI({ baseURL: `${server.url}/v1`, apiKey: userKey, maxRetries: 0, timeout: 10_000 });
  }

  function anthropic(userKey: string) {
    return new Anthropic({ baseURL: server.url, apiKey: userKey, maxRetries: 0, timeout: 10_000 });
  }

  /** The upstream requests made since `from` whose first message contains `marker`. */
  function upstreamRequestsWith(marker: string, from = 0): RecordedRequest[] {
    return upstream.requests
      .slice(from)
      .filter((request) => JSON.stringify(request.body?.messages ?? '').includes(marker));
  }

  // ───────────────────────────── overdraw ─────────────────────────────

  it('30 concurrent streams on a balance for ~3 answers: never overdrawn, every streamed answer billed, the rest 402 or lowered', async () => {
    const user = await customer('overdraw');
    const model = server.tollgate.catalog.require(GPT);
    const prompts = Array.from(
      { length: 30 },
      (_, index) => `Overdraw probe number ${index + 10}, please answer.`,
    );
    // Holds cover the input's upper bound (its UTF-8 bytes plus framing), not the o200k estimate.
    const inputBounds = prompts.map((content) =>
      boundRequestTokens('openai', { model: GPT, messages: [{ role: 'user', content }] } as never),
    );
    expect(new Set(inputBounds).size).toBe(1);
    const inputTokens = inputBounds[0]!;
    const fullCost = cost(GPT, { input_tokens: inputTokens, output_tokens: 100 });
    const loweredTo = 40;
    const loweredCost = cost(GPT, { input_tokens: inputTokens, output_tokens: loweredTo });
    // Three full answers, one lowered to 40 tokens, and one micro-credit that buys nothing.
    const startMicros = 3n * fullCost + loweredCost + 1n;
    await setBalance(user.id, user.user_key, startMicros);
    expect(model.price.outputPerMillionMicros).not.toBeNull();

    // 100 words (= 100 output tokens in the fake) each, streamed slowly enough that all 30 overlap;
    // the fake reports the most input the request allows, so a full capture equals its hold.
    upstream.setBehavior({
      behavior: 'slow_stream',
      chunkDelayMilliseconds: 3,
      outputWordCount: 100,
      usage: { input_tokens: inputTokens },
    });
    const firstRequest = upstream.requests.length;
    const client = openai(user.user_key);
    try {
      const outcomes = await within(
        Promise.all(
          prompts.map(async (content) => {
            try {
              const { data: stream, response } = await client.chat.completions
                .create({
                  model: GPT,
                  messages: [{ role: 'user', content }],
                  max_tokens: 100,
                  stream: true,
                  stream_options: { include_usage: true },
                })
                .withResponse();
              let text = '';
              let chunks = 0;
              let usage: OpenAI.CompletionUsage | undefined;
              for await (const chunk of stream) {
                const piece = chunk.choices[0]?.delta?.content ?? '';
                if (piece) chunks += 1;
                text += piece;
                if (chunk.usage) usage = chunk.usage;
              }
              return {
                kind: 'answered' as const,
                content,
                text,
                chunks,
                usage,
                holdId: response.headers.get('x-tollgate-hold'),
                lowered: response.headers.get('x-tollgate-max-tokens-lowered'),
              };
            } catch (error) {
              if (error instanceof OpenAI.APIError && error.status === 402) {
                return { kind: 'refused' as const, content, error };
              }
              throw error;
            }
          }),
        ),
        '30 concurrent streams',
        30_000,
      );

      const answered = outcomes.filter((outcome) => outcome.kind === 'answered');
      const refused = outcomes.filter((outcome) => outcome.kind === 'refused');
      expect(answered).toHaveLength(4);
      expect(refused).toHaveLength(26);
      for (const outcome of refused) {
        expect(outcome.error.error).toEqual({
          message: expect.any(String),
          type: 'insufficient_credits',
          param: null,
          code: '402',
        });
      }

      // Three full answers and exactly one lowered to what the balance still afforded.
      const lowered = answered.filter((outcome) => outcome.lowered !== null);
      expect(lowered).toHaveLength(1);
      expect(lowered[0]!.lowered).toBe(`100->${loweredTo}`);
      for (const outcome of answered) {
        const expectedTokens = outcome.lowered ? loweredTo : 100;
        expect(outcome.chunks).toBe(expectedTokens);
        expect(outcome.usage?.completion_tokens).toBe(expectedTokens);
        const seen = upstreamRequestsWith(outcome.content, firstRequest);
        expect(seen).toHaveLength(1);
        // The upstream received the lowered max_tokens, not the client's.
        expect(seen[0]!.body.max_tokens).toBe(expectedTokens);
        expect(seen[0]!.credential).toBe('sk-platform-openai');
      }
      // Refused requests never reached the provider.
      for (const outcome of refused)
        expect(upstreamRequestsWith(outcome.content, firstRequest)).toHaveLength(0);

      // Every answer that streamed was captured, and only those: 4 captured holds, 4 usage rows.
      const holds = await waitFor(async () => {
        const rows = await holdsOf(user.id);
        return rows.every((row) => row.status !== 'held') ? rows : null;
      }, 'all holds resolved');
      expect(holds).toHaveLength(4);
      expect(holds.map((row) => row.status)).toEqual(['captured', 'captured', 'captured', 'captured']);
      expect(new Set(holds.map((row) => row.id))).toEqual(new Set(answered.map((outcome) => outcome.holdId)));
      const rows = await usageRows(user.user_key);
      expect(rows).toHaveLength(4);
      expect(new Set(rows.map((row) => row.hold_id))).toEqual(
        new Set(answered.map((outcome) => outcome.holdId)),
      );
      const charged = rows.reduce((sum, row) => sum + parseCredits(-row.amount), 0n);
      expect(charged).toBe(3n * fullCost + loweredCost);

      const finalMicros = await balanceMicros(user.user_key);
      expect(finalMicros).toBe(1n);
      expect(finalMicros).toBeGreaterThanOrEqual(0n);
      expect(startMicros - finalMicros).toBe(charged);
      const view = await server.call('GET', `/v1/customers/${user.id}`, { key: app.secret_key });
      expect(view.body).toMatchObject({ balance: 0.000001, pending: 0, available: 0.000001 });
      await lossMicros(); // audit clean
    } finally {
      upstream.setBehavior({});
    }
  });

  it('refuses with 402 in each shape when even the smallest answer is unaffordable', async () => {
    const user = await customer('broke');
    await setBalance(user.id, user.user_key, 0n);
    const openaiAnswer = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.user_key}` },
      body: JSON.stringify({ model: GPT, messages: [{ role: 'user', content: 'hi' }], stream: true }),
    });
    expect(openaiAnswer.status).toBe(402);
    expect(await openaiAnswer.json()).toEqual({
      error: { message: expect.any(String), type: 'insufficient_credits', param: null, code: '402' },
    });
    await expect(
      anthropic(user.user_key).messages.create({
        model: CLAUDE,
        max_tokens: 50,
        messages: [{ role: 'user', content: 'hi' }],
        stream: true,
      }),
    ).rejects.toMatchObject({
      status: 402,
      error: { type: 'error', error: { type: 'billing_error', code: 'insufficient_credits' } },
    });
    expect(await holdsOf(user.id)).toEqual([]);
  });

  it('calls the provider while the hold is being written; a hold the database then refuses aborts that call: 402, nothing delivered, nothing charged', async () => {
    // A node whose hold writes wait until the provider has the call (`gateOn`): a call can only get
    // through if the provider call starts before the hold is durable.
    let gateOn: string | null = null;
    const database = server.database.db;
    const gated: Database = Object.create(database, {
      query: {
        value: async (sql: string, parameters?: unknown[], options?: { prepare?: string }) => {
          const marker = gateOn;
          if (marker && sql.includes('tg_ledger_write') && String(parameters?.[0]).includes('"hi"')) {
            await waitFor(() => upstreamRequestsWith(marker).length > 0, 'the provider to have the call');
          }
          return database.query(sql, parameters, options);
        },
      },
    });
    const node = await createTollgate({
      sweeper: false,
      announce: () => {},
      database: gated,
      clock: server.clock,
      env: { ...env, TOLLGATE_ADMIN_KEY: ADMIN_KEY, TOLLGATE_SECRET: 'test-secret-0123456789abcdef' },
      config: loadConfig(undefined, env),
    });
    siblings.push(node);
    const nodeUrl = (await node.listen(0)).replace('[::1]', '127.0.0.1');
    const client = (key: string) =>
      new OpenAI({ baseURL: `${nodeUrl}/v1`, apiKey: key, maxRetries: 0, timeout: 10_000 });
    const user = await customer('early-hold');
    await setBalance(user.id, user.user_key, 2_000_000n);

    // Answered and charged exactly, the hold's write having waited for the provider call.
    gateOn = `early-${randomUUID()}`;
    const answered = await client(user.user_key).chat.completions.create({
      model: GPT,
      max_tokens: 20,
      messages: [{ role: 'user', content: gateOn }],
    });
    expect(answered.choices[0]!.message.content).toBe('Hello from the fake upstream.');
    const charged = cost(GPT, { input_tokens: 10, output_tokens: 5 });
    expect(await balanceMicros(user.user_key)).toBe(2_000_000n - charged);

    // The other server (its own ledger) takes the whole balance: this node's cached account is stale.
    await setBalance(user.id, user.user_key, 0n);
    gateOn = `stale-${randomUUID()}`;
    upstream.queueBehavior({ behavior: 'hang' });
    const metrics = async () =>
      (await fetch(`${nodeUrl}/metrics`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } })).text();
    const metricsBefore = await metrics();
    // Decided from the cache, the hold lets the provider call start; the database refuses the hold
    // (the balance is gone), and the provider call is aborted long before the upstream timeout.
    await expect(
      client(user.user_key).chat.completions.create({
        model: GPT,
        max_tokens: 20,
        messages: [{ role: 'user', content: gateOn }],
      }),
    ).rejects.toMatchObject({ status: 402, error: { type: 'insufficient_credits' } });
    const [sent] = upstreamRequestsWith(gateOn);
    await waitFor(() => sent!.clientDisconnected || null, 'the provider call to be aborted');
    const metricsAfter = await metrics();
    const refusedAfterStart = (text: string) =>
      metricValue(text, 'tollgate_gateway_requests_total', { outcome: 'hold_refused' });
    expect(refusedAfterStart(metricsAfter)).toBe(refusedAfterStart(metricsBefore) + 1);
    // Only the first call's hold exists, captured; nothing more was charged.
    expect((await holdsOf(user.id)).map((hold) => hold.status)).toEqual(['captured']);
    expect(await balanceMicros(user.user_key)).toBe(0n);
    await lossMicros(); // audit clean

    // The refusal refreshed the node's cache: the next call is refused before any provider call.
    gateOn = null;
    const requestsBefore = upstream.requests.length;
    await expect(
      client(user.user_key).chat.completions.create({
        model: GPT,
        max_tokens: 20,
        messages: [{ role: 'user', content: 'after the refusal' }],
      }),
    ).rejects.toMatchObject({ status: 402 });
    expect(upstream.requests.length).toBe(requestsBefore);
  });

  it('usage above what the request allowed is billed at its limit: never beyond the hold, nothing to sys:loss, counted as an anomaly', async () => {
    // 10 credits; the provider reports 5,000 output tokens on a request sent with max_tokens 100.
    const rich = await customer('overrun-capped');
    await setBalance(rich.id, rich.user_key, 10_000_000n);
    const lossBefore = await lossMicros();
    const metricsBefore = (await server.call('GET', '/metrics', { key: ADMIN_KEY })).body as string;
    upstream.queueBehavior({ usage: { input_tokens: 10, output_tokens: 5_000 } });
    const stream = await openai(rich.user_key).chat.completions.create({
      model: GPT,
      messages: [{ role: 'user', content: 'Overrun, capped.' }],
      max_tokens: 100,
      stream: true,
      stream_options: { include_usage: true },
    });
    let reported: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) if (chunk.usage) reported = chunk.usage;
    // The client is shown the usage that was billed.
    expect(reported?.completion_tokens).toBe(100);
    const cappedCost = cost(GPT, { input_tokens: 10, output_tokens: 100 });
    await waitFor(async () => (await holdsOf(rich.id))[0]!.status === 'captured', 'capture');
    const held = (await holdsOf(rich.id))[0]!;
    expect(BigInt(held.captured_micros!)).toBe(cappedCost);
    expect(BigInt(held.captured_micros!)).toBeLessThanOrEqual(BigInt(held.amount_micros));
    expect(await balanceMicros(rich.user_key)).toBe(10_000_000n - cappedCost);
    const [row] = await usageRows(rich.user_key);
    expect(row!.metadata).toMatchObject({ output_tokens: 100, usage_anomalies: ['output_above_limit'] });
    const metricsAfter = (await server.call('GET', '/metrics', { key: ADMIN_KEY })).body as string;
    const anomalies = (text: string) =>
      metricValue(text, 'tollgate_gateway_usage_anomalies_total', { kind: 'output_above_limit' });
    expect(anomalies(metricsAfter)).toBe(anomalies(metricsBefore) + 1);
    expect(await lossMicros()).toBe(lossBefore);

    // 1 credit, five concurrent streams through the Anthropic SDK, each reporting 5,000 output tokens:
    // those whose hold fitted are answered and each pays exactly its capped cost; the others get 402.
    // The balance never goes below zero and nothing is written off.
    const poor = await customer('overrun-short');
    await setBalance(poor.id, poor.user_key, 1_000_000n);
    upstream.setBehavior({
      behavior: 'slow_stream',
      chunkDelayMilliseconds: 30,
      usage: { input_tokens: 10, output_tokens: 5_000 },
    });
    let answered: Anthropic.Message[];
    let refused: unknown[];
    try {
      const client = anthropic(poor.user_key);
      const outcomes = await within(
        Promise.all(
          Array.from({ length: 5 }, (_, index) =>
            client.messages
              .stream({
                model: CLAUDE,
                max_tokens: 100,
                messages: [{ role: 'user', content: `Overrun ${index}` }],
              })
              .finalMessage()
              .catch((error: unknown) => error),
          ),
        ),
        'five overrun streams',
      );
      answered = outcomes.filter((outcome): outcome is Anthropic.Message => !(outcome instanceof Error));
      refused = outcomes.filter((outcome) => outcome instanceof Error);
    } finally {
      upstream.setBehavior({});
    }
    expect(answered.length).toBeGreaterThanOrEqual(1);
    for (const error of refused) {
      expect(error).toMatchObject({
        status: 402,
        error: { type: 'error', error: { type: 'billing_error', code: 'insufficient_credits' } },
      });
    }
    const holds = await waitFor(async () => {
      const rows = await holdsOf(poor.id);
      return rows.every((row) => row.status !== 'held') ? rows : null;
    }, 'captures');
    expect(holds.map((row) => row.status)).toEqual(answered.map(() => 'captured'));
    for (const hold of holds)
      expect(BigInt(hold.captured_micros!)).toBeLessThanOrEqual(BigInt(hold.amount_micros));
    const rows = await usageRows(poor.user_key);
    expect(rows).toHaveLength(answered.length);
    const charged = rows.reduce((sum, row) => sum + parseCredits(-row.amount), 0n);
    const finalMicros = await balanceMicros(poor.user_key);
    expect(finalMicros).toBeGreaterThanOrEqual(0n);
    expect(1_000_000n - finalMicros).toBe(charged);
    for (const row of rows) expect(row.metadata.output_tokens).toBeLessThanOrEqual(100);
    expect(await lossMicros()).toBe(lossBefore);
  });

  // ───────────────────────────── disconnect ─────────────────────────────

  it('client disconnect mid-stream (OpenAI SDK): upstream aborted, hold resolved, billed for what was generated', async () => {
    const user = await customer('disconnect-oa');
    const before = await balanceMicros(user.user_key);
    upstream.setBehavior({ behavior: 'slow_stream', outputWordCount: 400, chunkDelayMilliseconds: 20 });
    const controller = new AbortController();
    const messages = [{ role: 'user' as const, content: 'Disconnect me, OpenAI.' }];
    try {
      const { data: stream, response } = await openai(user.user_key)
        .chat.completions.create(
          { model: GPT, messages, max_tokens: 1000, stream: true },
          { signal: controller.signal },
        )
        .withResponse();
      const holdId = response.headers.get('x-tollgate-hold')!;
      expect(holdId).toBeTruthy();
      const recorded = upstream.requests.at(-1)!;
      let received = 0;
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) received += 1;
        if (received >= 3) {
          controller.abort();
          break;
        }
      }
      expect(received).toBe(3);
      await waitFor(() => recorded.clientDisconnected, 'the upstream request to be aborted');
      expect(recorded.completed).toBe(false);
      expect(await resolvedHold(holdId)).toBe('captured');
      expect((await holdsOf(user.id)).filter((row) => row.status === 'held')).toEqual([]);
      const charged = before - (await balanceMicros(user.user_key));
      const inputTokens = countRequestTokens('openai', { model: GPT, messages } as never);
      expect(charged).toBeGreaterThan(0n);
      expect(charged).toBeLessThan(cost(GPT, { input_tokens: inputTokens, output_tokens: 400 }));
      const [row] = await usageRows(user.user_key);
      expect(row).toMatchObject({ hold_id: holdId, metadata: { usage_reported: false } });
    } finally {
      upstream.setBehavior({});
    }
  });

  it('client disconnect mid-stream (Anthropic SDK): upstream aborted, hold resolved, billed for what was generated', async () => {
    const user = await customer('disconnect-an');
    const before = await balanceMicros(user.user_key);
    upstream.setBehavior({ behavior: 'slow_stream', outputWordCount: 400, chunkDelayMilliseconds: 20 });
    const controller = new AbortController();
    try {
      const { data: stream, response } = await anthropic(user.user_key)
        .messages.create(
          {
            model: CLAUDE,
            max_tokens: 1000,
            messages: [{ role: 'user', content: 'Disconnect me, Anthropic.' }],
            stream: true,
          },
          { signal: controller.signal },
        )
        .withResponse();
      const holdId = response.headers.get('x-tollgate-hold')!;
      const recorded = upstream.requests.at(-1)!;
      let received = 0;
      for await (const event of stream) {
        if (event.type === 'content_block_delta') received += 1;
        if (received >= 3) {
          controller.abort();
          break;
        }
      }
      expect(received).toBe(3);
      await waitFor(() => recorded.clientDisconnected, 'the upstream request to be aborted');
      expect(await resolvedHold(holdId)).toBe('captured');
      expect((await holdsOf(user.id)).filter((row) => row.status === 'held')).toEqual([]);
      const charged = before - (await balanceMicros(user.user_key));
      expect(charged).toBeGreaterThan(0n);
      // The fake reported 10 input tokens at message_start; 400 words would have been the full answer.
      expect(charged).toBeLessThan(cost(CLAUDE, { input_tokens: 10, output_tokens: 400 }));
    } finally {
      upstream.setBehavior({});
    }
  });

  // ───────────────────────────── upstream failures ─────────────────────────────

  it('upstream 500 before the stream: 502 upstream_error in each shape, hold voided, nothing charged', async () => {
    const user = await customer('up500');
    const before = await balanceMicros(user.user_key);
    upstream.queueBehavior({ behavior: 'error500' });
    const openaiError = await openai(user.user_key)
      .chat.completions.create({ model: GPT, messages: [{ role: 'user', content: 'x' }], stream: true })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(openaiError).toBeInstanceOf(OpenAI.APIError);
    expect(openaiError).toMatchObject({
      status: 502,
      error: { type: 'upstream_error', code: '502', param: null },
    });
    const openaiHold = headerOf(
      (openaiError as InstanceType<typeof OpenAI.APIError>).headers,
      'x-tollgate-hold',
    );
    expect(openaiHold).toBeTruthy();
    expect((await holdView(openaiHold!)).status).toBe('voided');

    upstream.queueBehavior({ behavior: 'error500' });
    const anthropicError = await anthropic(user.user_key)
      .messages.create({
        model: CLAUDE,
        max_tokens: 50,
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      })
      .then(
        () => null,
        (error: unknown) => error,
      );
    expect(anthropicError).toBeInstanceOf(Anthropic.APIError);
    expect(anthropicError).toMatchObject({
      status: 502,
      error: {
        type: 'error',
        error: { type: 'api_error', code: 'upstream_error', message: expect.any(String) },
      },
    });
    const anthropicHold = headerOf(
      (anthropicError as InstanceType<typeof Anthropic.APIError>).headers,
      'x-tollgate-hold',
    );
    expect((await holdView(anthropicHold!)).status).toBe('voided');
    expect(await balanceMicros(user.user_key)).toBe(before);
  });

  it('stream_then_error midway: the stream ends with an error event (both SDKs throw, never hang), and what was delivered is billed', async () => {
    const user = await customer('midway');
    const before = await balanceMicros(user.user_key);

    upstream.queueBehavior({ behavior: 'stream_then_error', outputWordCount: 50, chunksBeforeError: 3 });
    const { data: stream, response } = await openai(user.user_key)
      .chat.completions.create({ model: GPT, messages: [{ role: 'user', content: 'x' }], stream: true })
      .withResponse();
    const openaiHold = response.headers.get('x-tollgate-hold')!;
    let openaiText = '';
    const openaiFailure = await within(
      (async () => {
        for await (const chunk of stream) openaiText += chunk.choices[0]?.delta?.content ?? '';
        return null;
      })().catch((error: unknown) => error),
      'OpenAI stream after an upstream cut',
    );
    expect(openaiText).toBe('word1 word2 word3 ');
    expect(openaiFailure).toBeInstanceOf(OpenAI.APIError);
    expect((openaiFailure as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({
      type: 'upstream_error',
    });
    // Three words reached the client before the cut: they are billed (counted, as no usage came),
    // with the request's estimated input.
    expect(await resolvedHold(openaiHold)).toBe('captured');
    const openaiCost = cost(GPT, {
      input_tokens: countRequestTokens('openai', {
        model: GPT,
        messages: [{ role: 'user', content: 'x' }],
      } as never),
      output_tokens: countTextTokens(openaiText),
    });
    expect(before - (await balanceMicros(user.user_key))).toBe(openaiCost);

    upstream.queueBehavior({ behavior: 'stream_then_error', outputWordCount: 50, chunksBeforeError: 3 });
    const messageStream = anthropic(user.user_key).messages.stream({
      model: CLAUDE,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'x' }],
    });
    let anthropicText = '';
    messageStream.on('text', (text) => {
      anthropicText += text;
    });
    const anthropicFailure = await within(
      messageStream.finalMessage().then(
        () => null,
        (error: unknown) => error,
      ),
      'Anthropic stream after an upstream cut',
    );
    expect(anthropicText).toBe('word1 word2 word3 ');
    expect(anthropicFailure).toBeInstanceOf(Anthropic.APIError);
    expect((anthropicFailure as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: 'error',
      error: { type: 'api_error', code: 'upstream_error' },
    });
    const holds = await waitFor(async () => {
      const rows = await holdsOf(user.id);
      return rows.length === 2 && rows.every((row) => row.status !== 'held') ? rows : null;
    }, 'both holds resolved');
    expect(holds.map((row) => row.status)).toEqual(['captured', 'captured']);
    // The Anthropic upstream reported its input (10) in message_start; the output is the counted text.
    const anthropicCost = cost(CLAUDE, { input_tokens: 10, output_tokens: countTextTokens(anthropicText) });
    expect(before - (await balanceMicros(user.user_key))).toBe(openaiCost + anthropicCost);
    const rows = await usageRows(user.user_key);
    expect(rows.map((row) => row.metadata.usage_reported)).toEqual([false, false]);
  });

  it(`upstream hang with TOLLGATE_UPSTREAM_TIMEOUT_MS=${UPSTREAM_TIMEOUT_MS}: 502 upstream_error, hold voided, free`, async () => {
    const user = await customer('hang');
    const before = await balanceMicros(user.user_key);
    upstream.setBehavior({ behavior: 'hang' });
    const firstRequest = upstream.requests.length;
    try {
      const [openaiPlain, openaiStream, anthropicPlain, anthropicStream] = await within(
        Promise.all(
          [
            {
              path: '/v1/chat/completions',
              body: { model: GPT, messages: [{ role: 'user', content: 'x' }] },
            },
            {
              path: '/v1/chat/completions',
              body: { model: GPT, messages: [{ role: 'user', content: 'x' }], stream: true },
            },
            {
              path: '/v1/messages',
              body: { model: CLAUDE, max_tokens: 20, messages: [{ role: 'user', content: 'x' }] },
            },
            {
              path: '/v1/messages',
              body: {
                model: CLAUDE,
                max_tokens: 20,
                messages: [{ role: 'user', content: 'x' }],
                stream: true,
              },
            },
          ].map(async ({ path, body }) => {
            const response = await fetch(`${server.url}${path}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-user-key': user.user_key },
              body: JSON.stringify(body),
            });
            return {
              status: response.status,
              body: await response.json(),
              hold: response.headers.get('x-tollgate-hold'),
            };
          }),
        ),
        'requests to a hanging upstream',
        UPSTREAM_TIMEOUT_MS * 6,
      );
      // The gateway gave up on all four upstream requests and closed them.
      const hung = upstream.requests.slice(firstRequest);
      expect(hung.map((request) => request.behavior)).toEqual(['hang', 'hang', 'hang', 'hang']);
      await waitFor(
        () => hung.every((request) => request.clientDisconnected),
        'the hung upstream requests to be closed',
      );
      for (const answer of [openaiPlain!, openaiStream!]) {
        expect(answer.status).toBe(502);
        expect(answer.body).toEqual({
          error: { message: expect.any(String), type: 'upstream_error', param: null, code: '502' },
        });
      }
      for (const answer of [anthropicPlain!, anthropicStream!]) {
        expect(answer.status).toBe(502);
        expect(answer.body).toEqual({
          type: 'error',
          error: { type: 'api_error', code: 'upstream_error', message: expect.any(String) },
        });
      }
      for (const answer of [openaiPlain!, openaiStream!, anthropicPlain!, anthropicStream!]) {
        expect((await holdView(answer.hold!)).status).toBe('voided');
      }
    } finally {
      upstream.setBehavior({});
    }
    expect(await balanceMicros(user.user_key)).toBe(before);
  });

  it('an empty answer is free (streaming and not, both endpoints)', async () => {
    const user = await customer('empty');
    const before = await balanceMicros(user.user_key);
    upstream.setBehavior({ behavior: 'empty' });
    try {
      const oa = openai(user.user_key);
      const plain = await oa.chat.completions.create({
        model: GPT,
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(plain.choices[0]!.message.content ?? '').toBe('');
      let text = '';
      for await (const chunk of await oa.chat.completions.create({
        model: CLAUDE,
        messages: [{ role: 'user', content: 'x' }],
        stream: true,
      }))
        text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBe('');
      const an = anthropic(user.user_key);
      const message = await an.messages.create({
        model: CLAUDE,
        max_tokens: 20,
        messages: [{ role: 'user', content: 'x' }],
      });
      expect(message.content.filter((block) => block.type === 'text' && block.text.length > 0)).toEqual([]);
      const streamed = await an.messages
        .stream({ model: GPT, max_tokens: 20, messages: [{ role: 'user', content: 'x' }] })
        .finalMessage();
      expect(streamed.content.filter((block) => block.type === 'text' && block.text.length > 0)).toEqual([]);
    } finally {
      upstream.setBehavior({});
    }
    const holds = await waitFor(async () => {
      const rows = await holdsOf(user.id);
      return rows.length === 4 && rows.every((row) => row.status !== 'held') ? rows : null;
    }, 'four resolved holds');
    expect(holds.map((row) => row.status)).toEqual(['voided', 'voided', 'voided', 'voided']);
    expect(await balanceMicros(user.user_key)).toBe(before);
    expect(await usageRows(user.user_key)).toEqual([]);
  });

  it('stream_no_usage: billed by counting the streamed text (the quote of the counted tokens), in all four directions', async () => {
    const user = await customer('no-usage');
    upstream.setBehavior({ behavior: 'stream_no_usage', outputWordCount: 37 });
    try {
      for (const model of [GPT, CLAUDE]) {
        // OpenAI SDK: passthrough to OpenAI (no usage chunk), or translated from Anthropic (no usage fields).
        let before = await balanceMicros(user.user_key);
        const messages = [{ role: 'user' as const, content: `Count my tokens, ${model}.` }];
        let text = '';
        let seen: OpenAI.CompletionUsage | undefined;
        for await (const chunk of await openai(user.user_key).chat.completions.create({
          model,
          messages,
          stream: true,
          stream_options: { include_usage: true },
        })) {
          text += chunk.choices[0]?.delta?.content ?? '';
          if (chunk.usage) seen = chunk.usage;
        }
        expect(text.split(' ').filter(Boolean)).toHaveLength(37);
        await waitFor(
          async () => (await holdsOf(user.id)).every((row) => row.status === 'captured'),
          'capture',
        );
        const openaiUsage = {
          input_tokens: countRequestTokens('openai', { model, messages } as never),
          output_tokens: countTextTokens(text),
        };
        const openaiCost = cost(model, openaiUsage);
        expect(openaiCost).toBeGreaterThan(0n);
        expect(before - (await balanceMicros(user.user_key)), `OpenAI SDK → ${model}`).toBe(openaiCost);
        // The usage the client is shown is the usage that was billed.
        expect(seen).toMatchObject({
          prompt_tokens: openaiUsage.input_tokens,
          completion_tokens: openaiUsage.output_tokens,
        });

        // Anthropic SDK: passthrough to Anthropic (no usage in message_start or message_delta), or
        // translated from OpenAI.
        before = await balanceMicros(user.user_key);
        const body = {
          model,
          max_tokens: 200,
          messages: [{ role: 'user' as const, content: `Count these, ${model}.` }],
        };
        const stream = anthropic(user.user_key).messages.stream(body);
        // message_start shows the request's counted input before the provider reports any.
        let startInputTokens: number | undefined;
        stream.on('streamEvent', (event) => {
          if (event.type === 'message_start') startInputTokens = event.message.usage.input_tokens;
        });
        const message = await within(stream.finalMessage(), 'Anthropic stream');
        const answer = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
        expect(answer.split(' ').filter(Boolean)).toHaveLength(37);
        await waitFor(
          async () => (await holdsOf(user.id)).every((row) => row.status === 'captured'),
          'capture',
        );
        const anthropicUsage = {
          input_tokens: countRequestTokens('anthropic', body as never),
          output_tokens: countTextTokens(answer),
        };
        expect(before - (await balanceMicros(user.user_key)), `Anthropic SDK → ${model}`).toBe(
          cost(model, anthropicUsage),
        );
        expect(message.usage.output_tokens).toBe(anthropicUsage.output_tokens);
        expect(startInputTokens, `message_start → ${model}`).toBe(anthropicUsage.input_tokens);
      }
      const rows = await usageRows(user.user_key);
      expect(rows.map((row) => row.metadata.usage_reported)).toEqual([false, false, false, false]);
    } finally {
      upstream.setBehavior({});
    }
  });

  // ───────────────────────────── BYOK ─────────────────────────────

  it('BYOK: the customer’s own openai key reaches the provider and no credits move; other providers still use credits', async () => {
    const user = await customer('byok');
    // Keys are checked with the provider before they are stored: the fake accepts this one.
    upstream.acceptKey('sk-customer-own-key-1234');
    const stored = await server.call('PUT', `/v1/customers/${user.id}/provider-keys/openai`, {
      key: app.secret_key,
      body: { key: 'sk-customer-own-key-1234' },
    });
    expect(stored.status).toBe(200);
    const before = await balanceMicros(user.user_key);

    upstream.queueBehavior({ usage: { input_tokens: 100, output_tokens: 50 } });
    const { data: answer, response } = await openai(user.user_key)
      .chat.completions.create({ model: GPT, messages: [{ role: 'user', content: 'My own key.' }] })
      .withResponse();
    expect(answer.choices[0]!.message.content).toContain('Hello');
    expect(upstream.requests.at(-1)!.credential).toBe('sk-customer-own-key-1234');
    expect(await holdView(response.headers.get('x-tollgate-hold')!)).toMatchObject({
      funding: 'byok',
      status: 'captured',
    });
    let streamed = '';
    for await (const event of anthropic(user.user_key).messages.stream({
      model: GPT,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'My own key, streamed.' }],
    }))
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta')
        streamed += event.delta.text;
    expect(streamed).toContain('Hello');
    expect(upstream.requests.at(-1)!.credential).toBe('sk-customer-own-key-1234');
    expect(await balanceMicros(user.user_key)).toBe(before);
    expect(await usageRows(user.user_key)).toEqual([]);

    upstream.queueBehavior({ usage: { input_tokens: 20, output_tokens: 50 } });
    await anthropic(user.user_key).messages.create({
      model: CLAUDE,
      max_tokens: 64,
      messages: [{ role: 'user', content: 'Platform key.' }],
    });
    expect(upstream.requests.at(-1)!.credential).toBe('sk-platform-anthropic');
    expect(before - (await balanceMicros(user.user_key))).toBe(
      cost(CLAUDE, { input_tokens: 20, output_tokens: 50 }),
    );
  });

  // ───────────────────────────── errors ─────────────────────────────

  it('answers every gateway error in the endpoint’s own shape', async () => {
    const user = await customer('errors');
    const broke = await customer('errors-broke');
    await setBalance(broke.id, broke.user_key, 0n);
    const restrictedApp = await server.createApp({
      name: 'restricted',
      allowed_models: ['openai/gpt-4o-mini'],
    });
    const restricted = await customer('errors-restricted', restrictedApp.secret_key);

    type Case = {
      name: string;
      status: number;
      code: string;
      key?: string;
      body: Record<string, unknown>;
      upstream?: 'error500';
    };
    const cases = (endpoint: 'openai' | 'anthropic'): Case[] => {
      const messages = [{ role: 'user', content: 'x' }];
      const ok =
        endpoint === 'openai' ? { model: GPT, messages } : { model: CLAUDE, max_tokens: 20, messages };
      return [
        { name: 'missing key', status: 401, code: 'missing_api_key', body: ok },
        {
          name: 'invalid user key',
          status: 401,
          code: 'invalid_user_key',
          key: 'tg_uk_not_a_real_key_0000000000',
          body: ok,
        },
        {
          name: 'model not allowed',
          status: 403,
          code: 'model_not_allowed',
          key: restricted.user_key,
          body: { ...ok, model: GPT },
        },
        {
          name: 'unknown model',
          status: 404,
          code: 'model_not_found',
          key: user.user_key,
          body: { ...ok, model: 'nope/unknown-model' },
        },
        {
          name: 'no messages',
          status: 400,
          code: 'invalid_request',
          key: user.user_key,
          body: { ...ok, messages: [] },
        },
        {
          name: 'messages missing',
          status: 400,
          code: 'invalid_request',
          key: user.user_key,
          body: { model: ok.model },
        },
        {
          name: 'negative max_tokens',
          status: 400,
          code: 'invalid_request',
          key: user.user_key,
          body: { ...ok, max_tokens: -5 },
        },
        {
          name: 'fractional max_tokens',
          status: 400,
          code: 'invalid_request',
          key: user.user_key,
          body: { ...ok, max_tokens: 1.5 },
        },
        {
          name: 'string max_tokens',
          status: 400,
          code: 'invalid_request',
          key: user.user_key,
          body: { ...ok, max_tokens: 'lots' },
        },
        { name: 'no credits', status: 402, code: 'insufficient_credits', key: broke.user_key, body: ok },
        {
          name: 'upstream 500',
          status: 502,
          code: 'upstream_error',
          key: user.user_key,
          body: ok,
          upstream: 'error500',
        },
      ];
    };
    // Anthropic's own error types, which its SDK and Claude Code branch on.
    const ANTHROPIC_TYPES: Record<string, string> = {
      missing_api_key: 'authentication_error',
      invalid_user_key: 'authentication_error',
      model_not_allowed: 'permission_error',
      model_not_found: 'not_found_error',
      invalid_request: 'invalid_request_error',
      insufficient_credits: 'billing_error',
      upstream_error: 'api_error',
    };
    for (const endpoint of ['openai', 'anthropic'] as const) {
      for (const testCase of cases(endpoint)) {
        for (const stream of [false, true]) {
          if (testCase.upstream) upstream.queueBehavior({ behavior: testCase.upstream });
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (testCase.key) {
            if (endpoint === 'openai') headers.authorization = `Bearer ${testCase.key}`;
            else headers['x-api-key'] = testCase.key;
          }
          const response = await fetch(
            `${server.url}${endpoint === 'openai' ? '/v1/chat/completions' : '/v1/messages'}`,
            {
              method: 'POST',
              headers,
              body: JSON.stringify({ ...testCase.body, stream }),
            },
          );
          const label = `${endpoint} ${testCase.name}${stream ? ' (stream)' : ''}`;
          expect(response.status, label).toBe(testCase.status);
          expect(response.headers.get('content-type'), label).toMatch(/^application\/json/);
          const body = await response.json();
          if (endpoint === 'openai') {
            expect(body, label).toEqual({
              error: {
                message: expect.any(String),
                type: testCase.code,
                param: body.error?.param,
                code: String(testCase.status),
              },
            });
            expect(body.error.param === null || typeof body.error.param === 'string', label).toBe(true);
          } else {
            expect(body, label).toEqual({
              type: 'error',
              error: {
                type: ANTHROPIC_TYPES[testCase.code],
                code: testCase.code,
                message: expect.any(String),
              },
            });
          }
        }
      }
    }

    // The SDKs raise their own typed errors from these bodies.
    await expect(
      openai(restricted.user_key).chat.completions.create({
        model: GPT,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.PermissionDeniedError);
    await expect(
      openai(user.user_key).chat.completions.create({ model: GPT, messages: [], stream: true }),
    ).rejects.toMatchObject({ status: 400, error: { type: 'invalid_request', code: '400' } });
    await expect(
      new OpenAI({
        baseURL: `${server.url}/v1`,
        apiKey: 'tg_uk_not_a_real_key_0000000000',
        maxRetries: 0,
      }).chat.completions.create({
        model: GPT,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    await expect(
      anthropic(broke.user_key).messages.create({
        model: CLAUDE,
        max_tokens: 20,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toMatchObject({
      status: 402,
      error: { type: 'error', error: { type: 'billing_error', code: 'insufficient_credits' } },
    });
    await expect(
      anthropic(user.user_key).messages.create({
        model: 'nope/unknown-model',
        max_tokens: 20,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    await expect(
      anthropic(restricted.user_key).messages.create({
        model: GPT,
        max_tokens: 20,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(await holdsOf(broke.id)).toEqual([]);
    expect(await holdsOf(restricted.id)).toEqual([]);
  });

  it('429 rate_limited with Retry-After in each shape, per customer', async () => {
    const limitedUrl = await startSibling(parseConfig({ rate_limits: { requests_per_minute: 2 } }, env));
    const user = await customer('limited');
    const other = await customer('limited-other');
    const ask = (url: string, endpoint: 'openai' | 'anthropic', key: string) =>
      fetch(`${url}${endpoint === 'openai' ? '/v1/chat/completions' : '/v1/messages'}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-user-key': key },
        body: JSON.stringify({
          model: 'nope/unknown-model',
          max_tokens: 20,
          messages: [{ role: 'user', content: 'x' }],
        }),
      });
    expect((await ask(limitedUrl, 'openai', user.user_key)).status).toBe(404);
    expect((await ask(limitedUrl, 'anthropic', user.user_key)).status).toBe(404);
    const openaiLimited = await ask(limitedUrl, 'openai', user.user_key);
    expect(openaiLimited.status).toBe(429);
    expect(Number(openaiLimited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await openaiLimited.json()).toEqual({
      error: { message: expect.any(String), type: 'rate_limited', param: null, code: '429' },
    });
    const anthropicLimited = await ask(limitedUrl, 'anthropic', user.user_key);
    expect(anthropicLimited.status).toBe(429);
    expect(Number(anthropicLimited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await anthropicLimited.json()).toEqual({
      type: 'error',
      error: { type: 'rate_limit_error', code: 'rate_limited', message: expect.any(String) },
    });
    // The SDKs see their RateLimitError; another customer has its own bucket.
    await expect(
      new OpenAI({
        baseURL: `${limitedUrl}/v1`,
        apiKey: user.user_key,
        maxRetries: 0,
      }).chat.completions.create({
        model: GPT,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(
      new Anthropic({ baseURL: limitedUrl, apiKey: user.user_key, maxRetries: 0 }).messages.create({
        model: CLAUDE,
        max_tokens: 20,
        messages: [{ role: 'user', content: 'x' }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.RateLimitError);
    expect((await ask(limitedUrl, 'openai', other.user_key)).status).toBe(404);
    expect(await holdsOf(user.id)).toEqual([]);
  });

  it.skipIf(!redisAvailable)('429: two nodes with REDIS_URL share one bucket per customer', async () => {
    const config = parseConfig({ rate_limits: { requests_per_minute: 3 } }, env);
    const nodeA = await startSibling(config, { REDIS_URL });
    const nodeB = await startSibling(config, { REDIS_URL });
    const user = await customer('redis');
    const ask = (url: string) =>
      fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${user.user_key}` },
        body: JSON.stringify({ model: 'nope/unknown-model', messages: [{ role: 'user', content: 'x' }] }),
      });
    expect((await ask(nodeA)).status).toBe(404);
    expect((await ask(nodeB)).status).toBe(404);
    expect((await ask(nodeA)).status).toBe(404);
    // Three taken across the two nodes: both now refuse this customer.
    for (const url of [nodeB, nodeA]) {
      const limited = await ask(url);
      expect(limited.status).toBe(429);
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect((await limited.json()).error.type).toBe('rate_limited');
    }
  });

  // ───────────────────────────── tools and images ─────────────────────────────

  it('tools: an OpenAI request with tools to an Anthropic-upstream model returns tool_calls (plain and streamed)', async () => {
    const user = await customer('tools');
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: 'function',
        function: {
          name: 'get_weather',
          description: 'Weather for a city',
          parameters: {
            type: 'object',
            properties: { location: { type: 'string' } },
            required: ['location'],
          },
        },
      },
    ];
    const client = openai(user.user_key);
    const answer = await client.chat.completions.create({
      model: CLAUDE,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools,
      tool_choice: 'required',
    });
    const upstreamBody = upstream.requests.at(-1)!.body;
    expect(upstream.requests.at(-1)!.path).toBe('/v1/messages');
    expect(upstreamBody.tools).toEqual([
      expect.objectContaining({
        name: 'get_weather',
        input_schema: tools[0]!.type === 'function' ? tools[0]!.function.parameters : {},
      }),
    ]);
    expect(upstreamBody.tool_choice).toMatchObject({ type: 'any' });
    expect(answer.choices[0]!.finish_reason).toBe('tool_calls');
    const call = answer.choices[0]!.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    if (call.type !== 'function') throw new Error('expected a function call');
    expect(call.function.name).toBe('get_weather');
    expect(JSON.parse(call.function.arguments)).toEqual({ location: 'Paris' });

    const stream = await client.chat.completions.create({
      model: CLAUDE,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools,
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      stream: true,
    });
    let name = '';
    let args = '';
    let finish: string | null = null;
    for await (const chunk of stream) {
      for (const delta of chunk.choices[0]?.delta?.tool_calls ?? []) {
        name += delta.function?.name ?? '';
        args += delta.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ location: 'Paris' });
    expect(finish).toBe('tool_calls');

    // And the other way round: Anthropic tools to an OpenAI-upstream model come back as tool_use.
    const message = await anthropic(user.user_key).messages.create({
      model: GPT,
      max_tokens: 100,
      messages: [{ role: 'user', content: 'Weather in Paris?' }],
      tools: [
        {
          name: 'get_weather',
          input_schema: { type: 'object', properties: { location: { type: 'string' } } },
        },
      ],
      tool_choice: { type: 'any' },
    });
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content.find((block) => block.type === 'tool_use')).toMatchObject({
      type: 'tool_use',
      name: 'get_weather',
      input: { location: 'Paris' },
    });
  });

  it('images: an image_url part reaches the Anthropic upstream as an image block', async () => {
    const user = await customer('images');
    const pixel =
      'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';
    const answer = await openai(user.user_key).chat.completions.create({
      model: CLAUDE,
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these images?' },
            { type: 'image_url', image_url: { url: `data:image/png;base64,${pixel}` } },
            { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg' } },
          ],
        },
      ],
    });
    expect(answer.choices[0]!.message.content).toContain('Hello');
    const sent = upstream.requests.at(-1)!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.body.messages[0].content).toEqual([
      expect.objectContaining({ type: 'text', text: 'What is in these images?' }),
      expect.objectContaining({
        type: 'image',
        source: { type: 'base64', media_type: 'image/png', data: pixel },
      }),
      expect.objectContaining({ type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } }),
    ]);
  });

  // ───────────────────────────── long text ─────────────────────────────

  it('long text (read without being decoded) is held for exactly its bytes and reaches the provider as written, passed through or translated', async () => {
    const user = await customer('long-text');
    // Every kind of character: multi-byte, escaped quotes and newlines, a surrogate pair, U+2028.
    const long = `Ünïcödé 中文 😀 "quoted" \\ back\nslash\u2028 `.repeat(6_000);
    const tools = [
      {
        type: 'function' as const,
        function: {
          name: 'lookup',
          description: `Looks things up. ${'Très détaillé. '.repeat(200)}`,
          parameters: { type: 'object', properties: { q: { type: 'string' } } },
        },
      },
    ];
    const messages = [
      { role: 'system' as const, content: long },
      { role: 'user' as const, content: [{ type: 'text' as const, text: long.slice(0, 5_000) }] },
      {
        role: 'assistant' as const,
        content: null,
        tool_calls: [
          {
            id: 'call_1',
            type: 'function' as const,
            function: { name: 'lookup', arguments: JSON.stringify({ q: long.slice(0, 3_000) }) },
          },
        ],
      },
      { role: 'tool' as const, tool_call_id: 'call_1', content: 'r'.repeat(2_000) },
      { role: 'user' as const, content: 'go on' },
    ];
    const held = async (holdId: string | null) =>
      (await holdsOf(user.id)).find((hold) => hold.id === holdId)!.amount_micros;

    // Passed through: the provider gets every text as sent; the hold is the whole body's bound.
    let from = upstream.requests.length;
    const { response } = await openai(user.user_key)
      .chat.completions.create({ model: GPT, messages, tools, max_tokens: 100 })
      .withResponse();
    expect(upstream.requests).toHaveLength(from + 1);
    expect(upstream.requests[from]!.body.messages).toEqual(messages);
    expect(upstream.requests[from]!.body.tools).toEqual(tools);
    const openAiBound = boundRequestTokens('openai', { model: GPT, messages, tools } as never);
    expect(await held(response.headers.get('x-tollgate-hold'))).toBe(
      String(cost(GPT, { input_tokens: openAiBound, output_tokens: 100 })),
    );

    // Long text JSON.parse would refuse (a raw control character) is refused as it always was.
    from = upstream.requests.length;
    const refused = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${user.user_key}` },
      // The template's \u0001 is the character itself, raw in the JSON text.
      body: `{"model":"${GPT}","messages":[{"role":"user","content":"${'x'.repeat(4_000)}\u0001"}]}`,
    });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(
      'not valid JSON',
    );
    expect(upstream.requests).toHaveLength(from);

    // Anthropic's dialect passed through, and translated to an OpenAI-format provider: the text itself.
    const request = {
      system: long,
      messages: [{ role: 'user' as const, content: long.slice(0, 4_000) }],
      max_tokens: 100,
    };
    for (const model of [CLAUDE, GPT]) {
      from = upstream.requests.length;
      const { response: answered } = await anthropic(user.user_key)
        .messages.create({ model, ...request })
        .withResponse();
      const sent = upstream.requests[from]!.body;
      if (model === CLAUDE) {
        expect(sent.system).toBe(long);
        expect(sent.messages).toEqual(request.messages);
      } else {
        expect(sent.messages).toEqual([
          { role: 'system', content: long },
          { role: 'user', content: long.slice(0, 4_000) },
        ]);
      }
      const bound = boundRequestTokens('anthropic', { model, ...request } as never);
      expect(await held(answered.headers.get('x-tollgate-hold'))).toBe(
        String(cost(model, { input_tokens: bound, output_tokens: 100 })),
      );
    }
  });

  it('keeps the books balanced after all of the above', async () => {
    const report = await auditLedger(server.database.db, server.clock, 3600);
    expect(report.problems).toEqual([]);
    expect(report.totalMicros).toBe(0n);
    const open = await server.database.db.query<{ count: string }>(
      "select count(*)::text as count from holds where status = 'held'",
    );
    expect(open[0]!.count).toBe('0');
  });
});
