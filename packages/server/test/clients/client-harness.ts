/**
 * What every client test needs: a Tollgate over real HTTP in front of the fake upstream (OpenAI and
 * Anthropic providers both pointing at it), an app with a referral share, funded customers, and the
 * check that a customer was charged exactly the usage price of every upstream call, with nothing
 * left held.
 */
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { quote } from '../../src/pricing/quote.ts';
import { formatMicros, parseCredits } from '../../src/shared/money.ts';
import { type FakeUpstream, type FakeUsage, startFakeUpstream } from '../fakes/fake-upstream.ts';
import type { TestBackend } from '../support/databases.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

/** The usage the fake reports for every call: small enough to sit inside any request's bounds. */
export const CLIENT_USAGE = { input_tokens: 12, output_tokens: 7, cached_input_tokens: 0 } as const;
const REFERRAL_RATE = 0.1;
const REFERRAL_PPM = 100_000n;

export interface ClientHarness {
  server: TestServer;
  upstream: FakeUpstream;
  /** A customer with the signup balance; `key` is the user key clients use as their API key. */
  customer(tag: string): Promise<{ id: string; key: string }>;
  balanceMicros(key: string): Promise<bigint>;
  /** What `usage` of `model` costs the customer (with the app's referral share). */
  price(model: string, usage: { input_tokens: number; output_tokens: number }): bigint;
  /** Credits on hold for the customer (0 once every call is resolved). */
  pendingMicros(customerId: string): Promise<bigint>;
  /** Sets the balance exactly, with a grant or an adjustment. */
  setBalance(customer: { id: string; key: string }, micros: bigint): Promise<void>;
  /**
   * Runs `work` and checks the customer paid exactly `CLIENT_USAGE` priced for `model`, once per
   * upstream call it made (at least one), and that no hold is left. Returns what `work` returned.
   */
  expectChargedPerCall<T>(
    customer: { id: string; key: string },
    model: string,
    work: () => Promise<T>,
  ): Promise<T>;
  close(): Promise<void>;
}

export async function startClientHarness(backend: TestBackend): Promise<ClientHarness> {
  const upstream = await startFakeUpstream({ usage: CLIENT_USAGE });
  const env = {
    OPENAI_BASE_URL: `${upstream.url}/v1`,
    OPENAI_API_KEY: 'sk-platform-openai',
    ANTHROPIC_BASE_URL: upstream.url,
    ANTHROPIC_API_KEY: 'sk-platform-anthropic',
    TOLLGATE_UPSTREAM_TIMEOUT_MS: '5000',
  };
  const server = await startTestServer(backend, { env, config: loadConfig(undefined, env) });
  const app = await server.createApp({ referral_rate: REFERRAL_RATE });

  async function balanceMicros(key: string): Promise<bigint> {
    const response = await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': key } });
    expect(response.status).toBe(200);
    return parseCredits(response.body.balance);
  }

  async function pendingMicros(customerId: string): Promise<bigint> {
    const response = await server.call('GET', `/v1/customers/${customerId}`, { key: app.secret_key });
    expect(response.status).toBe(200);
    return parseCredits(response.body.pending);
  }

  return {
    server,
    upstream,
    async customer(tag) {
      const created = await server.createCustomer(app.secret_key, `${tag}-${randomUUID()}`);
      return { id: created.id, key: created.user_key };
    },
    balanceMicros,
    price(model, usage) {
      return quote(
        server.tollgate.catalog.require(model),
        { usage: { ...usage, cached_input_tokens: 0 } },
        REFERRAL_PPM,
      ).totalMicros;
    },
    pendingMicros,
    async setBalance(customer, micros) {
      const delta = micros - (await balanceMicros(customer.key));
      if (delta === 0n) return;
      const response = await server.call('POST', `/v1/customers/${customer.id}/grants`, {
        key: app.secret_key,
        body: {
          amount: formatMicros(delta),
          source: delta > 0n ? 'promo' : 'adjustment',
          reason: 'test balance',
        },
      });
      expect(response.status).toBe(201);
    },
    async expectChargedPerCall(customer, model, work) {
      const before = await balanceMicros(customer.key);
      const callsBefore = upstream.requests.length;
      const result = await work();
      const calls = upstream.requests.slice(callsBefore).filter((request) => request.completed);
      expect(calls.length).toBeGreaterThan(0);
      const perCall = quote(
        server.tollgate.catalog.require(model),
        { usage: CLIENT_USAGE },
        REFERRAL_PPM,
      ).totalMicros;
      expect(before - (await balanceMicros(customer.key))).toBe(perCall * BigInt(calls.length));
      expect(await pendingMicros(customer.id)).toBe(0n);
      return result;
    },
    async close() {
      await server.close();
      await upstream.close();
    },
  };
}

export type { FakeUsage };
