/**
 * Crash test: a child process (fixtures/ledger-load.ts) runs holds, captures, voids, expiring top-ups
 * and a sweeper for many customers at once; once it has confirmed real work it is killed with SIGKILL
 * in the middle of the load. The test then opens the same database itself and checks that
 *   - everything the child saw confirmed before it died is there (grants, holds, captures, voids);
 *   - after a sweep with the clock moved past every timeout and expiry, `auditLedger` is clean (books
 *     balanced, history replays, no hold left open) and the sums agree across tables and accounts.
 *
 * PostgreSQL (TEST_DATABASE_URL) and a PGlite data folder (reopened after the kill).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { auditLedger } from '../src/ledger/audit.ts';
import { Ledger } from '../src/ledger/ledger.ts';
import { sweepOnce } from '../src/ledger/sweeper.ts';
import { ManualClock } from '../src/shared/clock.ts';
import { type Database, openDatabase } from '../src/store/database.ts';
import { openTestDatabase, testBackends } from './support/databases.ts';

const fixture = fileURLToPath(new URL('./fixtures/ledger-load.ts', import.meta.url));
const repository = fileURLToPath(new URL('../../../', import.meta.url));
const postgres = testBackends().find((backend) => backend.name === 'postgres');

interface Journal {
  grants: Map<string, bigint>;
  holds: Map<string, bigint>;
  captures: Map<string, bigint>;
  voids: Set<string>;
  confirmed: number;
}

interface LoadRun {
  journal: Journal;
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Runs the load until it has confirmed `killAfter` operations, then SIGKILLs it mid-flight. */
function runLoadUntilKilled(args: string[], killAfter: number): Promise<LoadRun> {
  const journal: Journal = {
    grants: new Map(),
    holds: new Map(),
    captures: new Map(),
    voids: new Set(),
    confirmed: 0,
  };
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', fixture, ...args], {
    cwd: repository,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let pending = '';
  let ready = false;
  let killed = false;
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop()!; // a line cut by the kill is not a confirmation
    for (const line of lines) {
      const [kind, id, amount] = line.split(' ');
      if (kind === 'ready') ready = true;
      else if (kind === 'G') journal.grants.set(id!, BigInt(amount!));
      else if (kind === 'H') journal.holds.set(id!, BigInt(amount!));
      else if (kind === 'C') journal.captures.set(id!, BigInt(amount!));
      else if (kind === 'V') journal.voids.add(id!);
      if (ready && ['G', 'H', 'C', 'V'].includes(kind!)) journal.confirmed += 1;
    }
    if (!killed && journal.confirmed >= killAfter) {
      killed = true;
      child.kill('SIGKILL');
    }
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (!killed)
        reject(new Error(`ledger-load exited on its own (code ${code}, signal ${signal}):\n${stderr}`));
      else resolve({ journal, signal, code, stderr });
    });
  });
}

async function rows<Row>(db: Database, sql: string, parameters: unknown[] = []): Promise<Row[]> {
  return db.query<Row>(sql, parameters);
}

async function total(db: Database, sql: string, parameters: unknown[] = []): Promise<bigint> {
  const [row] = await db.query<{ total: string | null }>(sql, parameters);
  return BigInt(row?.total ?? '0');
}

