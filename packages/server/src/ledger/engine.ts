/**
 * The ledger's rules, as pure computation over an in-memory copy of the accounts a batch touches.
 * No I/O: `Ledger` loads the state (or takes it from its cache), `LedgerBatch` applies the operations
 * in order and records what changed, and `ledger-store.ts` writes that in one transaction which first
 * checks that every account is still at the revision it was read at. A stale read therefore never
 * writes: the store refuses the batch and the ledger recomputes it from fresh state.
 *
 * Results are JSON-safe values (amounts as decimal strings) because they are also stored: a captured
 * hold keeps its result for replays, an idempotency key keeps the first response.
 */

import { mergeObjects } from '../shared/merge-objects.ts';
import { microsToCredits } from '../shared/money.ts';
import {
  CUSTOMER_SCOPE,
  keyScope,
  memberScope,
  periodEnd,
  periodStart,
  rollOver,
  type SpendLimitPeriod,
  type SpendLimitState,
} from './spend-limits.ts';
import type { GrantScope, GrantSource, GrantUse } from './spend-order.ts';
import { compareSpendOrder, FUNDING_ACCOUNT, grantPaysFor } from './spend-order.ts';

export interface GrantState {
  id: string;
  source: GrantSource;
  priority: number;
  amount: bigint;
  remaining: bigint;
  reserved: bigint;
  expiresAt: Date | null;
  createdAt: Date;
  /** What the grant may pay for (null: anything): spend-order.ts. */
  scope: GrantScope | null;
  /** Set by `void_grant`: nothing more is spent from it, and what holds release is written off. */
  voidedAt: Date | null;
}

export interface RunTotal {
  captured: bigint;
  held: bigint;
}

export interface AccountState {
  id: string;
  /** Bumped by every batch that changes anything of this customer (grants, holds, runs included). */
  revision: bigint;
  balance: bigint;
  held: bigint;
  /** Grants with credits left, in spend order. */
  grants: GrantState[];
  /** Run totals read so far (a run that is not here is unknown, not zero). */
  runs: Map<string, RunTotal>;
  /** Every spend limit of the customer, by scope (`customer`, `key:<id>`): always loaded with the account. */
  limits: Map<string, SpendLimitState>;
  /** The low-balance alert as read (absent: the batch reports no balance crossings for this customer). */
  alert?: BalanceAlert;
}

/** `balance_alert`: what was last reported about a customer's balance (webhooks/README.md). */
export const BalanceLevel = { above: 0, low: 1, depleted: 2 } as const;
export type BalanceLevel = (typeof BalanceLevel)[keyof typeof BalanceLevel];

export interface BalanceAlert {
  /** The customer's threshold, else its app's; null: no `balance.low` (depletion is still reported). */
  threshold: bigint | null;
  level: BalanceLevel;
}

/** An event for the app's webhooks, written with the batch: [customer, type, data]. */
export type LedgerEvent = [string, string, Record<string, unknown>];

export function balanceLevel(balance: bigint, threshold: bigint | null): BalanceLevel {
  if (balance === 0n) return BalanceLevel.depleted;
  return threshold !== null && balance < threshold ? BalanceLevel.low : BalanceLevel.above;
}

/** A spend limit a hold counted against: its scope, the period start and the limit's id. */
export type HoldLimit = [scope: string, periodStart: string, limitId: string];

export type HoldStatus = 'held' | 'captured' | 'voided';

export interface HoldState {
  id: string;
  customerId: string;
  status: HoldStatus;
  funding: 'credits' | 'byok';
  amount: bigint;
  captured: bigint | null;
  /** Reservations in spend order: [grant id, amount]. */
  allocations: [string, bigint][];
  model: string | null;
  /** The model's type (`chat`, `image`, …), which scoped grants match on. */
  modelType: string | null;
  runId: string | null;
  provider: string | null;
  expiresAt: Date;
  createdAt: Date;
  resolvedAt: Date | null;
  voidReason: string | null;
  transactionId: string | null;
  result: RawResult | null;
  metadata: Record<string, unknown> | null;
  spendLimits: HoldLimit[] | null;
}

export type RawResult = Record<string, unknown> & { ok: boolean };

export interface IdempotencyKey {
  scope: string;
  key: string;
  hash: string;
}

/** A key already in the database, with the response stored by the operation that claimed it. */
export interface StoredKey {
  hash: string;
  response: RawResult | null;
}

interface Keyed {
  key?: IdempotencyKey;
}

export type Operation = Keyed &
  (
    | {
        op: 'grant';
        customer: string;
        grantId: string;
        amount: bigint;
        source: GrantSource;
        priority: number;
        fundingAccount: string;
        expiresAt?: Date;
        scope?: GrantScope;
        reason?: string;
        metadata?: Record<string, unknown>;
        type?: string;
      }
    | {
        op: 'hold';
        customer: string;
        holdId: string;
        amount: bigint;
        expiresAt: Date;
        funding: 'credits' | 'byok';
        model?: string;
        modelType?: string;
        provider?: string;
        runId?: string;
        maxRun?: bigint;
        /** The user key the work is done with: its spend limit applies besides the customer's. */
        userKey?: string;
        /** The organisation member the key belongs to: the member's limit applies too. */
        member?: string;
        metadata?: Record<string, unknown>;
        /**
         * Told the hold's result once the ledger has decided it from its cache, before the write that
         * makes it durable (`Ledger.holdEarly`); never part of what is written.
         */
        decided?: (result: RawResult) => void;
      }
    | {
        op: 'capture';
        hold: string;
        amount?: bigint;
        overrun: 'clamp' | 'charge';
        /**
         * The work was delivered, so the capture must land: a hold past its timeout that is still held
         * is captured anyway, and a hold already voided (the sweeper, a void) is charged from the
         * available balance instead — only what even that cannot cover becomes a loss.
         */
        delivered?: boolean;
        /**
         * What makes a charge after a void happen once per hold: claimed only when that path is taken
         * (a capture of a held hold is once by the hold's own state), so ordinary captures store no key.
         */
        afterVoidKey?: IdempotencyKey;
        referralShare?: bigint;
        referralAccount?: string;
        model?: string;
        metadata?: Record<string, unknown>;
      }
    | { op: 'void'; hold: string; reason?: string; onlyIfDue?: boolean }
    | {
        op: 'extend';
        hold: string;
        expiresAt: Date;
        /** Work in flight: a hold past its timeout that nobody voided yet is kept alive, not voided. */
        inFlight?: boolean;
      }
    | {
        op: 'charge';
        customer: string;
        holdId: string;
        amount: bigint;
        expiresAt: Date;
        model?: string;
        modelType?: string;
        provider?: string;
        runId?: string;
        maxRun?: bigint;
        userKey?: string;
        member?: string;
        referralShare?: bigint;
        referralAccount?: string;
        metadata?: Record<string, unknown>;
      }
    | {
        op: 'set_spend_limit';
        customer: string;
        scope: string;
        /** Null removes the limit. */
        amount: bigint | null;
        period: SpendLimitPeriod;
        /** The id the limit gets if this sets a new one (or a new period). */
        limitId: string;
      }
    | {
        op: 'debit';
        customer: string;
        amount: bigint;
        reason?: string;
        type?: string;
        account?: string;
        metadata?: Record<string, unknown>;
      }
    | {
        op: 'clawback';
        customer: string;
        grant: string;
        amount: bigint;
        fundingAccount: string;
        type?: string;
        metadata?: Record<string, unknown>;
      }
    | { op: 'expire_grants'; customer: string }
    | { op: 'void_grant'; customer: string; grant: string; reason?: string }
  );

