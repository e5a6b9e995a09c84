/**
 * The ledger's I/O: one read of the state a batch needs (`tg_ledger_load`) and one write of what it
 * changed (`tg_ledger_write`), both in store/migrations/0010. Runs on the shared connection pool or
 * inside a transaction (ledger transactions, which lock their customers first).
 */
import {
  type AccountState,
  type BalanceLevel,
  type GrantState,
  type HoldLimit,
  type HoldState,
  keyId,
  type RawResult,
  type StoredKey,
  type WriteDocument,
} from './engine.ts';
import type { SpendLimitPeriod } from './spend-limits.ts';
import { compareSpendOrder, type GrantScope, type GrantSource } from './spend-order.ts';

/** Runs one statement and returns its rows: the pool's `query`, or a transaction's. */
export type Execute = <Row>(sql: string, parameters: unknown[], prepare?: string) => Promise<Row[]>;

export interface LoadRequest {
  customers: string[];
  holds: string[];
  /** [customer, run id] pairs whose totals a run limit needs. */
  runs: [string, string][];
  /** [scope, key] pairs to look up (after a batch found one of its keys taken). */
  keys: [string, string][];
}

export interface LoadedState {
  accounts: AccountState[];
  holds: HoldState[];
  keys: Map<string, StoredKey>;
}

/** SQLSTATE of `tg_ledger_conflict`: the batch read something that another writer has changed since. */
export const CONFLICT_SQLSTATE = 'TGC01';

/** The same refusal, raised by the ledger itself when it cannot get a consistent read from the cache. */
export class LedgerConflict extends Error {
  readonly code = CONFLICT_SQLSTATE;
}

export function isConflict(error: unknown): boolean {
  return (error as { code?: unknown })?.code === CONFLICT_SQLSTATE;
}

type CustomerRow = [string, string, string, string];
type GrantRow = [
  string,
  string,
  GrantSource,
  number,
  string,
  string,
  string,
  string | null,
  string,
  GrantScope | null,
  string | null,
];
type HoldRow = [
  string,
  string,
  HoldState['status'],
  HoldState['funding'],
  string,
  string | null,
  [string, string][],
  string | null,
  string | null,
  string | null,
  string,
  string,
  string | null,
  string | null,
  string | null,
  RawResult | null,
  Record<string, unknown> | null,
  HoldLimit[] | null,
  string | null,
];
type LimitRow = [string, string, string, SpendLimitPeriod, string, string, string];

