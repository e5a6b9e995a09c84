import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDatabase, type TestDatabase, testBackends } from '../../test/support/databases.ts';
import { Ledger, unwrap } from '../ledger/ledger.ts';
import { ManualClock } from '../shared/clock.ts';
import { CUSTOMER_GROUP, citusStatements, type Placement, placementOf } from './distribution.ts';

/**
 * Issue 17 item 5, checked on the schema the migrations build (so a future table keeps the rule): every
 * table is placed (`distribution.ts`), every unique key of a sharded table includes its shard column,
 * and no foreign key is one a Citus cluster cannot keep.
 */

/**
 * Unique keys a cluster could not enforce as they are, each with what replaces it there: none today (one
 * customer per app and external id moved to `customer_external_ids` in migration 0016).
 */
const UNIQUE_KEYS_ALLOWED: Record<string, string> = {};

interface Schema {
  columns: Map<string, string[]>;
  uniques: { table: string; index: string; columns: string[] }[];
  foreignKeys: { table: string; name: string; columns: string[]; target: string; targetColumns: string[] }[];
}

async function readSchema(testDb: TestDatabase): Promise<Schema> {
  const { db } = testDb;
  const columns = new Map<string, string[]>();
  for (const row of await db.query<{ table_name: string; column_name: string }>(
    `select c.table_name, c.column_name from information_schema.columns c
       join information_schema.tables t on t.table_schema = c.table_schema and t.table_name = c.table_name
     where c.table_schema = current_schema() and t.table_type = 'BASE TABLE' order by c.ordinal_position`,
  )) {
    columns.set(row.table_name, [...(columns.get(row.table_name) ?? []), row.column_name]);
  }
  // An expression in a key (coalesce(app_id, '')) has no column: it never counts as the shard column.
  const uniques = await db.query<{ table: string; index: string; columns: string[] }>(
    `select t.relname as table, i.relname as index,
            array(select a.attname::text from unnest(x.indkey) with ordinality k (attnum, position)
                  join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.position) as columns
       from pg_index x join pg_class t on t.oid = x.indrelid join pg_class i on i.oid = x.indexrelid
      where t.relnamespace = current_schema()::regnamespace and x.indisunique`,
  );
  const foreignKeys = await db.query<Schema['foreignKeys'][number]>(
    `select t.relname as table, c.conname as name, f.relname as target,
            array(select a.attname::text from unnest(c.conkey) with ordinality k (attnum, position)
                  join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.position) as columns,
            array(select a.attname::text from unnest(c.confkey) with ordinality k (attnum, position)
                  join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum order by k.position)
              as "targetColumns"
       from pg_constraint c join pg_class t on t.oid = c.conrelid join pg_class f on f.oid = c.confrelid
      where c.contype = 'f' and c.connamespace = current_schema()::regnamespace`,
  );
  return { columns, uniques, foreignKeys };
}

/** Why Citus would refuse this foreign key, or null when it keeps it. */
function foreignKeyProblem(
  from: Placement,
  to: Placement,
  key: Schema['foreignKeys'][number],
): string | null {
  if (from.kind === 'local' || to.kind === 'reference') return null;
  if (to.kind === 'local') return 'points at a coordinator-only table';
  if (from.kind === 'reference') return 'a replicated table cannot point into a sharded one';
  if (to.kind !== 'distributed' || from.kind !== 'distributed') return null;
  if (from.group !== to.group) return `crosses shard groups (${from.group} → ${to.group})`;
  const position = key.columns.indexOf(from.column);
  if (position === -1 || key.targetColumns[position] !== to.column)
    return `does not map ${from.column} onto ${to.column}: it could cross customers`;
  return null;
}