/** What a batch writes, as the JSON document `tg_ledger_write` reads (see store/migrations/0010). */
export interface WriteDocument {
  /** Changed customers: [id, revision read, balance, held]. */
  c: [string, string, string, string][];
  /** Customers read but unchanged (a refusal): [id, revision read]. */
  k?: [string, string][];
  gi?: unknown[][];
  /** Changed grants: [id, remaining, reserved, voided at or null]. */
  gu?: [string, string, string, string | null][];
  hi?: unknown[][];
  hu?: unknown[][];
  r?: [string, string, string, string][];
  t?: unknown[][];
  e?: [number, string, string][];
  i?: unknown[][];
  /** Events for the outbox (`tg_emit_events`); written with `tg_ledger_write_events`. */
  o?: LedgerEvent[];
  /** New low-balance levels: [customer, level]. */
  a?: [string, BalanceLevel][];
  /** Spend limits: [customer, scope, amount or null (removed), period, period start, spent, limit id]. */
  l?: [string, string, string | null, string, string, string, string][];
}

/**
 * A spend limit that this batch took to (or past) its amount: the fact a `spend_limit.reached`
 * notification is made from (`LedgerBatch.spendLimitsReached`). Once per crossing: a limit already at
 * its amount is not reported again until its period resets or it is raised.
 */
export interface SpendLimitReached {
  customer: string;
  scope: string;
  limit: bigint;
  spent: bigint;
  period: SpendLimitPeriod;
  resetsAt: Date | null;
}

/** Where a result's `transaction_id` will be once the batch is written: the n-th transaction it inserts. */
export const TRANSACTION_PLACEHOLDER = '#txn:';

/** Where a batch reads accounts and holds from (the ledger's cache, or a read made under lock). */
export interface StateSource<State> {
  get(id: string): State | undefined;
}

export class LedgerInvariantError extends Error {
  constructor(message: string) {
    super(`tollgate ledger invariant: ${message}`);
    this.name = 'LedgerInvariantError';
  }
}

const MAX_BIGINT = 2n ** 63n - 1n;

export function refusal(code: string, message: string, details: Record<string, unknown> = {}): RawResult {
  return { ok: false, code, message, ...details };
}

function min(left: bigint, right: bigint): bigint {
  return left < right ? left : right;
}

function copyAccount(account: AccountState): AccountState {
  return {
    id: account.id,
    revision: account.revision,
    balance: account.balance,
    held: account.held,
    grants: account.grants.map((grant) => ({ ...grant })),
    runs: new Map([...account.runs].map(([run, total]) => [run, { ...total }])),
    ...(account.alert ? { alert: { ...account.alert } } : {}),
    limits: new Map([...account.limits].map(([scope, limit]) => [scope, { ...limit }])),
  };
}

function copyHold(hold: HoldState): HoldState {
  return {
    ...hold,
    allocations: hold.allocations.map(([grant, amount]) => [grant, amount]),
    spendLimits: hold.spendLimits?.map((limit) => [...limit] as HoldLimit) ?? null,
  };
}

/** The batch's own copy of a state, made on first use: what was read stays as it was until written. */
function workingCopy<State>(
  working: Map<string, State>,
  source: StateSource<State>,
  copy: (state: State) => State,
  id: string,
): State | undefined {
  const known = working.get(id);
  if (known) return known;
  const read = source.get(id);
  if (!read) return undefined;
  const mine = copy(read);
  working.set(id, mine);
  return mine;
}

interface Transaction {
  customer: string;
  type: string;
  amount: bigint;
  balanceAfter: bigint;
  holdId: string | null;
  grantId: string | null;
  model: string | null;
  metadata: Record<string, unknown> | null;
  legs: [string, bigint][];
}

/**
 * One batch: applies operations in submission order to private copies of the cached state, then
 * renders what changed. Reads come from `accounts` and `holds` (what the ledger has loaded); nothing
 * there is modified until `committed()` hands back the new states after a successful write.
 */
export class LedgerBatch {
  private readonly working = new Map<string, AccountState>();
  private readonly workingHolds = new Map<string, HoldState>();
  /** Customers whose rows (or grants, holds, runs) this batch changes. */
  private readonly dirty = new Set<string>();
  private readonly newGrants = new Map<
    string,
    { grant: GrantState; customer: string; reason: string | null; metadata: unknown }
  >();
  private readonly changedGrants = new Map<string, GrantState>();
  private readonly newHolds = new Set<string>();
  private readonly changedHolds = new Set<string>();
  private readonly runDeltas = new Map<
    string,
    { customer: string; run: string; captured: bigint; held: bigint }
  >();
  private readonly transactions: Transaction[] = [];
  private readonly keys = new Map<string, { key: IdempotencyKey; response: RawResult }>();
  /** Events of the movements themselves (expiries), in the order they happened. */
  private readonly events: LedgerEvent[] = [];
  /** Spend limits this batch changed, by customer and scope (null: removed). */
  private readonly changedLimits = new Map<
    string,
    { customer: string; scope: string; limit: SpendLimitState | null }
  >();
  private readonly reached: SpendLimitReached[] = [];

  constructor(
    private readonly accounts: StateSource<AccountState>,
    private readonly holds: StateSource<HoldState>,
    private readonly storedKeys: ReadonlyMap<string, StoredKey>,
    readonly now: Date,
  ) {}

  // ------------------------------------------------------------------------------------------ state

  private account(id: string): AccountState | undefined {
    return workingCopy(this.working, this.accounts, copyAccount, id);
  }

  private hold(id: string): HoldState | undefined {
    return workingCopy(this.workingHolds, this.holds, copyHold, id);
  }

  private grantOf(account: AccountState, id: string): GrantState {
    const grant = account.grants.find((candidate) => candidate.id === id);
    if (!grant) throw new LedgerInvariantError(`grant ${id} of ${account.id} is not loaded`);
    return grant;
  }

  private touchGrant(grant: GrantState): void {
    if (!this.newGrants.has(grant.id)) this.changedGrants.set(grant.id, grant);
  }

