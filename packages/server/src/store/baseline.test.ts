/**
 * The packaged baseline (dist/baseline/, made by the build that runs before the tests) is the database
 * the migrations make: a folder unpacked from it needs no migration and has the same tables, columns,
 * indexes and functions as one initialised and migrated from scratch.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { hasBaseline, unpackBaseline } from './baseline.ts';
import { type Database, openDatabase } from './database.ts';
import { migrateToLatest } from './migrate.ts';

const PACKAGED = fileURLToPath(new URL('../../dist/baseline/', import.meta.url));

/** The schema as text: every column, index, constraint and function of the public schema. */
async function schemaOf(db: Database): Promise<string[]> {
  const rows = await db.query<{ item: string }>(`
    select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as item
      from information_schema.columns where table_schema = current_schema()
    union all select 'index ' || indexname || ' ' || indexdef from pg_indexes where schemaname = current_schema()
    union all select 'constraint ' || conname || ' ' || pg_get_constraintdef(oid) from pg_constraint
      where connamespace = current_schema()::regnamespace
    union all select 'function ' || p.oid::regprocedure::text || ' ' || md5(prosrc) from pg_proc p
      where pronamespace = current_schema()::regnamespace
    order by 1`);
  return rows.map((row) => row.item);
}

describe('the packaged baseline', () => {
  const folder = mkdtempSync(join(tmpdir(), 'tollgate-baseline-'));
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it.skipIf(!hasBaseline(PACKAGED))(
    'is the migrated database: nothing to apply, the same schema',
    async () => {
      expect(unpackBaseline(folder, PACKAGED)).toBe(true);
      const unpacked = await openDatabase({ dataDir: folder });
      const migrated = await openDatabase({ dataDir: 'memory://' });
      try {
        expect(await migrateToLatest(unpacked.kysely)).toEqual([]);
        expect((await migrateToLatest(migrated.kysely)).length).toBeGreaterThan(0);
        const schema = await schemaOf(unpacked);
        expect(schema.length).toBeGreaterThan(50);
        expect(schema).toEqual(await schemaOf(migrated));
      } finally {
        await unpacked.close();
        await migrated.close();
      }
    },
  );
});