describe.each(testBackends())('the schema fits a cluster sharded by customer ($name)', (backend) => {
  let testDb: TestDatabase;
  let schema: Schema;

  beforeAll(async () => {
    testDb = await openTestDatabase(backend);
    schema = await readSchema(testDb);
  });
  afterAll(async () => {
    await testDb?.close();
  });

  it('places every table: one with customer_id is sharded by it, any other is listed with its reason', () => {
    const unplaced = [...schema.columns]
      .filter(([table, columns]) => !placementOf(table, columns))
      .map(([t]) => t);
    expect(
      unplaced,
      'a table without customer_id: add the column (customer-owned) or list it in store/distribution.ts',
    ).toEqual([]);
    for (const [table, columns] of schema.columns) {
      const placement = placementOf(table, columns);
      if (placement?.kind === 'distributed') expect(columns, table).toContain(placement.column);
    }
    expect(placementOf('holds', schema.columns.get('holds')!)).toEqual({
      kind: 'distributed',
      column: 'customer_id',
      group: CUSTOMER_GROUP,
    });
  });

  it('includes the shard column in every unique key of a sharded table', () => {
    const offending = schema.uniques
      .filter(({ table, columns }) => {
        const placement = placementOf(table, schema.columns.get(table) ?? []);
        return placement?.kind === 'distributed' && !columns.includes(placement.column);
      })
      .map(({ index }) => index)
      .sort();
    expect(offending).toEqual(Object.keys(UNIQUE_KEYS_ALLOWED).sort());
  });

  it('has no foreign key that crosses customers or points from a replicated table into a sharded one', () => {
    const problems = schema.foreignKeys.flatMap((key) => {
      const from = placementOf(key.table, schema.columns.get(key.table) ?? []);
      const to = placementOf(key.target, schema.columns.get(key.target) ?? []);
      const problem = from && to ? foreignKeyProblem(from, to, key) : 'an unplaced table';
      return problem ? [`${key.table}.${key.name}: ${problem}`] : [];
    });
    expect(problems).toEqual([]);
  });

  it('writes every leg with the customer of its transaction', async () => {
    const ledger = new Ledger(testDb.db, new ManualClock('2026-03-01T00:00:00Z'));
    const customers = await Promise.all([ledger.createCustomer({}), ledger.createCustomer({})]);
    await Promise.all(
      customers.map(async ({ id }) => {
        unwrap(await ledger.grant({ customerId: id, amountMicros: 5_000_000n, source: 'purchase' }));
        unwrap(await ledger.charge({ customerId: id, amountMicros: 1_000_000n }));
      }),
    );
    const legs = await testDb.db.query<{ customer_id: string; transaction_customer: string }>(
      `select e.customer_id, t.customer_id as transaction_customer
         from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
        where t.customer_id = any($1::text[])`,
      [customers.map(({ id }) => id)],
    );
    expect(legs.length).toBe(8);
    for (const leg of legs) expect(leg.customer_id).toBe(leg.transaction_customer);
  });

  it('keeps one customer per app and external id without a unique key across customers', async () => {
    const ledger = new Ledger(testDb.db, new ManualClock('2026-03-01T00:00:00Z'));
    const created = await Promise.all(
      Array.from({ length: 10 }, () => ledger.createCustomer({ appId: null, externalId: 'user-42' })),
    );
    expect(new Set(created.map(({ id }) => id)).size).toBe(1);
    expect(created.filter(({ created }) => created)).toHaveLength(1);
    const again = await ledger.createCustomer({ externalId: 'user-42', email: 'x@example.com' });
    expect(again).toEqual({ id: created[0]!.id, created: false });
    const rows = await testDb.db.query<{ id: string }>(
      `select id from customers where external_id = 'user-42'`,
    );
    expect(rows).toEqual([{ id: created[0]!.id }]);
  });

  it('renders the statements that distribute it, reference tables first, each group colocated', () => {
    const statements = citusStatements(Object.fromEntries(schema.columns));
    expect(statements[0]).toMatch(/^select create_reference_table\(/);
    expect(statements).toContain("select create_distributed_table('customers', 'id');");
    expect(statements).toContain(
      "select create_distributed_table('holds', 'customer_id', colocate_with => 'customers');",
    );
    expect(statements.filter((statement) => statement.includes('kysely_migration'))).toEqual([]);
  });
});