  private touchHold(hold: HoldState): void {
    if (!this.newHolds.has(hold.id)) this.changedHolds.add(hold.id);
    this.dirty.add(hold.customerId);
  }

  private runDelta(
    customer: string,
    run: string,
    captured: bigint,
    held: bigint,
    account: AccountState,
  ): void {
    const key = runKey(customer, run);
    const delta = this.runDeltas.get(key) ?? { customer, run, captured: 0n, held: 0n };
    delta.captured += captured;
    delta.held += held;
    this.runDeltas.set(key, delta);
    const known = account.runs.get(run);
    if (known) {
      known.captured += captured;
      known.held += held;
    }
    this.dirty.add(customer);
  }

  /** A customer's limit in a scope as of now (a period that has ended starts over at zero). */
  private limitOf(account: AccountState, scope: string): SpendLimitState | undefined {
    const limit = account.limits.get(scope);
    if (limit) rollOver(limit, this.now);
    return limit;
  }

  private touchLimit(customer: string, scope: string, limit: SpendLimitState | null): void {
    this.changedLimits.set(runKey(customer, scope), { customer, scope, limit });
    this.dirty.add(customer);
  }

  /** Adds to what a limit has spent; notes when that takes it to its amount. */
  private spendOnLimit(customer: string, scope: string, limit: SpendLimitState, amount: bigint): void {
    if (amount === 0n) return;
    const before = limit.spent;
    limit.spent += amount;
    if (limit.spent < 0n) {
      throw new LedgerInvariantError(`spend limit ${scope} of ${customer} would go below zero`);
    }
    this.touchLimit(customer, scope, limit);
    if (before < limit.amount && limit.spent >= limit.amount) {
      this.reached.push({
        customer,
        scope,
        limit: limit.amount,
        spent: limit.spent,
        period: limit.period,
        resetsAt: periodEnd(limit.period, limit.periodStart),
      });
      // Written to the app's outbox with this batch: reported once per crossing, never for a refused write.
      const resetsAt = periodEnd(limit.period, limit.periodStart);
      this.events.push([
        customer,
        'spend_limit.reached',
        {
          scope,
          limit: microsToCredits(limit.amount),
          spent: microsToCredits(limit.spent),
          period: limit.period,
          resets_at: resetsAt ? resetsAt.toISOString() : null,
        },
      ]);
    }
  }

  /**
   * What a hold's capture or void changes on the limits it counted against (`amount` negative: a part
   * returned). Only a limit still in the period the hold counted in, and set no later than then: a
   * period that has reset owes the hold nothing, and neither does a limit set again since.
   */
  private spendOnHoldLimits(account: AccountState, hold: HoldState, amount: bigint): void {
    for (const [scope, start, limitId] of hold.spendLimits ?? []) {
      const limit = this.limitOf(account, scope);
      if (!limit || limit.id !== limitId || limit.periodStart.toISOString() !== start) continue;
      this.spendOnLimit(account.id, scope, limit, amount);
    }
  }

  /** The customer's, the member's and the user key's limits a credit hold of `amount` counts against, or the refusal. */
  private limitsFor(
    account: AccountState,
    userKey: string | undefined,
    member: string | undefined,
    amount: bigint,
  ): { limits: [string, SpendLimitState][] } | { refused: RawResult } {
    const limits: [string, SpendLimitState][] = [];
    const scopes: [string, Record<string, string>][] = [[CUSTOMER_SCOPE, { scope: 'customer' }]];
    if (member !== undefined) scopes.push([memberScope(member), { scope: 'member', member_id: member }]);
    if (userKey !== undefined) scopes.push([keyScope(userKey), { scope: 'user_key', user_key_id: userKey }]);
    for (const [scope, named] of scopes) {
      const limit = this.limitOf(account, scope);
      if (!limit) continue;
      if (limit.spent + amount > limit.amount) {
        const resetsAt = periodEnd(limit.period, limit.periodStart);
        return {
          refused: refusal(
            'spend_limit_exceeded',
            `This would pass the ${named.scope === 'user_key' ? 'user key' : named.scope}'s spend limit`,
            {
              ...named,
              limit: limit.amount.toString(),
              spent: limit.spent.toString(),
              required: amount.toString(),
              period: limit.period,
              resets_at: resetsAt?.toISOString() ?? null,
            },
          ),
        };
      }
      limits.push([scope, limit]);
    }
    return { limits };
  }

  private record(transaction: Transaction): number {
    this.transactions.push(transaction);
    this.dirty.add(transaction.customer);
    return this.transactions.length;
  }

  /** A grant nothing more may be spent from: past its expiry, or voided. */
  private isClosed(grant: GrantState): boolean {
    return grant.voidedAt !== null || (grant.expiresAt !== null && grant.expiresAt <= this.now);
  }

  /**
   * The live grants with unreserved credits, in spend order; with `use`, only those whose scope pays
   * for that work (without: every grant, as an adjustment debits the whole balance).
   */
  private spendable(account: AccountState, use?: GrantUse): GrantState[] {
    return account.grants.filter(
      (grant) =>
        grant.remaining > grant.reserved &&
        !this.isClosed(grant) &&
        (use === undefined || grantPaysFor(grant.scope, use)),
    );
  }

  /** Writes off the unreserved remainder of every grant past its expiry (a hold may still use what it reserved). */
  private settle(account: AccountState): bigint {
    let total = 0n;
    const closedAt = (grant: GrantState) => (grant.voidedAt ?? grant.expiresAt)!.getTime();
    const due = account.grants
      .filter((grant) => this.isClosed(grant) && grant.remaining > grant.reserved)
      .sort((left, right) => closedAt(left) - closedAt(right) || (left.id < right.id ? -1 : 1));
    for (const grant of due) {
      const amount = grant.remaining - grant.reserved;
      total += amount;
      if (grant.voidedAt !== null) {
        this.writeOffVoided(account, grant, amount, null);
        continue;
      }
      grant.remaining -= amount;
      account.balance -= amount;
      this.touchGrant(grant);
      this.record({
        customer: account.id,
        type: 'expire',
        amount: -amount,
        balanceAfter: account.balance,
        holdId: null,
        grantId: grant.id,
        model: null,
        metadata: null,
        legs: [
          [account.id, -amount],
          ['sys:expired', amount],
        ],
      });
      this.events.push([
        account.id,
        'grant.expired',
        { grant: grant.id, amount: microsToCredits(amount), balance: microsToCredits(account.balance) },
      ]);
    }
    return total;
  }

  /** A voided grant's unreserved credits go back to the account that funded it (a new transaction). */
  private writeOffVoided(account: AccountState, grant: GrantState, amount: bigint, reason: string | null) {
    grant.remaining -= amount;
    account.balance -= amount;
    this.touchGrant(grant);
    return this.record({
      customer: account.id,
      type: 'grant_void',
      amount: -amount,
      balanceAfter: account.balance,
      holdId: null,
      grantId: grant.id,
      model: null,
      metadata: reason === null ? null : { reason },
      legs: [
        [account.id, -amount],
        [FUNDING_ACCOUNT[grant.source], amount],
      ],
    });
  }

