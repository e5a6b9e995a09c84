/**
 * The ledger: the only code that writes balances. Operations are batched (`Batcher`), computed by the
 * engine (`engine.ts`) from the accounts this ledger has read, and written by one call to
 * `tg_ledger_write`, which refuses the whole batch if any account changed since it was read (another
 * server, a ledger transaction); the batch is then recomputed from fresh state. Accounts and open
 * holds stay cached between batches, so a busy customer costs one round trip per batch, not a read
 * and a write. Reads (balance, history) are plain queries.
 */
import { createHash } from 'node:crypto';
import type { Clock } from '../shared/clock.ts';
import { type ErrorCode, TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { parseInput } from '../shared/validation.ts';
import type { Database } from '../store/database.ts';
import { Batcher } from './batcher.ts';
import {
  type AccountState,
  fillTransactionId,
  type HoldState,
  LedgerBatch,
  type Operation,
  type RawResult,
  runKey,
  type StateSource,
} from './engine.ts';
import {
  type CaptureInput,
  type ChargeInput,
  type ClawbackInput,
  captureInputSchema,
  chargeInputSchema,
  clawbackInputSchema,
  type DebitInput,
  debitInputSchema,
  type ExtendInput,
  extendInputSchema,
  type GrantInput,
  grantInputSchema,
  type HistoryInput,
  type HoldInput,
  historyInputSchema,
  holdInputSchema,
  type ParsedHoldInput,
  type SpendLimitInput,
  spendLimitInputSchema,
  type VoidGrantInput,
  type VoidInput,
  voidGrantInputSchema,
  voidInputSchema,
} from './inputs.ts';
import {
  type Execute,
  isConflict,
  LedgerConflict,
  type LoadRequest,
  loadState,
  writeBatch,
} from './ledger-store.ts';
import {
  CUSTOMER_SCOPE,
  keyScope,
  memberScope,
  periodEnd,
  rollOver,
  type SpendLimitPeriod,
  type SpendLimitState,
} from './spend-limits.ts';
import {
  compareSpendOrder,
  DEFAULT_PRIORITY,
  FUNDING_ACCOUNT,
  type GrantScope,
  type GrantSource,
} from './spend-order.ts';

/** Expected refusals are values; callers branch on them (HTTP maps them to typed errors). */
export type LedgerResult<Value> = { ok: true; value: Value } | { ok: false; error: TollgateError };

export function unwrap<Value>(result: LedgerResult<Value>): Value {
  if (!result.ok) throw result.error;
  return result.value;
}

export interface HoldResult {
  id: string;
  customerId: string;
  status: 'held';
  amountMicros: bigint;
  expiresAt: Date;
  funding: 'credits' | 'byok';
  availableMicros: bigint;
  replayed: boolean;
}

export interface CaptureResult {
  id: string;
  customerId: string;
  status: 'captured';
  /** What the customer paid. */
  amountMicros: bigint;
  /** The cost asked for (may exceed what was paid by the shortfall). */
  costMicros: bigint;
  shortfallMicros: bigint;
  referralShareMicros: bigint;
  funding: 'credits' | 'byok';
  transactionId: string | null;
  /** A delivered capture found its hold voided and charged the available balance instead. */
  afterVoid: boolean;
  replayed: boolean;
}

export interface VoidResult {
  id: string;
  customerId: string;
  status: 'voided';
  reason: string | null;
  replayed: boolean;
}

export interface GrantResult {
  grantId: string;
  transactionId: string;
  balanceMicros: bigint;
  replayed: boolean;
}

export interface VoidGrantResult {
  grantId: string;
  customerId: string;
  /** What the void wrote off now (zero when voided before). */
  voidedMicros: bigint;
  /** What open holds still reserve on the grant (written off as they release it). */
  reservedMicros: bigint;
  balanceMicros: bigint;
  transactionId: string | null;
  replayed: boolean;
}

export interface ClawbackResult {
  grantId: string;
  customerId: string;
  clawedBackMicros: bigint;
  shortfallMicros: bigint;
  transactionId: string | null;
  replayed: boolean;
}

export interface GrantView {
  id: string;
  source: GrantSource;
  priority: number;
  amountMicros: bigint;
  remainingMicros: bigint;
  reservedMicros: bigint;
  expiresAt: Date | null;
  createdAt: Date;
  scope: GrantScope | null;
  /** Voided: only what open holds still reserve is left. */
  voidedAt: Date | null;
}

export interface BalanceView {
  customerId: string;
  /** Credits the customer has (live grants), including what holds reserve. */
  balanceMicros: bigint;
  /** Reserved by open holds. */
  pendingMicros: bigint;
  /** What a new hold may take: balance − pending. Never negative. */
  availableMicros: bigint;
  bySource: Record<GrantSource, bigint>;
  grants: GrantView[];
}

export interface TransactionView {
  id: string;
  type: string;
  amountMicros: bigint;
  balanceAfterMicros: bigint;
  model: string | null;
  holdId: string | null;
  grantId: string | null;
  metadata: Record<string, unknown>;
  createdAt: Date;
}

export interface LedgerOptions {
  holdTimeoutSeconds?: number;
  /**
   * The low-balance threshold of customers whose app and who themselves set none (config
   * `alerts.low_balance`); null or absent: those report only `balance.depleted`.
   */
  defaultLowBalanceMicros?: bigint | null;
  /** How many customers' accounts (and open holds) stay cached between batches. */
  cacheSize?: number;
  /**
   * How many batches may be written at once (default 1). More overlaps computing the next batch with
   * committing the last, but splits the queue into smaller batches: on a 2-core machine one at a time
   * measured best on PostgreSQL for 8 and for 50 concurrent callers (bench/ledger), and PGlite's one
   * session runs in this thread anyway.
   */
  maxInFlight?: number;
}

export interface SpendLimitView {
  /** `customer`, a user key's (`userKeyId`) or an organisation member's (`memberId`). */
  scope: 'customer' | 'user_key' | 'member';
  userKeyId: string | null;
  memberId: string | null;
  amountMicros: bigint;
  period: SpendLimitPeriod;
  spentMicros: bigint;
  periodStart: Date;
  /** When `spent` counts from zero again; null for `total`. */
  resetsAt: Date | null;
}

const customerIdPattern = /^[A-Za-z0-9_:.-]{1,200}$/;

/** Where the key that makes each delivered capture happen once lives (one per hold). */
const DELIVERED_CAPTURE_SCOPE = 'ledger:delivered-capture';

/** A locked batch can only fail on a key another customer's batch took meanwhile; it retries that many times. */
const MAX_LOCKED_ATTEMPTS = 5;
/** Reads of one optimistic batch before it gives up on the cache and takes the locks. */
const MAX_READ_PASSES = 3;

interface CachedAccount {
  state: AccountState;
  /** Which read this account came from: a cached hold is only used with the account read it came with. */
  epoch: number;
}

interface CachedHold {
  state: HoldState;
  epoch: number;
}

export class Ledger {
  private readonly batcher: Batcher<Operation, RawResult>;
  readonly holdTimeoutSeconds: number;
  private readonly defaultLowBalanceMicros: bigint | null;
  private readonly cacheSize: number;
  private readonly accounts = new Map<string, CachedAccount>();
  private readonly holds = new Map<string, CachedHold>();
  private epoch = 0;
  private readonly execute: Execute;
  private readonly committedListeners: ((accounts: readonly AccountState[]) => void)[] = [];

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    options: LedgerOptions = {},
  ) {
    this.holdTimeoutSeconds = options.holdTimeoutSeconds ?? 900;
    this.defaultLowBalanceMicros = options.defaultLowBalanceMicros ?? null;
    this.cacheSize = options.cacheSize ?? 100_000;
    this.execute = (text, parameters, prepare) => db.query(text, parameters, { prepare });
    // Batches in flight at once never share a customer (the batcher keeps one customer's operations
    // together), but even if they did the revision check would refuse the later one: the cache is
    // only ever a guess that the database confirms.
    this.batcher = new Batcher(
      (operations) => this.apply(operations),
      options.maxInFlight ?? 1,
      undefined,
      (operation) =>
        'customer' in operation ? operation.customer : this.holds.get(operation.hold)?.state.customerId,
    );
  }

  // ------------------------------------------------------------------------------------------ batches

  /**
   * Optimistic first: computed from the cache, written in one round trip. If another writer changed
   * an account meanwhile, the batch runs again pessimistically: its customers locked in a transaction,
   * read, computed and written under the lock, which nothing can invalidate (a key claimed by a
   * concurrent writer of another customer is the only reason to go round again).
   */
  private async apply(operations: Operation[]): Promise<RawResult[]> {
    try {
      return await this.applyOptimistic(operations);
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.applyLocked(operations);
      } catch (error) {
        if (!isConflict(error) || attempt >= MAX_LOCKED_ATTEMPTS) throw error;
      }
    }
  }

  private async applyOptimistic(operations: Operation[]): Promise<RawResult[]> {
    // A read can make cached holds stale (their account turned out to have changed), which the next
    // pass reads too; accounts that had not changed keep their cached holds, so this settles at once
    // unless other writers keep changing the accounts, and then the locked path takes over.
    for (let pass = 1; ; pass += 1) {
      const request = this.missing(operations);
      if (!request) break;
      if (pass > MAX_READ_PASSES)
        throw new LedgerConflict('accounts kept changing while the batch read them');
      const loaded = await loadState(this.execute, request, this.defaultLowBalanceMicros);
      this.cacheLoaded(loaded.accounts, loaded.holds);
    }
    const batch = new LedgerBatch(this.cachedAccounts, this.cachedHolds, new Map(), this.clock.now());
    const results = operations.map((operation) => batch.apply(operation));
    const document = batch.document();
    if (!document) return results;
    // A caller that starts work on a hold's strength (the gateway's provider call) hears the decision
    // now, while the write is on its way; it learns from the result whether the database agreed.
    operations.forEach((operation, index) => {
      if (operation.op === 'hold' && operation.decided && results[index]!.ok)
        operation.decided(results[index]!);
    });
    try {
      const transactionIds = await writeBatch(this.execute, document, batch.now);
      const committed = batch.committed(transactionIds);
      this.cacheCommitted(committed.accounts, committed.holds);
      this.notifyCommitted(committed.accounts);
      return results.map((result) => fillTransactionId(result, transactionIds));
    } catch (error) {
      // Whatever the batch read may be stale now: read it again next time.
      this.forget(batch.touchedCustomers, batch.touchedHolds);
      throw error;
    }
  }

  private async applyLocked(operations: Operation[]): Promise<RawResult[]> {
    const holdIds = operations.flatMap((operation) => ('hold' in operation ? [operation.hold] : []));
    const customers = new Set(
      operations.flatMap((operation) => ('customer' in operation ? [operation.customer] : [])),
    );
    // A hold's customer never changes, so it can be looked up before taking the locks.
    for (const owner of await this.holdOwners(holdIds)) customers.add(owner);
    const runs = operations.flatMap((operation) => {
      const run = limitedRun(operation);
      return run ? [run] : [];
    });
    const keys = operations.flatMap((operation): [string, string][] => [
      ...(operation.key ? [[operation.key.scope, operation.key.key] as [string, string]] : []),
      ...(operation.op === 'capture' && operation.afterVoidKey
        ? [[operation.afterVoidKey.scope, operation.afterVoidKey.key] as [string, string]]
        : []),
    ]);
    const { value, transactionIds } = await this.locked(
      [...customers],
      { holds: holdIds, runs, keys },
      async (batch) => operations.map((operation) => batch.apply(operation)),
    );
    return value.map((result) => fillTransactionId(result, transactionIds));
  }

  private async holdOwners(holdIds: string[]): Promise<string[]> {
    const owners: string[] = [];
    const unknown: string[] = [];
    for (const id of holdIds) {
      const cached = this.holds.get(id);
      if (cached) owners.push(cached.state.customerId);
      else unknown.push(id);
    }
    if (unknown.length > 0) {
      const rows = await this.execute<{ customer_id: string }>(
        'select customer_id from holds where id = any($1::text[])',
        [unknown],
      );
      owners.push(...rows.map((row) => row.customer_id));
    }
    return owners;
  }

  /**
   * Runs `compute` in one database transaction with the customers locked (in id order) and their
   * state read under the lock, then writes what it changed. The accounts end up cached as written.
   */
  private async locked<Value>(
    customerIds: string[],
    read: Omit<LoadRequest, 'customers'>,
    compute: (batch: LedgerBatch, execute: Execute) => Promise<Value>,
  ): Promise<{ value: Value; transactionIds: string[] }> {
    const ids = [...new Set(customerIds)].sort();
    try {
      const { value, committed, transactionIds, batch } = await this.db.transaction(async (query) => {
        const execute: Execute = (text, parameters) => query(text, parameters);
        await execute('select id from customers where id = any($1::text[]) order by id for update', [ids]);
        const loaded = await loadState(execute, { customers: ids, ...read }, this.defaultLowBalanceMicros);
        const batch = new LedgerBatch(
          new Map(loaded.accounts.map((account) => [account.id, account])),
          new Map(loaded.holds.map((hold) => [hold.id, hold])),
          loaded.keys,
          this.clock.now(),
        );
        const value = await compute(batch, execute);
        const document = batch.document();
        const transactionIds = document ? await writeBatch(execute, document, batch.now) : [];
        return { value, committed: batch.committed(transactionIds), transactionIds, batch };
      });
      this.forget(
        ids,
        committed.holds.filter((hold) => hold.status !== 'held').map((hold) => hold.id),
      );
      this.cacheLoaded(
        committed.accounts,
        committed.holds.filter((hold) => hold.status === 'held'),
      );
      this.notifyCommitted(committed.accounts);
      return { value, transactionIds };
    } catch (error) {
      this.forget(ids, []);
      throw error;
    }
  }

  /**
   * Tells `listener` the accounts of every batch this ledger committed, as written (auto top-up watches
   * its customers' available balance this way: no query on the write path). Called synchronously after
   * the commit; a listener must not throw or block.
   */
  onCommitted(listener: (accounts: readonly AccountState[]) => void): void {
    this.committedListeners.push(listener);
  }

  private notifyCommitted(accounts: readonly AccountState[]): void {
    for (const listener of this.committedListeners) listener(accounts);
  }

  /** What the batch needs that the cache does not have (null: nothing). */
  private missing(operations: Operation[]): LoadRequest | null {
    const customers = new Set<string>();
    const holds = new Set<string>();
    const runs = new Map<string, [string, string]>();
    for (const operation of operations) {
      if ('customer' in operation && !this.accounts.has(operation.customer))
        customers.add(operation.customer);
      if ('hold' in operation) {
        const cached = this.holds.get(operation.hold);
        const account = cached && this.accounts.get(cached.state.customerId);
        if (!cached || !account || account.epoch !== cached.epoch) holds.add(operation.hold);
      }
      const run = limitedRun(operation);
      if (run && !this.accounts.get(run[0])?.state.runs.has(run[1])) {
        runs.set(runKey(...run), run);
        customers.add(run[0]);
      }
    }
    if (customers.size + holds.size + runs.size === 0) return null;
    return { customers: [...customers], holds: [...holds], runs: [...runs.values()], keys: [] };
  }

  /** The cache as a batch reads it: a hold only together with the read of its account it came from. */
  private readonly cachedAccounts: StateSource<AccountState> = { get: (id) => this.accounts.get(id)?.state };
  private readonly cachedHolds: StateSource<HoldState> = {
    get: (id) => {
      const cached = this.holds.get(id);
      return cached && this.accounts.get(cached.state.customerId)?.epoch === cached.epoch
        ? cached.state
        : undefined;
    },
  };

  /** A read (or a locked write): resolved holds are kept too, for the batch that asked about them. */
  private cacheLoaded(accounts: AccountState[], holds: HoldState[]): void {
    const current = new Set<string>();
    for (const account of accounts) {
      const cached = this.accounts.get(account.id);
      // Another batch of this ledger may have cached a newer state while this read was on its way;
      // what this read says about that customer's holds is then older than the cache too.
      if (cached && cached.state.revision > account.revision) continue;
      current.add(account.id);
      if (cached && cached.state.revision === account.revision) {
        // Unchanged since it was cached (every change bumps the revision): its cached holds stay valid.
        for (const [run, total] of account.runs) cached.state.runs.set(run, total);
        continue;
      }
      this.epoch += 1;
      this.accounts.delete(account.id);
      this.accounts.set(account.id, { state: account, epoch: this.epoch });
    }
    for (const hold of holds) {
      const account = this.accounts.get(hold.customerId);
      if (account && current.has(hold.customerId))
        this.holds.set(hold.id, { state: hold, epoch: account.epoch });
    }
    this.trim();
  }

  private cacheCommitted(accounts: AccountState[], holds: HoldState[]): void {
    for (const account of accounts) {
      const cached = this.accounts.get(account.id);
      if (cached && cached.state.revision >= account.revision) continue;
      const epoch = cached?.epoch ?? ++this.epoch;
      // Re-inserted, so that the least recently used accounts are the first ones the map lists.
      this.accounts.delete(account.id);
      this.accounts.set(account.id, { state: account, epoch });
    }
    for (const hold of holds) {
      const account = this.accounts.get(hold.customerId);
      if (hold.status === 'held' && account) this.holds.set(hold.id, { state: hold, epoch: account.epoch });
      else this.holds.delete(hold.id);
    }
    this.trim();
  }

  private forget(customers: string[], holds: string[]): void {
    for (const id of customers) this.accounts.delete(id);
    for (const id of holds) this.holds.delete(id);
  }

  private trim(): void {
    for (const id of this.accounts.keys()) {
      if (this.accounts.size <= this.cacheSize) break;
      this.accounts.delete(id);
    }
    for (const id of this.holds.keys()) {
      if (this.holds.size <= this.cacheSize) break;
      this.holds.delete(id);
    }
  }

  /** `input` is what the caller sent; without an explicit fingerprint its hash (less the key) is one. */
  private async submit(operation: Operation, idempotency: Idempotency | undefined, input: object) {
    if (idempotency) {
      operation.key = {
        scope: idempotency.scope,
        key: idempotency.key,
        hash: idempotency.fingerprint ?? fingerprint(input),
      };
    }
    return this.batcher.submit(operation);
  }

  // --------------------------------------------------------------------------------------- operations

  /** Opens a customer account (idempotent on app + external id). */
  async createCustomer(input: {
    id?: string;
    appId?: string | null;
    externalId?: string | null;
    email?: string | null;
    /** An organisation's members spend its one balance (teams/); default individual. */
    type?: 'individual' | 'organization';
  }): Promise<{ id: string; created: boolean }> {
    const id = input.id ?? newId('cus');
    if (!customerIdPattern.test(id)) throw new TollgateError('invalid_request', 'invalid customer id');
    const insertCustomer = `insert into customers (id, app_id, external_id, email, type) values ($1, $2, $3, $4, $5)
                            on conflict do nothing returning id`;
    const values = [
      id,
      input.appId ?? null,
      input.externalId ?? null,
      input.email ?? null,
      input.type ?? 'individual',
    ];
    if (input.externalId == null) {
      const inserted = await this.db.query<{ id: string }>(insertCustomer, values);
      if (inserted.length > 0) return { id, created: true };
      const existing = await this.db.query<{ id: string }>('select id from customers where id = $1', [id]);
      if (existing.length === 0) throw new TollgateError('invalid_state', 'customer could not be created');
      return { id, created: false };
    }
    // The external id is claimed first, in the transaction that creates the customer: a concurrent
    // create with the same one waits for this one and then finds its customer (store/migrations/0016).
    const externalId = input.externalId;
    return this.db.transaction(async (query) => {
      const claimed = await query(
        `insert into customer_external_ids (app_key, external_id, customer_id) values ($1, $2, $3)
         on conflict do nothing returning customer_id`,
        [input.appId ?? '', externalId, id],
      );
      if (claimed.length === 0) {
        const [owner] = await query<{ customer_id: string }>(
          'select customer_id from customer_external_ids where app_key = $1 and external_id = $2',
          [input.appId ?? '', externalId],
        );
        if (!owner) throw new TollgateError('invalid_state', 'customer could not be created');
        return { id: owner.customer_id, created: false };
      }
      const inserted = await query(insertCustomer, values);
      if (inserted.length === 0) throw new TollgateError('invalid_state', 'customer could not be created');
      return { id, created: true };
    });
  }

  async grant(input: GrantInput): Promise<LedgerResult<GrantResult>> {
    const parsed = parseInput(grantInputSchema, input);
    const result = await this.submit(grantOperation(parsed), parsed.idempotency, input);
    return toResult(result, toGrantResult);
  }

  async hold(input: HoldInput): Promise<LedgerResult<HoldResult>> {
    const parsed = parseInput(holdInputSchema, input);
    const operation = { op: 'hold' as const, ...this.heldWork(parsed), funding: parsed.funding };
    const result = await this.submit(operation, parsed.idempotency, input);
    return toResult(result, toHoldResult);
  }

  /**
   * A hold answered as soon as it is decided, before it is durable: when the ledger decides it from
   * its cache, `decided` comes while the write is on its way and `durable` once the database has it.
   * The database can still refuse it (another server changed the account since this one cached it):
   * `durable` then carries the refusal, and whatever the caller started on the decision must be undone.
   * A refusal, or a hold decided under a read of the database, comes committed: `durable` is the same.
   */
  async holdEarly(
    input: HoldInput,
  ): Promise<{ decided: LedgerResult<HoldResult>; durable: Promise<LedgerResult<HoldResult>> }> {
    const parsed = parseInput(holdInputSchema, input);
    let announce: ((result: RawResult) => void) | undefined;
    const decision = new Promise<RawResult>((resolve) => {
      announce = resolve;
    });
    const operation = {
      op: 'hold' as const,
      ...this.heldWork(parsed),
      funding: parsed.funding,
      decided: announce,
    };
    const written = this.submit(operation, parsed.idempotency, input);
    const durable = written.then((result) => toResult(result, toHoldResult));
    // Handled here too: a caller that failed for another reason may never ask.
    durable.catch(() => {});
    const first = await Promise.race([decision, written]);
    return { decided: toResult(first, toHoldResult), durable };
  }

  /** What a hold and a one-shot charge both carry: whose, how much, for what, until when. */
  private heldWork(parsed: Omit<ParsedHoldInput, 'funding'>) {
    const now = this.clock.now();
    return {
      customer: parsed.customerId,
      holdId: newId('hold'),
      amount: parsed.amountMicros,
      expiresAt: new Date(now.getTime() + (parsed.timeoutSeconds ?? this.holdTimeoutSeconds) * 1000),
      model: parsed.model,
      modelType: parsed.modelType,
      provider: parsed.provider,
      runId: parsed.runId,
      maxRun: parsed.maxRunMicros,
      userKey: parsed.userKeyId,
      member: parsed.memberId,
      metadata: parsed.metadata,
    };
  }

  async capture(input: CaptureInput): Promise<LedgerResult<CaptureResult>> {
    const parsed = parseInput(captureInputSchema, input);
    if (
      parsed.referralShareMicros &&
      parsed.amountMicros !== undefined &&
      parsed.referralShareMicros > parsed.amountMicros
    ) {
      throw new TollgateError('invalid_request', 'referral share cannot exceed the captured amount');
    }
    const result = await this.submit(
      {
        op: 'capture',
        hold: parsed.holdId,
        amount: parsed.amountMicros,
        overrun: parsed.overrun === 'charge_available' ? 'charge' : 'clamp',
        delivered: parsed.delivered,
        // A delivered capture may charge a voided hold from the balance, which nothing in the hold's own
        // state can make happen only once: a key per hold does (a repeat replays the first charge).
        afterVoidKey: parsed.delivered
          ? { scope: DELIVERED_CAPTURE_SCOPE, key: parsed.holdId, hash: DELIVERED_CAPTURE_SCOPE }
          : undefined,
        referralShare: parsed.referralShareMicros,
        referralAccount: parsed.referralAccount,
        model: parsed.model,
        metadata: parsed.metadata,
      },
      parsed.idempotency,
      input,
    );
    return toResult(result, toCaptureResult);
  }

  async void(input: VoidInput): Promise<LedgerResult<VoidResult>> {
    const parsed = parseInput(voidInputSchema, input);
    const result = await this.submit(
      { op: 'void', hold: parsed.holdId, reason: parsed.reason },
      parsed.idempotency,
      input,
    );
    return toResult(result, toVoidResult);
  }

  async extend(input: ExtendInput): Promise<LedgerResult<HoldResult>> {
    const parsed = parseInput(extendInputSchema, input);
    const expiresAt = new Date(this.clock.now().getTime() + parsed.timeoutSeconds * 1000);
    const result = await this.batcher.submit({
      op: 'extend',
      hold: parsed.holdId,
      expiresAt,
      inFlight: parsed.inFlight,
    });
    return toResult(result, toHoldResult);
  }

  /** One-shot hold + capture of the same amount. */
  async charge(input: ChargeInput): Promise<LedgerResult<CaptureResult>> {
    const parsed = parseInput(chargeInputSchema, input);
    const result = await this.submit(
      {
        op: 'charge',
        ...this.heldWork(parsed),
        referralShare: parsed.referralShareMicros,
        referralAccount: parsed.referralAccount,
      },
      parsed.idempotency,
      input,
    );
    return toResult(result, toCaptureResult);
  }

  /**
   * Sets (or with a null amount removes) the spend limit of a customer or of one of its user keys. A
   * ledger operation, so the limit changes with the customer's revision and every cached copy of the
   * account is refused until it has read the new limit.
   */
  async setSpendLimit(input: SpendLimitInput): Promise<LedgerResult<SpendLimitView | null>> {
    const parsed = parseInput(spendLimitInputSchema, input);
    const scope =
      parsed.userKeyId !== undefined
        ? keyScope(parsed.userKeyId)
        : parsed.memberId !== undefined
          ? memberScope(parsed.memberId)
          : CUSTOMER_SCOPE;
    const result = await this.batcher.submit({
      op: 'set_spend_limit',
      customer: parsed.customerId,
      scope,
      amount: parsed.amountMicros,
      period: parsed.period,
      limitId: newId('sl', 12),
    });
    return toResult(result, (raw) => {
      const limit = raw.limit as Record<string, string | null> | null;
      if (!limit) return null;
      return limitView(scope, {
        amount: BigInt(limit.amount!),
        period: limit.period as SpendLimitPeriod,
        spent: BigInt(limit.spent!),
        periodStart: new Date(limit.period_start!),
        id: '',
      });
    });
  }

  /** A customer's spend limits as of now (a period that has ended shows zero spent). */
  async spendLimits(customerId: string): Promise<SpendLimitView[]> {
    const rows = await this.db.kysely
      .selectFrom('spend_limits')
      .selectAll()
      .where('customer_id', '=', customerId)
      .execute();
    const now = this.clock.now();
    return rows.map((row) => {
      const limit: SpendLimitState = {
        amount: BigInt(row.amount_micros),
        period: row.period,
        periodStart: new Date(row.period_start),
        spent: BigInt(row.spent_micros),
        id: row.limit_id,
      };
      rollOver(limit, now);
      return limitView(row.scope, limit);
    });
  }

  /** Takes credits away (a negative adjustment); refused when it would exceed what is available. */
  async debit(
    input: DebitInput,
  ): Promise<LedgerResult<{ transactionId: string; balanceMicros: bigint; replayed: boolean }>> {
    const parsed = parseInput(debitInputSchema, input);
    const result = await this.submit(
      {
        op: 'debit',
        customer: parsed.customerId,
        amount: parsed.amountMicros,
        reason: parsed.reason,
        type: parsed.type,
        metadata: parsed.metadata,
      },
      parsed.idempotency,
      input,
    );
    return toResult(result, (raw) => ({
      transactionId: `txn_${raw.transaction_id}`,
      balanceMicros: BigInt(raw.balance as string),
      replayed: raw.replayed === true,
    }));
  }

  /** Takes back up to `amountMicros` of one grant (a refunded purchase); reports what was already spent. */
  async clawback(input: ClawbackInput): Promise<LedgerResult<ClawbackResult>> {
    const parsed = parseInput(clawbackInputSchema, input);
    const grant = await grantOwner(this.execute, parsed.grantId);
    if (!grant)
      return { ok: false, error: new TollgateError('not_found', `No such grant: ${parsed.grantId}`) };
    const result = await this.submit(clawbackOperation(parsed, grant), parsed.idempotency, input);
    return toResult(result, toClawbackResult);
  }

  /**
   * Voids a grant: its unreserved remainder is written off now (a `grant_void` transaction back to the
   * account that funded it), what open holds reserve on it stays theirs and is written off as they
   * release it. Voiding a voided (or spent) grant writes off nothing.
   */
  async voidGrant(input: VoidGrantInput): Promise<LedgerResult<VoidGrantResult>> {
    const parsed = parseInput(voidGrantInputSchema, input);
    const grant = await grantOwner(this.execute, parsed.grantId);
    if (!grant)
      return { ok: false, error: new TollgateError('not_found', `No such grant: ${parsed.grantId}`) };
    const result = await this.submit(
      { op: 'void_grant', customer: grant.customer, grant: parsed.grantId, reason: parsed.reason },
      parsed.idempotency,
      input,
    );
    return toResult(result, (raw) => ({
      grantId: String(raw.grant_id),
      customerId: String(raw.customer),
      voidedMicros: BigInt(raw.voided as string),
      reservedMicros: BigInt(raw.reserved as string),
      balanceMicros: BigInt(raw.balance as string),
      transactionId: raw.transaction_id ? `txn_${raw.transaction_id}` : null,
      replayed: raw.replayed === true,
    }));
  }

  /** Writes off the unreserved remainder of a customer's expired grants. */
  async expireGrants(customerId: string): Promise<bigint> {
    const result = await this.batcher.submit({ op: 'expire_grants', customer: customerId });
    return BigInt((result.expired as string | undefined) ?? '0');
  }

  /** Voids a hold if (and only if) its timeout has passed; used by the sweeper. */
  async voidIfExpired(holdId: string): Promise<boolean> {
    const result = await this.batcher.submit({
      op: 'void',
      hold: holdId,
      reason: 'expired',
      onlyIfDue: true,
    });
    return result.ok && result.status === 'voided';
  }

  /**
   * Runs `work` in one database transaction with the customers locked: what it reads and writes with
   * `transaction.query` commits together with the grants and clawbacks it asks for (purchase
   * fulfilment, refunds, gift codes). Batches on these customers wait for the lock, then find them
   * changed and are computed again.
   */
  async transaction<Value>(
    customerIds: string[],
    work: (transaction: LedgerTransaction) => Promise<Value>,
  ): Promise<Value> {
    let transaction!: LedgerTransaction;
    const { value, transactionIds } = await this.locked(
      customerIds,
      { holds: [], runs: [], keys: [] },
      (batch, execute) => {
        transaction = new LedgerTransaction(batch, execute);
        return work(transaction);
      },
    );
    transaction.written(transactionIds);
    return value;
  }

  async balance(customerId: string): Promise<BalanceView | null> {
    const customer = await this.db.kysely
      .selectFrom('customers')
      .select(['id', 'balance_micros', 'held_micros'])
      .where('id', '=', customerId)
      .executeTakeFirst();
    if (!customer) return null;
    const now = this.clock.now();
    const rows = await this.db.kysely
      .selectFrom('grants')
      .select([
        'id',
        'source',
        'amount_micros',
        'remaining_micros',
        'reserved_micros',
        'priority',
        'expires_at',
        'created_at',
        'scope',
        'voided_at',
      ])
      .where('customer_id', '=', customerId)
      .where('remaining_micros', '>', 0n)
      .execute();
    const bySource: Record<GrantSource, bigint> = {
      purchase: 0n,
      promo: 0n,
      gift: 0n,
      allowance: 0n,
      adjustment: 0n,
    };
    const grants: GrantView[] = [];
    let expiredUnreservedMicros = 0n;
    const ordered = rows
      .map((row) => ({
        ...row,
        source: row.source as GrantSource,
        expiresAt: row.expires_at ? new Date(row.expires_at) : null,
        createdAt: new Date(row.created_at),
      }))
      .sort(compareSpendOrder);
    for (const row of ordered) {
      const expiresAt = row.expiresAt;
      const remaining = BigInt(row.remaining_micros);
      const reserved = BigInt(row.reserved_micros);
      const voidedAt = row.voided_at ? new Date(row.voided_at) : null;
      // A grant past its expiry (or voided) that the sweeper has not reached yet is already gone for the customer.
      const expired = voidedAt !== null || (expiresAt !== null && expiresAt <= now);
      const live = expired ? reserved : remaining;
      if (expired) expiredUnreservedMicros += remaining - reserved;
      if (live === 0n) continue;
      bySource[row.source as GrantSource] += live;
      grants.push({
        id: row.id,
        source: row.source as GrantSource,
        amountMicros: BigInt(row.amount_micros),
        remainingMicros: live,
        reservedMicros: reserved,
        priority: row.priority,
        expiresAt,
        createdAt: row.createdAt,
        scope: (row.scope as GrantScope | null) ?? null,
        voidedAt,
      });
    }
    const balanceMicros = BigInt(customer.balance_micros) - expiredUnreservedMicros;
    const pendingMicros = BigInt(customer.held_micros);
    return {
      customerId,
      balanceMicros,
      pendingMicros,
      availableMicros: balanceMicros - pendingMicros,
      bySource,
      grants,
    };
  }

  async history(input: HistoryInput): Promise<{ data: TransactionView[]; hasMore: boolean }> {
    const parsed = parseInput(historyInputSchema, input);
    const rows = await this.db.kysely
      .selectFrom('ledger_transactions')
      .selectAll()
      .where('customer_id', '=', parsed.customerId)
      .orderBy('id', 'desc')
      .limit(parsed.limit + 1)
      .offset(parsed.offset)
      .execute();
    const data = rows.slice(0, parsed.limit).map((row) => ({
      id: `txn_${row.id}`,
      type: row.type,
      amountMicros: BigInt(row.amount_micros),
      balanceAfterMicros: BigInt(row.balance_after_micros),
      model: row.model,
      holdId: row.hold_id,
      grantId: row.grant_id,
      metadata: (row.metadata ?? {}) as Record<string, unknown>,
      createdAt: new Date(row.created_at),
    }));
    return { data, hasMore: rows.length > parsed.limit };
  }

  /** Waits for queued operations to finish. */
  drain(): Promise<void> {
    return this.batcher.drain();
  }
}

