/**
 * compose.yaml's deployment without Docker: the nodes' environment read from compose.yaml, one new
 * PostgreSQL database, one Redis, `tollgate migrate` once, then two `tollgate serve` processes (the
 * built command) behind a round-robin proxy. Through the proxy: one app, one customer, concurrent holds
 * against a small balance (exactly what it affords succeeds, whichever node took each request), both
 * nodes serving, the rate-limit buckets in the shared Redis; then both nodes stop and `tollgate audit`
 * finds the books clean.
 *
 * Needs PostgreSQL (TEST_DATABASE_URL) and a `redis-server` binary; skipped without them.
 */
import { type ChildProcess, execFile, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
// @ts-expect-error: a plain JavaScript module without declarations
import { startProxy } from '../../../bench/gateway/proxy.mjs';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));
const ADMIN_KEY = 'tg_admin_two_node_0123456789';
const postgresUrl = process.env.TEST_DATABASE_URL;
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const address = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** The environment compose.yaml gives each node, with the services' addresses replaced by local ones. */
function nodeEnvironment(local: Record<string, string>): Record<string, string> {
  const compose = parse(readFileSync(`${ROOT}compose.yaml`, 'utf8'), { merge: true });
  const environment: Record<string, string> = compose.services['tollgate-1'].environment;
  expect(compose.services['tollgate-2'].environment).toEqual(environment);
  const resolved: Record<string, string> = {};
  for (const [name, value] of Object.entries(environment)) {
    // ${NAME:-default} and ${NAME:?message}: the value given here, else the default (empty when none).
    resolved[name] = String(value).replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_, key, fallback) =>
      String(local[key] ?? fallback ?? ''),
    );
  }
  return { ...resolved, ...local };
}

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

interface Node {
  child: ChildProcess;
  url: string;
  output: () => string;
}

describe.skipIf(!postgresUrl || !hasRedis)(
  'compose.yaml without Docker: two nodes, one database, one Redis',
  () => {
    const database = `tg_two_node_${randomBytes(4).toString('hex')}`;
    let redis: ChildProcess;
    let redisPort: number;
    let environment: Record<string, string>;
    let nodes: Node[] = [];
    let proxy: { url: string; counts: number[]; close(): Promise<void> };

    async function admin(sql: string) {
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        await client.query(sql);
      } finally {
        await client.end();
      }
    }

    function tollgate(args: string[]) {
      return run(process.execPath, [BIN, ...args], { env: environment, cwd: ROOT });
    }

    async function startNode(): Promise<Node> {
      const port = await freePort();
      const child = spawn(process.execPath, [BIN, 'serve'], {
        env: { ...environment, HOST: '127.0.0.1', PORT: String(port) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout!.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr!.on('data', (chunk) => {
        output += chunk;
      });
      const url = `http://127.0.0.1:${port}`;
      // Ready when /readyz answers 200 (database and Redis reachable); a node that exits fails at once.
      const deadline = Date.now() + 60_000;
      while ((await fetch(`${url}/readyz`).catch(() => null))?.status !== 200) {
        if (child.exitCode !== null) throw new Error(`node exited:\n${output}`);
        if (Date.now() > deadline) throw new Error(`node not ready in 60 s:\n${output}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return { child, url, output: () => output };
    }

    async function stopNode(node: Node) {
      if (node.child.exitCode !== null) return;
      const exited = new Promise((resolve) => node.child.once('exit', resolve));
      node.child.kill('SIGTERM');
      await exited;
    }

    async function call(
      path: string,
      options: { method?: string; key?: string; userKey?: string; body?: unknown } = {},
    ) {
      const headers: Record<string, string> = {};
      if (options.key) headers.authorization = `Bearer ${options.key}`;
      if (options.userKey) headers['x-user-key'] = options.userKey;
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      const response = await fetch(`${proxy.url}${path}`, {
        method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
      });
      return { status: response.status, body: (await response.json()) as any };
    }

    beforeAll(async () => {
      await admin(`create database ${database}`);
      redisPort = await freePort();
      redis = spawn('redis-server', ['--port', String(redisPort), '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      environment = nodeEnvironment({
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        DATABASE_URL: withDatabase(postgresUrl!, database),
        REDIS_URL: `redis://127.0.0.1:${redisPort}`,
        TOLLGATE_ADMIN_KEY: ADMIN_KEY,
        TOLLGATE_SECRET: 'two-node-secret-0123456789abcdef',
        LOG_LEVEL: 'warn',
      });
      // compose.yaml's `migrate` service, then its two nodes.
      const { stdout } = await tollgate(['migrate']);
      expect(stdout).toMatch(/Applied: 0001/);
      nodes = await Promise.all([startNode(), startNode()]);
      proxy = await startProxy({ targets: nodes.map((node) => node.url) });
    }, 180_000);

    afterAll(async () => {
      await proxy?.close();
      await Promise.all(nodes.map(stopNode));
      redis?.kill('SIGTERM');
      await admin(`drop database if exists ${database} with (force)`);
    });

    it('serves through either node: credits stay consistent, rate limits live in Redis, the audit is clean', async () => {
      for (const node of nodes) {
        const ready = await (await fetch(`${node.url}/readyz`)).json();
        expect(ready).toEqual({ status: 'ready', checks: { database: 'ok', redis: 'ok' } });
      }
      const app = await call('/v1/apps', { key: ADMIN_KEY, body: { name: 'two nodes', referral_rate: 0.1 } });
      expect(app.status).toBe(201);
      const secretKey = app.body.secret_key as string;
      const customer = await call('/v1/customers', { key: secretKey, body: { external_id: 'shared' } });
      expect(customer.status).toBe(201);
      const customerId = customer.body.id as string;
      const userKey = customer.body.user_key as string;
      // Leave exactly 20 credits, whatever the signup bonus was.
      const adjust = await call(`/v1/customers/${customerId}/grants`, {
        key: secretKey,
        body: { amount: 20 - customer.body.balance, source: 'adjustment', reason: 'leave 20' },
      });
      expect(adjust.body.balance).toBe(20);

      const holds = await Promise.all(
        Array.from({ length: 60 }, () =>
          call('/v1/holds', {
            key: secretKey,
            body: { customer: customerId, model: 'fal-ai/flux/schnell', amount: 1 },
          }),
        ),
      );
      const held = holds.filter((response) => response.status === 201);
      expect(held).toHaveLength(20);
      for (const response of holds) if (response.status !== 201) expect(response.status).toBe(402);
      const captures = await Promise.all(
        held.map((response) => call(`/v1/holds/${response.body.id}/capture`, { key: secretKey, body: {} })),
      );
      for (const capture of captures) expect(capture.status).toBe(200);

      // Every node sees the same balance, and the user-key requests drew from buckets in Redis.
      for (const node of nodes) {
        const response = await fetch(`${node.url}/v1/credits/balance`, {
          headers: { 'x-user-key': userKey },
        });
        expect(((await response.json()) as { balance: number }).balance).toBe(0);
      }
      const keys = spawnSync('redis-cli', ['-p', String(redisPort), '--scan'], { encoding: 'utf8' }).stdout;
      expect(keys.trim().length).toBeGreaterThan(0);
      expect(Math.min(...proxy.counts)).toBeGreaterThan(10);

      await Promise.all(nodes.map(stopNode));
      const audit = await tollgate(['audit']);
      expect(audit.stdout).toContain('OK — books balanced');
    });
  },
);
