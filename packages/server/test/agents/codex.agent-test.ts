/**
 * The Codex CLI (`codex exec`) against Tollgate and the fake upstream, with a custom model provider
 * pointing at Tollgate's `/v1` (`wire_api = "responses"`) and a user key as its API key: with its
 * default model and an explicit one, for a funded customer and for one with little credit. Every
 * request it sends must get a 2xx, each charged exactly its usage price, nothing left held.
 *
 * Codex is a large install (a ~400 MB native binary from the npm registry), so this is not part of
 * `npm test`: `npm run test:agents` installs the pinned version once into node_modules/.cache and runs it
 * (or set CODEX_BIN to a codex binary).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ClientHarness, startClientHarness } from '../clients/client-harness.ts';

const run = promisify(execFile);
const CODEX_VERSION = '0.169.0';
const MODEL = 'openai/gpt-4o-mini';
const ANTHROPIC_MODEL = 'anthropic/claude-sonnet-4-20250514';
const CACHE = resolve('node_modules/.cache/tollgate-agents');

async function codexBinary(): Promise<string> {
  if (process.env.CODEX_BIN) return process.env.CODEX_BIN;
  const bin = join(CACHE, 'node_modules/.bin/codex');
  if (!existsSync(bin)) {
    mkdirSync(CACHE, { recursive: true });
    await run(
      'npm',
      ['install', '--no-audit', '--no-fund', '--prefix', CACHE, `@openai/codex@${CODEX_VERSION}`],
      {
        timeout: 600_000,
      },
    );
  }
  return bin;
}

describe('Codex CLI through Tollgate', () => {
  let harness: ClientHarness;
  let codex: string;
  beforeAll(async () => {
    codex = await codexBinary();
    harness = await startClientHarness({ name: 'pglite' });
  }, 700_000);
  afterAll(async () => {
    await harness?.close();
  });

  async function codexExec(key: string, extra: string[] = [], baseUrl = `${harness.server.url}/v1`) {
    // Not under /tmp: codex refuses to set up its helpers in a temporary directory.
    mkdirSync(join(CACHE, 'homes'), { recursive: true });
    const home = mkdtempSync(join(CACHE, 'homes', 'codex-home-'));
    const work = mkdtempSync(join(tmpdir(), 'codex-work-'));
    writeFileSync(
      join(home, 'config.toml'),
      [
        'model_provider = "tollgate"',
        `model = "${MODEL}"`,
        // Web search reads pages of unknown size into the context: no hold could cover it (a 400).
        'web_search = "disabled"',
        '[model_providers.tollgate]',
        'name = "Tollgate"',
        `base_url = "${baseUrl}"`,
        'env_key = "TOLLGATE_USER_KEY"',
        'wire_api = "responses"',
        '',
      ].join('\n'),
    );
    const sent = harness.upstream.requests.length;
    // stdin closed: `codex exec` otherwise waits for more prompt on it.
    const child = spawn(
      codex,
      ['exec', '--skip-git-repo-check', '--color', 'never', ...extra, 'Say hello.'],
      {
        cwd: work,
        env: { ...process.env, CODEX_HOME: home, TOLLGATE_USER_KEY: key },
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 90_000,
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const code = await new Promise<number | null>((done) => child.on('close', done));
    return { code, stdout, stderr, requests: harness.upstream.requests.slice(sent) };
  }

  it('codex exec answers with the configured model; every request a 2xx, each charged exactly', async () => {
    const customer = await harness.customer('codex');
    const result = await harness.expectChargedPerCall(customer, MODEL, () => codexExec(customer.key));
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Hello from the fake upstream.');
    expect(result.requests.length).toBeGreaterThan(0);
    for (const request of result.requests) {
      expect(request.path).toBe('/v1/responses');
      expect(request.completed).toBe(true);
      expect(request.body.model).toBe('gpt-4o-mini');
    }
    expect(result.stderr).not.toMatch(/ERROR|error sending request|retrying/i);
  });

  it('codex exec with an explicit model (-m) and a customer with little credit: the output limit is lowered, no request refused', async () => {
    const customer = await harness.customer('codex-poor');
    // Room for the whole prompt (its bytes bound the input) and a short answer, not the model's 16,384.
    const probe = await codexExec(customer.key, ['-m', MODEL]);
    const promptBytes = Math.max(...probe.requests.map((request) => Buffer.byteLength(request.rawBody)));
    await harness.setBalance(
      customer,
      harness.price(MODEL, { input_tokens: promptBytes + 2_000, output_tokens: 400 }),
    );
    const result = await harness.expectChargedPerCall(customer, MODEL, () =>
      codexExec(customer.key, ['-m', MODEL]),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Hello from the fake upstream.');
    for (const request of result.requests) {
      expect(request.completed).toBe(true);
      expect(request.body.max_output_tokens).toBeGreaterThanOrEqual(16);
      expect(request.body.max_output_tokens).toBeLessThan(16_384);
    }
    expect(result.stderr).not.toMatch(/ERROR|retrying/i);
  });

  it('codex exec on an Anthropic-format model: its Responses requests are translated to Messages, sub-agent tool namespaces flattened, every request a 2xx, each charged exactly', async () => {
    const customer = await harness.customer('codex-anthropic');
    const result = await harness.expectChargedPerCall(customer, ANTHROPIC_MODEL, () =>
      codexExec(customer.key, ['-m', ANTHROPIC_MODEL]),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('Hello from the fake upstream.');
    expect(result.requests.length).toBeGreaterThan(0);
    for (const request of result.requests) {
      expect(request.path).toBe('/v1/messages');
      expect(request.completed).toBe(true);
      const names: string[] = (request.body.tools ?? []).map((tool: { name: string }) => tool.name);
      for (const name of names) expect(name).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
      // Codex sends its sub-agent tools as a namespace (was refused with a 400 on this model).
      expect(names.some((name) => name.includes('__'))).toBe(true);
    }
    expect(result.stderr).not.toMatch(/ERROR|error sending request|retrying/i);
  });
});
