/**
 * The `tollgate` CLI as a user runs it: the real binary (`node bin/tollgate.mjs`) in a child process,
 * against a real server over HTTP. Checks the output people read, the JSON scripts parse, and the
 * exit codes (0 ok, 1 error, 2 usage, 3 insufficient credits or run limit).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tollgate } from '@tollgate/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { testBackends } from './support/databases.ts';
import { ADMIN_KEY, startTestServer, type TestServer } from './support/server.ts';

const BIN = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for ANSI colour codes
const ANSI = /\u001b\[/;

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface Running {
  child: ChildProcess;
  /** Resolves with the first match of `pattern` in stdout or stderr. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  done: Promise<Finished>;
}

/** Starts the CLI with only the environment given (plus PATH), never the test runner's TOLLGATE_*. */
function start(args: string[], env: Record<string, string> = {}, stdin?: string): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: Array<{ pattern: RegExp; resolve: (match: RegExpMatchArray) => void }> = [];
  // Human messages of `serve` go to stderr: watchers read both streams.
  const check = () => {
    for (const watcher of [...watchers]) {
      const match = `${stdout}\n${stderr}`.match(watcher.pattern);
      if (match) {
        watchers.splice(watchers.indexOf(watcher), 1);
        watcher.resolve(match);
      }
    }
  };
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
    check();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
    check();
  });
  child.stdin!.end(stdin ?? '');
  const done = new Promise<Finished>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    child,
    done,
    waitFor(pattern) {
      const match = `${stdout}\n${stderr}`.match(pattern);
      if (match) return Promise.resolve(match);
      return new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        done.then(({ stdout: out, stderr: err }) =>
          reject(new Error(`the CLI exited before printing ${pattern}\nstdout: ${out}\nstderr: ${err}`)),
        );
      });
    },
  };
}

