/**
 * One store, two backends: PGlite (embedded, data in a folder) by default, PostgreSQL when a URL is
 * given. Both run the same SQL and the same migrations. `query` is the raw path the ledger uses for
 * its one-round-trip calls; `kysely` is for everything else.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { PGlite } from '@electric-sql/pglite';
import { CompiledQuery, Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { millisecondsFromEnv } from '../shared/env.ts';
import { Mutex } from '../shared/mutex.ts';
import { unpackBaseline } from './baseline.ts';
import { lockDataFolder } from './data-folder.ts';
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
  /** Bounds on PostgreSQL (a server or network that stops answering); none when absent. */
  timeouts?: DatabaseTimeouts;
  /** Told what the start is doing (opening, creating the embedded database). */
  progress?: (message: string) => void;
}

/**
 * How long the server waits on PostgreSQL before giving up. Without them a frozen database (or a
 * network that drops packets) holds every request for as long as it lasts; with them the request
 * answers 503 `unavailable` and a retry with the same Idempotency-Key is safe: a ledger write that
 * timed out either committed (the retry replays it) or did not (the retry writes it once).
 */
export interface DatabaseTimeouts {
  /** Opening a connection, and waiting for a free one from the pool. */
  connectMilliseconds: number;
  /**
   * One statement. PostgreSQL cancels it past this (`statement_timeout`); the client stops waiting a
   * second later, for the case where PostgreSQL cannot even say so (network gone), and drops that
   * connection.
   */
  statementMilliseconds: number;
  /** A session left inside a transaction by a client that stopped talking loses it and its locks. */
  idleInTransactionMilliseconds: number;
}

export const DEFAULT_DATABASE_TIMEOUTS: DatabaseTimeouts = {
  connectMilliseconds: 5_000,
  statementMilliseconds: 15_000,
  idleInTransactionMilliseconds: 15_000,
};

/** The timeouts from TOLLGATE_DB_*_TIMEOUT_MS, each defaulting as above; a bad value stops the start. */
export function databaseTimeoutsFromEnv(env: Record<string, string | undefined>): DatabaseTimeouts {
  const defaults = DEFAULT_DATABASE_TIMEOUTS;
  return {
    connectMilliseconds: millisecondsFromEnv(
      env,
      'TOLLGATE_DB_CONNECT_TIMEOUT_MS',
      defaults.connectMilliseconds,
    ),
    statementMilliseconds: millisecondsFromEnv(
      env,
      'TOLLGATE_DB_STATEMENT_TIMEOUT_MS',
      defaults.statementMilliseconds,
    ),
    idleInTransactionMilliseconds: millisecondsFromEnv(
      env,
      'TOLLGATE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS',
      defaults.idleInTransactionMilliseconds,
    ),
  };
}

/** Client-side waits past the server's own statement timeout, before the connection is given up. */
const READ_TIMEOUT_GRACE_MILLISECONDS = 1_000;

const UNAVAILABLE_SQLSTATES = new Set([
  '57014', // query_canceled: statement_timeout
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
  '25P03', // idle_in_transaction_session_timeout
]);
const UNAVAILABLE_NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);
const UNAVAILABLE_MESSAGES = [
  'Query read timeout',
  'timeout exceeded when trying to connect',
  'Connection terminated',
  'timeout expired',
  'Client has encountered a connection error',
  'Cannot use a pool after calling end',
];

/**
 * Whether an error says the database could not be reached or did not answer in time (as opposed to a
 * bug or a refused write): the request may be retried once it is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (
    typeof code === 'string' &&
    (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08') || UNAVAILABLE_NETWORK_CODES.has(code))
  ) {
    return true;
  }
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((text) => message.includes(text))) return true;
  const cause = (error as { cause?: unknown }).cause;
  return cause !== undefined && cause !== error && isDatabaseUnavailable(cause);
}

/** For /readyz: whether `select 1` answers within the bound. */
export async function databaseReachable(db: Database, timeoutMilliseconds: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMilliseconds);
  });
  const probe = db.query('select 1').then(
    () => true,
    () => false,
  );
  try {
    return await Promise.race([probe, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Kysely returns a connection to the pool as healthy whatever happened on it. One whose statement
 * timed out on the client side, or that lost its socket, may still have that statement in flight:
 * it is handed back as broken, so the pool closes it instead of lending it to the next request.
 * While Kysely holds a connection the pool does not listen for its errors, and node-postgres emits a
 * lost socket as an `error` event: without a listener here, a database going away in the middle of
 * a transaction would crash the process instead of failing that request.
 */
function releasingBrokenConnections(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken: Error | undefined;
      const onError = (error: Error) => {
        broken = error;
      };
      client.on('error', onError);
      return {
        query: (async (sql: string, parameters: readonly unknown[]) => {
          try {
            return await client.query(sql, parameters as unknown[]);
          } catch (error) {
            if (isDatabaseUnavailable(error)) broken = error as Error;
            throw error;
          }
        }) as unknown as PostgresPoolClient['query'],
        release: () => {
          client.off('error', onError);
          client.release(broken);
        },
      };
    },
    end: () => pool.end(),
  };
}

const INT8_OID = 20;

/**
 * PostgreSQL's WebAssembly (9 MB) starts on V8's baseline compiler and moves each function to the
 * optimising one once it has run enough. At the default threshold PostgreSQL's own start (reading its
 * catalogs) already made hundreds of functions "hot", and optimising them cost ~0.4 s of CPU on every
 * open, for code that then hardly runs again. A higher threshold leaves the start on baseline code;
 * what the workload runs often is still optimised. Set before PGlite compiles its module; a V8
 * without the flag ignores it.
 */
const WASM_TIERING_BUDGET = 50_000_000;
let wasmTieringSet = false;
function raiseWasmTieringThreshold() {
  if (wasmTieringSet) return;
  wasmTieringSet = true;
  setFlagsFromString(`--wasm-tiering-budget=${WASM_TIERING_BUDGET}`);
}

/** PGlite's shared buffers (see openPGlite). */
const PGLITE_SHARED_BUFFERS = '16MB';

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (options.url) checkDatabaseUrl(options.url);
  return options.url
    ? openPostgres(options.url, options)
    : openPGlite(options.dataDir ?? 'memory://', options.progress);
}

