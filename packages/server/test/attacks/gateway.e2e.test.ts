/**
 * Attacks on the gateway's meter (issue 12), one per hole, over real HTTP with the official OpenAI and
 * Anthropic SDKs (raw HTTP where an SDK cannot send the hostile request) in front of a fake provider
 * that misbehaves on demand. Each asserts the money outcome, not just the status: the customer never
 * below zero, the charge equal to the price of what was delivered, nothing written off to sys:loss that
 * a hold could have prevented, the app's referral share no more than its share of what was collected,
 * the audit clean and no hold left open.
 */
import { randomUUID } from 'node:crypto';
import { connect } from 'node:net';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { boundRequestTokens, countRequestTokens, countTextTokens } from '../../src/gateway/formats/index.ts';
import { auditLedger } from '../../src/ledger/audit.ts';
import { sweepOnce } from '../../src/ledger/sweeper.ts';
import { quote } from '../../src/pricing/quote.ts';
import { formatMicros, parseCredits } from '../../src/shared/money.ts';
import { type FakeUpstream, type RecordedRequest, startFakeUpstream } from '../fakes/fake-upstream.ts';
import { testBackends } from '../support/databases.ts';
import { metricValue, waitFor } from '../support/expectations.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from '../support/server.ts';

const GPT = 'openai/gpt-4o';
const CLAUDE = 'anthropic/claude-sonnet-4-20250514';
/** The test app's referral rate (0.1) in parts per million. */
const REFERRAL_PPM = 100_000n;
const OPENAI_KEY = 'sk-platform-openai-0123456789abcdef';
const ANTHROPIC_KEY = 'sk-ant-platform-0123456789abcdef';
/** Small, so that a client that stops reading is found out quickly. */
const CLIENT_WRITE_TIMEOUT_MS = 300;
/** Large, so that an upstream call that ends early was ended by the gateway, not by this timeout. */
const UPSTREAM_TIMEOUT_MS = 30_000;
const HOLD_TIMEOUT_SECONDS = 900;

type Usage = { input_tokens: number; output_tokens: number; cached_input_tokens?: number };

