/**
 * One store, two backends: PGlite (embedded, data in a folder) by default, PostgreSQL when a URL is
 * given. Both run the same SQL and the same migrations. `query` is the raw path the ledger uses for
 * its one-round-trip calls; `kysely` is for everything else.
 */
import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { Mutex } from '../shared/mutex.ts';
import { PGliteDialect } from './pglite-dialect.ts';
import type { Tables } from './tables.ts';

export type DatabaseKind = 'pglite' | 'postgres';

export type QueryFunction = <Row = Record<string, unknown>>(
  sql: string,
  parameters?: unknown[],
) => Promise<Row[]>;

function transactionOf(kysely: Kysely<Tables>) {
  return <Value>(work: (query: QueryFunction) => Promise<Value>): Promise<Value> =>
    kysely.transaction().execute((trx) =>
      work(async <Row>(sql: string, parameters: unknown[] = []) => {
        const result = await trx.executeQuery<Row>(CompiledQuery.raw(sql, parameters));
        return result.rows;
      }),
    );
}

export interface Database {
  readonly kind: DatabaseKind;
  readonly kysely: Kysely<Tables>;
  /**
   * Runs one statement outside any Kysely transaction and returns its rows. A `prepare` name makes
   * PostgreSQL parse and plan it once per connection (for statements run all the time, like the
   * ledger's); PGlite ignores it.
   */
  query<Row = Record<string, unknown>>(
    sql: string,
    parameters?: unknown[],
    options?: { prepare?: string },
  ): Promise<Row[]>;
  /**
   * Runs `work` in one transaction; `query` runs its statements on the transaction's connection. It
   * commits when `work` resolves and rolls back when it throws.
   */
  transaction<Value>(work: (query: QueryFunction) => Promise<Value>): Promise<Value>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL connection string; absent → embedded PGlite. */
  url?: string;
  /** PGlite data folder; `memory://` (or undefined with `memory: true`) keeps it in memory. */
  dataDir?: string;
  /** PostgreSQL schema to use (tests isolate themselves in their own schema). */
  schema?: string;
  /** Pool size for PostgreSQL. */
  poolSize?: number;
}

const INT8_OID = 20;

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options) : openPGlite(options.dataDir ?? 'memory://');
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  const types = {
    getTypeParser(oid: number, format?: 'text' | 'binary') {
      // bigint columns hold money: never let them become floats or strings.
      if (oid === INT8_OID) return (value: string) => BigInt(value);
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const schema = options.schema;
  if (schema) {
    const setup = new pg.Client({ connectionString: url });
    await setup.connect();
    try {
      await setup.query(`create schema if not exists "${schema.replaceAll('"', '')}"`);
    } finally {
      await setup.end();
    }
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 12,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
  });
  pool.on('error', () => {
    // An idle client lost its connection (server restart); the pool replaces it on next use.
  });
  const kysely = new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) });
  return {
    kind: 'postgres',
    kysely,
    transaction: transactionOf(kysely),
    async query<Row>(sql: string, parameters: unknown[] = [], options: { prepare?: string } = {}) {
      const result = options.prepare
        ? await pool.query({ name: options.prepare, text: sql, values: parameters })
        : await pool.query(sql, parameters);
      return result.rows as Row[];
    },
    async close() {
      await kysely.destroy();
    },
  };
}

async function openPGlite(dataDir: string): Promise<Database> {
  if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
  const pglite = await PGlite.create(dataDir, {
    // PGlite already runs without fsync (-F): it survives a crash of the process, not of the machine.
    // Full-page images in the WAL only protect against torn pages, which only a machine crash makes,
    // so they are pure cost here (they were about a third of what each commit wrote).
    startParams: [...PGlite.defaultStartParams, '-c', 'full_page_writes=off'],
  });
  // PGlite's single session is shared by the Kysely driver and the raw calls: one user at a time.
  const lock = new Mutex();
  const kysely = new Kysely<Tables>({ dialect: new PGliteDialect(pglite, lock) });
  let closed = false;
  return {
    kind: 'pglite',
    kysely,
    transaction: transactionOf(kysely),
    async query<Row>(sql: string, parameters: unknown[] = []) {
      const release = await lock.acquire();
      try {
        const result = await pglite.query<Row>(sql, parameters);
        return result.rows;
      } finally {
        release();
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await kysely.destroy();
      const release = await lock.acquire();
      try {
        await pglite.close();
      } finally {
        release();
      }
    },
  };
}