  /**
   * Voids a grant: its unreserved remainder is written off now, and what its holds still reserve is
   * written off as they release it (a capture spends it as usual). Once: voiding again writes off
   * nothing more.
   */
  private voidGrant(operation: Extract<Operation, { op: 'void_grant' }>): RawResult {
    const account = this.account(operation.customer);
    if (!account) return refusal('not_found', `No such grant: ${operation.grant}`);
    this.settle(account);
    const grant = account.grants.find((candidate) => candidate.id === operation.grant);
    let transaction: number | null = null;
    let amount = 0n;
    if (grant && grant.voidedAt === null) {
      grant.voidedAt = this.now;
      amount = grant.remaining - grant.reserved;
      this.touchGrant(grant);
      this.dirty.add(account.id);
      if (amount > 0n) transaction = this.writeOffVoided(account, grant, amount, operation.reason ?? null);
    }
    return {
      ok: true,
      grant_id: operation.grant,
      customer: account.id,
      voided: amount.toString(),
      reserved: (grant?.reserved ?? 0n).toString(),
      balance: account.balance.toString(),
      transaction_id: transaction === null ? null : `${TRANSACTION_PLACEHOLDER}${transaction}`,
    };
  }

  /** After writing off what has expired: a refusal if `amount` is more than the customer has available. */
  private refuseUnaffordable(account: AccountState, amount: bigint, use?: GrantUse): RawResult | null {
    this.settle(account);
    // Without scoped grants this is balance − held; with them, only what may pay for this work.
    const available =
      use === undefined
        ? account.balance - account.held
        : this.spendable(account, use).reduce((sum, grant) => sum + grant.remaining - grant.reserved, 0n);
    if (amount <= available) return null;
    return refusal('insufficient_credits', 'Insufficient credits', {
      required: amount.toString(),
      available: available.toString(),
    });
  }

  /** The account of a hold the batch already found: loaded with it, or the cache is broken. */
  private ownerOf(hold: HoldState): AccountState {
    const account = this.account(hold.customerId);
    if (!account)
      throw new LedgerInvariantError(`customer ${hold.customerId} of hold ${hold.id} is not loaded`);
    return account;
  }

  /** Spends up to `amount` of the unreserved live credits in spend order; returns what it took. */
  private consume(account: AccountState, amount: bigint, use?: GrantUse): bigint {
    let left = amount;
    for (const grant of this.spendable(account, use)) {
      if (left === 0n) break;
      const take = min(left, grant.remaining - grant.reserved);
      grant.remaining -= take;
      this.touchGrant(grant);
      left -= take;
    }
    account.balance -= amount - left;
    return amount - left;
  }

  // ------------------------------------------------------------------------------------- operations

  apply(operation: Operation): RawResult {
    const key = operation.key;
    if (!key) return this.applyOne(operation);
    const id = keyId(key.scope, key.key);
    const claimed = this.keys.get(id);
    if (claimed) return replay(claimed.key.hash, key.hash, claimed.response);
    const stored = this.storedKeys.get(id);
    if (stored) return replay(stored.hash, key.hash, stored.response);
    const result = this.applyOne(operation);
    this.keys.set(id, { key, response: result });
    return result;
  }

  private applyOne(operation: Operation): RawResult {
    switch (operation.op) {
      case 'grant':
        return this.grant(operation);
      case 'hold':
        return this.placeHold(operation);
      case 'capture':
        return this.capture(operation);
      case 'void':
        return this.voidHold(operation.hold, operation.reason ?? 'voided', operation.onlyIfDue === true);
      case 'extend':
        return this.extend(operation);
      case 'charge': {
        const held = this.placeHold({ ...operation, op: 'hold', funding: 'credits' });
        if (held.ok !== true) return held;
        return this.capture({
          op: 'capture',
          hold: operation.holdId,
          amount: operation.amount,
          overrun: 'clamp',
          referralShare: operation.referralShare,
          referralAccount: operation.referralAccount,
          model: operation.model,
          metadata: operation.metadata,
        });
      }
      case 'set_spend_limit':
        return this.setSpendLimit(operation);
      case 'debit':
        return this.debit(operation);
      case 'clawback':
        return this.clawback(operation);
      case 'expire_grants': {
        const account = this.account(operation.customer);
        if (!account) return refusal('not_found', `No such customer: ${operation.customer}`);
        return { ok: true, expired: this.settle(account).toString() };
      }
      case 'void_grant':
        return this.voidGrant(operation);
    }
  }

  private grant(operation: Extract<Operation, { op: 'grant' }>): RawResult {
    const account = this.account(operation.customer);
    if (!account) return refusal('not_found', `No such customer: ${operation.customer}`);
    if (operation.expiresAt && operation.expiresAt <= this.now) {
      return refusal('invalid_request', 'expires_at must be in the future');
    }
    // A refusal, not an overflow that the database would reject for the whole batch.
    if (operation.amount > MAX_BIGINT - account.balance) {
      return refusal(
        'invalid_request',
        'This grant would take the balance past the largest amount the ledger holds',
        {
          param: 'amountMicros',
        },
      );
    }
    // What has expired goes first, so that the balance this grant reports is the customer's balance.
    this.settle(account);
    const grant: GrantState = {
      id: operation.grantId,
      source: operation.source,
      priority: operation.priority,
      amount: operation.amount,
      remaining: operation.amount,
      reserved: 0n,
      expiresAt: operation.expiresAt ?? null,
      createdAt: this.now,
      scope: operation.scope ?? null,
      voidedAt: null,
    };
    const position = account.grants.findIndex((other) => compareSpendOrder(grant, other) < 0);
    account.grants.splice(position === -1 ? account.grants.length : position, 0, grant);
    this.newGrants.set(grant.id, {
      grant,
      customer: account.id,
      reason: operation.reason ?? null,
      metadata: operation.metadata ?? null,
    });
    account.balance += operation.amount;
    const transaction = this.record({
      customer: account.id,
      type: operation.type ?? 'grant',
      amount: operation.amount,
      balanceAfter: account.balance,
      holdId: null,
      grantId: grant.id,
      model: null,
      metadata: { source: operation.source, reason: operation.reason ?? null, ...operation.metadata },
      legs: [
        [account.id, operation.amount],
        [operation.fundingAccount, -operation.amount],
      ],
    });
    return {
      ok: true,
      grant_id: grant.id,
      transaction_id: `${TRANSACTION_PLACEHOLDER}${transaction}`,
      balance: account.balance.toString(),
    };
  }

