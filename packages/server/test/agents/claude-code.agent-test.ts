/**
 * Claude Code (`@anthropic-ai/claude-code`, `claude -p`) pointed at Tollgate with a user key, a fake
 * Anthropic provider behind it that refuses what the real API refuses (beta fields without their
 * beta header, a thinking budget not below `max_tokens`). Run with `npm run test:agents` (a large
 * install, kept out of `npm test`).
 *
 * For its default model and an explicit one, for a funded customer and one with little credit: every
 * request Claude Code sends gets a 2xx (a proxy between the two records each answer), and the customer
 * is charged exactly the usage price of what the provider reported.
 *
 * Claude Code's default model id is new with each release (`claude-opus-5-5` with 2.1.332) and not in
 * the built-in catalog: this server's config declares it (`models`, `include_default_models: true`),
 * as an operator would until a route or alias covers it.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load-config.ts';
import { boundRequestTokens } from '../../src/gateway/formats/index.ts';
import { auditLedger } from '../../src/ledger/audit.ts';
import { quote } from '../../src/pricing/quote.ts';
import { formatMicros } from '../../src/shared/money.ts';
import { type FakeUpstream, startFakeUpstream } from '../fakes/fake-upstream.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const CLAUDE = join(import.meta.dirname, '../../../../node_modules/.bin/claude');
/** The model Claude Code 2.1.332 asks for when given none. */
const DEFAULT_MODEL = 'claude-opus-5-5';
const EXPLICIT_MODEL = 'claude-sonnet-4-20250514';

interface Answered {
  method: string;
  path: string;
  status: number;
  model: string | undefined;
}

/** A pass-through proxy in front of Tollgate that records every answer Claude Code got. */
async function recordingProxy(
  target: string,
): Promise<{ url: string; answered: Answered[]; server: Server }> {
  const answered: Answered[] = [];
  const { hostname, port } = new URL(target);
  const server = createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      let model: string | undefined;
      try {
        model = JSON.parse(body.toString('utf8')).model;
      } catch {
        model = undefined;
      }
      const forwarded = httpRequest(
        { hostname, port, method: incoming.method, path: incoming.url, headers: incoming.headers },
        (response) => {
          answered.push({
            method: incoming.method ?? '',
            path: incoming.url ?? '',
            status: response.statusCode ?? 0,
            model,
          });
          outgoing.writeHead(response.statusCode ?? 502, response.headers);
          response.pipe(outgoing);
        },
      );
      forwarded.on('error', () => outgoing.destroy());
      forwarded.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, answered, server };
}