/** Fails instead of hanging when something never happens. */
async function within<T>(promise: Promise<T>, what: string, timeoutMs = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe.each(testBackends())('gateway attacks on $name', (backend) => {
  let server: TestServer;
  let upstream: FakeUpstream;
  let app: { id: string; secret_key: string };

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const env = {
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      OPENAI_API_KEY: OPENAI_KEY,
      ANTHROPIC_BASE_URL: upstream.url,
      ANTHROPIC_API_KEY: ANTHROPIC_KEY,
      TOLLGATE_UPSTREAM_TIMEOUT_MS: String(UPSTREAM_TIMEOUT_MS),
      TOLLGATE_CLIENT_WRITE_TIMEOUT_MS: String(CLIENT_WRITE_TIMEOUT_MS),
    };
    server = await startTestServer(backend, { env, config: loadConfig(undefined, env) });
    expect(server.tollgate.config.holds.timeoutSeconds).toBe(HOLD_TIMEOUT_SECONDS);
    app = await server.createApp({ referral_rate: 0.1 });
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.close();
  });

  async function customer(tag: string) {
    return server.createCustomer(app.secret_key, `${tag}-${randomUUID()}`);
  }

  async function balanceMicros(userKey: string): Promise<bigint> {
    const response = await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': userKey } });
    expect(response.status).toBe(200);
    return parseCredits(response.body.balance);
  }

  async function setBalance(customerId: string, userKey: string, targetMicros: bigint): Promise<void> {
    const delta = targetMicros - (await balanceMicros(userKey));
    if (delta === 0n) return;
    const response = await server.call('POST', `/v1/customers/${customerId}/grants`, {
      key: app.secret_key,
      body: { amount: formatMicros(delta), source: delta > 0n ? 'promo' : 'adjustment', reason: 'test' },
    });
    expect(response.status).toBe(201);
  }

  function cost(modelId: string, usage: Usage) {
    return quote(server.tollgate.catalog.require(modelId), { usage }, REFERRAL_PPM);
  }

  async function holdsOf(customerId: string) {
    return server.database.db.query<{
      id: string;
      status: string;
      void_reason: string | null;
      amount_micros: string;
      captured_micros: string | null;
      expires_at: string;
    }>(
      `select id, status, void_reason, amount_micros::text as amount_micros,
              captured_micros::text as captured_micros, expires_at::text as expires_at
       from holds where customer_id = $1 order by created_at`,
      [customerId],
    );
  }

  async function settledHolds(customerId: string, count: number) {
    const rows = await waitFor(async () => {
      const rows = await holdsOf(customerId);
      return rows.length === count && rows.every((row) => row.status !== 'held') ? rows : null;
    }, `${count} resolved holds`);
    // The server's clock stands still: a millisecond on makes the next call's hold sort after these
    // (holdsOf orders by created_at; equal times would come back in whatever order the table has).
    server.clock.advance(1);
    return rows;
  }

  async function usageRows(userKey: string) {
    const response = await server.call('GET', '/v1/credits/history?limit=200', {
      headers: { 'x-user-key': userKey },
    });
    expect(response.status).toBe(200);
    return (
      response.body.data as {
        type: string;
        amount: number;
        hold_id: string | null;
        total?: number;
        referral_share?: number;
        shortfall?: number;
        metadata: Record<string, unknown>;
      }[]
    ).filter((row) => row.type === 'usage');
  }

  async function lossMicros(): Promise<bigint> {
    const report = await auditLedger(server.database.db, server.clock);
    expect(report.problems).toEqual([]);
    return report.systemAccounts['sys:loss'] ?? 0n;
  }

  async function anomalies(kind: string): Promise<number> {
    const text = (await server.call('GET', '/metrics', { key: ADMIN_KEY })).body as string;
    return metricValue(text, 'tollgate_gateway_usage_anomalies_total', { kind });
  }

  /**
   * The money outcome every attack must leave: balance never below zero, no hold of the customer left
   * open, the books clean, sys:loss where it was, and each usage row's referral share no more than the
   * app's share (rate / (1 + rate)) of what the row collected, to the micro-credit.
   */
  async function expectMoneyOutcome(
    user: { id: string; user_key: string },
    lossBefore: bigint,
    expectedLossMicros = 0n,
  ) {
    expect(await balanceMicros(user.user_key)).toBeGreaterThanOrEqual(0n);
    expect((await holdsOf(user.id)).filter((row) => row.status === 'held')).toEqual([]);
    expect(lossBefore - (await lossMicros())).toBe(expectedLossMicros);
    for (const row of await usageRows(user.user_key)) {
      const paid = parseCredits(-row.amount);
      const share = parseCredits(row.referral_share ?? 0);
      expect(share * 11n, `referral share of ${row.hold_id}`).toBeLessThanOrEqual(paid + 11n);
    }
  }

  function openai(userKey: string) {
    return new OpenAI({ baseURL: `${server.url}/v1`, apiKey: userKey, maxRetries: 0, timeout: 20_000 });
  }

  function anthropic(userKey: string) {
    return new Anthropic({ baseURL: server.url, apiKey: userKey, maxRetries: 0, timeout: 20_000 });
  }

  function lastUpstreamRequest(marker: string): RecordedRequest {
    const found = upstream.requests.filter((request) => JSON.stringify(request.body ?? '').includes(marker));
    expect(found.length, `upstream requests with ${marker}`).toBeGreaterThan(0);
    return found.at(-1)!;
  }

  async function rawPost(path: string, userKey: string, body: unknown) {
    const response = await fetch(`${server.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-user-key': userKey },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: any = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // a stream
    }
    return { status: response.status, body: parsed, text, headers: response.headers };
  }

  // ─────────────────────────────────────────── hole 1 ───────────────────────────────────────────

  it('hole 1: n answers are all in the worst case, streamed or not; an absurd n or best_of is refused', async () => {
    const user = await customer('hole1');
    const startMicros = 2_000_000n;
    await setBalance(user.id, user.user_key, startMicros);
    const lossBefore = await lossMicros();
    const client = openai(user.user_key);
    // Every answer runs to its limit, and the provider reports the sum of the 64: the real worst case.
    upstream.setBehavior({ outputWordCount: 5_000, usage: { input_tokens: 10 } });
    try {
      const plainMarker = `hole 1 plain ${randomUUID()}`;
      const plainMessages = [{ role: 'user' as const, content: plainMarker }];
      const { data: answer, response } = await client.chat.completions
        .create({ model: GPT, messages: plainMessages, n: 64, max_tokens: 1_000 })
        .withResponse();
      expect(answer.choices).toHaveLength(64);
      const sent = lastUpstreamRequest(plainMarker).body;
      expect(sent.n).toBe(64);
      const perAnswer = sent.max_tokens as number;
      // Two credits do not buy 64 answers of 1,000 tokens: each answer's limit was lowered so all 64 fit.
      expect(perAnswer).toBeGreaterThanOrEqual(16);
      expect(perAnswer).toBeLessThan(1_000);
      expect(response.headers.get('x-tollgate-max-tokens-lowered')).toBe(`1000->${perAnswer}`);
      expect(answer.usage?.completion_tokens).toBe(64 * perAnswer);
      const [plainHold] = await settledHolds(user.id, 1);
      const plainBound = boundRequestTokens('openai', { model: GPT, messages: plainMessages });
      expect(BigInt(plainHold!.amount_micros)).toBe(
        cost(GPT, { input_tokens: plainBound, output_tokens: 64 * perAnswer }).totalMicros,
      );
      expect(BigInt(plainHold!.amount_micros)).toBeLessThanOrEqual(startMicros);
      // All 64 answers are charged, at the price of what they were.
      const plainCost = cost(GPT, { input_tokens: 10, output_tokens: 64 * perAnswer }).totalMicros;
      expect(BigInt(plainHold!.captured_micros!)).toBe(plainCost);
      expect(startMicros - (await balanceMicros(user.user_key))).toBe(plainCost);

      // The same two credits again, streamed.
      await setBalance(user.id, user.user_key, startMicros);
      const streamMarker = `hole 1 stream ${randomUUID()}`;
      const stream = await client.chat.completions.create({
        model: GPT,
        messages: [{ role: 'user', content: streamMarker }],
        n: 64,
        max_tokens: 1_000,
        stream: true,
        stream_options: { include_usage: true },
      });
      const texts = new Map<number, string>();
      let streamedUsage: OpenAI.CompletionUsage | undefined;
      for await (const chunk of stream) {
        for (const choice of chunk.choices)
          texts.set(choice.index, (texts.get(choice.index) ?? '') + (choice.delta.content ?? ''));
        if (chunk.usage) streamedUsage = chunk.usage;
      }
      expect(texts.size).toBe(64);
      const streamPerAnswer = lastUpstreamRequest(streamMarker).body.max_tokens as number;
      expect(streamPerAnswer).toBeLessThan(1_000);
      expect(streamedUsage?.completion_tokens).toBe(64 * streamPerAnswer);
      const holds = await settledHolds(user.id, 2);
      const streamCost = cost(GPT, { input_tokens: 10, output_tokens: 64 * streamPerAnswer }).totalMicros;
      expect(BigInt(holds[1]!.captured_micros!)).toBe(streamCost);
      expect(BigInt(holds[1]!.captured_micros!)).toBeLessThanOrEqual(BigInt(holds[1]!.amount_micros));
      expect(startMicros - (await balanceMicros(user.user_key))).toBe(streamCost);
    } finally {
      upstream.setBehavior({});
    }

    // Absurd multipliers never reach the provider.
    const before = upstream.requests.length;
    for (const [extra, param] of [
      [{ n: 10_000 }, 'n'],
      [{ n: 0 }, 'n'],
      [{ n: '64' }, 'n'],
      [{ best_of: 129 }, 'best_of'],
    ] as const) {
      const refused = await rawPost('/v1/chat/completions', user.user_key, {
        model: GPT,
        messages: [{ role: 'user', content: 'x' }],
        ...extra,
      });
      expect(refused.status, JSON.stringify(extra)).toBe(400);
      expect(refused.body).toEqual({
        error: { message: expect.any(String), type: 'invalid_request', param, code: '400' },
      });
    }
    await expect(
      client.chat.completions.create({ model: GPT, messages: [{ role: 'user', content: 'x' }], n: 10_000 }),
    ).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    expect(upstream.requests.length).toBe(before);
    expect(await holdsOf(user.id)).toHaveLength(2);
    await expectMoneyOutcome(user, lossBefore);
  });

  // ─────────────────────────────────────────── hole 2 ───────────────────────────────────────────

  it('hole 2: every output limit the request carries is lowered together, in both dialects and across translation', async () => {
    const user = await customer('hole2');
    const lossBefore = await lossMicros();
    /** A balance for `outputTokens` of output after the request's bound input, exactly. */
    const affordOnly = async (model: string, bound: number, outputTokens: number) =>
      setBalance(
        user.id,
        user.user_key,
        cost(model, { input_tokens: bound, output_tokens: outputTokens }).totalMicros,
      );
    // The provider writes as much as it is allowed (honouring max_completion_tokens before max_tokens).
    upstream.setBehavior({ outputWordCount: 20_000, usage: { input_tokens: 10 } });
    try {
      // OpenAI client → OpenAI upstream, both fields at 100,000: both go out at what the balance affords.
      let marker = `hole 2 both ${randomUUID()}`;
      let messages = [{ role: 'user' as const, content: marker }];
      await affordOnly(GPT, boundRequestTokens('openai', { model: GPT, messages }), 300);
      const { response } = await openai(user.user_key)
        .chat.completions.create({
          model: GPT,
          messages,
          max_tokens: 100_000,
          max_completion_tokens: 100_000,
        })
        .withResponse();
      let sent = lastUpstreamRequest(marker).body;
      expect(sent.max_tokens).toBe(300);
      expect(sent.max_completion_tokens).toBe(300);
      expect(response.headers.get('x-tollgate-max-tokens-lowered')).toBe('16384->300');
      const [hold] = await settledHolds(user.id, 1);
      expect(BigInt(hold!.captured_micros!)).toBe(
        cost(GPT, { input_tokens: 10, output_tokens: 300 }).totalMicros,
      );
      expect(BigInt(hold!.captured_micros!)).toBeLessThanOrEqual(BigInt(hold!.amount_micros));

      // Only one of them small: both go out at the smaller.
      await setBalance(user.id, user.user_key, 50_000_000n);
      marker = `hole 2 one ${randomUUID()}`;
      await openai(user.user_key).chat.completions.create({
        model: GPT,
        messages: [{ role: 'user', content: marker }],
        max_tokens: 50,
        max_completion_tokens: 100_000,
      });
      sent = lastUpstreamRequest(marker).body;
      expect([sent.max_tokens, sent.max_completion_tokens]).toEqual([50, 50]);

      // OpenAI client → Anthropic upstream (translated): the one field Anthropic reads is lowered.
      marker = `hole 2 translated ${randomUUID()}`;
      messages = [{ role: 'user' as const, content: marker }];
      await affordOnly(CLAUDE, boundRequestTokens('openai', { model: CLAUDE, messages }), 200);
      await openai(user.user_key).chat.completions.create({
        model: CLAUDE,
        messages,
        max_tokens: 100_000,
        max_completion_tokens: 100_000,
      });
      sent = lastUpstreamRequest(marker).body;
      expect(sent.max_tokens).toBe(200);

      // Anthropic client → Anthropic upstream with extended thinking: the budget stays below the new
      // max_tokens, or thinking is dropped when no valid budget (≥ 1,024) fits.
      marker = `hole 2 thinking ${randomUUID()}`;
      let anthropicMessages = [{ role: 'user' as const, content: marker }];
      const anthropicBound = boundRequestTokens('anthropic', {
        model: CLAUDE,
        max_tokens: 1,
        messages: anthropicMessages,
      });
      await affordOnly(CLAUDE, anthropicBound, 3_000);
      await anthropic(user.user_key).messages.create({
        model: CLAUDE,
        max_tokens: 16_000,
        thinking: { type: 'enabled', budget_tokens: 10_000 },
        messages: anthropicMessages,
      });
      sent = lastUpstreamRequest(marker).body;
      expect(sent.max_tokens).toBe(3_000);
      expect(sent.thinking).toEqual({ type: 'enabled', budget_tokens: 2_999 });
      marker = `hole 2 no thinking ${randomUUID()}`;
      anthropicMessages = [{ role: 'user' as const, content: marker }];
      await affordOnly(
        CLAUDE,
        boundRequestTokens('anthropic', { model: CLAUDE, max_tokens: 1, messages: anthropicMessages }),
        500,
      );
      await anthropic(user.user_key).messages.create({
        model: CLAUDE,
        max_tokens: 16_000,
        thinking: { type: 'enabled', budget_tokens: 10_000 },
        messages: anthropicMessages,
      });
      sent = lastUpstreamRequest(marker).body;
      expect(sent.max_tokens).toBe(500);
      expect(sent.thinking).toBeUndefined();

      // Anthropic client → OpenAI upstream (translated), streamed: the limit the upstream reads is lowered.
      marker = `hole 2 to openai ${randomUUID()}`;
      anthropicMessages = [{ role: 'user' as const, content: marker }];
      await affordOnly(
        GPT,
        boundRequestTokens('anthropic', { model: GPT, max_tokens: 1, messages: anthropicMessages }),
        250,
      );
      await anthropic(user.user_key)
        .messages.stream({ model: GPT, max_tokens: 16_000, messages: anthropicMessages })
        .finalMessage();
      sent = lastUpstreamRequest(marker).body;
      expect(sent.max_tokens).toBe(250);
      expect(sent.max_completion_tokens).toBeUndefined();

      const holds = await settledHolds(user.id, 6);
      for (const each of holds) {
        expect(each.status).toBe('captured');
        expect(BigInt(each.captured_micros!)).toBeLessThanOrEqual(BigInt(each.amount_micros));
      }
    } finally {
      upstream.setBehavior({});
    }
    await expectMoneyOutcome(user, lossBefore);
  });

  // ─────────────────────────────────────────── hole 5 ───────────────────────────────────────────

  it('hole 5: a stream that outlives the hold timeout keeps its hold alive, and is charged even after the sweeper voided it', async () => {
    const user = await customer('hole5');
    const lossBefore = await lossMicros();
    const startMicros = await balanceMicros(user.user_key);
    const each = cost(GPT, { input_tokens: 10, output_tokens: 20 }).totalMicros;
    // Three frames (the role chunk and two words), then the provider waits until resume().
    upstream.setBehavior({ pauseAfterFrames: 3, outputWordCount: 20, usage: { input_tokens: 10 } });

    /** Starts a stream and reads until the first two words arrived; the rest waits for resume(). */
    const startStream = async (marker: string) => {
      const stream = await openai(user.user_key).chat.completions.create({
        model: GPT,
        messages: [{ role: 'user', content: marker }],
        max_tokens: 100,
        stream: true,
        stream_options: { include_usage: true },
      });
      const iterator = stream[Symbol.asyncIterator]();
      let text = '';
      while (!text.includes('word2')) {
        const next = await iterator.next();
        if (next.done) throw new Error('the stream ended early');
        text += next.value.choices[0]?.delta?.content ?? '';
      }
      return async () => {
        for (let next = await iterator.next(); !next.done; next = await iterator.next())
          text += next.value.choices[0]?.delta?.content ?? '';
        return text;
      };
    };

    try {
      // A third of the timeout passes with the stream in flight: its hold is extended.
      const finishFirst = await startStream(`hole 5 kept ${randomUUID()}`);
      const [placed] = await holdsOf(user.id);
      const placedExpiry = new Date(placed!.expires_at).getTime();
      server.clock.advance((HOLD_TIMEOUT_SECONDS / 3 + 60) * 1000);
      const extended = await waitFor(async () => {
        const expiry = new Date((await holdsOf(user.id))[0]!.expires_at).getTime();
        return expiry > placedExpiry ? expiry : null;
      }, 'the hold to be extended');
      expect(extended).toBeGreaterThanOrEqual(
        server.clock.now().getTime() + (HOLD_TIMEOUT_SECONDS - 5) * 1000,
      );
      upstream.resume();
      expect((await finishFirst()).split(' ').filter(Boolean)).toHaveLength(20);
      const [first] = await settledHolds(user.id, 1);
      expect(first).toMatchObject({ status: 'captured', captured_micros: String(each) });

      // The server stalls past the whole timeout and the sweeper voids the hold before anything can
      // extend it (if the keeper wins the race, the clock jumps again). The stream then finishes.
      const finishSecond = await startStream(`hole 5 swept ${randomUUID()}`);
      let swept = false;
      for (let attempt = 0; attempt < 5 && !swept; attempt += 1) {
        server.clock.advance((HOLD_TIMEOUT_SECONDS + 60) * 1000);
        await sweepOnce(server.database.db, server.tollgate.ledger, server.clock);
        swept = (await holdsOf(user.id))[1]!.status === 'voided';
      }
      expect(swept).toBe(true);
      upstream.resume();
      expect((await finishSecond()).split(' ').filter(Boolean)).toHaveLength(20);
      const rows = await waitFor(async () => {
        const found = await usageRows(user.user_key);
        return found.length === 2 ? found : null;
      }, 'the swept stream to be charged');
      const second = (await holdsOf(user.id))[1]!;
      // The hold stays voided (its reservation was released), and the work is charged all the same.
      expect(second).toMatchObject({ status: 'voided', void_reason: 'expired' });
      expect(rows[0]).toMatchObject({ hold_id: second.id, metadata: { hold_voided: true } });
      expect(parseCredits(-rows[0]!.amount)).toBe(each);
      expect(startMicros - (await balanceMicros(user.user_key))).toBe(2n * each);

      // The clock jumps past the whole timeout and THIS server's sweeper runs first: the call is in
      // flight here, so its hold is extended instead of voided (its credits stay reserved for it).
      const finishThird = await startStream(`hole 5 kept by this sweeper ${randomUUID()}`);
      server.clock.advance((HOLD_TIMEOUT_SECONDS + 60) * 1000);
      await server.tollgate.sweep();
      const third = (await holdsOf(user.id))[2]!;
      expect(third.status).toBe('held');
      expect(new Date(third.expires_at).getTime()).toBeGreaterThan(server.clock.now().getTime());
      upstream.resume();
      expect((await finishThird()).split(' ').filter(Boolean)).toHaveLength(20);
      const [, , captured] = await settledHolds(user.id, 3);
      expect(captured).toMatchObject({ status: 'captured', captured_micros: String(each) });
      expect(startMicros - (await balanceMicros(user.user_key))).toBe(3n * each);
    } finally {
      upstream.setBehavior({});
      upstream.resume();
    }
    await expectMoneyOutcome(user, lossBefore);
  });

  // ─────────────────────────────────────────── hole 6 ───────────────────────────────────────────

  it('hole 6: a client that stops reading is cut off after the write timeout (upstream aborted, delivery billed); a non-stream client that leaves aborts the upstream call', async () => {
    const user = await customer('hole6');
    const lossBefore = await lossMicros();
    const startMicros = await balanceMicros(user.user_key);
    // 20 MB of answer, far more than the socket buffers between the gateway and a client hold.
    const word = 'x'.repeat(200_000);
    upstream.setBehavior({
      outputText: Array.from({ length: 100 }, () => word).join(' '),
      usage: { input_tokens: 10 },
    });
    const marker = `hole 6 stalled ${randomUUID()}`;
    const body = JSON.stringify({
      model: GPT,
      messages: [{ role: 'user', content: marker }],
      max_tokens: 1_000,
      stream: true,
    });
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(server.url).port) });
    socket.on('error', () => {});
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    try {
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      socket.write(
        `POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n` +
          `x-user-key: ${user.user_key}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
      );
      // The client never reads, and keeps its socket open.
      socket.pause();
      const recorded = await waitFor(
        () => upstream.requests.find((request) => JSON.stringify(request.body ?? '').includes(marker)),
        'the upstream request',
      );
      await waitFor(() => recorded.clientDisconnected, 'the gateway to abort the upstream call');
      expect(recorded.completed).toBe(false);
      const [hold] = await settledHolds(user.id, 1);
      expect(hold!.status).toBe('captured');
      const charged = startMicros - (await balanceMicros(user.user_key));
      expect(charged).toBe(BigInt(hold!.captured_micros!));
      expect(charged).toBeGreaterThan(0n);
      expect(charged).toBeLessThanOrEqual(BigInt(hold!.amount_micros));
      const [row] = await usageRows(user.user_key);
      expect(row!.metadata).toMatchObject({ usage_reported: false, stream: true });
      expect(row!.metadata.output_tokens as number).toBeLessThanOrEqual(1_000);
      // The gateway closed the connection: reading what was buffered ends in a close, not a hang.
      socket.resume();
      await within(closed, 'the stalled connection to be closed');
    } finally {
      socket.destroy();
      upstream.setBehavior({});
    }

    // A non-stream client that leaves while the provider is still thinking: the upstream call is aborted
    // at once (not at the upstream timeout), and the call is free.
    upstream.setBehavior({ behavior: 'hang' });
    try {
      const plainMarker = `hole 6 left ${randomUUID()}`;
      const controller = new AbortController();
      const pending = fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', 'x-user-key': user.user_key },
        body: JSON.stringify({ model: GPT, messages: [{ role: 'user', content: plainMarker }] }),
      }).catch((error: unknown) => error);
      const recorded = await waitFor(
        () => upstream.requests.find((request) => JSON.stringify(request.body ?? '').includes(plainMarker)),
        'the upstream request',
      );
      controller.abort();
      await pending;
      await waitFor(
        () => recorded.clientDisconnected,
        'the gateway to abort the upstream call',
        UPSTREAM_TIMEOUT_MS / 3,
      );
      const holds = await settledHolds(user.id, 2);
      expect(holds[1]).toMatchObject({ status: 'voided', void_reason: 'client_closed' });
    } finally {
      upstream.setBehavior({});
    }
    await expectMoneyOutcome(user, lossBefore);
  });

  // ─────────────────────────────────────────── hole 7 ───────────────────────────────────────────

  it('hole 7: usage above what the request allowed is capped and counted as an anomaly; the referral share is a share of what was collected', async () => {
    const user = await customer('hole7');
    const startMicros = 10_000_000n;
    await setBalance(user.id, user.user_key, startMicros);
    const lossBefore = await lossMicros();
    const outputAnomalies = await anomalies('output_above_limit');
    const inputAnomalies = await anomalies('input_above_bound');

    // 1,000,000 output tokens reported for max_tokens 100 (OpenAI SDK).
    upstream.queueBehavior({ usage: { input_tokens: 10, output_tokens: 1_000_000 } });
    const answer = await openai(user.user_key).chat.completions.create({
      model: GPT,
      messages: [{ role: 'user', content: 'hole 7 output' }],
      max_tokens: 100,
    });
    expect(answer.choices[0]!.message.content).toContain('Hello');
    // 1,000,000 input tokens reported for a one-line prompt (Anthropic SDK, streamed).
    const messages = [{ role: 'user' as const, content: 'hole 7 input' }];
    upstream.queueBehavior({ usage: { input_tokens: 1_000_000, output_tokens: 5 } });
    await anthropic(user.user_key)
      .messages.stream({ model: CLAUDE, max_tokens: 100, messages })
      .finalMessage();

    const holds = await settledHolds(user.id, 2);
    const outputCapped = cost(GPT, { input_tokens: 10, output_tokens: 100 });
    const bound = boundRequestTokens('anthropic', { model: CLAUDE, max_tokens: 100, messages });
    const inputCapped = cost(CLAUDE, { input_tokens: bound, output_tokens: 5 });
    expect(holds.map((hold) => BigInt(hold.captured_micros!))).toEqual([
      outputCapped.totalMicros,
      inputCapped.totalMicros,
    ]);
    for (const hold of holds)
      expect(BigInt(hold.captured_micros!)).toBeLessThanOrEqual(BigInt(hold.amount_micros));
    expect(startMicros - (await balanceMicros(user.user_key))).toBe(
      outputCapped.totalMicros + inputCapped.totalMicros,
    );
    expect(await anomalies('output_above_limit')).toBe(outputAnomalies + 1);
    expect(await anomalies('input_above_bound')).toBe(inputAnomalies + 1);
    const rows = await usageRows(user.user_key);
    expect(rows.map((row) => row.metadata.usage_anomalies)).toEqual([
      ['input_above_bound'],
      ['output_above_limit'],
    ]);
    // The app's share is of the capped charge, which the customer paid in full.
    expect(rows.map((row) => parseCredits(row.referral_share ?? 0))).toEqual([
      inputCapped.referralShareMicros,
      outputCapped.referralShareMicros,
    ]);
    await expectMoneyOutcome(user, lossBefore);

    // The one way left to a shortfall: a stream whose hold the sweeper voided (the server stalled past
    // the timeout), by a customer who spent the rest meanwhile. The charge takes what is left, the
    // rest is a loss — and the app's share is cut to its share of what was actually paid.
    const poor = await customer('hole7-poor');
    const referralAccount = `ref:${app.id}`;
    const referralBefore =
      (await auditLedger(server.database.db, server.clock)).systemAccounts[referralAccount] ?? 0n;
    upstream.setBehavior({ pauseAfterFrames: 3, outputWordCount: 20, usage: { input_tokens: 10 } });
    try {
      const stream = await openai(poor.user_key).chat.completions.create({
        model: GPT,
        messages: [{ role: 'user', content: `hole 7 shortfall ${randomUUID()}` }],
        max_tokens: 100,
        stream: true,
      });
      const iterator = stream[Symbol.asyncIterator]();
      let text = '';
      while (!text.includes('word2')) text += (await iterator.next()).value?.choices[0]?.delta?.content ?? '';
      let swept = false;
      for (let attempt = 0; attempt < 5 && !swept; attempt += 1) {
        server.clock.advance((HOLD_TIMEOUT_SECONDS + 60) * 1000);
        await sweepOnce(server.database.db, server.tollgate.ledger, server.clock);
        swept = (await holdsOf(poor.id))[0]!.status === 'voided';
      }
      expect(swept).toBe(true);
      await setBalance(poor.id, poor.user_key, 1_000n);
      upstream.resume();
      for (let next = await iterator.next(); !next.done; next = await iterator.next());
    } finally {
      upstream.setBehavior({});
      upstream.resume();
    }
    const [row] = await waitFor(async () => {
      const found = await usageRows(poor.user_key);
      return found.length === 1 ? found : null;
    }, 'the swept stream to be charged');
    const full = cost(GPT, { input_tokens: 10, output_tokens: 20 });
    const shortfall = full.totalMicros - 1_000n;
    const collectedShare = (full.referralShareMicros * 1_000n) / full.totalMicros;
    expect(parseCredits(-row!.amount)).toBe(1_000n);
    expect(parseCredits(row!.shortfall ?? 0)).toBe(shortfall);
    expect(parseCredits(row!.referral_share ?? 0)).toBe(collectedShare);
    expect(collectedShare).toBeLessThan(full.referralShareMicros);
    const referralAfter =
      (await auditLedger(server.database.db, server.clock)).systemAccounts[referralAccount] ?? 0n;
    expect(referralAfter - referralBefore).toBe(collectedShare);
    expect(await balanceMicros(poor.user_key)).toBe(0n);
    await expectMoneyOutcome(poor, lossBefore, shortfall);
  });

  // ─────────────────────────────────────────── hole 8 ───────────────────────────────────────────

  it('hole 8: malformed usage never under-bills and never fails the call: delivered output is charged, a call that delivered nothing is free', async () => {
    const user = await customer('hole8');
    await setBalance(user.id, user.user_key, 50_000_000n);
    const lossBefore = await lossMicros();
    const answerText = 'Hello from the fake upstream.';
    const counted = countTextTokens(answerText);
    const garbage: { name: string; openai: unknown; anthropic: unknown }[] = [
      {
        name: 'negative',
        openai: { prompt_tokens: -5, completion_tokens: -100 },
        anthropic: { input_tokens: -5, output_tokens: -100 },
      },
      {
        name: 'strings',
        openai: { prompt_tokens: '10', completion_tokens: 'lots' },
        anthropic: { input_tokens: '10', output_tokens: 'lots' },
      },
      {
        name: 'NaN',
        openai: { prompt_tokens: 'NaN', completion_tokens: null },
        anthropic: { input_tokens: 'NaN', output_tokens: null },
      },
      {
        name: 'a reported 0 beside delivered text',
        openai: { prompt_tokens: 'x', completion_tokens: 0 },
        anthropic: { input_tokens: 'x', output_tokens: 0 },
      },
      { name: 'missing', openai: null, anthropic: null },
    ];
    let charged = 0n;
    let calls = 0;
    for (const model of [GPT, CLAUDE]) {
      for (const stream of [false, true]) {
        for (const testCase of garbage) {
          const label = `${testCase.name}, ${model}, ${stream ? 'streamed' : 'plain'}`;
          const messages = [{ role: 'user' as const, content: `hole 8 ${label}` }];
          upstream.queueBehavior({ rawUsage: model === GPT ? testCase.openai : testCase.anthropic });
          let text = '';
          if (stream) {
            for await (const chunk of await openai(user.user_key).chat.completions.create({
              model,
              messages,
              max_tokens: 50,
              stream: true,
            }))
              text += chunk.choices[0]?.delta?.content ?? '';
          } else {
            text =
              (await openai(user.user_key).chat.completions.create({ model, messages, max_tokens: 50 }))
                .choices[0]!.message.content ?? '';
          }
          expect(text, label).toBe(answerText);
          calls += 1;
          const holds = await settledHolds(user.id, calls);
          // Billed from what it delivered: the request's estimated input and the counted text.
          const expected = cost(model, {
            input_tokens: countRequestTokens('openai', { model, messages }),
            output_tokens: counted,
          }).totalMicros;
          expect(BigInt(holds.at(-1)!.captured_micros!), label).toBe(expected);
          charged += expected;
        }
      }
    }

    // 1e300 output tokens: billed at the limit the request was sent with, and the client still gets its
    // 200 — with the Anthropic SDK this time.
    for (const stream of [false, true]) {
      const messages = [{ role: 'user' as const, content: `hole 8 1e300 ${stream}` }];
      upstream.queueBehavior({ rawUsage: { input_tokens: 10, output_tokens: 1e300 } });
      const message = stream
        ? await anthropic(user.user_key)
            .messages.stream({ model: CLAUDE, max_tokens: 50, messages })
            .finalMessage()
        : await anthropic(user.user_key).messages.create({ model: CLAUDE, max_tokens: 50, messages });
      expect(message.content[0]).toMatchObject({ type: 'text', text: answerText });
      calls += 1;
      const holds = await settledHolds(user.id, calls);
      const expected = cost(CLAUDE, { input_tokens: 10, output_tokens: 50 }).totalMicros;
      expect(BigInt(holds.at(-1)!.captured_micros!)).toBe(expected);
      charged += expected;
    }

    // Streams that end without their end marker, with the usage delivered: the client learns the answer
    // was cut (the SDKs throw), and is charged what it received at the reported usage.
    for (const model of [GPT, CLAUDE]) {
      const messages = [{ role: 'user' as const, content: `hole 8 no end ${model}` }];
      upstream.queueBehavior({ omitEndMarker: true, usage: { input_tokens: 10, output_tokens: 5 } });
      let text = '';
      const failure = await (async () => {
        for await (const chunk of await openai(user.user_key).chat.completions.create({
          model,
          messages,
          max_tokens: 50,
          stream: true,
          stream_options: { include_usage: true },
        }))
          text += chunk.choices[0]?.delta?.content ?? '';
      })().then(
        () => null,
        (error: unknown) => error,
      );
      expect(text).toBe(answerText);
      expect(failure).toBeInstanceOf(OpenAI.APIError);
      calls += 1;
      const holds = await settledHolds(user.id, calls);
      const expected = cost(model, { input_tokens: 10, output_tokens: 5 }).totalMicros;
      expect(BigInt(holds.at(-1)!.captured_micros!), model).toBe(expected);
      charged += expected;
    }

    // Nothing delivered, however absurd the usage: free.
    upstream.queueBehavior({ behavior: 'empty', rawUsage: { prompt_tokens: 10, completion_tokens: 1e300 } });
    await openai(user.user_key).chat.completions.create({
      model: GPT,
      messages: [{ role: 'user', content: 'hole 8 empty' }],
      max_tokens: 50,
    });
    calls += 1;
    expect((await settledHolds(user.id, calls)).at(-1)).toMatchObject({
      status: 'voided',
      void_reason: 'empty_answer',
    });

    expect(50_000_000n - (await balanceMicros(user.user_key))).toBe(charged);
    await expectMoneyOutcome(user, lossBefore);
  });

  // ─────────────────────────────────────────── hole 13 ──────────────────────────────────────────

  it('hole 13: provider errors never show the operator key (plain and in-stream, both dialects), and provider headers never pass', async () => {
    const user = await customer('hole13');
    const lossBefore = await lossMicros();
    const startMicros = await balanceMicros(user.user_key);
    const keys = [OPENAI_KEY, ANTHROPIC_KEY];
    const expectNoKey = (text: string, label: string) => {
      for (const key of keys) expect(text, label).not.toContain(key);
      // Not even the part that would let someone recognise it.
      expect(text, label).not.toMatch(/0123456789abcdef/);
    };
    const endpoints = [
      {
        path: '/v1/chat/completions',
        body: (model: string, content: string) => ({ model, messages: [{ role: 'user', content }] }),
      },
      {
        path: '/v1/messages',
        body: (model: string, content: string) => ({
          model,
          max_tokens: 50,
          messages: [{ role: 'user', content }],
        }),
      },
    ];

    // A 401 that quotes the key it was sent, before any stream: 502 upstream_error, scrubbed.
    upstream.setBehavior({ behavior: 'error401_echo' });
    let refused = 0;
    try {
      for (const model of [GPT, CLAUDE]) {
        const error = await openai(user.user_key)
          .chat.completions.create({ model, messages: [{ role: 'user', content: 'hole 13' }] })
          .then(
            () => null,
            (thrown: unknown) => thrown,
          );
        expect(error).toBeInstanceOf(OpenAI.APIError);
        const apiError = error as InstanceType<typeof OpenAI.APIError>;
        expect(apiError.status).toBe(502);
        expectNoKey(JSON.stringify(apiError.error), `OpenAI SDK → ${model}`);
        expect(JSON.stringify(apiError.error)).toContain('[redacted]');
        const anthropicError = await anthropic(user.user_key)
          .messages.stream({ model, max_tokens: 50, messages: [{ role: 'user', content: 'hole 13' }] })
          .finalMessage()
          .then(
            () => null,
            (thrown: unknown) => thrown,
          );
        expect(anthropicError).toBeInstanceOf(Anthropic.APIError);
        expectNoKey(
          JSON.stringify((anthropicError as InstanceType<typeof Anthropic.APIError>).error),
          `Anthropic SDK → ${model}`,
        );
        refused += 2;
        for (const endpoint of endpoints) {
          for (const stream of [false, true]) {
            const answer = await rawPost(endpoint.path, user.user_key, {
              ...endpoint.body(model, 'hole 13'),
              stream,
            });
            expect(answer.status).toBe(502);
            expectNoKey(answer.text, `${endpoint.path} → ${model}`);
            expect(answer.headers.get('x-echoed-key')).toBeNull();
            refused += 1;
          }
        }
      }
    } finally {
      upstream.setBehavior({});
    }

    // An in-stream error that quotes the key, after two words: the error frame is scrubbed in every
    // direction, and the two delivered words are billed.
    upstream.setBehavior({ behavior: 'stream_error_echo', chunksBeforeError: 2, outputWordCount: 10 });
    let streamed = 0;
    try {
      for (const model of [GPT, CLAUDE]) {
        for (const endpoint of endpoints) {
          const answer = await rawPost(endpoint.path, user.user_key, {
            ...endpoint.body(model, `hole 13 ${model}`),
            stream: true,
          });
          expect(answer.status).toBe(200);
          expect(answer.text).toContain('word1');
          expect(answer.text).toMatch(/upstream_error/);
          expect(answer.text).toContain('[redacted]');
          expectNoKey(answer.text, `in-stream ${endpoint.path} → ${model}`);
          streamed += 1;
        }
      }
    } finally {
      upstream.setBehavior({});
    }
    const holds = await settledHolds(user.id, refused + streamed);
    expect(holds.slice(0, refused).map((hold) => hold.status)).toEqual(Array(refused).fill('voided'));
    expect(holds.slice(refused).map((hold) => hold.status)).toEqual(Array(streamed).fill('captured'));

    // Headers of the provider's own (a key, a cookie, an organisation) never reach the client.
    upstream.setBehavior({
      responseHeaders: {
        'x-provider-secret': OPENAI_KEY,
        'set-cookie': 'provider_session=1',
        'openai-organization': 'org-secret',
      },
    });
    try {
      for (const model of [GPT, CLAUDE]) {
        for (const endpoint of endpoints) {
          for (const stream of [false, true]) {
            const answer = await rawPost(endpoint.path, user.user_key, {
              ...endpoint.body(model, 'hole 13 headers'),
              stream,
            });
            expect(answer.status).toBe(200);
            for (const name of ['x-provider-secret', 'set-cookie', 'openai-organization'])
              expect(answer.headers.get(name), `${name} from ${endpoint.path} → ${model}`).toBeNull();
          }
        }
      }
    } finally {
      upstream.setBehavior({});
    }
    await settledHolds(user.id, refused + streamed + 8);
    const rows = await usageRows(user.user_key);
    expect(rows).toHaveLength(streamed + 8);
    expect(startMicros - (await balanceMicros(user.user_key))).toBe(
      rows.reduce((sum, row) => sum + parseCredits(-row.amount), 0n),
    );
    await expectMoneyOutcome(user, lossBefore);
  });

  // ─────────────────────────────────────────── hole 16 ──────────────────────────────────────────

  it('hole 16: 30 concurrent streams on a balance for ~4, the provider counting more input than estimated: nothing goes to sys:loss', async () => {
    const user = await customer('hole16');
    const lossBefore = await lossMicros();
    const prompts = Array.from(
      { length: 30 },
      (_, index) => `Hole sixteen probe ${index + 10}: a tokenizer of its own.`,
    );
    const request = (content: string) => ({ model: GPT, messages: [{ role: 'user' as const, content }] });
    const bound = boundRequestTokens('openai', request(prompts[0]!));
    const estimate = countRequestTokens('openai', request(prompts[0]!));
    // The provider's tokenizer counts half as much again as ours: more than estimated, within the bound.
    const providerInput = Math.ceil(estimate * 1.5);
    expect(providerInput).toBeGreaterThan(estimate);
    expect(providerInput).toBeLessThanOrEqual(bound);
    const fullHold = cost(GPT, { input_tokens: bound, output_tokens: 100 }).totalMicros;
    const startMicros = 4n * fullHold + fullHold / 3n;
    await setBalance(user.id, user.user_key, startMicros);

    const run = async (reportedInput: number) => {
      upstream.setBehavior({
        behavior: 'slow_stream',
        chunkDelayMilliseconds: 3,
        outputWordCount: 100,
        usage: { input_tokens: reportedInput },
      });
      try {
        const client = openai(user.user_key);
        return await within(
          Promise.all(
            prompts.map(async (content) => {
              try {
                let words = 0;
                for await (const chunk of await client.chat.completions.create({
                  ...request(content),
                  max_tokens: 100,
                  stream: true,
                }))
                  if (chunk.choices[0]?.delta?.content) words += 1;
                return words;
              } catch (error) {
                if (error instanceof OpenAI.APIError && error.status === 402) return null;
                throw error;
              }
            }),
          ),
          '30 concurrent streams',
          60_000,
        );
      } finally {
        upstream.setBehavior({});
      }
    };

    const outcomes = await run(providerInput);
    const answered = outcomes.filter((words): words is number => words !== null);
    expect(answered.length).toBeGreaterThanOrEqual(4);
    expect(answered.length).toBeLessThan(30);
    const holds = await settledHolds(user.id, answered.length);
    // Each answer is charged the provider's count exactly (it is within the bound), never above its hold.
    expect(holds.map((hold) => hold.captured_micros).sort()).toEqual(
      answered
        .map((words) => String(cost(GPT, { input_tokens: providerInput, output_tokens: words }).totalMicros))
        .sort(),
    );
    for (const hold of holds)
      expect(BigInt(hold.captured_micros!)).toBeLessThanOrEqual(BigInt(hold.amount_micros));
    const charged = holds.reduce((sum, hold) => sum + BigInt(hold.captured_micros!), 0n);
    expect(startMicros - (await balanceMicros(user.user_key))).toBe(charged);
    await expectMoneyOutcome(user, lossBefore);

    // A provider that reports 50× what the request can hold is billed at the bound, and flagged.
    await setBalance(user.id, user.user_key, startMicros);
    const flagged = await anomalies('input_above_bound');
    const lying = (await run(50 * bound)).filter((words): words is number => words !== null);
    expect(lying.length).toBeGreaterThanOrEqual(4);
    const lyingHolds = (await settledHolds(user.id, answered.length + lying.length)).slice(answered.length);
    expect(lyingHolds.map((hold) => hold.captured_micros).sort()).toEqual(
      lying
        .map((words) => String(cost(GPT, { input_tokens: bound, output_tokens: words }).totalMicros))
        .sort(),
    );
    expect(await anomalies('input_above_bound')).toBe(flagged + lying.length);
    await expectMoneyOutcome(user, lossBefore);
  });

  // ─────────────────────────────────────────── hole 17 ──────────────────────────────────────────

  it('hole 17: deeply nested content is a 400, a body over the gateway cap a 413 in each dialect, and a 15 MB body is metered by its bound', async () => {
    const user = await customer('hole17');
    const lossBefore = await lossMicros();
    const nested = `${'['.repeat(5_000)}${']'.repeat(5_000)}`;
    const openaiNested = await rawPost(
      '/v1/chat/completions',
      user.user_key,
      `{"model":"${GPT}","messages":[{"role":"user","content":[{"type":"text","text":"x","extra":${nested}}]}]}`,
    );
    expect(openaiNested.status).toBe(400);
    expect(openaiNested.body).toEqual({
      error: { message: expect.any(String), type: 'invalid_request', param: null, code: '400' },
    });
    const anthropicNested = await rawPost(
      '/v1/messages',
      user.user_key,
      `{"model":"${CLAUDE}","max_tokens":10,"messages":[{"role":"user","content":"x"}],"tools":[{"name":"f","input_schema":{"type":"object","default":${nested}}}]}`,
    );
    expect(anthropicNested.status).toBe(400);
    expect(anthropicNested.body).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', code: 'invalid_request', message: expect.any(String) },
    });

    // Over the gateway's 16 MiB cap: 413 in the endpoint's own dialect, before anything is held.
    const tooLarge = 'a'.repeat(17 * 1024 * 1024);
    const openaiLarge = await rawPost('/v1/chat/completions', user.user_key, {
      model: GPT,
      messages: [{ role: 'user', content: tooLarge }],
    });
    expect(openaiLarge.status).toBe(413);
    expect(openaiLarge.body).toEqual({
      error: { message: expect.any(String), type: 'payload_too_large', param: null, code: '413' },
    });
    const anthropicLarge = await rawPost('/v1/messages', user.user_key, {
      model: CLAUDE,
      max_tokens: 10,
      messages: [{ role: 'user', content: tooLarge }],
    });
    expect(anthropicLarge.status).toBe(413);
    expect(anthropicLarge.body).toEqual({
      type: 'error',
      error: { type: 'request_too_large', code: 'payload_too_large', message: expect.any(String) },
    });
    expect(await holdsOf(user.id)).toEqual([]);

    // 15 MB under the cap: held by its byte bound (no tokenizing on the way in), billed as reported.
    const big = 'lorem ipsum '.repeat(1_250_000);
    const messages = [{ role: 'user' as const, content: big }];
    const bound = boundRequestTokens('openai', { model: GPT, messages });
    expect(bound).toBeGreaterThanOrEqual(Buffer.byteLength(big));
    const startMicros = cost(GPT, { input_tokens: bound, output_tokens: 20 }).totalMicros + 1_000_000n;
    await setBalance(user.id, user.user_key, startMicros);
    upstream.queueBehavior({ usage: { input_tokens: 2_500_000, output_tokens: 5 } });
    const answer = await openai(user.user_key).chat.completions.create({
      model: GPT,
      messages,
      max_tokens: 20,
    });
    expect(answer.choices[0]!.message.content).toContain('Hello');
    const [hold] = await settledHolds(user.id, 1);
    expect(BigInt(hold!.amount_micros)).toBe(
      cost(GPT, { input_tokens: bound, output_tokens: 20 }).totalMicros,
    );
    const expected = cost(GPT, { input_tokens: 2_500_000, output_tokens: 5 }).totalMicros;
    expect(BigInt(hold!.captured_micros!)).toBe(expected);
    expect(startMicros - (await balanceMicros(user.user_key))).toBe(expected);
    await expectMoneyOutcome(user, lossBefore);
  });

  it('leaves the books clean after every attack: balanced, no hold open', async () => {
    const report = await auditLedger(server.database.db, server.clock);
    expect(report.problems).toEqual([]);
    expect(report.totalMicros).toBe(0n);
    const open = await server.database.db.query<{ count: string }>(
      "select count(*)::text as count from holds where status = 'held'",
    );
    expect(open[0]!.count).toBe('0');
  });
});
