/**
 * Where a ledger cycle's time and bytes go on PostgreSQL (issue 17): the bench's hold + capture cycle
 * with 8 clients, counting every round trip the ledger makes (by statement), the operations each
 * `tg_ledger_write` carries, the client-side time of each, and what the tables grew by per cycle.
 *
 *   node --import tsx bench/ledger/profile-cycle.ts [spread|hot] [seconds] [clients]
 *
 * For the time inside the write function, statement by statement, run it with auto_explain on its
 * connections (PostgreSQL logs each nested statement's duration to the server log):
 *
 *   DATABASE_URL='postgres://postgres@127.0.0.1:5432/test?options=-c%20session_preload_libraries%3Dauto_explain%20-c%20auto_explain.log_min_duration%3D0%20-c%20auto_explain.log_nested_statements%3Don%20-c%20auto_explain.log_analyze%3Don%20-c%20auto_explain.log_timing%3Doff' \
 *     node --import tsx bench/ledger/profile-cycle.ts spread 3
 */
import pg from 'pg';
import { Ledger } from '../../packages/server/src/ledger/ledger.ts';
import { systemClock } from '../../packages/server/src/shared/clock.ts';
import { openDatabase } from '../../packages/server/src/store/database.ts';
import { migrateToLatest } from '../../packages/server/src/store/migrate.ts';

const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const workload = process.argv[2] === 'hot' ? 'hot' : 'spread';
const seconds = Number(process.argv[3] ?? 5);
const clients = Number(process.argv[4] ?? 8);
const schema = `tg_profile_${Math.random().toString(36).slice(2, 8)}`;
const GROWING_TABLES = ['holds', 'ledger_transactions', 'ledger_entries', 'customers', 'grants'];

const db = await openDatabase({ url, schema, poolSize: 12 });
try {
  await migrateToLatest(db.kysely);
  const calls = new Map<string, { count: number; milliseconds: number; operations: number }>();
  const query = db.query.bind(db);
  db.query = async <Row>(sql: string, parameters: unknown[] = [], options?: { prepare?: string }) => {
    const kind = sql.match(/tg_ledger_\w+/)?.[0] ?? sql.slice(0, 40);
    const start = performance.now();
    try {
      return await query<Row>(sql, parameters, options);
    } finally {
      const entry = calls.get(kind) ?? { count: 0, milliseconds: 0, operations: 0 };
      entry.count += 1;
      entry.milliseconds += performance.now() - start;
      if (kind === 'tg_ledger_write') {
        const document = JSON.parse(parameters[0] as string) as { hi?: unknown[]; hu?: unknown[] };
        entry.operations += (document.hi?.length ?? 0) + (document.hu?.length ?? 0);
      }
      calls.set(kind, entry);
    }
  };
  const ledger = new Ledger(db, systemClock);
  const customers: string[] = [];
  for (let index = 0; index < (workload === 'hot' ? 1 : 1000); index++) {
    const { id } = await ledger.createCustomer({});
    await ledger.grant({ customerId: id, amountMicros: 10n ** 15n, source: 'purchase' });
    customers.push(id);
  }
  const sizes = async () =>
    new Map(
      (
        await query<{ name: string; bytes: string }>(
          `select relname as name, pg_total_relation_size(oid)::text as bytes from pg_class
            where relnamespace = current_schema()::regnamespace and relname = any($1::text[])`,
          [GROWING_TABLES],
        )
      ).map((row) => [row.name, Number(row.bytes)]),
    );
  const before = await sizes();
  calls.clear();
  let cycles = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() - started < seconds * 1000) {
        const customerId = customers[Math.floor(Math.random() * customers.length)]!;
        const hold = await ledger.hold({ customerId, amountMicros: 5000n });
        if (!hold.ok) throw new Error(`hold refused: ${hold.error.code}`);
        const capture = await ledger.capture({ holdId: hold.value.id, amountMicros: 3000n });
        if (!capture.ok) throw new Error(`capture refused: ${capture.error.code}`);
        cycles += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  console.log(
    `${workload}, ${clients} clients: ${Math.round(cycles / elapsed)} cycles/s (${Math.round((2 * cycles) / elapsed)} operations/s)`,
  );
  for (const [kind, entry] of calls) {
    const perBatch = entry.operations
      ? `, ${(entry.operations / entry.count).toFixed(2)} operations each`
      : '';
    console.log(
      `  ${kind}: ${(entry.count / cycles).toFixed(3)} round trips per cycle, ${(entry.milliseconds / entry.count).toFixed(3)} ms each${perBatch}`,
    );
  }
  const after = await sizes();
  for (const table of GROWING_TABLES) {
    const grown = (after.get(table) ?? 0) - (before.get(table) ?? 0);
    console.log(`  ${table}: +${Math.round(grown / cycles)} bytes per cycle (heap, indexes, TOAST)`);
  }
} finally {
  await db.close();
  const client = new pg.Client({ connectionString: url.split('?')[0] });
  await client.connect();
  await client.query(`drop schema if exists "${schema}" cascade`);
  await client.end();
}
