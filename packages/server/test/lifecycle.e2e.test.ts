/**
 * The server's life as an operator sees it, through the real binary in child processes: a busy port
 * ends the start (exit 1, a clear message) instead of hanging; SIGTERM lets a stream in flight finish
 * and settles its hold before the process exits 0; one process per data folder (a clear "in use by
 * PID N", a stale lock taken over); `npm start` passes SIGTERM on to the server it runs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/store/database.ts';
import { type FakeUpstream, startFakeUpstream } from './fakes/fake-upstream.ts';
import { ADMIN_KEY } from './support/server.ts';

const BIN = fileURLToPath(new URL('../bin/tollgate.mjs', import.meta.url));
const REPOSITORY_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
// Each start compiles the server and creates a database: slow on a busy machine.
const START_TIMEOUT = 180_000;

interface Process {
  child: ChildProcess;
  output(): string;
  /** Resolves with the first match in stdout or stderr. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  done: Promise<{ code: number | null; stdout: string; stderr: string }>;
}

function run(command: string, args: string[], env: Record<string, string>, cwd?: string): Process {
  const child = spawn(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const watchers: Array<{ pattern: RegExp; resolve: (match: RegExpMatchArray) => void }> = [];
  const check = () => {
    for (const watcher of [...watchers]) {
      const match = (stdout + stderr).match(watcher.pattern);
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
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return {
    child,
    done,
    output: () => stdout + stderr,
    waitFor(pattern) {
      const match = (stdout + stderr).match(pattern);
      if (match) return Promise.resolve(match);
      return new Promise((resolve, reject) => {
        watchers.push({ pattern, resolve });
        done.then((result) =>
          reject(
            new Error(`exited (${result.code}) before printing ${pattern}\n${result.stdout}${result.stderr}`),
          ),
        );
      });
    },
  };
}

const tollgate = (args: string[], env: Record<string, string>) => run(process.execPath, [BIN, ...args], env);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function portAccepts(port: number): Promise<boolean> {
  try {
    await fetch(`http://127.0.0.1:${port}/healthz`);
    return true;
  } catch {
    return false;
  }
}

describe('server lifecycle (real processes)', () => {
  const folders: string[] = [];
  let upstream: FakeUpstream;

  beforeAll(async () => {
    upstream = await startFakeUpstream();
  });
  afterAll(async () => {
    await upstream?.close();
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  async function dataFolder(): Promise<string> {
    const folder = await mkdtemp(join(tmpdir(), 'tollgate-lifecycle-'));
    folders.push(folder);
    return join(folder, 'data');
  }

  it(
    'a busy port: exit 1 with a message that says so (no hang), and the data folder is released',
    async () => {
      const blocker: Server = createServer();
      await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
      const { port } = blocker.address() as { port: number };
      try {
        const dataDir = await dataFolder();
        const result = await tollgate(['serve', '--port', String(port)], {
          TOLLGATE_DATA_DIR: dataDir,
          TOLLGATE_ADMIN_KEY: ADMIN_KEY,
        }).done;
        expect(result.code).toBe(1);
        expect(result.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
        expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
        expect(existsSync(join(dataDir, 'tollgate.lock'))).toBe(false);
      } finally {
        await new Promise<void>((resolve) => blocker.close(() => resolve()));
      }
    },
    START_TIMEOUT,
  );

  it(
    'one process per data folder: a second server and audit say "in use by PID N"; a stale lock is taken over',
    async () => {
      const dataDir = await dataFolder();
      const env = { TOLLGATE_DATA_DIR: dataDir, TOLLGATE_ADMIN_KEY: ADMIN_KEY };
      const port = await freePort();
      const server = tollgate(['serve', '--port', String(port)], env);
      try {
        await server.waitFor(/Tollgate listening on/);
        const pid = server.child.pid!;
        const second = await tollgate(['serve', '--port', String(await freePort())], env).done;
        expect(second.code).toBe(1);
        expect(second.stderr).toContain(`the data folder ${dataDir} is in use by PID ${pid} (tollgate serve`);
        const audit = await tollgate(['audit'], env).done;
        expect(audit.code).toBe(1);
        expect(audit.stderr).toContain(`in use by PID ${pid}`);
        expect(audit.stderr).toContain('/v1/admin/audit');
        const migrate = await tollgate(['migrate'], env).done;
        expect(migrate.code).toBe(1);
        expect(migrate.stderr).toContain(`in use by PID ${pid}`);
      } finally {
        server.child.kill('SIGTERM');
        await server.done;
      }
      // A lock left by a process that died (a PID that is not running) does not block the next start.
      const exited = spawn(process.execPath, ['-e', '']);
      await new Promise((resolve) => exited.on('close', resolve));
      await writeFile(join(dataDir, 'tollgate.lock'), JSON.stringify({ pid: exited.pid, command: 'serve' }));
      const audit = await tollgate(['audit'], env).done;
      expect(audit.stderr).toBe('');
      expect(audit.code).toBe(0);
      expect(audit.stdout).toContain('OK — books balanced');
    },
    START_TIMEOUT,
  );

  it(
    'SIGTERM during a stream: the stream finishes, its hold is settled, the database closed, exit 0',
    async () => {
      const dataDir = await dataFolder();
      const port = await freePort();
      const server = tollgate(['serve', '--port', String(port)], {
        TOLLGATE_DATA_DIR: dataDir,
        TOLLGATE_ADMIN_KEY: ADMIN_KEY,
        TOLLGATE_SECRET: 'lifecycle-secret-0123456789',
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        OPENAI_API_KEY: 'sk-platform-openai',
      });
      await server.waitFor(/Tollgate listening on/);
      const base = `http://127.0.0.1:${port}`;
      const post = async (path: string, key: string, body: unknown) => {
        const response = await fetch(`${base}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
        return response.json() as Promise<Record<string, any>>;
      };
      const app = await post('/v1/apps', ADMIN_KEY, { name: 'lifecycle' });
      const customer = await post('/v1/customers', app.secret_key, { external_id: 'streamer' });

      upstream.setBehavior({ behavior: 'slow_stream', outputWordCount: 12, chunkDelayMilliseconds: 150 });
      const response = await fetch(`${base}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${customer.user_key}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'openai/gpt-4o',
          stream: true,
          max_tokens: 100,
          messages: [{ role: 'user', content: 'count to twelve' }],
        }),
      });
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const first = await reader.read();
      expect(first.done).toBe(false);
      server.child.kill('SIGTERM');
      await server.waitFor(/SIGTERM: stopping — no new requests; waiting for 1 in flight/);
      let text = new TextDecoder().decode(first.value);
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toContain('word12');
      expect(text).toContain('data: [DONE]');
      const exit = await server.done;
      expect(exit.code).toBe(0);
      expect(exit.stderr).toContain('Stopped: requests finished, holds settled, database closed.');
      expect(existsSync(join(dataDir, 'tollgate.lock'))).toBe(false);

      // The books after the stop: the stream's hold was captured, nothing is left held.
      const db = await openDatabase({ dataDir });
      try {
        const holds = await db.query<{ status: string }>('select status from holds where customer_id = $1', [
          customer.id,
        ]);
        expect(holds.map((hold) => hold.status)).toEqual(['captured']);
        const [row] = await db.query<{ held_micros: bigint; balance_micros: bigint }>(
          'select held_micros, balance_micros from customers where id = $1',
          [customer.id],
        );
        expect(BigInt(row!.held_micros)).toBe(0n);
        expect(BigInt(row!.balance_micros)).toBeLessThan(500_000_000n);
      } finally {
        await db.close();
        upstream.setBehavior({});
      }
    },
    START_TIMEOUT,
  );

  it(
    'SIGTERM with a stream longer than TOLLGATE_DRAIN_TIMEOUT_MS: cut at the bound, what it used is settled, nothing held, exit 0',
    async () => {
      const dataDir = await dataFolder();
      const port = await freePort();
      const server = tollgate(['serve', '--port', String(port)], {
        TOLLGATE_DATA_DIR: dataDir,
        TOLLGATE_ADMIN_KEY: ADMIN_KEY,
        TOLLGATE_SECRET: 'lifecycle-secret-0123456789',
        OPENAI_BASE_URL: `${upstream.url}/v1`,
        OPENAI_API_KEY: 'sk-platform-openai',
        TOLLGATE_DRAIN_TIMEOUT_MS: '1000',
      });
      await server.waitFor(/Tollgate listening on/);
      const base = `http://127.0.0.1:${port}`;
      const post = async (path: string, key: string, body: unknown) =>
        (
          await fetch(`${base}${path}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).json() as Promise<Record<string, any>>;
      const app = await post('/v1/apps', ADMIN_KEY, { name: 'lifecycle' });
      const customer = await post('/v1/customers', app.secret_key, { external_id: 'slow-streamer' });
      // 60 words at 500 ms each: half a minute, far past the 1 s bound.
      upstream.setBehavior({ behavior: 'slow_stream', outputWordCount: 60, chunkDelayMilliseconds: 500 });
      try {
        const response = await fetch(`${base}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${customer.user_key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'openai/gpt-4o',
            stream: true,
            max_tokens: 100,
            messages: [{ role: 'user', content: 'go' }],
          }),
        });
        const reader = response.body!.getReader();
        await reader.read();
        server.child.kill('SIGTERM');
        // The stream ends early (cut), well before its 30 s.
        const ended = (async () => {
          try {
            for (;;) if ((await reader.read()).done) return;
          } catch {
            // a cut connection
          }
        })();
        await ended;
        const exit = await server.done;
        expect(exit.code).toBe(0);
        expect(exit.stdout + exit.stderr).toMatch(/cutting 1 request/);
      } finally {
        upstream.setBehavior({});
      }
      const db = await openDatabase({ dataDir });
      try {
        const holds = await db.query<{ status: string }>('select status from holds where customer_id = $1', [
          customer.id,
        ]);
        expect(holds).toHaveLength(1);
        expect(holds[0]!.status).not.toBe('held');
        const [row] = await db.query<{ held_micros: bigint }>(
          'select held_micros from customers where id = $1',
          [customer.id],
        );
        expect(BigInt(row!.held_micros)).toBe(0n);
      } finally {
        await db.close();
      }
    },
    START_TIMEOUT,
  );

  it(
    '`npm start` passes SIGTERM to the server: the process ends and the port is free',
    async () => {
      const dataDir = await dataFolder();
      const port = await freePort();
      const npm = run(
        'npm',
        ['start'],
        {
          TOLLGATE_DATA_DIR: dataDir,
          TOLLGATE_ADMIN_KEY: ADMIN_KEY,
          PORT: String(port),
        },
        REPOSITORY_ROOT,
      );
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          npm.waitFor(/Tollgate listening on/),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`npm start did not listen; it printed:\n${npm.output()}`)),
              START_TIMEOUT - 10_000,
            );
          }),
        ]);
      } finally {
        clearTimeout(timer);
      }
      expect(await portAccepts(port)).toBe(true);
      npm.child.kill('SIGTERM');
      await npm.done;
      // The server itself is gone, not only npm: nothing answers, the folder is unlocked.
      await expect.poll(() => portAccepts(port), { timeout: 20_000 }).toBe(false);
      await expect.poll(() => existsSync(join(dataDir, 'tollgate.lock')), { timeout: 20_000 }).toBe(false);
    },
    START_TIMEOUT,
  );
});

describe('config that catches mistakes (real processes)', () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), 'tollgate-config-check-'));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('tollgate config check: every typo at once, with its path and the key it meant; exit 1', async () => {
    const path = join(folder, 'typos.yaml');
    await writeFile(
      path,
      [
        'singup_bonus: 100',
        'models:',
        '  - { id: my/model, type: language, provider: openai, upstream_modle: gpt-4o, price: { per_call: 1 } }',
        'holds: { timeout_seconds: -1 }',
      ].join('\n'),
    );
    const result = await tollgate(['config', 'check', path], {}).done;
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${path} has 3 problems:`);
    expect(result.stderr).toContain('singup_bonus: unknown key (did you mean "signup_bonus"?)');
    expect(result.stderr).toContain(
      'models[0].upstream_modle (model my/model): unknown key (did you mean "upstream_model"?)',
    );
    expect(result.stderr).toContain('holds.timeout_seconds: must be a positive whole number');
    // The same file stops `serve` before it opens anything.
    const serve = await tollgate(['serve', '--config', path], { TOLLGATE_DATA_DIR: join(folder, 'data') })
      .done;
    expect(serve.code).toBe(1);
    expect(serve.stderr).toContain('singup_bonus: unknown key');
  });

  it('tollgate config check: a valid file passes and the half-configurations are warned about', async () => {
    const path = join(folder, 'good.yaml');
    await writeFile(path, 'signup_bonus: 50\n');
    const result = await tollgate(['config', 'check', path], {
      OPENAI_API_KEY: 'sk-platform',
      STRIPE_SECRET_KEY: 'sk_test_123',
    }).done;
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`OK: ${path} is valid.`);
    expect(result.stdout).toMatch(
      /WARNING: OPENAI_API_KEY is set but provider "openai" has no base URL.*OPENAI_BASE_URL/,
    );
    expect(result.stdout).toMatch(/WARNING: STRIPE_SECRET_KEY is set without STRIPE_WEBHOOK_SECRET/);
    expect(result.stdout).not.toContain('sk-platform');
  });

  it('a DATABASE_URL that is not PostgreSQL is named, with what was expected (and never echoed)', async () => {
    for (const url of ['notaurl', 'mysql://root:hunter2@127.0.0.1:3306/app']) {
      const result = await tollgate(['migrate'], { DATABASE_URL: url }).done;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('DATABASE_URL must be a PostgreSQL connection URL such as postgres://');
      expect(result.stderr).not.toContain('hunter2');
    }
    const mysql = await tollgate(['migrate'], { DATABASE_URL: 'mysql://root@127.0.0.1/app' }).done;
    expect(mysql.stderr).toContain('got a mysql:// URL');
  });
});
