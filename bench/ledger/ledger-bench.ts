/**
 * Ledger write-path benchmark: hold + capture cycles per second through the ledger's own TypeScript
 * API (`new Ledger(db, clock)`, `ledger.hold()` then `ledger.capture()`), in-process, next to two
 * plain-SQL baselines measured in the same run on the same database:
 *
 *   cte   one autocommit statement: conditional debit + entry insert (1 round trip, 1 commit)
 *   2txn  hold-then-capture as two plain transactions (BEGIN; available→held; insert hold; COMMIT;
 *         BEGIN; hold → captured; held→spent; insert entry; COMMIT)
 *
 * Backends: PGlite in memory, PGlite on files, PostgreSQL (DATABASE_URL, private schemas dropped at the
 * end). Workloads: `spread` (1,000 customers, random pick) and `hot` (one customer for every client).
 * After every ledger run the books are checked: `auditLedger` must be clean, every capture the clients
 * saw must be recorded (captured holds, usage transactions, spent micros), and no hold may stay open.
 *
 * Usage: node --import tsx bench/ledger/ledger-bench.ts [--quick] [--backend pglite|pglite-memory|
 *        pglite-file|postgres|all] [--seconds N] [--warmup N] [--clients N] [--customers N]
 *        [--workload spread|hot|all] [--only ledger|baselines|all] [--max-in-flight N] [--pool-size N]
 *        [--quiet-wait N] [--quiet-max PCT] [--json FILE]
 *
 *   --quick          3 s per run, 0.5 s warm-up, no waiting for a quiet machine (smoke test)
 *   --max-in-flight  batches the Ledger writes at once (default 1)
 *   --seconds N      measured seconds per run (default 20); --warmup N uncounted seconds before (2)
 *   --pool-size      PostgreSQL pool size of the ledger's database (default 12)
 *   --quiet-wait N   before each run, wait up to N s (default 120, 0 with --quick) until other processes
 *                    use less than --quiet-max % (default 10) of the machine; the share they used during
 *                    each run is printed either way
 * Every flag also reads BENCH_<NAME> (BENCH_SECONDS, BENCH_BACKEND, …); DATABASE_URL picks the server
 * (default postgres://postgres@127.0.0.1:5432/test).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CompiledQuery } from 'kysely';
import pg from 'pg';
import { auditLedger } from '../../packages/server/src/ledger/audit.ts';
import { Ledger, type LedgerOptions } from '../../packages/server/src/ledger/ledger.ts';
import { systemClock } from '../../packages/server/src/shared/clock.ts';
import { type Database, openDatabase } from '../../packages/server/src/store/database.ts';
import { migrateToLatest } from '../../packages/server/src/store/migrate.ts';

// ---------------------------------------------------------------------------------------------- options

const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backend: { type: 'string', default: process.env.BENCH_BACKEND ?? 'all' },
    seconds: { type: 'string', default: process.env.BENCH_SECONDS },
    warmup: { type: 'string', default: process.env.BENCH_WARMUP },
    clients: { type: 'string', default: process.env.BENCH_CLIENTS ?? '8' },
    customers: { type: 'string', default: process.env.BENCH_CUSTOMERS ?? '1000' },
    workload: { type: 'string', default: process.env.BENCH_WORKLOAD ?? 'all' },
    only: { type: 'string', default: process.env.BENCH_ONLY ?? 'all' },
    'max-in-flight': { type: 'string', default: process.env.BENCH_MAX_IN_FLIGHT },
    'pool-size': { type: 'string', default: process.env.BENCH_POOL_SIZE },
    'quiet-wait': { type: 'string', default: process.env.BENCH_QUIET_WAIT },
    'quiet-max': { type: 'string', default: process.env.BENCH_QUIET_MAX ?? '10' },
    json: { type: 'string', default: process.env.BENCH_JSON },
    help: { type: 'boolean', default: false },
  },
  strict: true,
});

if (flags.help) {
  console.log(readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]);
  process.exit(0);
}

const SECONDS = Number(flags.seconds ?? (flags.quick ? 3 : 20));
const WARMUP_SECONDS = Number(flags.warmup ?? (flags.quick ? 0.5 : 2));
const CLIENTS = Number(flags.clients);
const CUSTOMERS = Number(flags.customers);
const MAX_IN_FLIGHT = flags['max-in-flight'] ? Number(flags['max-in-flight']) : undefined;
const POOL_SIZE = flags['pool-size'] ? Number(flags['pool-size']) : undefined;
const QUIET_WAIT = Number(flags['quiet-wait'] ?? (flags.quick ? 0 : 120));
const QUIET_MAX = Number(flags['quiet-max']);
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const APPLICATION_NAME = 'tollgate-bench';
/** The bench's own connections carry an application_name, so that their server processes can be told apart. */
const BENCH_URL = `${DATABASE_URL}${DATABASE_URL.includes('?') ? '&' : '?'}application_name=${APPLICATION_NAME}`;