  private placeHold(operation: Extract<Operation, { op: 'hold' }>): RawResult {
    const account = this.account(operation.customer);
    if (!account) return refusal('not_found', `No such customer: ${operation.customer}`);
    if (this.hold(operation.holdId)) throw new LedgerInvariantError(`hold id ${operation.holdId} reused`);
    let limits: [string, SpendLimitState][] = [];
    const use: GrantUse = { model: operation.model, modelType: operation.modelType };
    if (operation.funding === 'credits') {
      const unaffordable = this.refuseUnaffordable(account, operation.amount, use);
      if (unaffordable) return unaffordable;
      const limited = this.limitsFor(account, operation.userKey, operation.member, operation.amount);
      if ('refused' in limited) return limited.refused;
      limits = limited.limits;
    }
    if (operation.runId !== undefined) {
      if (operation.maxRun !== undefined) {
        const run = account.runs.get(operation.runId);
        if (!run) throw new LedgerInvariantError(`run ${operation.runId} of ${account.id} is not loaded`);
        const total = run.captured + run.held;
        if (total + operation.amount > operation.maxRun) {
          return refusal('run_limit_exceeded', 'This hold would push the run over its cost limit', {
            run_id: operation.runId,
            max_run_cost: operation.maxRun.toString(),
            run_total: total.toString(),
            required: operation.amount.toString(),
          });
        }
      }
      this.runDelta(account.id, operation.runId, 0n, operation.amount, account);
    }
    const allocations: [string, bigint][] = [];
    if (operation.funding === 'credits' && operation.amount > 0n) {
      let left = operation.amount;
      for (const grant of this.spendable(account, use)) {
        if (left === 0n) break;
        const take = min(left, grant.remaining - grant.reserved);
        grant.reserved += take;
        this.touchGrant(grant);
        allocations.push([grant.id, take]);
        left -= take;
      }
      if (left !== 0n)
        throw new LedgerInvariantError(`customer ${account.id} short by ${left} while allocating`);
      account.held += operation.amount;
    }
    for (const [scope, limit] of limits) this.spendOnLimit(account.id, scope, limit, operation.amount);
    const hold: HoldState = {
      id: operation.holdId,
      customerId: account.id,
      status: 'held',
      funding: operation.funding,
      amount: operation.amount,
      captured: null,
      allocations,
      model: operation.model ?? null,
      modelType: operation.modelType ?? null,
      runId: operation.runId ?? null,
      provider: operation.provider ?? null,
      expiresAt: operation.expiresAt,
      createdAt: this.now,
      resolvedAt: null,
      voidReason: null,
      transactionId: null,
      result: null,
      metadata: operation.metadata ?? null,
      spendLimits:
        limits.length === 0
          ? null
          : limits.map(([scope, limit]) => [scope, limit.periodStart.toISOString(), limit.id]),
    };
    this.workingHolds.set(hold.id, hold);
    this.newHolds.add(hold.id);
    this.dirty.add(account.id);
    return {
      ok: true,
      id: hold.id,
      customer: account.id,
      status: 'held',
      amount: hold.amount.toString(),
      expires_at: hold.expiresAt.toISOString(),
      funding: hold.funding,
      available: (account.balance - account.held).toString(),
    };
  }

  private capture(operation: Extract<Operation, { op: 'capture' }>): RawResult {
    const hold = this.hold(operation.hold);
    if (!hold) return refusal('not_found', `No such hold: ${operation.hold}`);
    if (hold.status === 'captured') return hold.result!;
    if (hold.status === 'voided') {
      if (operation.delivered) return this.chargeAfterVoid(hold, operation);
      return refusal('invalid_state', `Hold ${hold.id} was voided and cannot be captured`, {
        status: 'voided',
      });
    }
    const account = this.ownerOf(hold);
    if (hold.expiresAt <= this.now && !operation.delivered) {
      // Past its timeout the hold is the sweeper's: void it now rather than let timing decide.
      this.voidHold(hold.id, 'expired', false);
      return refusal('invalid_state', `Hold ${hold.id} expired before it was captured`, { status: 'voided' });
    }
    const { capture, share } = capturedAmounts(hold, operation);

    if (hold.funding === 'byok') {
      if (hold.runId !== null) this.runDelta(account.id, hold.runId, capture, -hold.amount, account);
      const result = byokResult(hold, account, capture);
      this.resolve(hold, 'captured', 0n, null, result);
      return result;
    }

    const fromHold = min(capture, hold.amount);
    let left = fromHold;
    let releasedExpired = false;
    for (const [grantId, reserved] of hold.allocations) {
      const grant = this.grantOf(account, grantId);
      const take = min(left, reserved);
      grant.remaining -= take;
      grant.reserved -= reserved;
      this.touchGrant(grant);
      releasedExpired ||= this.isClosed(grant);
      left -= take;
    }
    account.held -= hold.amount;
    account.balance -= fromHold;
    const extra = capture - fromHold;
    // Usage above the hold (a provider counted more than we estimated): taken from what is available;
    // only what the balance cannot cover becomes a recorded loss. Expired grants are never spent here.
    const covered = extra > 0n ? this.consume(account, extra, holdUse(hold)) : 0n;
    const usage = this.recordUsage(account, hold, operation, capture, share, fromHold + covered);
    // What the hold reserved is spent; what it paid beyond or short of that changes the limits too.
    this.spendOnHoldLimits(account, hold, usage.paid - hold.amount);
    const result = captureResult(hold, account, capture, usage);
    if (hold.runId !== null) this.runDelta(account.id, hold.runId, capture, -hold.amount, account);
    // Released reservations may sit on grants that expired while the hold was open: they go now, after
    // the usage row, so that each history row's balance_after follows from the one before it.
    if (releasedExpired) this.settle(account);
    this.resolve(hold, 'captured', usage.paid, null, result);
    return result;
  }

  /**
   * Delivered work whose hold was voided under it (the sweeper got there first, or someone voided it
   * mid-call): the work is charged from what the customer has available now, like a charge without a
   * hold, and only what that cannot cover is a loss. The hold stays voided — its reservation was
   * already released — and the usage row points at it. Once per hold, through `afterVoidKey`.
   */
  private chargeAfterVoid(hold: HoldState, operation: Extract<Operation, { op: 'capture' }>): RawResult {
    const key = operation.afterVoidKey;
    const id = key ? keyId(key.scope, key.key) : null;
    if (key && id) {
      const claimed = this.keys.get(id);
      if (claimed) return replay(claimed.key.hash, key.hash, claimed.response);
      const stored = this.storedKeys.get(id);
      if (stored) return replay(stored.hash, key.hash, stored.response);
    }
    const result = this.chargeVoided(hold, operation);
    if (key && id) this.keys.set(id, { key, response: result });
    return result;
  }

