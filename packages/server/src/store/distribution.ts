/**
 * How the schema is laid out on a distributed PostgreSQL (Citus), by customer (`docs/scaling.md`).
 * A table with a `customer_id` column is sharded by it, in the customers' colocation group, unless it
 * is listed below; a table without one must be listed. `distributable.test.ts` checks the live schema
 * against this: every unique key of a sharded table includes its shard column, and no foreign key is one
 * a cluster cannot keep (a replicated table pointing into a sharded one, or two shard groups).
 */

export type Placement =
  /** Sharded by `column`, colocated with every other table of `group` (same column type). */
  | { kind: 'distributed'; column: string; group: string }
  /** One copy on every node: small, read everywhere, written rarely (a write reaches every node). */
  | { kind: 'reference' }
  /** Stays on the coordinator (migration bookkeeping). */
  | { kind: 'local' };

/** The customers' group: every customer-owned table, sharded by the customer id. */
export const CUSTOMER_GROUP = 'customers';

/** Tables placed otherwise than "sharded by `customer_id` with the customers", and why. */
export const PLACEMENTS: Record<string, { placement: Placement; why: string }> = {
  customers: {
    placement: { kind: 'distributed', column: 'id', group: CUSTOMER_GROUP },
    why: 'the account itself: its id is the customer id',
  },
  customer_merges: {
    placement: { kind: 'distributed', column: 'guest_customer_id', group: CUSTOMER_GROUP },
    why: "a guest's merge record lives with the guest; the account it went to is another customer",
  },
  customer_external_ids: {
    placement: { kind: 'distributed', column: 'external_id', group: 'customer_external_ids' },
    why: 'one customer per app and external id: the key that finds a customer before its id is known',
  },
  api_keys: {
    placement: { kind: 'reference' },
    why: 'looked up by key hash on every request, on every node; app and admin keys have no customer',
  },
  signup_bonuses: {
    placement: { kind: 'distributed', column: 'app_id', group: 'apps' },
    why: 'one bonus per verified identity and app, whichever customer claims it: the key crosses customers',
  },
  signup_bonus_days: {
    placement: { kind: 'distributed', column: 'app_id', group: 'apps' },
    why: "an app's daily bonus cap, updated with its signup_bonuses row",
  },
  apps: { placement: { kind: 'reference' }, why: 'few rows, read on every request' },
  ledger_accounts: {
    placement: { kind: 'reference' },
    why: 'the system and referral accounts (balances derived)',
  },
  settings: { placement: { kind: 'reference' }, why: 'a handful of server-wide values' },
  gift_code_batches: { placement: { kind: 'reference' }, why: 'created by admins; few' },
  gift_codes: {
    placement: { kind: 'reference' },
    why: 'a code is redeemed by any customer: its counter is one row every redemption locks',
  },
  widget_login_codes: {
    placement: { kind: 'reference' },
    why: 'sign-in codes keyed by app and email, before there is a customer',
  },
  webhook_endpoints: {
    placement: { kind: 'reference' },
    why: "an app's few endpoints, read on every delivery",
  },
  partner_payouts: { placement: { kind: 'reference' }, why: 'payouts to apps: rare, written by an admin' },
  app_referral_rate_changes: {
    placement: { kind: 'reference' },
    why: "the history of an app's referral rate: rare, beside its apps row",
  },
  webhook_events: {
    placement: { kind: 'distributed', column: 'id', group: 'webhook_events' },
    why: "the payment provider's event ids, deduplicated before the customer is known",
  },
  idempotency_keys: {
    placement: { kind: 'distributed', column: 'scope', group: 'idempotency_keys' },
    why: "keys are unique per caller's scope (an app or a user key), not per customer",
  },
  kysely_migration: { placement: { kind: 'local' }, why: 'migration bookkeeping' },
  kysely_migration_lock: { placement: { kind: 'local' }, why: 'migration bookkeeping' },
};

/** Where `table` goes: listed, else sharded by `customer_id` when it has one, else unknown. */
export function placementOf(table: string, columns: readonly string[]): Placement | undefined {
  const listed = PLACEMENTS[table];
  if (listed) return listed.placement;
  if (columns.includes('customer_id'))
    return { kind: 'distributed', column: 'customer_id', group: CUSTOMER_GROUP };
  return undefined;
}

/**
 * The statements that distribute an up-to-date schema on a Citus coordinator (after the migrations ran
 * there): reference tables first (sharded tables may point at them), then each group, its first table
 * leading and the others colocated with it.
 */
export function citusStatements(tables: Record<string, readonly string[]>): string[] {
  const statements: string[] = [];
  const leaders = new Map<string, string>();
  const names = Object.keys(tables).sort((left, right) =>
    left === 'customers' ? -1 : right === 'customers' ? 1 : left.localeCompare(right),
  );
  for (const table of names) {
    if (placementOf(table, tables[table]!)?.kind === 'reference')
      statements.push(`select create_reference_table('${table}');`);
  }
  for (const table of names) {
    const placement = placementOf(table, tables[table]!);
    if (placement?.kind !== 'distributed') continue;
    const leader = leaders.get(placement.group);
    statements.push(
      leader
        ? `select create_distributed_table('${table}', '${placement.column}', colocate_with => '${leader}');`
        : `select create_distributed_table('${table}', '${placement.column}');`,
    );
    if (!leader) leaders.set(placement.group, table);
  }
  return statements;
}