/** Everything the child confirmed is in the database; then sweep, audit and reconcile the sums. */
async function verifyAfterCrash(db: Database, run: LoadRun): Promise<void> {
  expect(run.signal).toBe('SIGKILL');
  const { journal } = run;

  const grants = new Map(
    (
      await rows<{ id: string; amount: string }>(db, 'select id, amount_micros::text as amount from grants')
    ).map((grant) => [grant.id, BigInt(grant.amount)]),
  );
  const holdRows = await rows<{ id: string; status: string; amount: string; captured: string | null }>(
    db,
    'select id, status, amount_micros::text as amount, captured_micros::text as captured from holds',
  );
  const holds = new Map(holdRows.map((hold) => [hold.id, hold]));
  for (const [id, amount] of journal.grants) expect(grants.get(id), `confirmed grant ${id}`).toBe(amount);
  for (const [id, amount] of journal.holds)
    expect(BigInt(holds.get(id)?.amount ?? -1), `confirmed hold ${id}`).toBe(amount);
  for (const [id, paid] of journal.captures) {
    expect([holds.get(id)?.status, holds.get(id)?.captured], `confirmed capture ${id}`).toEqual([
      'captured',
      paid.toString(),
    ]);
  }
  for (const id of journal.voids) expect(holds.get(id)?.status, `confirmed void ${id}`).toBe('voided');

  // The kill left work unfinished: holds still open (abandoned or in flight).
  const openBefore = holdRows.filter((hold) => hold.status === 'held').length;
  expect(openBefore).toBeGreaterThan(0);

  // Restart: a clock past every timeout and expiry, and sweeps until there is nothing left to do.
  const clock = new ManualClock(new Date(Date.now() + 24 * 3_600_000));
  const ledger = new Ledger(db, clock);
  let voided = 0;
  for (let round = 0; round < 50; round += 1) {
    const swept = await sweepOnce(db, ledger, clock);
    voided += swept.holdsVoided;
    if (swept.holdsVoided === 0 && swept.customersExpired === 0) break;
  }
  expect(voided).toBeGreaterThanOrEqual(openBefore);

  const report = await auditLedger(db, clock, 0);
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
  expect(report.totalMicros).toBe(0n);

  // Nothing reserved any more; every expired grant written off to zero.
  expect(await total(db, `select count(*)::text as total from holds where status = 'held'`)).toBe(0n);
  expect(await total(db, 'select sum(held_micros)::text as total from customers')).toBe(0n);
  expect(await total(db, 'select sum(reserved_micros)::text as total from grants')).toBe(0n);
  expect(
    await total(
      db,
      'select count(*)::text as total from grants where expires_at <= $1 and remaining_micros > 0',
      [clock.now().toISOString()],
    ),
  ).toBe(0n);

  // The same money counted from each side: grants table, holds table, customers, transactions, accounts.
  const account = (id: string) =>
    total(db, 'select sum(amount_micros)::text as total from ledger_entries where account_id = $1', [id]);
  const byType = (type: string) =>
    total(db, 'select sum(amount_micros)::text as total from ledger_transactions where type = $1', [type]);
  const granted = await total(db, 'select sum(amount_micros)::text as total from grants');
  const captured = await total(
    db,
    `select sum(captured_micros)::text as total from holds where status = 'captured' and funding = 'credits'`,
  );
  const balances = await total(db, 'select sum(balance_micros)::text as total from customers');
  const remaining = await total(db, 'select sum(remaining_micros)::text as total from grants');
  expect(granted).toBeGreaterThan(0n);
  expect(captured).toBeGreaterThan(0n);
  expect(await byType('grant')).toBe(granted);
  expect(-(await account('sys:purchases')) - (await account('sys:promotions'))).toBe(granted);
  expect(-(await byType('usage'))).toBe(captured);
  expect(await account('sys:revenue')).toBe(captured);
  const expired = -(await byType('expire'));
  expect(await account('sys:expired')).toBe(expired);
  expect(balances).toBe(remaining);
  expect(balances).toBe(granted - captured - expired);
  const confirmedPaid = [...journal.captures.values()].reduce((sum, paid) => sum + paid, 0n);
  expect(captured >= confirmedPaid).toBe(true);
}

describe.skipIf(!postgres)('ledger crash on PostgreSQL', () => {
  it('SIGKILL mid-load leaves balanced books and every confirmed operation', async () => {
    const testDb = await openTestDatabase(postgres!);
    const applicationName = `ledger_load_${randomBytes(4).toString('hex')}`;
    const url = new URL(postgres!.url!);
    url.searchParams.set('application_name', applicationName);
    let reopened: Database | undefined;
    try {
      const run = await runLoadUntilKilled(
        [
          '--url',
          url.toString(),
          '--schema',
          testDb.schema!,
          '--customers',
          '200',
          '--workers',
          '64',
          '--pool-size',
          '12',
        ],
        3_000,
      );
      // The server finishes (or rolls back) what the dead client's sessions were running; end them now
      // (waiting until they are gone) so that nothing lands after the sweep.
      await testDb.db.query(
        'select pg_terminate_backend(pid, 10000) from pg_stat_activity where application_name = $1',
        [applicationName],
      );
      reopened = await openDatabase({ url: postgres!.url, schema: testDb.schema });
      await verifyAfterCrash(reopened, run);
    } finally {
      await reopened?.close();
      await testDb.close();
    }
  }, 120_000);
});

describe('ledger crash on a PGlite folder', () => {
  it('SIGKILL mid-load, then the folder reopens with balanced books and every confirmed operation', async () => {
    const folder = mkdtempSync(join(os.tmpdir(), 'tollgate-crash-'));
    const dataDir = join(folder, 'data');
    let reopened: Database | undefined;
    try {
      const run = await runLoadUntilKilled(
        ['--data-dir', dataDir, '--customers', '40', '--workers', '24'],
        1_500,
      );
      reopened = await openDatabase({ dataDir });
      await verifyAfterCrash(reopened, run);
    } finally {
      await reopened?.close();
      rmSync(folder, { recursive: true, force: true });
    }
  }, 180_000);
});