/** The PGlite instance under an embedded store (the build archives its data folder). */
const pgliteInstances = new WeakMap<Database, PGlite>();

export function pgliteInstance(db: Database): PGlite {
  const pglite = pgliteInstances.get(db);
  if (!pglite) throw new Error('not an embedded (PGlite) database');
  return pglite;
}

/**
 * Refuses what is not a PostgreSQL URL before the driver turns it into a puzzle (`notaurl` became
 * "getaddrinfo ENOTFOUND base", a mysql:// URL "unexpected copyData message"). The message never
 * repeats the URL itself: it may hold a password.
 */
export function checkDatabaseUrl(url: string): void {
  const expected =
    'DATABASE_URL must be a PostgreSQL connection URL such as postgres://user:password@host:5432/database (leave it unset for the embedded database)';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${expected}; the value set is not a URL`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new Error(`${expected}; got a ${parsed.protocol.replace(/:$/, '')}:// URL`);
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) {
    throw new Error(`${expected}; the URL names no host`);
  }
}

async function openPostgres(url: string, options: DatabaseOptions): Promise<Database> {
  // Loaded here, not at the top: a server on the embedded database never needs the driver.
  const { default: pg } = await import('pg');
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
  const timeouts = options.timeouts;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 12,
    types,
    ...(schema ? { options: `-c search_path=${schema}` } : {}),
    ...(timeouts
      ? {
          connectionTimeoutMillis: timeouts.connectMilliseconds,
          statement_timeout: timeouts.statementMilliseconds,
          idle_in_transaction_session_timeout: timeouts.idleInTransactionMilliseconds,
          query_timeout: timeouts.statementMilliseconds + READ_TIMEOUT_GRACE_MILLISECONDS,
        }
      : {}),
  });
  pool.on('error', () => {
    // An idle client lost its connection (server restart); the pool replaces it on next use.
  });
  const kysely = new Kysely<Tables>({
    dialect: new PostgresDialect({ pool: releasingBrokenConnections(pool) }),
  });
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

async function openPGlite(
  dataDir: string,
  progress: (message: string) => void = () => {},
): Promise<Database> {
  const inMemory = dataDir.startsWith('memory://');
  // One process per folder (data-folder.ts): a second PGlite on the same files corrupts them.
  const folderLock = inMemory ? null : lockDataFolder(dataDir);
  let pglite: PGlite;
  try {
    if (!inMemory && !existsSync(join(dataDir, 'PG_VERSION'))) {
      // A new folder starts from the archive the build made (unpacked, not initialised) when one matches.
      if (unpackBaseline(dataDir)) {
        progress(`created the embedded database in ${dataDir} from the packaged baseline`);
      } else {
        progress(`creating the embedded database in ${dataDir} (initdb: several seconds)`);
      }
    } else if (!inMemory) {
      progress(`opening the embedded database in ${dataDir}`);
    }
    raiseWasmTieringThreshold();
    pglite = await PGlite.create(dataDir, {
      // PGlite already runs without fsync (-F): it survives a crash of the process, not of the machine.
      // Full-page images in the WAL only protect against torn pages, which only a machine crash makes,
      // so they are pure cost here (they were about a third of what each commit wrote).
      // Shared buffers: PostgreSQL's default 128 MB lives in the process's memory from the start
      // (~130 MB of resident memory, idle); 16 MB holds this database's hot pages, and the rest is
      // in the operating system's file cache anyway.
      startParams: [
        ...PGlite.defaultStartParams,
        '-c',
        'full_page_writes=off',
        '-c',
        `shared_buffers=${PGLITE_SHARED_BUFFERS}`,
      ],
    });
  } catch (error) {
    folderLock?.release();
    throw error;
  }
  // PGlite's single session is shared by the Kysely driver and the raw calls: one user at a time.
  const lock = new Mutex();
  const kysely = new Kysely<Tables>({ dialect: new PGliteDialect(pglite, lock) });
  let closed = false;
  const db: Database = {
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
        folderLock?.release();
      }
    },
  };
  pgliteInstances.set(db, pglite);
  return db;
}
