import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase, testBackends } from '../../test/support/databases.ts';
import { startTcpProxy } from '../../test/support/tcp-proxy.ts';
import {
  DEFAULT_DATABASE_TIMEOUTS,
  databaseReachable,
  databaseTimeoutsFromEnv,
  isDatabaseUnavailable,
  openDatabase,
} from './database.ts';

describe.each(testBackends())('database on $name', (backend) => {
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await openTestDatabase(backend, { poolSize: 2 });
  });
  afterAll(async () => {
    await testDb?.close();
  });

  it('runs a prepared statement again and again, on every connection, with new parameters', async () => {
    const sql = 'select $1::int + 1 as next, current_schema() as schema';
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, index) =>
        testDb.db.query<{ next: number; schema: string }>(sql, [index], { prepare: 'test_next' }),
      ),
    );
    expect(results.map((rows) => rows[0]!.next)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(results.map((rows) => rows[0]!.schema))).toEqual(new Set([testDb.schema ?? 'public']));
  });
});

describe('database timeouts', () => {
  it('come from TOLLGATE_DB_*_TIMEOUT_MS, with bounded defaults', () => {
    expect(databaseTimeoutsFromEnv({})).toEqual(DEFAULT_DATABASE_TIMEOUTS);
    expect(
      databaseTimeoutsFromEnv({
        TOLLGATE_DB_CONNECT_TIMEOUT_MS: '250',
        TOLLGATE_DB_STATEMENT_TIMEOUT_MS: '9000',
      }),
    ).toEqual({ ...DEFAULT_DATABASE_TIMEOUTS, connectMilliseconds: 250, statementMilliseconds: 9000 });
    for (const bad of ['0', '-5', '1.5', 'soon', '1e3']) {
      expect(() => databaseTimeoutsFromEnv({ TOLLGATE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: bad })).toThrowError(
        /TOLLGATE_DB_IDLE_IN_TRANSACTION_TIMEOUT_MS must be a positive whole number/,
      );
    }
  });

  it('tell an unreachable or silent database from a refused write or a bug', () => {
    const coded = (code: string) => Object.assign(new Error('x'), { code });
    for (const error of [
      coded('57014'),
      coded('57P01'),
      coded('08006'),
      coded('25P03'),
      coded('ECONNREFUSED'),
      new Error('Query read timeout'),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('wrapped'), { cause: coded('ECONNRESET') }),
    ]) {
      expect(isDatabaseUnavailable(error), String((error as { code?: string }).code ?? error.message)).toBe(
        true,
      );
    }
    for (const error of [coded('23505'), coded('TGC01'), coded('40001'), new Error('boom'), null, 'text']) {
      expect(isDatabaseUnavailable(error)).toBe(false);
    }
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('database timeouts on postgres', () => {
  let testDb: TestDatabase;
  const timeouts = {
    connectMilliseconds: 2_000,
    statementMilliseconds: 300,
    idleInTransactionMilliseconds: 700,
  };

  beforeAll(async () => {
    testDb = await openTestDatabase(
      { name: 'postgres', url: process.env.TEST_DATABASE_URL },
      { poolSize: 2, timeouts },
    );
  });
  afterAll(async () => {
    await testDb?.close();
  });

  it('are set on every connection', async () => {
    const [row] = await testDb.db.query<{ statement: string; idle: string }>(
      `select current_setting('statement_timeout') as statement,
              current_setting('idle_in_transaction_session_timeout') as idle`,
    );
    expect(row).toEqual({ statement: '300ms', idle: '700ms' });
  });

  it('cancel a statement that runs too long, as an unavailable error, and the pool keeps working', async () => {
    const slow = testDb.db.query('select pg_sleep(5)');
    await expect(slow).rejects.toMatchObject({ code: '57014' });
    expect(isDatabaseUnavailable(await slow.catch((error) => error))).toBe(true);
    const inTransaction = testDb.db.transaction((query) => query('select pg_sleep(5)'));
    await expect(inTransaction).rejects.toMatchObject({ code: '57014' });
    expect(await testDb.db.query<{ one: number }>('select 1 as one')).toEqual([{ one: 1 }]);
  });

  it('answers readiness within its bound', async () => {
    expect(await databaseReachable(testDb.db, 1_000)).toBe(true);
  });

  it('a connection lost inside a transaction fails that transaction as unavailable, not the process', async () => {
    const target = new URL(process.env.TEST_DATABASE_URL!);
    const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const proxied = new URL(process.env.TEST_DATABASE_URL!);
    proxied.host = `127.0.0.1:${proxy.port}`;
    const throughProxy = await openDatabase({ url: proxied.toString(), timeouts, poolSize: 1 });
    try {
      let inside: () => void = () => {};
      const entered = new Promise<void>((resolve) => {
        inside = resolve;
      });
      let cut: () => void = () => {};
      const severed = new Promise<void>((resolve) => {
        cut = resolve;
      });
      const transaction = throughProxy.transaction(async (query) => {
        await query('select 1');
        inside();
        await severed;
        return query('select 2');
      });
      await entered;
      // The socket dies while the transaction holds the connection (an unhandled `error` event would
      // crash the test run here).
      await proxy.close();
      cut();
      const error = await transaction.catch((thrown) => thrown);
      expect(isDatabaseUnavailable(error)).toBe(true);
      await expect(throughProxy.query('select 1')).rejects.toSatisfy(isDatabaseUnavailable);
    } finally {
      await throughProxy.close().catch(() => {});
    }
  });
});