  private chargeVoided(hold: HoldState, operation: Extract<Operation, { op: 'capture' }>): RawResult {
    const account = this.ownerOf(hold);
    const { capture, share } = capturedAmounts(hold, operation);
    if (hold.funding === 'byok') {
      if (hold.runId !== null) this.runDelta(account.id, hold.runId, capture, 0n, account);
      return { ...byokResult(hold, account, capture), after_void: true };
    }
    // What has expired is gone first, so the usage row's balance_after follows from the row before it.
    this.settle(account);
    const paid = this.consume(account, capture, holdUse(hold));
    const usage = this.recordUsage(account, hold, operation, capture, share, paid, { hold_voided: true });
    // The void returned the hold's reservation to its limits; what the work cost counts again.
    this.spendOnHoldLimits(account, hold, usage.paid);
    if (hold.runId !== null) this.runDelta(account.id, hold.runId, capture, 0n, account);
    return { ...captureResult(hold, account, capture, usage), after_void: true };
  }

  /**
   * The usage row of a capture: the customer pays `paid` of `capture`; the rest is the shortfall, a
   * recorded loss. The app's referral share is a share of what was collected: with a shortfall it is
   * cut to share × paid / capture (rounded down), and revenue takes the difference, so the legs still
   * sum to zero and no referral is ever paid on credits the customer never had.
   */
  private recordUsage(
    account: AccountState,
    hold: HoldState,
    operation: Extract<Operation, { op: 'capture' }>,
    capture: bigint,
    share: bigint,
    paid: bigint,
    extraMetadata: Record<string, unknown> = {},
  ): { paid: bigint; shortfall: bigint; share: bigint; transaction: number | null } {
    const shortfall = capture - paid;
    const collectedShare = shortfall > 0n && capture > 0n ? (share * paid) / capture : share;
    if (collectedShare > 0n && !operation.referralAccount) {
      throw new LedgerInvariantError(`referral share of hold ${hold.id} without a referral account`);
    }
    let transaction: number | null = null;
    if (paid > 0n || shortfall > 0n) {
      transaction = this.record({
        customer: account.id,
        type: 'usage',
        amount: -paid,
        balanceAfter: account.balance,
        holdId: hold.id,
        model: operation.model ?? hold.model,
        grantId: null,
        // Not spread syntax: with several sources it is V8's slow path, ~9 µs on every capture.
        metadata: mergeObjects(hold.metadata, operation.metadata, extraMetadata, {
          provider_cost: (capture - share).toString(),
          referral_share: collectedShare.toString(),
          total: capture.toString(),
          shortfall: shortfall.toString(),
        }),
        legs: (
          [
            [account.id, -paid],
            ['sys:revenue', capture - collectedShare],
            [operation.referralAccount ?? '', collectedShare],
            ['sys:loss', -shortfall],
          ] as [string, bigint][]
        ).filter(([, amount]) => amount !== 0n),
      });
    }
    return { paid, shortfall, share: collectedShare, transaction };
  }

  private resolve(
    hold: HoldState,
    status: HoldStatus,
    captured: bigint | null,
    reason: string | null,
    result: RawResult | null,
  ) {
    hold.status = status;
    hold.captured = captured;
    hold.resolvedAt = this.now;
    hold.voidReason = reason;
    hold.result = result;
    this.touchHold(hold);
  }

  private voidHold(holdId: string, reason: string, onlyIfDue: boolean): RawResult {
    const hold = this.hold(holdId);
    if (!hold) return refusal('not_found', `No such hold: ${holdId}`);
    if (hold.status === 'voided') {
      return { ok: true, id: hold.id, customer: hold.customerId, status: 'voided', reason: hold.voidReason };
    }
    if (hold.status === 'captured') {
      return refusal('invalid_state', `Hold ${hold.id} was already captured and cannot be voided`, {
        status: 'captured',
      });
    }
    const account = this.ownerOf(hold);
    if (onlyIfDue && hold.expiresAt > this.now) {
      return { ok: true, id: hold.id, customer: hold.customerId, status: 'held' };
    }
    if (hold.funding === 'credits') {
      for (const [grantId, reserved] of hold.allocations) {
        const grant = this.grantOf(account, grantId);
        grant.reserved -= reserved;
        this.touchGrant(grant);
      }
      account.held -= hold.amount;
      this.spendOnHoldLimits(account, hold, -hold.amount);
    }
    if (hold.runId !== null) this.runDelta(account.id, hold.runId, 0n, -hold.amount, account);
    this.resolve(hold, 'voided', null, reason, null);
    if (reason === 'expired') {
      this.events.push([
        account.id,
        'hold.expired',
        { hold: hold.id, amount: microsToCredits(hold.amount), model: hold.model, funding: hold.funding },
      ]);
    }
    this.settle(account);
    return { ok: true, id: hold.id, customer: hold.customerId, status: 'voided', reason };
  }

  private extend(operation: Extract<Operation, { op: 'extend' }>): RawResult {
    const hold = this.hold(operation.hold);
    if (!hold) return refusal('not_found', `No such hold: ${operation.hold}`);
    if (hold.status !== 'held') {
      return refusal('invalid_state', `Hold ${hold.id} is ${hold.status} and cannot be extended`, {
        status: hold.status,
      });
    }
    this.ownerOf(hold);
    if (hold.expiresAt <= this.now && !operation.inFlight) {
      // Too late to extend, as it is too late to capture: void it rather than let timing decide.
      // (Work still in flight keeps a hold nobody voided yet: it is captured as delivered anyway.)
      this.voidHold(hold.id, 'expired', false);
      return refusal('invalid_state', `Hold ${hold.id} expired before it was extended`, { status: 'voided' });
    }
    hold.expiresAt = operation.expiresAt;
    this.touchHold(hold);
    return {
      ok: true,
      id: hold.id,
      customer: hold.customerId,
      status: 'held',
      amount: hold.amount.toString(),
      expires_at: hold.expiresAt.toISOString(),
      funding: hold.funding,
    };
  }

  /**
   * Sets, changes or removes a limit. A new limit (or a new period) counts from zero in the current
   * period; a changed amount keeps what the period has spent, so lowering it below that refuses the
   * next hold at once.
   */
  private setSpendLimit(operation: Extract<Operation, { op: 'set_spend_limit' }>): RawResult {
    const account = this.account(operation.customer);
    if (!account) return refusal('not_found', `No such customer: ${operation.customer}`);
    const existing = this.limitOf(account, operation.scope);
    if (operation.amount === null) {
      if (existing) {
        account.limits.delete(operation.scope);
        this.touchLimit(account.id, operation.scope, null);
      }
      return { ok: true, customer: account.id, scope: operation.scope, limit: null };
    }
    const limit: SpendLimitState =
      existing && existing.period === operation.period
        ? { ...existing, amount: operation.amount }
        : {
            amount: operation.amount,
            period: operation.period,
            periodStart: periodStart(operation.period, this.now),
            spent: 0n,
            id: operation.limitId,
          };
    account.limits.set(operation.scope, limit);
    this.touchLimit(account.id, operation.scope, limit);
    return { ok: true, customer: account.id, scope: operation.scope, limit: spendLimitView(limit) };
  }

