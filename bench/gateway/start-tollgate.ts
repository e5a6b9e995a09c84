/**
 * Starts a Tollgate for the gateway benchmark: providers pointed at the mock upstream, a huge rate
 * limit, one app and one customer with plenty of credits. Every request it serves is metered through
 * ledger holds (hold before, capture after). Prints `READY <url> <user key>` and writes the key and
 * the pid to files, then serves until SIGINT/SIGTERM, when it prints what the ledger recorded.
 *
 *   BENCH_BACKEND=pglite|postgres  DATABASE_URL=…  PORT=18090  UPSTREAM=http://127.0.0.1:18080
 *   KEY_FILE=/tmp/gw-bench/run/tollgate.key  PID_FILE=/tmp/gw-bench/run/tollgate.pid
 *   BENCH_CUSTOMERS=N: N customers (one key a line in KEY_FILE), default 1 (one hot account)
 *   BENCH_WORKERS=N (PostgreSQL): the server is the real `tollgate serve --workers N` (the built
 *   dist/, `npm run build`) on a database of its own, set up here first; PID_FILE then names this
 *   process, whose CPU figure (load.mjs) adds up its children: the supervisor and every worker.
 *   BENCH_NODE_ARGS: node flags for those served processes (`--cpu-prof --cpu-prof-dir=DIR` profiles
 *   the built server, whose bundle keeps readable line numbers).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createTollgate } from '../../packages/server/src/app.ts';
import { tuneHeap } from '../../packages/server/src/cli/heap.ts';
import { loadConfig } from '../../packages/server/src/config/load-config.ts';
import { auditLedger } from '../../packages/server/src/ledger/audit.ts';
import { unwrap } from '../../packages/server/src/ledger/ledger.ts';
import { systemClock } from '../../packages/server/src/shared/clock.ts';
import { openDatabase } from '../../packages/server/src/store/database.ts';

// The heap is sized as `tollgate serve` sizes it (cli/heap.ts); TOLLGATE_HEAP_GROWING_PERCENT=0 measures
// V8's own heuristics instead.
tuneHeap(process.env);
const backend = process.env.BENCH_BACKEND ?? 'pglite';
const upstream = process.env.UPSTREAM ?? 'http://127.0.0.1:18080';
const port = Number(process.env.PORT ?? 18090);
const env: Record<string, string | undefined> = {
  OPENAI_BASE_URL: `${upstream}/v1`,
  OPENAI_API_KEY: 'sk-mock',
  ANTHROPIC_BASE_URL: upstream,
  ANTHROPIC_API_KEY: 'sk-mock',
  TOLLGATE_ADMIN_KEY: 'bench-admin-key',
  TOLLGATE_SECRET: 'bench-secret-0123456789abcdef',
};
const config = loadConfig(undefined, env);
config.rateLimits.requestsPerMinute = 1_000_000_000;

const serverUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const workers = process.env.BENCH_WORKERS ? Number(process.env.BENCH_WORKERS) : null;
if (workers !== null && backend !== 'postgres') throw new Error('BENCH_WORKERS needs BENCH_BACKEND=postgres');
const schema = `bench_${randomBytes(4).toString('hex')}`;
// `tollgate serve` uses its database's default schema: with workers, a database of its own.
const databaseUrl = workers === null ? serverUrl : await createDatabase(serverUrl, schema);
const database =
  backend === 'postgres'
    ? await openDatabase({ url: databaseUrl, schema: workers === null ? schema : undefined, poolSize: 16 })
    : await openDatabase({});
const tollgate = await createTollgate({ config, env, database, logger: false, announce: () => {} });
const app = await tollgate.services.apps.create({
  name: 'bench',
  referralRatePpm: 100_000n,
  allowedModels: null,
});
// BENCH_CUSTOMERS=N: N customers, and the key file one user key a line (load.mjs gives each client one
// in turn): calls spread over accounts instead of all on one hot account.
const userKeys: string[] = [];
for (let index = 0; index < Number(process.env.BENCH_CUSTOMERS ?? 1); index += 1) {
  const { customer, userKey } = await tollgate.services.customers.create({
    appId: app.id,
    externalId: index === 0 ? 'bench-user' : `bench-user-${index}`,
  });
  userKeys.push(userKey!);
  unwrap(
    await tollgate.ledger.grant({
      customerId: customer.id,
      amountMicros: 10n ** 15n,
      source: 'purchase',
      reason: 'benchmark credits',
    }),
  );
}
const userKey = userKeys.join('\n');
let served: ChildProcess | null = null;
let address: string;
if (workers === null) address = await tollgate.listen(port);
else {
  await tollgate.close();
  ({ child: served, address } = await serveWorkers(workers));
}
if (process.env.KEY_FILE) writeFileSync(process.env.KEY_FILE, userKey);
if (process.env.PID_FILE) writeFileSync(process.env.PID_FILE, String(process.pid));
process.stdout.write(
  `READY ${address} ${userKey} (${backend}${workers === null ? '' : `, ${workers} workers`})\n`,
);

async function createDatabase(url: string, name: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(`create database "${name}"`);
  await client.end();
  const own = new URL(url);
  own.pathname = `/${name}`;
  return own.toString();
}

/** `tollgate serve --workers N` on the prepared database, with the same providers and rate limit. */
async function serveWorkers(count: number): Promise<{ child: ChildProcess; address: string }> {
  const configFile = join(tmpdir(), `${schema}.json`);
  writeFileSync(configFile, JSON.stringify({ rate_limits: { requests_per_minute: 1_000_000_000 } }));
  const bin = fileURLToPath(new URL('../../packages/server/bin/tollgate.mjs', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      // BENCH_NODE_ARGS: flags for the served processes' node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p`).
      ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
      bin,
      'serve',
      '--workers',
      String(count),
      '--port',
      String(port),
      '--config',
      configFile,
    ],
    {
      env: { ...process.env, ...env, DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let output = '';
  const ready = count === 1 ? /Tollgate listening on (\S+)/ : /workers serving/;
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      if (ready.test(output)) resolve();
    });
    child.once('exit', (code) => reject(new Error(`tollgate serve exited (${code}):\n${output}`)));
  });
  return { child, address: /Tollgate listening on (\S+)/.exec(output)?.[1] ?? `http://127.0.0.1:${port}` };
}

async function stop() {
  if (served) {
    const exited = new Promise((resolve) => served!.once('exit', resolve));
    served.kill('SIGTERM');
    process.stdout.write(`tollgate serve exited with ${await exited}\n`);
  } else await tollgate.close().catch(() => {});
  const rows = await database.query<{ status: string; count: string }>(
    `select status, count(*)::text as count from holds group by status order by status`,
  );
  const report = await auditLedger(database, systemClock, 3600);
  process.stdout.write(
    `ledger: ${rows.map((row) => `${row.status} ${row.count}`).join(', ')}; audit ${report.ok ? 'clean' : JSON.stringify(report.problems)}\n`,
  );
  await database.close();
  if (backend === 'postgres') {
    const client = new pg.Client({ connectionString: serverUrl });
    await client.connect();
    if (workers === null) await client.query(`drop schema if exists "${schema}" cascade`);
    else await client.query(`drop database if exists "${schema}" with (force)`);
    await client.end();
  }
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