/**
 * A ledger transaction in progress (`Ledger.transaction`): SQL of its own plus grants and clawbacks,
 * applied to the locked customers and written together when the work returns. Results are final
 * except `transactionId`, which is filled in once the batch is written.
 */
export class LedgerTransaction {
  private readonly pending: { result: { transactionId: string | null }; raw: RawResult }[] = [];

  constructor(
    private readonly batch: LedgerBatch,
    private readonly execute: Execute,
  ) {}

  query<Row = Record<string, unknown>>(text: string, parameters: unknown[] = []): Promise<Row[]> {
    return this.execute<Row>(text, parameters);
  }

  grant(input: Omit<GrantInput, 'idempotency'>): LedgerResult<GrantResult> {
    const parsed = parseInput(grantInputSchema, input);
    const raw = this.batch.apply(grantOperation(parsed));
    return this.track(raw, toResult(raw, toGrantResult));
  }

  async clawback(input: Omit<ClawbackInput, 'idempotency'>): Promise<LedgerResult<ClawbackResult>> {
    const parsed = parseInput(clawbackInputSchema, input);
    const grant = await grantOwner(this.execute, parsed.grantId);
    if (!grant)
      return { ok: false, error: new TollgateError('not_found', `No such grant: ${parsed.grantId}`) };
    const raw = this.batch.apply(clawbackOperation(parsed, grant));
    return this.track(raw, toResult(raw, toClawbackResult));
  }