function tollgate(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<Finished> {
  return start(args, env, stdin).done;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe.each(testBackends())('tollgate CLI on $name', (backend) => {
  let server: TestServer;
  let app: { id: string; secret_key: string; publishable_key: string };
  let sequence = 0;

  // fal, as far as key checks go: it accepts only the key the `keys` test stores.
  let fal: FakeUpstream;

  beforeAll(async () => {
    fal = await startFakeUpstream({ acceptedKeys: ['fal-key-0123456789abcdef'] });
    server = await startTestServer(backend, { env: { FAL_BASE_URL: fal.url } });
    app = await server.createApp({ name: 'cli app' });
  });
  afterAll(async () => {
    await server?.close();
    await fal?.close();
  });

  async function user() {
    sequence += 1;
    const customer = await server.createCustomer(app.secret_key, `cli-user-${sequence}`);
    return { ...customer, env: { TOLLGATE_URL: server.url, TOLLGATE_USER_KEY: customer.user_key } };
  }

  it('billing: balance, where it came from, no purchases yet — plain text when stdout is not a terminal', async () => {
    const { env } = await user();
    const result = await tollgate(['billing'], { ...env, FORCE_COLOR: '1' });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/Balance\s+500 credits/);
    expect(result.stdout).toMatch(/From\s+promo 500/);
    expect(result.stdout).toContain('No purchases yet');
    expect(result.stdout).not.toMatch(ANSI);
  });

  it('billing --json prints only JSON', async () => {
    const { id, env } = await user();
    const result = await tollgate(['billing', '--json'], env);
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout);
    expect(parsed).toMatchObject({ customer: id, balance: 500, available: 500, pending: 0, purchases: [] });
    expect(parsed.grants).toHaveLength(1);
  });

  it('billing buy --amount 25 --no-open: pays through the test-mode page, then prints the new balance', async () => {
    const { id, env } = await user();
    const run = start(['billing', 'buy', '--amount', '25', '--no-open'], env);
    const [, checkoutUrl] = await run.waitFor(/Pay here: (\S+)/);
    // The session's page, with the key that lets only its holder pay.
    expect(checkoutUrl).toMatch(/\/checkout\/test\/[^/]+\/[\w-]{32}$/);
    expect(run.child.exitCode).toBeNull(); // still waiting for the payment

    const page = await fetch(checkoutUrl!);
    expect(await page.text()).toContain('TEST MODE');
    const paid = await fetch(`${checkoutUrl}/pay`, {
      method: 'POST',
      headers: { accept: 'application/json' },
    });
    expect(paid.status).toBe(200);

    const result = await run.done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('$25.00 buys 2,500 credits');
    expect(result.stdout).toContain('Payment received: +2,500 credits');
    expect(result.stdout).toContain('Balance: 3,000 credits');

    const billing = JSON.parse((await tollgate(['billing', '--json'], env)).stdout);
    expect(billing.balance).toBe(3000);
    expect(billing.purchases).toEqual([
      expect.objectContaining({ customer: id, status: 'completed', amount_usd: 25, credits: 2500 }),
    ]);
    const human = await tollgate(['billing'], env);
    expect(human.stdout).toMatch(
      /Recent purchases\n.*DATE\s+PAID\s+CREDITS\s+BONUS\s+STATUS\n.*\$25\.00\s+2,500\s+0\s+completed/,
    );
  });

  it('billing buy --json keeps stdout to one JSON document (the URL goes to stderr)', async () => {
    const { env } = await user();
    const run = start(['billing', 'buy', '--amount', '50', '--json'], env);
    const url = await new Promise<string>((resolve) => {
      run.child.stderr!.on('data', (chunk: Buffer) => {
        const match = chunk.toString().match(/Pay here: (\S+)/);
        if (match) resolve(match[1]!);
      });
    });
    await fetch(`${url}/pay`, { method: 'POST', headers: { accept: 'application/json' } });
    const result = await run.done;
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.stdout);
    // $50 reaches the 10 % bonus tier: 5,000 + 500 credits.
    expect(parsed).toMatchObject({
      status: 'completed',
      balance: 6000,
      purchase: { credits: 5500, bonus_credits: 500 },
    });
  });

  it('billing buy below the minimum is refused by the server (exit 1)', async () => {
    const { env } = await user();
    const result = await tollgate(['billing', 'buy', '--amount', '2', '--no-open'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('minimum purchase is $5');
  });

  it('models --json parses to the catalog with prices', async () => {
    const result = await tollgate(['models', '--json'], { TOLLGATE_URL: server.url });
    expect(result.code).toBe(0);
    const catalog = JSON.parse(result.stdout);
    const schnell = catalog.data.find((model: { id: string }) => model.id === 'fal-ai/flux/schnell');
    expect(schnell).toMatchObject({ type: 'image', pricing: { per_call: 0.3 } });
    const human = await tollgate(['models', '--type', 'video'], { TOLLGATE_URL: server.url });
    expect(human.stdout).toMatch(/fal-ai\/veo3\.1\s+video\s+10 \/ second/);
    expect(human.stdout).not.toContain('fal-ai/flux/schnell');
  });

  it('the run limit refuses the third charge of a run (exit 3, run_limit_exceeded)', async () => {
    const { env } = await user();
    const runEnv = { ...env, TOLLGATE_MAX_CREDITS_PER_RUN: '25', TOLLGATE_RUN_ID: `run_${Date.now()}` };
    const first = await tollgate(['charge', '--model', 'fal-ai/flux/schnell', '--amount', '10'], runEnv);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(first.stdout).toContain('Charged 10 credits for fal-ai/flux/schnell. Balance: 490 credits');
    const second = await tollgate(
      ['charge', '--model', 'fal-ai/flux/schnell', '--amount', '10', '--json'],
      runEnv,
    );
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({
      status: 'captured',
      amount: 10,
      balance: 480,
      run_id: runEnv.TOLLGATE_RUN_ID,
    });

    const third = await tollgate(
      ['charge', '--model', 'fal-ai/flux/schnell', '--amount', '10', '--json'],
      runEnv,
    );
    expect(third.code).toBe(3);
    expect(JSON.parse(third.stdout).error).toMatchObject({ code: 'run_limit_exceeded', status: 402 });
    const human = await tollgate(['charge', '--model', 'fal-ai/flux/schnell', '--amount', '10'], runEnv);
    expect(human.code).toBe(3);
    expect(human.stderr).toContain('run limit reached');
    expect(human.stderr).toContain('TOLLGATE_MAX_CREDITS_PER_RUN=25');

    // A new run (no TOLLGATE_RUN_ID: one run per process) may spend again.
    const { TOLLGATE_RUN_ID: _drop, ...freshRun } = runEnv;
    expect(
      (await tollgate(['charge', '--model', 'fal-ai/flux/schnell', '--amount', '10'], freshRun)).code,
    ).toBe(0);

    const usage = await tollgate(['usage'], env);
    expect(usage.code).toBe(0);
    expect(usage.stdout).toMatch(/DATE\s+TYPE\s+MODEL\s+AMOUNT\s+BALANCE AFTER/);
    expect(usage.stdout.match(/usage\s+fal-ai\/flux\/schnell\s+-10/g)).toHaveLength(3);
    expect(JSON.parse((await tollgate(['usage', '--json'], env)).stdout).data).toHaveLength(3);
  });

  it('exit 0: ok; 1: server unreachable or key refused; 2: usage; 3: insufficient credits', async () => {
    const { env } = await user();
    const port = await closedPort();
    const [ok, unreachable, badKey, unknownCommand, unknownFlag, missingArgument, noKey, insufficient] =
      await Promise.all([
        tollgate(['models'], { TOLLGATE_URL: server.url }),
        tollgate(['billing'], { ...env, TOLLGATE_URL: `http://127.0.0.1:${port}` }),
        tollgate(['billing'], { ...env, TOLLGATE_USER_KEY: 'tg_uk_not_a_real_key_0000000000' }),
        tollgate(['frobnicate'], env),
        tollgate(['billing', '--frobnicate'], env),
        tollgate(['gift', 'redeem'], env),
        tollgate(['billing'], { TOLLGATE_URL: server.url }),
        tollgate(['charge', '--model', 'fal-ai/veo3.1', '--quantity', '100', '--json'], env),
      ]);
    expect(ok.code).toBe(0);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('cannot reach Tollgate');
    expect(badKey.code).toBe(1);
    expect(badKey.stderr).toContain('the server refused the key (invalid_user_key)');
    expect(unknownCommand.code).toBe(2);
    expect(unknownCommand.stderr).toContain('unknown command: frobnicate');
    expect(unknownFlag.code).toBe(2);
    expect(unknownFlag.stderr).toContain("unknown flag '--frobnicate'");
    expect(missingArgument.code).toBe(2);
    expect(missingArgument.stderr).toContain('missing argument CODE');
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain('TOLLGATE_USER_KEY');
    expect(insufficient.code).toBe(3);
    expect(JSON.parse(insufficient.stdout).error).toMatchObject({
      code: 'insufficient_credits',
      required: 1000,
      available: 500,
    });
  });

  it('--help for the tool and for each command exits 0', async () => {
    const [tool, buy] = await Promise.all([tollgate(['--help']), tollgate(['billing', 'buy', '--help'])]);
    expect(tool.code).toBe(0);
    expect(tool.stdout).toContain('billing buy');
    expect(tool.stdout).toContain('TOLLGATE_MAX_CREDITS_PER_RUN');
    expect(buy.code).toBe(0);
    expect(buy.stdout).toContain(
      'Usage: tollgate billing buy --amount AMOUNT [--currency CODE] | --pack CODE',
    );
    expect(buy.stdout).toContain('--no-open');
  });

  it('operator commands: apps create, gift create, grant; then the user redeems the gift', async () => {
    const operator = { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: ADMIN_KEY };
    const created = await tollgate(
      [
        'apps',
        'create',
        '--name',
        'From the CLI',
        '--referral-rate',
        '0.1',
        '--referral-rate-max',
        '0.3',
        '--json',
      ],
      operator,
    );
    expect(created.code).toBe(0);
    const newApp = JSON.parse(created.stdout);
    expect(newApp).toMatchObject({ name: 'From the CLI', referral_rate: 0.1, referral_rate_max: 0.3 });
    expect(newApp.secret_key).toMatch(/^tg_sk_/);

    const appKey = { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: newApp.secret_key };
    const customer = await server.createCustomer(newApp.secret_key, 'cli-gift-user');
    const gifts = await tollgate(['gift', 'create', '--amount', '40', '--count', '2', '--json'], appKey);
    expect(gifts.code).toBe(0);
    const { codes } = JSON.parse(gifts.stdout);
    expect(codes).toHaveLength(2);

    const userEnv = { TOLLGATE_URL: server.url, TOLLGATE_USER_KEY: customer.user_key };
    const redeemed = await tollgate(['gift', 'redeem', codes[0]], userEnv);
    expect(redeemed.code).toBe(0);
    expect(redeemed.stdout).toContain('Redeemed 40 credits.');
    expect(redeemed.stdout).toContain('Balance: 540 credits');
    const again = await tollgate(['gift', 'redeem', codes[0], '--json'], userEnv);
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error.code).toBe('already_redeemed');

    const granted = await tollgate(
      [
        'grant',
        '--customer',
        'cli-gift-user',
        '--amount',
        '15.5',
        '--reason',
        'support',
        '--idempotency-key',
        'cli-grant-1',
      ],
      appKey,
    );
    expect(granted.code).toBe(0);
    expect(granted.stdout).toContain('Granted 15.5 credits (promo) to cli-gift-user.');
    const rerun = await tollgate(
      [
        'grant',
        '--customer',
        'cli-gift-user',
        '--amount',
        '15.5',
        '--reason',
        'support',
        '--idempotency-key',
        'cli-grant-1',
      ],
      appKey,
    );
    expect(rerun.code).toBe(0);
    const balance = JSON.parse((await tollgate(['billing', '--json'], userEnv)).stdout);
    expect(balance.balance).toBe(555.5);

    const noOperatorKey = await tollgate(['grant', '--customer', 'x', '--amount', '1'], {
      TOLLGATE_URL: server.url,
    });
    expect(noOperatorKey.code).toBe(2);
  });

  it('grant --amount -5 takes credits back (a negative value is not mistaken for a flag)', async () => {
    const { id, env } = await user();
    const operator = { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: ADMIN_KEY };
    const debited = await tollgate(
      ['grant', '--customer', id, '--amount', '-5', '--reason', 'correction'],
      operator,
    );
    expect(debited.stderr).toBe('');
    expect(debited.code).toBe(0);
    expect(debited.stdout).toContain(`Debited 5 credits (adjustment) to ${id}.`);
    expect(JSON.parse((await tollgate(['billing', '--json'], env)).stdout).balance).toBe(495);
  });

  it("grant void writes off a grant's remainder once; a rerun writes off nothing", async () => {
    const { id, env } = await user();
    const operator = { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: ADMIN_KEY };
    const granted = await tollgate(
      ['grant', '--customer', id, '--amount', '12', '--reason', 'campaign', '--json'],
      operator,
    );
    expect(granted.code).toBe(0);
    const grantId = JSON.parse(granted.stdout).id;
    expect(grantId).toEqual(expect.any(String));
    const voided = await tollgate(['grant', 'void', grantId, '--reason', 'campaign ended'], operator);
    expect(voided.stderr).toBe('');
    expect(voided.code).toBe(0);
    expect(voided.stdout).toContain(`Voided 12 credits of ${grantId}.`);
    expect(JSON.parse((await tollgate(['billing', '--json'], env)).stdout).balance).toBe(500);
    const again = JSON.parse((await tollgate(['grant', 'void', grantId, '--json'], operator)).stdout);
    expect(again).toMatchObject({ id: grantId, status: 'voided', voided: 0 });
    expect(JSON.parse((await tollgate(['billing', '--json'], env)).stdout).balance).toBe(500);
    expect((await tollgate(['grant', 'void'], operator)).code).toBe(2);
  });

  it('gift codes created with the admin key are redeemable by a user of any app', async () => {
    const operator = { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: ADMIN_KEY };
    const created = await tollgate(
      ['gift', 'create', '--amount', '7', '--max-redemptions', '2', '--json'],
      operator,
    );
    expect(created.code).toBe(0);
    const [code] = JSON.parse(created.stdout).codes;
    const otherApp = await server.createApp({ name: 'another app' });
    const first = await user();
    const second = await server.createCustomer(otherApp.secret_key, 'gift-other-app');
    const redeemed = await tollgate(['gift', 'redeem', code, '--json'], first.env);
    expect(redeemed.code).toBe(0);
    expect(JSON.parse(redeemed.stdout)).toMatchObject({ amount: 7, balance: 507 });
    const again = await tollgate(['gift', 'redeem', code, '--json'], {
      TOLLGATE_URL: server.url,
      TOLLGATE_USER_KEY: second.user_key,
    });
    expect(again.code).toBe(0);
    // An app's own codes stay its own.
    const appCodes = await tollgate(['gift', 'create', '--amount', '1', '--json'], {
      TOLLGATE_URL: server.url,
      TOLLGATE_API_KEY: otherApp.secret_key,
    });
    const [appCode] = JSON.parse(appCodes.stdout).codes;
    const foreign = await tollgate(['gift', 'redeem', appCode, '--json'], first.env);
    expect(foreign.code).toBe(1);
    expect(JSON.parse(foreign.stdout).error.code).toBe('not_found');
  });

  it('models | head: the reader leaving early is not an error (no EPIPE stack trace)', async () => {
    const run = start(['models'], { TOLLGATE_URL: server.url });
    // The reader is gone before the first line: every write the CLI makes meets a closed pipe.
    run.child.stdout!.destroy();
    const result = await run.done;
    expect(result.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(result.code).toBe(0);
  });

  it('the client’s admin.audit() reads the books over HTTP', async () => {
    const admin = new Tollgate({ baseUrl: server.url, apiKey: ADMIN_KEY });
    const report = await admin.audit();
    expect(report).toMatchObject({ object: 'audit', ok: true, total_micros: '0' });
    expect(report.customers).toBeGreaterThan(0);
    const appClient = new Tollgate({ baseUrl: server.url, apiKey: app.secret_key });
    await expect(appClient.audit()).rejects.toMatchObject({ code: 'forbidden' });
  });

  it('keys set (from stdin), list and remove: the user’s own provider key, masked', async () => {
    const { env } = await user();
    const set = await tollgate(['keys', 'set', 'fal'], env, 'fal-key-0123456789abcdef\n');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('Stored fal key');
    expect(set.stdout).not.toContain('fal-key-0123456789abcdef');
    const list = JSON.parse((await tollgate(['keys', 'list', '--json'], env)).stdout);
    expect(list.data).toEqual([expect.objectContaining({ provider: 'fal' })]);
    expect(JSON.stringify(list)).not.toContain('0123456789abcdef');
    const removed = await tollgate(['keys', 'remove', 'fal'], env);
    expect(removed.code).toBe(0);
    const missing = await tollgate(['keys', 'remove', 'fal', '--json'], env);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.code).toBe('not_found');
  });

  it('keys set with a key the provider refuses: says so, stores nothing, and work is still paid with credits', async () => {
    const { env } = await user();
    const refused = await tollgate(['keys', 'set', 'fal', '--key', 'fal-made-up-key-42424242'], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('fal did not accept that key, so it was not stored');
    expect(refused.stderr).not.toContain('fal-made-up-key-42424242');
    const asJson = await tollgate(['keys', 'set', 'fal', '--key', 'fal-made-up-key-42424242', '--json'], env);
    expect(JSON.parse(asJson.stdout).error).toMatchObject({
      code: 'invalid_request',
      reason: 'provider_key_rejected',
    });
    expect(JSON.parse((await tollgate(['keys', 'list', '--json'], env)).stdout).data).toEqual([]);
    const charged = await tollgate(['charge', '--model', 'fal-ai/flux/schnell', '--json'], env);
    expect(charged.code).toBe(0);
    expect(JSON.parse(charged.stdout)).toMatchObject({ funding: 'credits', amount: 0.3 });
    expect(JSON.parse((await tollgate(['billing', '--json'], env)).stdout).balance).toBe(499.7);
  });

  it('webhooks create, list, deliveries and replay with the app key', async () => {
    const app = await server.createApp();
    const appKey = { TOLLGATE_URL: server.url, TOLLGATE_API_KEY: app.secret_key };
    const created = await tollgate(
      [
        'webhooks',
        'create',
        '--endpoint-url',
        'https://hooks.example/tollgate',
        '--events',
        'purchase.completed,balance.low',
      ],
      appKey,
    );
    expect(created.code, `${created.stdout}${created.stderr}`).toBe(0);
    expect(created.stdout).toMatch(/Signing secret\s+whsec_\w+\s+shown only now/);
    const listed = JSON.parse((await tollgate(['webhooks', 'list', '--json'], appKey)).stdout);
    expect(listed.data).toMatchObject([
      {
        url: 'https://hooks.example/tollgate',
        events: ['purchase.completed', 'balance.low'],
        enabled: true,
      },
    ]);
    expect(listed.data[0].secret).toBeUndefined();
    const dead = await tollgate(['webhooks', 'deliveries', '--status', 'dead', '--json'], appKey);
    expect(JSON.parse(dead.stdout).data).toEqual([]);
    expect((await tollgate(['webhooks', 'replay'], appKey)).code).toBe(2);
    const unknown = await tollgate(['webhooks', 'replay', '--event', 'evt_nope', '--json'], appKey);
    expect(unknown.code).toBe(1);
    expect(JSON.parse(unknown.stdout).error.code).toBe('not_found');
  });
});

describe('tollgate serve says how it sells', () => {
  /** Starts `tollgate serve` on its own embedded database, waits for its payments line, stops it. */
  async function paymentsLine(args: string[], env: Record<string, string> = {}): Promise<string> {
    const dataDir = await mkdtemp(join(tmpdir(), 'tollgate-serve-'));
    const port = await closedPort();
    const run = start(['serve', '--port', String(port), ...args], {
      TOLLGATE_DATA_DIR: dataDir,
      TOLLGATE_ADMIN_KEY: ADMIN_KEY,
      LOG_LEVEL: 'warn',
      ...env,
    });
    try {
      const [line] = await run.waitFor(/^(TEST MODE|Payments)[^\n]*$/m);
      return line;
    } finally {
      run.child.kill('SIGTERM');
      await run.done;
      await rm(dataDir, { recursive: true, force: true });
    }
  }

  // Each start compiles the server and creates a database: slow on a busy machine.
  const START_TIMEOUT = 150_000;

  it(
    'on loopback without Stripe keys: one TEST MODE line',
    async () => {
      const line = await paymentsLine([]);
      expect(line).toMatch(/^TEST MODE: payments are simulated .*loopback only/);
    },
    START_TIMEOUT,
  );

  it(
    'beyond loopback without the switch: payments are OFF, and how to turn them on',
    async () => {
      const line = await paymentsLine(['--host', '0.0.0.0']);
      expect(line).toMatch(
        /^Payments are OFF: .*listens beyond loopback.*STRIPE_SECRET_KEY.*TOLLGATE_TEST_MODE=1/,
      );
    },
    START_TIMEOUT,
  );

  it(
    'beyond loopback with TOLLGATE_TEST_MODE=1: TEST MODE, and why',
    async () => {
      const line = await paymentsLine(['--host', '0.0.0.0'], { TOLLGATE_TEST_MODE: '1' });
      expect(line).toMatch(/^TEST MODE: .*TOLLGATE_TEST_MODE is on/);
    },
    START_TIMEOUT,
  );
});