const BACKENDS: Record<string, BackendName[]> = {
  all: ['pglite-memory', 'pglite-file', 'postgres'],
  pglite: ['pglite-memory', 'pglite-file'],
  'pglite-memory': ['pglite-memory'],
  'pglite-file': ['pglite-file'],
  postgres: ['postgres'],
};
const WORKLOADS: Record<string, Workload[]> = { all: ['spread', 'hot'], spread: ['spread'], hot: ['hot'] };
for (const [name, value, allowed] of [
  ['backend', flags.backend, BACKENDS],
  ['workload', flags.workload, WORKLOADS],
  ['only', flags.only, { all: 1, ledger: 1, baselines: 1 }],
] as const) {
  if (!(value! in allowed)) {
    console.error(`--${name} must be one of ${Object.keys(allowed).join(', ')}`);
    process.exit(2);
  }
}
for (const [name, value] of [
  ['seconds', SECONDS],
  ['clients', CLIENTS],
  ['customers', CUSTOMERS],
] as const) {
  if (!(value > 0)) {
    console.error(`--${name} must be a positive number`);
    process.exit(2);
  }
}

type BackendName = 'pglite-memory' | 'pglite-file' | 'postgres';
type Workload = 'spread' | 'hot';

/** Per cycle: hold 5,000 micros, capture 3,000 (the rest is released), like the reference's hold workload. */
const HOLD_MICROS = 5_000n;
const CAPTURE_MICROS = 3_000n;
/** Every customer is funded far beyond any run. */
const FUNDING_MICROS = 1_000_000_000_000_000n;

// ------------------------------------------------------------------------------------------- measuring

interface RunResult {
  backend: BackendName;
  workload: Workload;
  subject: 'ledger' | 'baseline-cte' | 'baseline-2txn';
  /** hold+capture cycles (ledger, 2txn) or debits (cte) per second. */
  rate: number;
  completed: number;
  refused: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  /** CPU during the run in % of the machine: this Node process, our PostgreSQL processes, everything else. */
  nodeCpu: number;
  serverCpu: number;
  otherCpu: number;
  /** CPU time per completed unit (cycle or debit), in µs. */
  nodeUsPerUnit: number;
  serverUsPerUnit: number;
  checks?: string;
}

/** Which PostgreSQL processes are ours (bench connections + the server's own background processes). */
type PidSource = () => Promise<number[]>;

const CLOCK_TICKS_PER_SECOND = 100;

function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = (line[3] ?? 0) + (line[4] ?? 0);
  const total = line.reduce((sum, value) => sum + value, 0);
  return { busy: total - idle, total };
}

function processTicks(pids: number[]): Map<number, number> {
  const ticks = new Map<number, number>();
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // gone (or not on this machine: a remote server is simply not counted)
    }
  }
  return ticks;
}

