/**
 * Runs a database suite on every backend: PGlite always, PostgreSQL too when TEST_DATABASE_URL is set.
 * Each PostgreSQL suite lives in its own schema so that parallel test files never see each other.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { type Database, type DatabaseTimeouts, openDatabase } from '../../src/store/database.ts';
import { migrateToLatest } from '../../src/store/migrate.ts';

export interface TestBackend {
  name: 'pglite' | 'postgres';
  url?: string;
}

export function testBackends(): TestBackend[] {
  const backends: TestBackend[] = [{ name: 'pglite' }];
  if (process.env.TEST_DATABASE_URL) backends.push({ name: 'postgres', url: process.env.TEST_DATABASE_URL });
  return backends;
}

export interface TestDatabase {
  db: Database;
  schema?: string;
  url?: string;
  close(): Promise<void>;
}

export interface TestDatabaseOptions {
  poolSize?: number;
  /** PostgreSQL only: connect through this URL instead (a proxy in front of the same server). */
  url?: string;
  timeouts?: DatabaseTimeouts;
}

export async function openTestDatabase(
  backend: TestBackend,
  options: TestDatabaseOptions = {},
): Promise<TestDatabase> {
  if (backend.name === 'pglite') {
    const db = await openDatabase({});
    await migrateToLatest(db.kysely);
    return { db, close: () => db.close() };
  }
  const schema = `t_${randomBytes(6).toString('hex')}`;
  const db = await openDatabase({
    url: options.url ?? backend.url,
    schema,
    poolSize: options.poolSize,
    timeouts: options.timeouts,
  });
  await migrateToLatest(db.kysely);
  return {
    db,
    schema,
    url: backend.url,
    async close() {
      await db.close();
      await dropSchema(backend.url!, schema);
    },
  };
}

export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}