  private debit(operation: Extract<Operation, { op: 'debit' }>): RawResult {
    const account = this.account(operation.customer);
    if (!account) return refusal('not_found', `No such customer: ${operation.customer}`);
    const unaffordable = this.refuseUnaffordable(account, operation.amount);
    if (unaffordable) return unaffordable;
    this.consume(account, operation.amount);
    const transaction = this.record({
      customer: account.id,
      type: operation.type ?? 'adjustment',
      amount: -operation.amount,
      balanceAfter: account.balance,
      holdId: null,
      grantId: null,
      model: null,
      metadata: { reason: operation.reason ?? null, ...operation.metadata },
      legs: [
        [account.id, -operation.amount],
        [operation.account ?? 'sys:adjustments', operation.amount],
      ],
    });
    return {
      ok: true,
      transaction_id: `${TRANSACTION_PLACEHOLDER}${transaction}`,
      balance: account.balance.toString(),
    };
  }

  /**
   * Takes back up to the amount from one grant (a refunded purchase). What was already spent, reserved
   * or has expired cannot be taken back: it is the shortfall, and the balance never goes below what
   * holds reserve.
   */
  private clawback(operation: Extract<Operation, { op: 'clawback' }>): RawResult {
    const account = this.account(operation.customer);
    if (!account) return refusal('not_found', `No such grant: ${operation.grant}`);
    // What expired is gone whether or not the sweeper got there first.
    this.settle(account);
    const grant = account.grants.find((candidate) => candidate.id === operation.grant);
    const take = grant ? min(operation.amount, grant.remaining - grant.reserved) : 0n;
    let transaction: number | null = null;
    if (grant && take > 0n) {
      grant.remaining -= take;
      account.balance -= take;
      this.touchGrant(grant);
      transaction = this.record({
        customer: account.id,
        type: operation.type ?? 'refund',
        amount: -take,
        balanceAfter: account.balance,
        holdId: null,
        grantId: grant.id,
        model: null,
        metadata: {
          ...operation.metadata,
          requested: operation.amount.toString(),
          shortfall: (operation.amount - take).toString(),
        },
        legs: [
          [account.id, -take],
          [operation.fundingAccount, take],
        ],
      });
    }
    return {
      ok: true,
      grant_id: operation.grant,
      customer: account.id,
      clawed_back: take.toString(),
      shortfall: (operation.amount - take).toString(),
      transaction_id: transaction === null ? null : `${TRANSACTION_PLACEHOLDER}${transaction}`,
    };
  }

  // ------------------------------------------------------------------------------------------ output

  /** Customers this batch read; each is either written (revision checked and bumped) or checked. */
  get touchedCustomers(): string[] {
    return [...this.working.keys()];
  }

  get touchedHolds(): string[] {
    return [...this.workingHolds.keys()];
  }

  /**
   * The spend limits this batch took to their amount. The place a `spend_limit.reached` notification is
   * made from: the same batch writes each as a `spend_limit.reached` event to the app's outbox.
   */
  get spendLimitsReached(): readonly SpendLimitReached[] {
    return this.reached;
  }

  /** The write, or null when the batch read nothing it would need to check and wrote nothing. */
  document(): WriteDocument | null {
    const touched = [...this.working.values()].sort((left, right) =>
      left.id < right.id ? -1 : left.id > right.id ? 1 : 0,
    );
    if (touched.length === 0 && this.keys.size === 0) return null;
    const document: WriteDocument = { c: [] };
    const checked: [string, string][] = [];
    for (const account of touched) {
      if (this.dirty.has(account.id)) {
        document.c.push([
          account.id,
          account.revision.toString(),
          account.balance.toString(),
          account.held.toString(),
        ]);
      } else {
        checked.push([account.id, account.revision.toString()]);
      }
    }
    if (checked.length > 0) document.k = checked;
    if (this.newGrants.size > 0) {
      document.gi = [...this.newGrants.values()].map(({ grant, customer, reason, metadata }) => [
        grant.id,
        customer,
        grant.source,
        grant.amount.toString(),
        grant.remaining.toString(),
        grant.reserved.toString(),
        grant.priority,
        grant.expiresAt?.toISOString() ?? null,
        reason,
        metadata,
        grant.createdAt.toISOString(),
        grant.scope,
      ]);
    }
    if (this.changedGrants.size > 0) {
      document.gu = [...this.changedGrants.values()].map((grant) => [
        grant.id,
        grant.remaining.toString(),
        grant.reserved.toString(),
        grant.voidedAt?.toISOString() ?? null,
      ]);
    }
    if (this.transactions.length > 0) {
      document.t = this.transactions.map((transaction) => [
        transaction.customer,
        transaction.type,
        transaction.amount.toString(),
        transaction.balanceAfter.toString(),
        transaction.holdId,
        transaction.grantId,
        transaction.model,
        transaction.metadata,
      ]);
      document.e = this.transactions.flatMap((transaction, index) =>
        transaction.legs.map(
          ([account, amount]) => [index + 1, account, amount.toString()] as [number, string, string],
        ),
      );
    }
    if (this.newHolds.size > 0) {
      document.hi = [...this.newHolds].map((id) => {
        const hold = this.workingHolds.get(id)!;
        return [
          hold.id,
          hold.customerId,
          hold.status,
          hold.funding,
          hold.amount.toString(),
          hold.captured?.toString() ?? null,
          hold.allocations.map(([grant, amount]) => [grant, amount.toString()]),
          hold.model,
          hold.runId,
          hold.provider,
          hold.expiresAt.toISOString(),
          hold.createdAt.toISOString(),
          hold.resolvedAt?.toISOString() ?? null,
          hold.voidReason,
          transactionOrdinal(hold.result),
          storedForm(hold.result),
          hold.metadata,
          hold.spendLimits,
          hold.modelType,
        ];
      });
    }
    if (this.changedHolds.size > 0) {
      document.hu = [...this.changedHolds].map((id) => {
        const hold = this.workingHolds.get(id)!;
        return [
          hold.id,
          hold.status,
          hold.captured?.toString() ?? null,
          hold.expiresAt.toISOString(),
          hold.resolvedAt?.toISOString() ?? null,
          hold.voidReason,
          transactionOrdinal(hold.result),
          storedForm(hold.result),
        ];
      });
    }
    const runs = [...this.runDeltas.values()];
    if (runs.length > 0) {
      document.r = runs.map((run) => [run.customer, run.run, run.captured.toString(), run.held.toString()]);
    }
    if (this.changedLimits.size > 0) {
      document.l = [...this.changedLimits.values()].map(({ customer, scope, limit }) => [
        customer,
        scope,
        limit?.amount.toString() ?? null,
        limit?.period ?? 'total',
        (limit?.periodStart ?? new Date(0)).toISOString(),
        limit?.spent.toString() ?? '0',
        limit?.id ?? '',
      ]);
    }
    if (this.keys.size > 0) {
      document.i = [...this.keys.values()].map(({ key, response }) => [
        key.scope,
        key.key,
        key.hash,
        storedForm(response),
        transactionOrdinal(response),
      ]);
    }
    const events = [...this.events];
    const levels: [string, BalanceLevel][] = [];
    for (const account of touched) {
      if (this.dirty.has(account.id)) this.balanceCrossings(account, events, levels);
    }
    if (events.length > 0) document.o = events;
    if (levels.length > 0) document.a = levels;
    return document;
  }

