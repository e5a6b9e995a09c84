/**
 * Tollgate servers as child processes (`fixtures/serve-shared-schema.mjs`), for the tests that need
 * real processes: several nodes on one database, a SIGKILL in the middle of work.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestDatabase } from './databases.ts';
import { ADMIN_KEY } from './server.ts';

const FIXTURE = fileURLToPath(new URL('../fixtures/serve-shared-schema.mjs', import.meta.url));
const SERVER_DIR = fileURLToPath(new URL('../..', import.meta.url));

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output: () => string;
}

/**
 * Starts `fixtures/serve-shared-schema.mjs`: on the PostgreSQL schema of `database`, or on the PGlite
 * folder `env.TOLLGATE_DATA_DIR` when `database` is null. `env` adds to (and overrides) the defaults.
 */
export async function startServerProcess(
  database: TestDatabase | null,
  env: Record<string, string> = {},
  startTimeoutMilliseconds = 45_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [FIXTURE], {
    cwd: SERVER_DIR,
    env: {
      ...process.env,
      DATABASE_URL: database?.url ?? '',
      TOLLGATE_TEST_SCHEMA: database?.schema ?? '',
      TOLLGATE_TEST_SWEEP_MS: '150',
      TOLLGATE_ADMIN_KEY: ADMIN_KEY,
      TOLLGATE_SECRET: 'multi-server-secret-0123456789abcdef',
      TOLLGATE_CONFIG: '',
      REDIS_URL: '',
      STRIPE_SECRET_KEY: '',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => {
    output += chunk;
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL'); // not left running behind a failed test
      reject(new Error(`server did not start in ${startTimeoutMilliseconds / 1000} s:\n${output}`));
    }, startTimeoutMilliseconds);
    let buffered = '';
    child.stdout!.on('data', (chunk) => {
      buffered += chunk;
      output += chunk;
      for (const line of buffered.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as { url?: string };
          if (parsed.url) {
            clearTimeout(timer);
            resolve(parsed.url);
          }
        } catch {
          // a partial line; wait for the rest
        }
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
  return { url, child, output: () => output };
}

export async function stopServerProcess(server: ServerProcess | undefined): Promise<void> {
  if (!server || server.child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

/** fetch against a server process with JSON in and out (text kept for `/metrics`). */
export async function callServer(
  server: ServerProcess,
  method: string,
  path: string,
  options: { key?: string; body?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body: any = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // metrics text
  }
  return { status: response.status, body, headers: response.headers };
}