describe('Claude Code through Tollgate', () => {
  let server: TestServer;
  let upstream: FakeUpstream;
  let proxy: Awaited<ReturnType<typeof recordingProxy>>;
  let app: { id: string; secret_key: string };
  let home: string;
  /** The input bound of Claude Code's requests per model, from the funded runs. */
  const inputBounds = new Map<string, number>();

  beforeAll(async () => {
    upstream = await startFakeUpstream();
    const env = {
      OPENAI_BASE_URL: `${upstream.url}/v1`,
      OPENAI_API_KEY: 'sk-platform-openai',
      ANTHROPIC_BASE_URL: upstream.url,
      ANTHROPIC_API_KEY: 'sk-platform-anthropic',
      TOLLGATE_UPSTREAM_TIMEOUT_MS: '20000',
    };
    const config = parseConfig(
      {
        include_default_models: true,
        models: [
          {
            id: DEFAULT_MODEL,
            name: 'Claude Opus 5.5',
            type: 'language',
            provider: 'anthropic',
            context_window: 1_000_000,
            max_tokens: 128_000,
            // Anthropic's list price for Opus 5.5: $4 / $20 per million tokens, cache read $0.20.
            price: { input_per_million: '400', output_per_million: '2000', cached_input_per_million: '20' },
          },
        ],
      },
      env,
    );
    server = await startTestServer({ name: 'pglite' }, { env, config });
    app = await server.createApp({ referral_rate: 0 });
    proxy = await recordingProxy(server.url);
    home = mkdtempSync(join(tmpdir(), 'tollgate-claude-code-'));
  });
  afterAll(async () => {
    proxy?.server.close();
    await server?.close();
    await upstream?.close();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  async function balanceMicros(userKey: string): Promise<bigint> {
    const response = await server.call('GET', '/v1/credits/balance', { headers: { 'x-user-key': userKey } });
    return BigInt(Math.round(response.body.balance * 1_000_000));
  }

  async function customerWith(micros: bigint) {
    const created = await server.createCustomer(app.secret_key, `claude-code-${Math.random()}`);
    const delta = micros - (await balanceMicros(created.user_key));
    const response = await server.call('POST', `/v1/customers/${created.id}/grants`, {
      key: app.secret_key,
      body: { amount: formatMicros(delta), source: delta > 0n ? 'promo' : 'adjustment', reason: 'test' },
    });
    expect(response.status).toBe(201);
    return created;
  }

  async function runClaude(userKey: string, model?: string) {
    const args = ['-p', 'Say hello in five words.', ...(model ? ['--model', model] : [])];
    return promisify(execFile)(CLAUDE, args, {
      env: {
        PATH: process.env.PATH,
        HOME: home,
        ANTHROPIC_BASE_URL: proxy.url,
        // Sent as `x-api-key`; ANTHROPIC_AUTH_TOKEN would send `Authorization: Bearer` (Tollgate takes both).
        ANTHROPIC_API_KEY: userKey,
        // No traffic but the API calls: no telemetry, error reports or update checks.
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
        DISABLE_AUTOUPDATER: '1',
      },
      timeout: 120_000,
      // No stdin: `claude -p` would otherwise wait for piped input.
    }).catch((error: { code?: number; stdout?: string; stderr?: string }) => {
      throw new Error(`claude exited ${error.code}: ${error.stdout}\n${error.stderr}`);
    });
  }

  const cases = [
    { name: 'its default model, a funded customer', model: undefined, funded: true },
    { name: 'its default model, a customer with little credit', model: undefined, funded: false },
    { name: 'an explicit model, a funded customer', model: EXPLICIT_MODEL, funded: true },
    { name: 'an explicit model, a customer with little credit', model: EXPLICIT_MODEL, funded: false },
  ];

  for (const testCase of cases) {
    it(`${testCase.name}: every request answered 2xx, charged its usage price`, async () => {
      const catalogId = testCase.model ? `anthropic/${testCase.model}` : DEFAULT_MODEL;
      const model = server.tollgate.catalog.require(catalogId);
      // Little credit: the input bound of the request Claude Code sent this model in the funded run
      // (the same prompt and tools) and 3,000 output tokens, well below the model's limit.
      const start = testCase.funded
        ? 100_000_000_000n
        : quote(model, { usage: { input_tokens: inputBounds.get(catalogId)!, output_tokens: 3_000 } })
            .totalMicros;
      const user = await customerWith(start);
      const answeredBefore = proxy.answered.length;
      const upstreamBefore = upstream.requests.length;
      const { stdout } = await runClaude(user.user_key, testCase.model ? catalogId : undefined);
      expect(stdout).toContain('Hello from the fake upstream.');

      const answered = proxy.answered.slice(answeredBefore);
      const sent = upstream.requests.slice(upstreamBefore);
      console.log(
        `${testCase.name}: Claude Code sent`,
        answered.map((entry) => `${entry.method} ${entry.path} ${entry.model} → ${entry.status}`),
      );
      expect(answered.length).toBeGreaterThan(0);
      for (const entry of answered) expect(entry.status, `${entry.path} ${entry.model}`).toBeLessThan(300);
      // The betas Claude Code relies on reached the provider, and it accepted every request.
      for (const request of sent) {
        expect(request.headers['anthropic-beta']).toContain('context-management-');
        expect(request.completed).toBe(true);
      }
      const messages = sent.filter(
        (request) => new URL(request.path, upstream.url).pathname === '/v1/messages',
      );
      if (testCase.funded) {
        inputBounds.set(
          catalogId,
          Math.max(...messages.map((request) => boundRequestTokens('anthropic', request.body))),
        );
        console.log(
          `${catalogId}: request body ${messages[0]!.rawBody.length} bytes, input bound ${inputBounds.get(catalogId)} tokens`,
        );
      }
      if (!testCase.funded) {
        for (const request of messages) expect(request.body.max_tokens).toBeLessThan(model.maxTokens!);
      }
      // The fake reports 10 input tokens and one output token per word of its answer.
      const perCall = quote(model, { usage: { input_tokens: 10, output_tokens: 5 } }).totalMicros;
      expect(start - (await balanceMicros(user.user_key))).toBe(perCall * BigInt(messages.length));
      const holds = await server.database.db.query<{ status: string }>(
        'select status from holds where customer_id = $1',
        [user.id],
      );
      expect(holds.map((hold) => hold.status)).toEqual(messages.map(() => 'captured'));
    });
  }

  it('leaves the books balanced with nothing held', async () => {
    const report = await auditLedger(server.database.db, server.clock);
    expect(report.problems).toEqual([]);
  });
});
