/**
 * Starts a Tollgate for the gateway benchmark: providers pointed at the mock upstream, a huge rate
 * limit, one app and one customer with plenty of credits. Every request it serves is metered through
 * ledger holds (hold before, capture after). Prints `READY <url> <user key>` and writes the key and
 * the pid to files, then serves until SIGINT/SIGTERM, when it prints what the ledger recorded.
 *
 *   BENCH_BACKEND=pglite|postgres  DATABASE_URL=…  PORT=18090  UPSTREAM=http://127.0.0.1:18080
 *   KEY_FILE=/tmp/gw-bench/run/tollgate.key  PID_FILE=/tmp/gw-bench/run/tollgate.pid
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import pg from 'pg';
import { createTollgate } from '../../packages/server/src/app.ts';
import { loadConfig } from '../../packages/server/src/config/load-config.ts';
import { auditLedger } from '../../packages/server/src/ledger/audit.ts';
import { unwrap } from '../../packages/server/src/ledger/ledger.ts';
import { systemClock } from '../../packages/server/src/shared/clock.ts';
import { openDatabase } from '../../packages/server/src/store/database.ts';

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

const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const schema = `bench_${randomBytes(4).toString('hex')}`;
const database =
  backend === 'postgres'
    ? await openDatabase({ url: databaseUrl, schema, poolSize: 16 })
    : await openDatabase({});
const tollgate = await createTollgate({ config, env, database, logger: false, announce: () => {} });
const app = await tollgate.services.apps.create({
  name: 'bench',
  referralRatePpm: 100_000n,
  allowedModels: null,
});
const { customer, userKey } = await tollgate.services.customers.create({
  appId: app.id,
  externalId: 'bench-user',
});
unwrap(
  await tollgate.ledger.grant({
    customerId: customer.id,
    amountMicros: 10n ** 15n,
    source: 'purchase',
    reason: 'benchmark credits',
  }),
);
const address = await tollgate.listen(port);
if (process.env.KEY_FILE) writeFileSync(process.env.KEY_FILE, userKey!);
if (process.env.PID_FILE) writeFileSync(process.env.PID_FILE, String(process.pid));
process.stdout.write(`READY ${address} ${userKey} (${backend})\n`);

async function stop() {
  await tollgate.close().catch(() => {});
  const rows = await database.query<{ status: string; count: string }>(
    `select status, count(*)::text as count from holds group by status order by status`,
  );
  const report = await auditLedger(database, systemClock, 3600);
  process.stdout.write(
    `ledger: ${rows.map((row) => `${row.status} ${row.count}`).join(', ')}; audit ${report.ok ? 'clean' : JSON.stringify(report.problems)}\n`,
  );
  await database.close();
  if (backend === 'postgres') {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    await client.query(`drop schema if exists "${schema}" cascade`);
    await client.end();
  }
  process.exit(0);
}
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