/** `defaultThreshold`: the low-balance threshold of a customer whose app and who set none. */
export async function loadState(
  execute: Execute,
  request: LoadRequest,
  defaultThreshold: bigint | null = null,
): Promise<LoadedState> {
  const rows = await execute<{ state: unknown }>(
    'select tg_ledger_load_alerts($1::text[], $2::text[], $3::jsonb, $4::jsonb) as state',
    [request.customers, request.holds, JSON.stringify(request.runs), JSON.stringify(request.keys)],
    'tg_ledger_load_alerts',
  );
  const state = parseJson(rows[0]!.state) as {
    customers: CustomerRow[];
    grants: GrantRow[];
    holds: HoldRow[];
    runs: [string, string, string, string][];
    limits: LimitRow[];
    keys: [string, string, string, RawResult | null, string | null][];
    alerts: [string, string | null, BalanceLevel][];
  };
  const accounts = new Map<string, AccountState>();
  for (const [id, revision, balance, held] of state.customers) {
    accounts.set(id, {
      id,
      revision: BigInt(revision),
      balance: BigInt(balance),
      held: BigInt(held),
      grants: [],
      runs: new Map(),
      limits: new Map(),
    });
  }
  for (const [
    id,
    customer,
    source,
    priority,
    amount,
    remaining,
    reserved,
    expiresAt,
    createdAt,
    scope,
    voidedAt,
  ] of state.grants) {
    const grant: GrantState = {
      id,
      source,
      priority,
      amount: BigInt(amount),
      remaining: BigInt(remaining),
      reserved: BigInt(reserved),
      expiresAt: expiresAt === null ? null : new Date(expiresAt),
      createdAt: new Date(createdAt),
      scope: scope ?? null,
      voidedAt: voidedAt === null || voidedAt === undefined ? null : new Date(voidedAt),
    };
    accounts.get(customer)?.grants.push(grant);
  }
  for (const account of accounts.values()) account.grants.sort(compareSpendOrder);
  for (const [customer, threshold, level] of state.alerts) {
    const account = accounts.get(customer);
    if (account)
      account.alert = { threshold: threshold === null ? defaultThreshold : BigInt(threshold), level };
  }
  // A run the read asked for and did not find has spent nothing yet.
  for (const [customer, run] of request.runs)
    accounts.get(customer)?.runs.set(run, { captured: 0n, held: 0n });
  for (const [customer, run, captured, held] of state.runs) {
    accounts.get(customer)?.runs.set(run, { captured: BigInt(captured), held: BigInt(held) });
  }
  for (const [customer, scope, amount, period, start, spent, id] of state.limits) {
    accounts.get(customer)?.limits.set(scope, {
      amount: BigInt(amount),
      period,
      periodStart: new Date(start),
      spent: BigInt(spent),
      id,
    });
  }
  const holds = state.holds.map(
    (row): HoldState => ({
      id: row[0],
      customerId: row[1],
      status: row[2],
      funding: row[3],
      amount: BigInt(row[4]),
      captured: row[5] === null ? null : BigInt(row[5]),
      allocations: row[6].map(([grant, amount]) => [grant, BigInt(amount)]),
      model: row[7],
      modelType: row[18] ?? null,
      runId: row[8],
      provider: row[9],
      expiresAt: new Date(row[10]),
      createdAt: new Date(row[11]),
      resolvedAt: row[12] === null ? null : new Date(row[12]),
      voidReason: row[13],
      transactionId: row[14],
      result: withTransaction(row[15], row[14]),
      metadata: row[16],
      spendLimits: row[17]?.map(([scope, start, id]) => [scope, isoTime(start), id] as HoldLimit) ?? null,
    }),
  );
  const keys = new Map<string, StoredKey>();
  for (const [scope, key, hash, response, transactionId] of state.keys) {
    keys.set(keyId(scope, key), { hash, response: withTransaction(response, transactionId) });
  }
  return { accounts: [...accounts.values()], holds, keys };
}

/**
 * Writes a batch; returns the ids of the transactions it inserted, in order. Throws a conflict (TGC01)
 * if stale. A batch with events or new low-balance levels goes through `tg_ledger_write_events` (the
 * same write, then those): the common batch pays nothing for webhooks.
 */
export async function writeBatch(execute: Execute, document: WriteDocument, now: Date): Promise<string[]> {
  const writer = document.o || document.a ? 'tg_ledger_write_events' : 'tg_ledger_write';
  const rows = await execute<{ ids: unknown }>(
    `select ${writer}($1::jsonb, $2::timestamptz) as ids`,
    [JSON.stringify(document), now.toISOString()],
    writer,
  );
  return parseJson(rows[0]!.ids) as string[];
}

/**
 * A result stored by the batch that made its transaction keeps that id in the row's column (see
 * `storedForm` in engine.ts); one that only repeated an earlier result carries the id itself.
 */
function withTransaction(result: RawResult | null, transactionId: string | null): RawResult | null {
  return result && transactionId !== null ? { ...result, transaction_id: transactionId } : result;
}

/** The engine compares period starts as `Date.toISOString()` text; the stored JSON keeps that form. */
function isoTime(value: string): string {
  return new Date(value).toISOString();
}

/** node-postgres and PGlite both parse json columns; a driver that hands back text is parsed here. */
function parseJson(value: unknown): unknown {
  return typeof value === 'string' ? JSON.parse(value) : value;
}
