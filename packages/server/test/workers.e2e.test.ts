/**
 * `tollgate serve --workers 2` on PostgreSQL, through the real binary: two worker processes share the
 * port and one database. Concurrent holds over two connections (one per worker) against 50 credits:
 * exactly 50 succeed and each worker served its half; a worker killed with SIGKILL is replaced and the
 * port keeps answering; SIGTERM drains both and the process exits 0 with the books audited clean.
 * PGlite refuses more than one worker with a usage error.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Client } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { systemClock } from '../src/shared/clock.ts';
import { openDatabase } from '../src/store/database.ts';
import { testBackends } from './support/databases.ts';
import { metricValue, waitFor } from './support/expectations.ts';
import { ADMIN_KEY } from './support/server.ts';

const BIN = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));
const START_TIMEOUT = 180_000;

interface Serve {
  child: ChildProcess;
  output(): string;
  done: Promise<number | null>;
}

function serve(args: string[], env: Record<string, string>): Serve {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '/tmp',
      LOG_LEVEL: 'warn',
      TOLLGATE_ADMIN_KEY: ADMIN_KEY,
      TOLLGATE_SECRET: 'workers-secret-0123456789abcdef',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
  });
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output: () => output, done };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function call(
  client: Client,
  method: string,
  path: string,
  key: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await client.request({
    method: method as 'GET' | 'POST',
    path,
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.body.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // /metrics is text
  }
  return { status: response.statusCode, body: parsed };
}

/** The POST /v1/holds requests the worker behind this connection counted, whatever their status. */
async function holdsCounted(client: Client): Promise<number> {
  const metrics = await call(client, 'GET', '/metrics', ADMIN_KEY);
  return metricValue(String(metrics.body), 'tollgate_http_requests_total', { route: '/v1/holds' });
}

const postgres = testBackends().find((backend) => backend.name === 'postgres');

describe.skipIf(!postgres)('tollgate serve --workers 2 on PostgreSQL', () => {
  const databaseName = `tw_${randomBytes(5).toString('hex')}`;
  let databaseUrl: string;
  let server: Serve;
  let origin: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    const admin = new pg.Client({ connectionString: postgres!.url });
    await admin.connect();
    await admin.query(`create database "${databaseName}"`);
    await admin.end();
    const url = new URL(postgres!.url!);
    url.pathname = `/${databaseName}`;
    databaseUrl = url.toString();
    const port = await freePort();
    origin = `http://127.0.0.1:${port}`;
    server = serve(['--workers', '2', '--port', String(port)], { DATABASE_URL: databaseUrl });
    await waitFor(
      () => /2 workers serving/.test(server.output()) || server.child.exitCode !== null,
      'two workers listening',
      START_TIMEOUT,
    );
    expect(server.output()).toMatch(/2 workers serving/);
  }, START_TIMEOUT + 10_000);

  afterAll(async () => {
    for (const client of clients) await client.close().catch(() => {});
    if (server && server.child.exitCode === null) {
      server.child.kill('SIGKILL');
      await server.done;
    }
    const admin = new pg.Client({ connectionString: postgres!.url });
    await admin.connect();
    await admin.query(`drop database if exists "${databaseName}" with (force)`);
    await admin.end();
  });

  it('serves holds from both workers, exactly as one server would; a killed worker is replaced; SIGTERM exits 0', async () => {
    // One connection each: the port hands consecutive connections to the workers in turn.
    clients.push(new Client(origin), new Client(origin));
    const [first, second] = clients as [Client, Client];
    const app = await call(first, 'POST', '/v1/apps', ADMIN_KEY, { name: 'Workers', referral_rate: 0.1 });
    expect(app.status).toBe(201);
    const secretKey: string = app.body.secret_key;
    const customer = await call(second, 'POST', '/v1/customers', secretKey, { external_id: 'worker-user' });
    expect(customer.status).toBe(201);
    const customerId: string = customer.body.id;
    const debit = await call(first, 'POST', `/v1/customers/${customerId}/grants`, secretKey, {
      amount: -450,
      source: 'adjustment',
      reason: 'leave 50',
    });
    expect(debit.body.balance).toBe(50);

    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, index) =>
        call(index % 2 === 0 ? first : second, 'POST', '/v1/holds', secretKey, {
          customer: customerId,
          model: 'fal-ai/flux/schnell',
          amount: 1,
        }),
      ),
    );
    expect(responses.filter((response) => response.status === 201)).toHaveLength(50);
    for (const response of responses) {
      if (response.status !== 201) expect(response.body.error.code).toBe('insufficient_credits');
    }
    // Each connection's worker counted its own 100: two processes served, not one.
    expect([await holdsCounted(first), await holdsCounted(second)]).toEqual([100, 100]);
    const view = await call(second, 'GET', `/v1/customers/${customerId}`, secretKey);
    expect(view.body).toMatchObject({ balance: 50, pending: 50, available: 0 });

    // Capture half, void the rest, through either worker.
    const held = responses.filter((response) => response.status === 201);
    const settled = await Promise.all(
      held.map((response, index) =>
        index % 2 === 0
          ? call(second, 'POST', `/v1/holds/${response.body.id}/capture`, secretKey, { amount: 1 })
          : call(first, 'POST', `/v1/holds/${response.body.id}/void`, secretKey, {}),
      ),
    );
    for (const response of settled) expect(response.status).toBe(200);
    const after = await call(first, 'GET', `/v1/customers/${customerId}`, secretKey);
    expect(after.body).toMatchObject({ balance: 25, pending: 0, available: 25 });

    // A worker that dies is replaced; the port keeps answering meanwhile.
    const pids = server
      .output()
      .match(/2 workers serving \(pids (\d+), (\d+)\)/)!
      .slice(1)
      .map(Number);
    process.kill(pids[0]!, 'SIGKILL');
    await waitFor(() => /started in its place/.test(server.output()), 'a replacement worker', START_TIMEOUT);
    const fresh = new Client(origin);
    clients.push(fresh);
    expect((await call(fresh, 'GET', '/healthz', ADMIN_KEY)).status).toBe(200);

    server.child.kill('SIGTERM');
    expect(await server.done).toBe(0);
    expect(server.output()).toMatch(/Stopped: requests finished/);

    const db = await openDatabase({ url: databaseUrl });
    try {
      const report = await auditLedger(db, systemClock, 3600);
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
    } finally {
      await db.close();
    }
  }, 240_000);
});

describe('tollgate serve: process settings', () => {
  it('refuses a heap growing percent that is not one, naming the variable, before it serves', async () => {
    const refused = serve(['--port', '0'], {
      TOLLGATE_DATA_DIR: 'memory://',
      TOLLGATE_HEAP_GROWING_PERCENT: 'lots',
    });
    expect(await refused.done).toBe(2);
    expect(refused.output()).toContain('TOLLGATE_HEAP_GROWING_PERCENT must be a whole number');
    expect(refused.output()).not.toContain('listening');
  }, 60_000);
});

describe('tollgate serve --workers on PGlite', () => {
  it('refuses more than one worker with a usage error naming PostgreSQL', async () => {
    const refused = serve(['--workers', '2', '--port', '0'], { TOLLGATE_DATA_DIR: 'memory://' });
    expect(await refused.done).toBe(2);
    expect(refused.output()).toContain('needs PostgreSQL');
  }, 60_000);
});