  /**
   * A balance that went down across the threshold (or to zero) is reported once: the level written
   * with the batch is what the next batch compares against. A balance that went back up re-arms it.
   * A level that would rise without a debit (the threshold was raised) is left as it was, so the next
   * debit reports the crossing. Compared with the state as read, so rendering twice renders the same.
   */
  private balanceCrossings(account: AccountState, events: LedgerEvent[], levels: [string, BalanceLevel][]) {
    const read = this.accounts.get(account.id);
    if (!account.alert || !read?.alert) return;
    const stored = read.alert.level;
    const threshold = read.alert.threshold;
    const level = balanceLevel(account.balance, threshold);
    const debited = account.balance < read.balance;
    if (level === stored || (level > stored && !debited)) return;
    account.alert.level = level;
    levels.push([account.id, level]);
    if (level < stored) return;
    const balance = microsToCredits(account.balance);
    if (stored < BalanceLevel.low && threshold !== null && threshold > 0n) {
      events.push([account.id, 'balance.low', { balance, threshold: microsToCredits(threshold) }]);
    }
    if (level === BalanceLevel.depleted) events.push([account.id, 'balance.depleted', { balance }]);
  }

  /**
   * After the write: the transaction ids fill the results' placeholders, and the new states are what
   * the cache keeps (changed customers one revision up; resolved holds are no longer worth keeping).
   */
  committed(transactionIds: string[]): { accounts: AccountState[]; holds: HoldState[] } {
    if (transactionIds.length !== this.transactions.length) {
      throw new LedgerInvariantError(
        `wrote ${transactionIds.length} transactions, expected ${this.transactions.length}`,
      );
    }
    for (const hold of this.workingHolds.values()) {
      if (transactionOrdinal(hold.result) === null) continue;
      hold.result = fillTransactionId(hold.result!, transactionIds);
      hold.transactionId = hold.result.transaction_id as string;
    }
    const accounts = [...this.working.values()].map((account) => {
      if (this.dirty.has(account.id)) account.revision += 1n;
      account.grants = account.grants.filter((grant) => grant.remaining > 0n);
      return account;
    });
    return { accounts, holds: [...this.workingHolds.values()] };
  }
}

/** What a capture takes: the amount asked (clamped to the hold unless overruns are charged) and its share. */
function capturedAmounts(
  hold: HoldState,
  operation: Extract<Operation, { op: 'capture' }>,
): { capture: bigint; share: bigint } {
  const requested = operation.amount ?? hold.amount;
  const capture = requested > hold.amount && operation.overrun === 'clamp' ? hold.amount : requested;
  let share = operation.referralShare ?? 0n;
  // A clamped capture keeps the referral share's proportion of the total.
  if (capture < requested) share = (share * capture) / requested;
  if (share > capture) throw new LedgerInvariantError(`referral share ${share} above capture ${capture}`);
  return { capture, share };
}

function byokResult(hold: HoldState, account: AccountState, capture: bigint): RawResult {
  return {
    ok: true,
    id: hold.id,
    customer: account.id,
    status: 'captured',
    amount: '0',
    funding: 'byok',
    cost: capture.toString(),
    transaction_id: null,
  };
}

function captureResult(
  hold: HoldState,
  account: AccountState,
  capture: bigint,
  usage: { paid: bigint; shortfall: bigint; share: bigint; transaction: number | null },
): RawResult {
  return {
    ok: true,
    id: hold.id,
    customer: account.id,
    status: 'captured',
    amount: usage.paid.toString(),
    funding: 'credits',
    cost: capture.toString(),
    shortfall: usage.shortfall.toString(),
    referral_share: usage.share.toString(),
    balance: account.balance.toString(),
    transaction_id: usage.transaction === null ? null : `${TRANSACTION_PLACEHOLDER}${usage.transaction}`,
  };
}

function replay(storedHash: string, hash: string, response: RawResult | null): RawResult {
  if (storedHash !== hash || response === null) {
    return refusal('idempotency_conflict', 'This Idempotency-Key was already used with a different request');
  }
  return { ...response, replayed: true };
}

/** Which of its batch's transactions (1-based) a result points at, before the batch is written. */
function transactionOrdinal(result: RawResult | null): number | null {
  const value = result?.transaction_id;
  if (typeof value !== 'string' || !value.startsWith(TRANSACTION_PLACEHOLDER)) return null;
  return Number(value.slice(TRANSACTION_PLACEHOLDER.length));
}

/**
 * A result as the database keeps it (a captured hold's, an idempotency key's response): the
 * transaction id, unknown until the write, lives in the row's `transaction_id` column instead.
 */
function storedForm(result: RawResult | null): RawResult | null {
  return transactionOrdinal(result) === null ? result : { ...result!, transaction_id: null };
}

/** Replaces the transaction placeholder of a result with the id the write returned. */
export function fillTransactionId(result: RawResult, transactionIds: readonly string[]): RawResult {
  const ordinal = transactionOrdinal(result);
  if (ordinal === null) return result;
  const id = transactionIds[ordinal - 1];
  if (id === undefined) throw new LedgerInvariantError(`no transaction for ${result.transaction_id}`);
  return { ...result, transaction_id: id };
}

/** A limit as the API shows it (amounts as micro-credit strings). */
export function spendLimitView(limit: SpendLimitState): Record<string, unknown> {
  return {
    amount: limit.amount.toString(),
    period: limit.period,
    spent: limit.spent.toString(),
    period_start: limit.periodStart.toISOString(),
    resets_at: periodEnd(limit.period, limit.periodStart)?.toISOString() ?? null,
  };
}

/** The work a hold pays for, which decides the grants it (and an overrun of it) may draw on. */
function holdUse(hold: HoldState): GrantUse {
  return { model: hold.model, modelType: hold.modelType };
}

/** Run totals are per customer and run id. */
export function runKey(customer: string, run: string): string {
  return `${customer}\u0000${run}`;
}

/** Idempotency keys are unique per scope. */
export function keyId(scope: string, key: string): string {
  return `${scope}\u0000${key}`;
}