  private track<Value extends { transactionId: string | null }>(raw: RawResult, result: LedgerResult<Value>) {
    if (result.ok) this.pending.push({ result: result.value, raw });
    return result;
  }

  written(transactionIds: string[]): void {
    for (const { result, raw } of this.pending) {
      const filled = fillTransactionId(raw, transactionIds).transaction_id;
      result.transactionId = filled ? `txn_${filled}` : null;
    }
  }
}

async function grantOwner(
  execute: Execute,
  grantId: string,
): Promise<{ customer: string; source: GrantSource } | undefined> {
  const rows = await execute<{ customer_id: string; source: GrantSource }>(
    'select customer_id, source from grants where id = $1',
    [grantId],
  );
  return rows[0] && { customer: rows[0].customer_id, source: rows[0].source };
}

/** The [customer, run] whose total a hold's run limit is checked against, if it has one. */
function limitedRun(operation: Operation): [string, string] | null {
  if (operation.op !== 'hold' && operation.op !== 'charge') return null;
  return operation.runId !== undefined && operation.maxRun !== undefined
    ? [operation.customer, operation.runId]
    : null;
}

function limitView(scope: string, limit: SpendLimitState): SpendLimitView {
  return {
    scope: scope === CUSTOMER_SCOPE ? 'customer' : scope.startsWith(memberScope('')) ? 'member' : 'user_key',
    userKeyId: scope.startsWith(keyScope('')) ? scope.slice(keyScope('').length) : null,
    memberId: scope.startsWith(memberScope('')) ? scope.slice(memberScope('').length) : null,
    amountMicros: limit.amount,
    period: limit.period,
    spentMicros: limit.spent,
    periodStart: limit.periodStart,
    resetsAt: periodEnd(limit.period, limit.periodStart),
  };
}