const nodeTicks = () => {
  const usage = process.cpuUsage();
  return ((usage.user + usage.system) / 1e6) * CLOCK_TICKS_PER_SECOND;
};

/** Waits (up to QUIET_WAIT seconds) until other processes use less than QUIET_MAX % of the machine. */
async function waitForQuiet(): Promise<void> {
  if (QUIET_WAIT <= 0) return;
  const deadline = performance.now() + QUIET_WAIT * 1000;
  for (;;) {
    const before = machineTicks();
    const nodeBefore = nodeTicks();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = machineTicks();
    const other =
      ((after.busy - before.busy - (nodeTicks() - nodeBefore)) / Math.max(1, after.total - before.total)) *
      100;
    if (other < QUIET_MAX) return;
    if (performance.now() > deadline) {
      console.log(`    (machine still busy: ${other.toFixed(0)}% used by other processes; measuring anyway)`);
      return;
    }
  }
}

/**
 * Runs `clients` async loops calling `once()` until the deadline (after an uncounted warm-up) and
 * returns the rate of completed calls. `once` resolves true for a completed unit, false for a refusal.
 */
async function measure(
  label: Pick<RunResult, 'backend' | 'workload' | 'subject'>,
  pids: PidSource,
  once: (client: number) => Promise<boolean>,
): Promise<RunResult> {
  const loop = async (
    client: number,
    until: number,
    latencies: number[] | null,
    counts: { ok: number; refused: number },
  ) => {
    while (performance.now() < until) {
      const started = performance.now();
      const ok = await once(client);
      if (ok) {
        counts.ok += 1;
        latencies?.push(performance.now() - started);
      } else {
        counts.refused += 1;
      }
    }
  };
  const clients = Array.from({ length: CLIENTS }, (_, index) => index);
  await waitForQuiet();
  if (WARMUP_SECONDS > 0) {
    const until = performance.now() + WARMUP_SECONDS * 1000;
    const counts = { ok: 0, refused: 0 };
    await Promise.all(clients.map((client) => loop(client, until, null, counts)));
  }
  const ours = await pids();
  const latencies: number[] = [];
  const counts = { ok: 0, refused: 0 };
  const nodeBefore = nodeTicks();
  const serverBefore = processTicks(ours);
  const machineBefore = machineTicks();
  const started = performance.now();
  const until = started + SECONDS * 1000;
  await Promise.all(clients.map((client) => loop(client, until, latencies, counts)));
  const elapsed = (performance.now() - started) / 1000;
  const machineAfter = machineTicks();
  const serverAfter = processTicks(ours);
  const node = nodeTicks() - nodeBefore;
  let server = 0;
  for (const [pid, ticks] of serverAfter) server += ticks - (serverBefore.get(pid) ?? ticks);
  const total = Math.max(1, machineAfter.total - machineBefore.total);
  const busy = machineAfter.busy - machineBefore.busy;
  latencies.sort((a, b) => a - b);
  const quantile = (q: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  const perUnit = (ticks: number) => (counts.ok ? (ticks / CLOCK_TICKS_PER_SECOND / counts.ok) * 1e6 : 0);
  return {
    ...label,
    rate: counts.ok / elapsed,
    completed: counts.ok,
    refused: counts.refused,
    seconds: elapsed,
    p50Ms: quantile(0.5),
    p99Ms: quantile(0.99),
    nodeCpu: (node / total) * 100,
    serverCpu: (server / total) * 100,
    otherCpu: (Math.max(0, busy - node - server) / total) * 100,
    nodeUsPerUnit: perUnit(node),
    serverUsPerUnit: perUnit(server),
  };
}

// ------------------------------------------------------------------------------------------ the ledger

const customerId = (index: number) => `cus_bench_${index}`;
const HOT_CUSTOMER = 'cus_bench_hot';

async function fundCustomers(db: Database, ledger: Ledger): Promise<void> {
  await db.query(
    `insert into customers (id) select 'cus_bench_' || g from generate_series(1, $1::int) g
     union all select $2::text`,
    [CUSTOMERS, HOT_CUSTOMER],
  );
  const ids = [...Array.from({ length: CUSTOMERS }, (_, index) => customerId(index + 1)), HOT_CUSTOMER];
  const results = await Promise.all(
    ids.map((id) =>
      ledger.grant({ customerId: id, amountMicros: FUNDING_MICROS, source: 'purchase', reason: 'bench' }),
    ),
  );
  const failed = results.find((result) => !result.ok);
  if (failed && !failed.ok) throw failed.error;
  await db.query('analyze');
}

interface Tally {
  holds: number;
  captures: number;
}

async function runLedger(
  backend: BackendName,
  workload: Workload,
  db: Database,
  ledger: Ledger,
  tally: Tally,
  pids: PidSource,
) {
  const pick =
    workload === 'hot' ? () => HOT_CUSTOMER : () => customerId(1 + Math.floor(Math.random() * CUSTOMERS));
  const result = await measure({ backend, workload, subject: 'ledger' }, pids, async () => {
    const hold = await ledger.hold({ customerId: pick(), amountMicros: HOLD_MICROS });
    if (!hold.ok) {
      if (hold.error.code === 'insufficient_credits') return false;
      throw hold.error;
    }
    tally.holds += 1;
    const capture = await ledger.capture({ holdId: hold.value.id, amountMicros: CAPTURE_MICROS });
    if (!capture.ok) throw capture.error;
    if (capture.value.amountMicros !== CAPTURE_MICROS)
      throw new Error(`captured ${capture.value.amountMicros}`);
    tally.captures += 1;
    return true;
  });
  await ledger.drain();
  result.checks = await checkBooks(db, tally);
  return result;
}

/** The books after a run: a fast benchmark that breaks them is worthless. Throws on any mismatch. */
async function checkBooks(db: Database, tally: Tally): Promise<string> {
  const started = performance.now();
  const report = await auditLedger(db, systemClock);
  if (!report.ok) throw new Error(`audit failed: ${JSON.stringify(report.problems, bigintJson)}`);
  const [row] = await db.query<Record<string, string>>(
    `select (select count(*) from holds)::text as holds,
            (select count(*) from holds where status = 'captured')::text as captured,
            (select count(*) from holds where status <> 'captured')::text as not_captured,
            (select coalesce(sum(captured_micros), 0) from holds)::text as captured_micros,
            (select count(*) from ledger_transactions where type = 'usage')::text as usage,
            (select coalesce(-sum(amount_micros), 0) from ledger_transactions where type = 'usage')::text as usage_micros,
            (select ($1::numeric * count(*)) - sum(balance_micros) from customers where id like 'cus_bench_%')::text as spent,
            (select coalesce(sum(held_micros), 0) from customers)::text as held`,
    [FUNDING_MICROS.toString()],
  );
  const expected = {
    holds: tally.holds,
    captured: tally.captures,
    not_captured: 0,
    captured_micros: BigInt(tally.captures) * CAPTURE_MICROS,
    usage: tally.captures,
    usage_micros: BigInt(tally.captures) * CAPTURE_MICROS,
    spent: BigInt(tally.captures) * CAPTURE_MICROS,
    held: 0,
  };
  for (const [name, value] of Object.entries(expected)) {
    if (String(row![name]) !== String(value)) {
      throw new Error(`books: ${name} is ${row![name]} in the database, the clients saw ${value}`);
    }
  }
  const total = (performance.now() - started) / 1000;
  return `audit clean (${report.transactions} transactions, Σ=${report.totalMicros}), ${tally.captures} captures = ${row!.captured} captured holds = ${row!.usage} usage rows, ${row!.spent} micros spent, 0 held [${total.toFixed(1)} s]`;
}

function bigintJson(_key: string, value: unknown) {
  return typeof value === 'bigint' ? value.toString() : value;
}

// ------------------------------------------------------------------------------------------- baselines

const baselineSchema = (schema: string) => `
create schema "${schema}";
create table "${schema}".wallet (
  id int primary key,
  balance bigint not null check (balance >= 0),       -- available
  held bigint not null default 0 check (held >= 0)    -- reserved by pending holds
);
create table "${schema}".holds (
  id bigint generated always as identity primary key,
  wallet_id int not null references "${schema}".wallet (id),
  amount bigint not null check (amount > 0),
  captured bigint,
  status text not null default 'pending',
  expires_at timestamptz not null
);
create index on "${schema}".holds (expires_at) where status = 'pending';
create table "${schema}".entries (
  id bigint generated always as identity primary key,
  wallet_id int not null references "${schema}".wallet (id),
  amount bigint not null,
  created_at timestamptz not null default now()
);
create index on "${schema}".entries (wallet_id);
insert into "${schema}".wallet select g, ${FUNDING_MICROS} from generate_series(1, ${CUSTOMERS + 1}) g;
`;

/** What a baseline needs from a backend: one statement, or one transaction of statements. */
interface BaselineSession {
  statement(sql: string, parameters: unknown[]): Promise<number>;
  transaction(
    steps: (
      query: (sql: string, parameters: unknown[]) => Promise<{ rowCount: number; rows: any[] }>,
    ) => Promise<boolean>,
  ): Promise<boolean>;
  close(): Promise<void>;
}

function postgresBaseline(url: string): BaselineSession {
  // One connection per client, like pgbench -c 8; named statements = prepared once per connection.
  const pool = new pg.Pool({ connectionString: url, max: CLIENTS, application_name: APPLICATION_NAME });
  let counter = 0;
  const names = new Map<string, string>();
  const named = (sql: string) => {
    let name = names.get(sql);
    if (!name) {
      counter += 1;
      name = `b${counter}`;
      names.set(sql, name);
    }
    return name;
  };
  return {
    async statement(sql, parameters) {
      const result = await pool.query({ name: named(sql), text: sql, values: parameters });
      return result.rowCount ?? 0;
    },
    async transaction(steps) {
      const client = await pool.connect();
      try {
        await client.query('begin');
        const ok = await steps(async (sql, parameters) => {
          const result = await client.query({ name: named(sql), text: sql, values: parameters });
          return { rowCount: result.rowCount ?? 0, rows: result.rows };
        });
        await client.query(ok ? 'commit' : 'rollback');
        return ok;
      } catch (error) {
        await client.query('rollback').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

function pgliteBaseline(db: Database): BaselineSession {
  // The same single PGlite session the ledger uses: statements through `db.query`, transactions through
  // Kysely (which holds the session for the whole transaction, as the app's own transactions do).
  return {
    async statement(sql, parameters) {
      const result = await db.kysely.executeQuery(CompiledQuery.raw(sql, parameters));
      return Number(result.numAffectedRows ?? 0);
    },
    async transaction(steps) {
      let ok = false;
      await db.kysely.transaction().execute(async (trx) => {
        ok = await steps(async (sql, parameters) => {
          const result = await trx.executeQuery(CompiledQuery.raw(sql, parameters));
          return {
            rowCount: Number(result.numAffectedRows ?? result.rows.length),
            rows: result.rows as any[],
          };
        });
        // A refused hold commits nothing (it changed nothing); the Kysely transaction still ends cleanly.
      });
      return ok;
    },
    async close() {},
  };
}

async function runBaselines(
  backend: BackendName,
  workload: Workload,
  session: BaselineSession,
  schema: string,
  check: () => Promise<{ entries: bigint; debited: bigint; held: bigint; pending: bigint }>,
  pids: PidSource,
): Promise<RunResult[]> {
  const pick = workload === 'hot' ? () => CUSTOMERS + 1 : () => 1 + Math.floor(Math.random() * CUSTOMERS);
  const s = `"${schema}"`;
  const cteSql =
    `with d as (update ${s}.wallet set balance = balance - $1 where id = $2 and balance >= $1 returning id) ` +
    `insert into ${s}.entries (wallet_id, amount) select id, -$1::bigint from d`;
  const cte = await measure({ backend, workload, subject: 'baseline-cte' }, pids, async () => {
    return (await session.statement(cteSql, [CAPTURE_MICROS.toString(), pick()])) === 1;
  });
  const twoTxn = await measure({ backend, workload, subject: 'baseline-2txn' }, pids, async () => {
    const wallet = pick();
    let holdId: string | undefined;
    const held = await session.transaction(async (query) => {
      const debit = await query(
        `update ${s}.wallet set balance = balance - $1, held = held + $1 where id = $2 and balance >= $1`,
        [HOLD_MICROS.toString(), wallet],
      );
      if (debit.rowCount !== 1) return false;
      const hold = await query(
        `insert into ${s}.holds (wallet_id, amount, expires_at) values ($1, $2, now() + interval '15 minutes') returning id`,
        [wallet, HOLD_MICROS.toString()],
      );
      holdId = String(hold.rows[0].id);
      return true;
    });
    if (!held) return false;
    const captured = await session.transaction(async (query) => {
      const hold = await query(
        `update ${s}.holds set status = 'captured', captured = $2 where id = $1 and status = 'pending'`,
        [holdId, CAPTURE_MICROS.toString()],
      );
      if (hold.rowCount !== 1) throw new Error('baseline hold vanished');
      await query(`update ${s}.wallet set held = held - $1, balance = balance + ($1 - $2) where id = $3`, [
        HOLD_MICROS.toString(),
        CAPTURE_MICROS.toString(),
        wallet,
      ]);
      await query(`insert into ${s}.entries (wallet_id, amount) values ($1, -$2::bigint)`, [
        wallet,
        CAPTURE_MICROS.toString(),
      ]);
      return true;
    });
    return captured;
  });
  const books = await check();
  if (books.entries * CAPTURE_MICROS !== books.debited || books.held !== 0n || books.pending !== 0n) {
    throw new Error(`baseline books broken: ${JSON.stringify(books, bigintJson)}`);
  }
  cte.checks =
    twoTxn.checks = `baseline books: ${books.entries} entries = ${books.debited} micros debited, 0 held`;
  return [cte, twoTxn];
}

const baselineCheckSql = (schema: string) =>
  `select (select count(*) from "${schema}".entries)::text as entries,
          (select sum(${FUNDING_MICROS}::numeric - balance - held) from "${schema}".wallet)::text as debited,
          (select sum(held) from "${schema}".wallet)::text as held,
          (select count(*) from "${schema}".holds where status = 'pending')::text as pending`;

function parseCheck(row: Record<string, string>) {
  return {
    entries: BigInt(row.entries!),
    debited: BigInt(row.debited!),
    held: BigInt(row.held!),
    pending: BigInt(row.pending!),
  };
}

// -------------------------------------------------------------------------------------------- backends

async function runBackend(backend: BackendName): Promise<RunResult[]> {
  const results: RunResult[] = [];
  const tag = randomBytes(4).toString('hex');
  const ledgerSchema = `tg_bench_${tag}`;
  const baseSchema = `tg_bench_${tag}_baseline`;
  let dataDir: string | undefined;
  let db: Database;
  if (backend === 'postgres') {
    db = await openDatabase({ url: BENCH_URL, schema: ledgerSchema, poolSize: POOL_SIZE });
  } else {
    if (backend === 'pglite-file') dataDir = mkdtempSync(join(os.tmpdir(), 'tollgate-bench-'));
    db = await openDatabase({ dataDir: dataDir ?? 'memory://' });
  }
  let monitor: pg.Client | undefined;
  if (backend === 'postgres') {
    monitor = new pg.Client({
      connectionString: DATABASE_URL,
      application_name: `${APPLICATION_NAME}-monitor`,
    });
    await monitor.connect();
  }
  const pids: PidSource = async () =>
    monitor
      ? (
          await monitor.query<{ pid: number }>(
            `select pid from pg_stat_activity where application_name like $1 or backend_type <> 'client backend'`,
            [`${APPLICATION_NAME}%`],
          )
        ).rows.map((row) => row.pid)
      : [];
  cleanups.push(async () => {
    await db.close().catch(() => {});
    await monitor?.end().catch(() => {});
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(
        `drop schema if exists "${ledgerSchema}" cascade; drop schema if exists "${baseSchema}" cascade`,
      );
      await client.end();
    }
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });
  await migrateToLatest(db.kysely);
  const options: LedgerOptions = MAX_IN_FLIGHT ? { maxInFlight: MAX_IN_FLIGHT } : {};
  const ledger = new Ledger(db, systemClock, options);
  const version = (await db.query<{ v: string }>('select version() as v'))[0]!.v
    .split(' ')
    .slice(0, 2)
    .join(' ');
  console.log(
    `\n== ${backend}: ${version}${dataDir ? ` (data in ${dataDir})` : ''}${backend === 'postgres' ? ` schema ${ledgerSchema}, pool ${POOL_SIZE ?? 12}` : ''}, maxInFlight ${MAX_IN_FLIGHT ?? 1}`,
  );
  const runLedgerToo = flags.only !== 'baselines';
  const runBase = flags.only !== 'ledger';
  if (runLedgerToo) await fundCustomers(db, ledger);

  let session: BaselineSession | undefined;
  let check: (() => Promise<ReturnType<typeof parseCheck>>) | undefined;
  if (runBase) {
    if (backend === 'postgres') {
      const client = new pg.Client({ connectionString: DATABASE_URL });
      await client.connect();
      await client.query(baselineSchema(baseSchema));
      await client.query(`analyze "${baseSchema}".wallet`);
      await client.end();
      session = postgresBaseline(DATABASE_URL);
      check = async () => {
        const client = new pg.Client({ connectionString: DATABASE_URL });
        await client.connect();
        try {
          return parseCheck((await client.query(baselineCheckSql(baseSchema))).rows[0]);
        } finally {
          await client.end();
        }
      };
    } else {
      await db.kysely.executeQuery(CompiledQuery.raw(baselineSchema(baseSchema)));
      await db.query(`analyze "${baseSchema}".wallet`);
      session = pgliteBaseline(db);
      check = async () =>
        parseCheck((await db.query<Record<string, string>>(baselineCheckSql(baseSchema)))[0]!);
    }
  }

  const tally: Tally = { holds: 0, captures: 0 };
  try {
    for (const workload of WORKLOADS[flags.workload!]!) {
      if (session && check) {
        for (const result of await runBaselines(backend, workload, session, baseSchema, check, pids)) {
          report(result);
          results.push(result);
        }
      }
      if (runLedgerToo) {
        const result = await runLedger(backend, workload, db, ledger, tally, pids);
        report(result);
        results.push(result);
      }
    }
  } finally {
    await session?.close();
    await cleanups.pop()!();
  }
  return results;
}

function report(result: RunResult): void {
  const name = {
    ledger: 'ledger hold+capture',
    'baseline-cte': 'baseline 1-statement debit',
    'baseline-2txn': 'baseline 2-txn hold+capture',
  }[result.subject];
  const unit = result.subject === 'baseline-cte' ? 'debits/s' : 'cycles/s';
  console.log(
    `${result.backend.padEnd(13)} ${result.workload.padEnd(6)} ${name.padEnd(28)} ${fmt(result.rate).padStart(8)} ${unit.padEnd(9)}` +
      ` p50 ${result.p50Ms.toFixed(2)} ms p99 ${result.p99Ms.toFixed(2)} ms | CPU % node ${result.nodeCpu.toFixed(0)} server ${result.serverCpu.toFixed(0)} other ${result.otherCpu.toFixed(0)}` +
      ` | µs/unit node ${result.nodeUsPerUnit.toFixed(0)} server ${result.serverUsPerUnit.toFixed(0)}` +
      `${result.refused ? `, ${result.refused} refused` : ''}`,
  );
  if (result.checks && result.subject !== 'baseline-cte') console.log(`    ✓ ${result.checks}`);
}

const fmt = (value: number) => Math.round(value).toLocaleString('en-US');

const cleanups: Array<() => Promise<void>> = [];
async function cleanupAndExit(signal: string) {
  console.error(`\n${signal}: dropping benchmark schemas / data`);
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  process.exit(130);
}
process.once('SIGINT', () => void cleanupAndExit('SIGINT'));
process.once('SIGTERM', () => void cleanupAndExit('SIGTERM'));

// ------------------------------------------------------------------------------------------------ main

const cpu = os.cpus();
console.log(
  `tollgate ledger bench: ${CLIENTS} clients, ${SECONDS} s per run (+${WARMUP_SECONDS} s warm-up), ${CUSTOMERS} customers spread / 1 hot,` +
    ` hold ${HOLD_MICROS} + capture ${CAPTURE_MICROS} micros per cycle`,
);
console.log(
  `machine: ${cpu.length} × ${cpu[0]?.model.trim()}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.type()} ${os.release()},` +
    ` load ${os
      .loadavg()
      .map((value) => value.toFixed(2))
      .join(' ')}`,
);

const all: RunResult[] = [];
for (const backend of BACKENDS[flags.backend!]!) {
  all.push(...(await runBackend(backend)));
}

const TARGETS: Record<string, number> = { 'postgres spread': 10_000, 'postgres hot': 5_000, pglite: 3_000 };
const target = (backend: BackendName, workload: Workload) =>
  backend === 'postgres' ? TARGETS[`postgres ${workload}`]! : TARGETS.pglite!;

console.log('\n== summary: ledger hold+capture cycles/s, and ours / baseline (same run, same database)');
console.log(
  '| backend | workload | ledger cycles/s | 1-statement debit /s | ours ÷ debit | 2-txn hold+capture cycles/s | ours ÷ 2-txn | target | other CPU % |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
for (const backend of BACKENDS[flags.backend!]!) {
  for (const workload of WORKLOADS[flags.workload!]!) {
    const find = (subject: RunResult['subject']) =>
      all.find(
        (result) => result.backend === backend && result.workload === workload && result.subject === subject,
      );
    const ours = find('ledger');
    const cte = find('baseline-cte');
    const twoTxn = find('baseline-2txn');
    const ratio = (base?: RunResult) => (ours && base ? `×${(ours.rate / base.rate).toFixed(2)}` : '–');
    const other = [ours, cte, twoTxn].filter((result) => result).map((result) => result!.otherCpu.toFixed(0));
    console.log(
      `| ${backend} | ${workload} | ${ours ? fmt(ours.rate) : '–'} | ${cte ? fmt(cte.rate) : '–'} | ${ratio(cte)} | ` +
        `${twoTxn ? fmt(twoTxn.rate) : '–'} | ${ratio(twoTxn)} | ${fmt(target(backend, workload))}` +
        `${ours ? (ours.rate >= target(backend, workload) ? ' ✓' : ` (${((ours.rate / target(backend, workload)) * 100).toFixed(0)} %)`) : ''} | ${other.join(' / ')} |`,
    );
  }
}
if (flags.json) writeFileSync(flags.json, `${JSON.stringify(all, null, 2)}\n`);
process.exit(0);
