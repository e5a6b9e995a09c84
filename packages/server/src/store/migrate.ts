/**
 * Forward-only migrations, run on every start. Kysely's migrator records what ran and takes a lock,
 * so running twice (or from two servers at once) applies each migration exactly once.
 */
import { type Kysely, type Migration, type MigrationProvider, Migrator, sql } from 'kysely';
import * as ledger from './migrations/0001-ledger.ts';
import * as ledgerFunctions from './migrations/0002-ledger-functions.ts';
import * as apps from './migrations/0003-apps.ts';
import * as payments from './migrations/0004-payments.ts';
import * as generations from './migrations/0005-generations.ts';
import * as widget from './migrations/0006-widget.ts';
import * as portal from './migrations/0007-portal.ts';
import * as ledgerSetBased from './migrations/0008-ledger-set-based.ts';
import * as ledgerSingleOperation from './migrations/0009-ledger-single-operation.ts';
import * as ledgerEngine from './migrations/0010-ledger-engine.ts';
import * as appPolicies from './migrations/0011-app-policies.ts';
import * as sellingSafely from './migrations/0012-selling-safely.ts';
import * as webhooks from './migrations/0013-webhooks.ts';
import * as spendLimits from './migrations/0014-spend-limits.ts';
import * as entitlementsUsagePayouts from './migrations/0015-entitlements-usage-payouts.ts';
import * as distributable from './migrations/0016-distributable.ts';
import * as autoTopup from './migrations/0017-auto-topup.ts';
import * as grants from './migrations/0018-grants.ts';
import * as teams from './migrations/0019-teams.ts';
import * as appBranding from './migrations/0020-app-branding.ts';
import * as partnerSettings from './migrations/0021-partner-settings.ts';

/** Every migration by name, in order. */
export const MIGRATIONS: Record<string, { up: string }> = {
  '0001-ledger': ledger,
  '0002-ledger-functions': ledgerFunctions,
  '0003-apps': apps,
  '0004-payments': payments,
  '0005-generations': generations,
  '0006-widget': widget,
  '0007-portal': portal,
  '0008-ledger-set-based': ledgerSetBased,
  '0009-ledger-single-operation': ledgerSingleOperation,
  '0010-ledger-engine': ledgerEngine,
  '0011-app-policies': appPolicies,
  '0012-selling-safely': sellingSafely,
  '0013-webhooks': webhooks,
  '0014-spend-limits': spendLimits,
  '0015-entitlements-usage-payouts': entitlementsUsagePayouts,
  '0016-distributable': distributable,
  '0017-auto-topup': autoTopup,
  '0018-grants': grants,
  '0019-teams': teams,
  '0020-app-branding': appBranding,
  '0021-partner-settings': partnerSettings,
};

class InCodeProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const [name, migration] of Object.entries(MIGRATIONS)) {
      migrations[name] = {
        async up(db: Kysely<any>) {
          await sql.raw(migration.up).execute(db);
        },
      };
    }
    return migrations;
  }
}

/**
 * Whether every migration is recorded in `schema` and nothing unknown is: the case of every restart.
 * Two reads instead of the migrator's bookkeeping (its tables, its lock), which cost the embedded
 * database most of a second of start-up.
 */
async function upToDate(db: Kysely<any>, schema: string): Promise<boolean> {
  const table = `"${schema.replaceAll('"', '""')}".kysely_migration`;
  const { rows: present } = await sql<{
    present: boolean;
  }>`select to_regclass(${table}) is not null as present`.execute(db);
  if (!present[0]?.present) return false;
  const { rows } = await sql<{ name: string }>`select name from ${sql.raw(table)}`.execute(db);
  const applied = new Set(rows.map((row) => row.name));
  const known = Object.keys(MIGRATIONS);
  return applied.size === known.length && known.every((name) => applied.has(name));
}

export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  // Kysely looks for its bookkeeping tables in every schema unless told which one: with another
  // schema's migration tables present (parallel tests, benchmarks) it would skip creating its own.
  const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
  if (rows[0]?.schema && (await upToDate(db, rows[0].schema))) return [];
  const migrator = new Migrator({
    db,
    provider: new InCodeProvider(),
    migrationTableSchema: rows[0]?.schema,
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? [])
    .filter((result) => result.status === 'Success')
    .map((result) => result.migrationName);
}