type ParsedGrant = ReturnType<typeof grantInputSchema.parse>;
type ParsedClawback = ReturnType<typeof clawbackInputSchema.parse>;

function grantOperation(parsed: ParsedGrant): Operation {
  return {
    op: 'grant',
    customer: parsed.customerId,
    grantId: parsed.grantId ?? newId('gr'),
    amount: parsed.amountMicros,
    source: parsed.source,
    priority: parsed.priority ?? DEFAULT_PRIORITY,
    expiresAt: parsed.expiresAt,
    scope: parsed.scope,
    reason: parsed.reason,
    metadata: parsed.metadata,
    type: parsed.type,
    fundingAccount: FUNDING_ACCOUNT[parsed.source],
  };
}

function clawbackOperation(
  parsed: ParsedClawback,
  grant: { customer: string; source: GrantSource },
): Operation {
  return {
    op: 'clawback',
    customer: grant.customer,
    grant: parsed.grantId,
    amount: parsed.amountMicros,
    type: parsed.type,
    metadata: parsed.metadata,
    fundingAccount: FUNDING_ACCOUNT[grant.source],
  };
}

function toGrantResult(raw: RawResult): GrantResult {
  return {
    grantId: String(raw.grant_id),
    transactionId: `txn_${raw.transaction_id}`,
    balanceMicros: BigInt(raw.balance as string),
    replayed: raw.replayed === true,
  };
}

function toClawbackResult(raw: RawResult): ClawbackResult {
  return {
    grantId: String(raw.grant_id),
    customerId: String(raw.customer),
    clawedBackMicros: BigInt(raw.clawed_back as string),
    shortfallMicros: BigInt(raw.shortfall as string),
    transactionId: raw.transaction_id ? `txn_${raw.transaction_id}` : null,
    replayed: raw.replayed === true,
  };
}

type Idempotency = { key: string; scope: string; fingerprint?: string };

function fingerprint(input: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(input, (_key, value) => (typeof value === 'bigint' ? `${value}n` : value)))
    .digest('base64url');
}

function toResult<Value>(raw: RawResult, map: (raw: RawResult) => Value): LedgerResult<Value> {
  if (raw.ok) return { ok: true, value: map(raw) };
  const code = String(raw.code) as ErrorCode;
  const details: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (name !== 'ok' && name !== 'code' && name !== 'message' && name !== 'replayed') details[name] = value;
  }
  return { ok: false, error: new TollgateError(code, String(raw.message ?? code), details) };
}

function toHoldResult(raw: RawResult): HoldResult {
  return {
    id: String(raw.id),
    customerId: String(raw.customer),
    status: 'held',
    amountMicros: BigInt(raw.amount as string),
    expiresAt: new Date(raw.expires_at as string),
    funding: raw.funding as 'credits' | 'byok',
    availableMicros: BigInt((raw.available as string | undefined) ?? '0'),
    replayed: raw.replayed === true,
  };
}

function toCaptureResult(raw: RawResult): CaptureResult {
  return {
    id: String(raw.id),
    customerId: String(raw.customer),
    status: 'captured',
    amountMicros: BigInt(raw.amount as string),
    costMicros: BigInt((raw.cost as string | undefined) ?? (raw.amount as string)),
    shortfallMicros: BigInt((raw.shortfall as string | undefined) ?? '0'),
    referralShareMicros: BigInt((raw.referral_share as string | undefined) ?? '0'),
    funding: raw.funding as 'credits' | 'byok',
    transactionId: raw.transaction_id ? `txn_${raw.transaction_id}` : null,
    afterVoid: raw.after_void === true,
    replayed: raw.replayed === true,
  };
}

function toVoidResult(raw: RawResult): VoidResult {
  return {
    id: String(raw.id),
    customerId: String(raw.customer),
    status: 'voided',
    reason: (raw.reason as string | null) ?? null,
    replayed: raw.replayed === true,
  };
}
