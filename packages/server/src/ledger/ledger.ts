/**
 * The ledger: the only code that writes balances. Every write is an operation applied by the SQL
 * function `tg_ledger_apply` inside one transaction (see store/migrations/0002); concurrent operations
 * are batched by `Batcher`. Reads (balance, history) are plain queries.
 */
import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import type { Clock } from '../shared/clock.ts';
import { TollgateError, type ErrorCode } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { parseInput } from '../shared/validation.ts';
import type { Database } from '../store/database.ts';
import { Batcher } from './batcher.ts';
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
  type VoidInput,
  voidInputSchema,
} from './inputs.ts';
import { FUNDING_ACCOUNT, type GrantSource, SOURCE_PRIORITY } from './spend-order.ts';

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
  amountMicros: bigint;
  remainingMicros: bigint;
  reservedMicros: bigint;
  expiresAt: Date | null;
  createdAt: Date;
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
  /** How many batches may run at once (defaults to what the backend can do in parallel). */
  maxInFlight?: number;
}

type Operation = Record<string, unknown> & { op: string };
type RawResult = Record<string, unknown> & { ok: boolean };

const customerIdPattern = /^[A-Za-z0-9_:.-]{1,200}$/;

/** How many open holds' customers the ledger remembers for batching (a hint only; forgotten past this). */
const OPEN_HOLD_HINTS = 50_000;

export class Ledger {
  private readonly batcher: Batcher<Operation, RawResult>;
  readonly holdTimeoutSeconds: number;
  /** Customer of each hold this ledger opened and has not seen resolved: captures batch with their customer. */
  private readonly holdCustomers = new Map<string, string>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    options: LedgerOptions = {},
  ) {
    this.holdTimeoutSeconds = options.holdTimeoutSeconds ?? 900;
    this.batcher = new Batcher(
      (operations) => this.apply(operations),
      options.maxInFlight ?? db.parallelism,
      undefined,
      (operation) =>
        typeof operation.customer === 'string'
          ? operation.customer
          : typeof operation.hold === 'string'
            ? this.holdCustomers.get(operation.hold)
            : undefined,
    );
  }

  private async apply(operations: Operation[]): Promise<RawResult[]> {
    const rows = await this.db.query<{ results: RawResult[] }>(
      'select tg_ledger_apply($1::jsonb, $2::timestamptz) as results',
      [JSON.stringify(operations), this.clock.now().toISOString()],
      { prepare: 'tg_ledger_apply' },
    );
    const results = rows[0]!.results;
    results.forEach((result, index) => {
      if (!result.ok || typeof result.id !== 'string') return;
      if (operations[index]!.op === 'hold' && result.status === 'held') {
        if (this.holdCustomers.size >= OPEN_HOLD_HINTS) this.holdCustomers.clear();
        this.holdCustomers.set(result.id, String(result.customer));
      } else if (result.status === 'captured' || result.status === 'voided') {
        this.holdCustomers.delete(result.id);
      }
    });
    return results;
  }

  private async submit(operation: Operation, idempotency: Idempotency | undefined, input: unknown) {
    if (idempotency) {
      operation.key = idempotency.key;
      operation.scope = idempotency.scope;
      operation.hash = idempotency.fingerprint ?? fingerprint(input);
    }
    return this.batcher.submit(operation);
  }

  /** Opens a customer account (idempotent on app + external id). */
  async createCustomer(input: {
    id?: string;
    appId?: string | null;
    externalId?: string | null;
    email?: string | null;
  }): Promise<{ id: string; created: boolean }> {
    const id = input.id ?? newId('cus');
    if (!customerIdPattern.test(id)) throw new TollgateError('invalid_request', 'invalid customer id');
    const inserted = await this.db.kysely
      .insertInto('customers')
      .values({ id, app_id: input.appId ?? null, external_id: input.externalId ?? null, email: input.email ?? null })
      .onConflict((conflict) => conflict.doNothing())
      .returning('id')
      .executeTakeFirst();
    if (inserted) return { id: inserted.id, created: true };
    let query = this.db.kysely.selectFrom('customers').select('id');
    query =
      input.externalId != null
        ? query
            .where(sql<string>`coalesce(app_id, '')`, '=', input.appId ?? '')
            .where('external_id', '=', input.externalId)
        : query.where('id', '=', id);
    const existing = await query.executeTakeFirst();
    if (!existing) throw new TollgateError('invalid_state', 'customer could not be created');
    return { id: existing.id, created: false };
  }

  async grant(input: GrantInput): Promise<LedgerResult<GrantResult>> {
    const parsed = parseInput(grantInputSchema, input);
    const result = await this.submit(
      {
        op: 'grant',
        customer: parsed.customerId,
        grant_id: newId('gr'),
        amount: parsed.amountMicros.toString(),
        source: parsed.source,
        priority: parsed.priority ?? SOURCE_PRIORITY[parsed.source],
        expires_at: parsed.expiresAt?.toISOString(),
        reason: parsed.reason,
        metadata: parsed.metadata,
        type: parsed.type,
        funding_account: FUNDING_ACCOUNT[parsed.source],
      },
      parsed.idempotency,
      { ...input, idempotency: undefined },
    );
    return toResult(result, (raw) => ({
      grantId: String(raw.grant_id),
      transactionId: `txn_${raw.transaction_id}`,
      balanceMicros: BigInt(raw.balance as string),
      replayed: raw.replayed === true,
    }));
  }

  async hold(input: HoldInput): Promise<LedgerResult<HoldResult>> {
    const parsed = parseInput(holdInputSchema, input);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + (parsed.timeoutSeconds ?? this.holdTimeoutSeconds) * 1000);
    const result = await this.submit(
      {
        op: 'hold',
        customer: parsed.customerId,
        hold_id: newId('hold'),
        amount: parsed.amountMicros.toString(),
        expires_at: expiresAt.toISOString(),
        model: parsed.model,
        provider: parsed.provider,
        run_id: parsed.runId,
        max_run: parsed.maxRunMicros?.toString(),
        funding: parsed.funding,
        metadata: parsed.metadata,
      },
      parsed.idempotency,
      { ...input, idempotency: undefined },
    );
    return toResult(result, toHoldResult);
  }

  async capture(input: CaptureInput): Promise<LedgerResult<CaptureResult>> {
    const parsed = parseInput(captureInputSchema, input);
    if (parsed.referralShareMicros && parsed.amountMicros !== undefined && parsed.referralShareMicros > parsed.amountMicros) {
      throw new TollgateError('invalid_request', 'referral share cannot exceed the captured amount');
    }
    const result = await this.submit(
      {
        op: 'capture',
        hold: parsed.holdId,
        amount: parsed.amountMicros?.toString(),
        overrun: parsed.overrun === 'charge_available' ? 'charge' : 'clamp',
        referral_share: parsed.referralShareMicros?.toString(),
        referral_account: parsed.referralAccount,
        model: parsed.model,
        metadata: parsed.metadata,
      },
      parsed.idempotency,
      { ...input, idempotency: undefined },
    );
    return toResult(result, toCaptureResult);
  }

  async void(input: VoidInput): Promise<LedgerResult<VoidResult>> {
    const parsed = parseInput(voidInputSchema, input);
    const result = await this.submit(
      { op: 'void', hold: parsed.holdId, reason: parsed.reason },
      parsed.idempotency,
      { ...input, idempotency: undefined },
    );
    return toResult(result, toVoidResult);
  }

  async extend(input: ExtendInput): Promise<LedgerResult<HoldResult>> {
    const parsed = parseInput(extendInputSchema, input);
    const expiresAt = new Date(this.clock.now().getTime() + parsed.timeoutSeconds * 1000);
    const result = await this.batcher.submit({ op: 'extend', hold: parsed.holdId, expires_at: expiresAt.toISOString() });
    return toResult(result, toHoldResult);
  }

  /** One-shot hold + capture of the same amount. */
  async charge(input: ChargeInput): Promise<LedgerResult<CaptureResult>> {
    const parsed = parseInput(chargeInputSchema, input);
    const expiresAt = new Date(this.clock.now().getTime() + this.holdTimeoutSeconds * 1000);
    const result = await this.submit(
      {
        op: 'charge',
        customer: parsed.customerId,
        hold_id: newId('hold'),
        amount: parsed.amountMicros.toString(),
        expires_at: expiresAt.toISOString(),
        model: parsed.model,
        provider: parsed.provider,
        run_id: parsed.runId,
        max_run: parsed.maxRunMicros?.toString(),
        referral_share: parsed.referralShareMicros?.toString(),
        referral_account: parsed.referralAccount,
        metadata: parsed.metadata,
      },
      parsed.idempotency,
      { ...input, idempotency: undefined },
    );
    return toResult(result, toCaptureResult);
  }

  /** Takes credits away (a negative adjustment); refused when it would exceed what is available. */
  async debit(input: DebitInput): Promise<LedgerResult<{ transactionId: string; balanceMicros: bigint; replayed: boolean }>> {
    const parsed = parseInput(debitInputSchema, input);
    const result = await this.submit(
      {
        op: 'debit',
        customer: parsed.customerId,
        amount: parsed.amountMicros.toString(),
        reason: parsed.reason,
        type: parsed.type,
        metadata: parsed.metadata,
      },
      parsed.idempotency,
      { ...input, idempotency: undefined },
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
    const grant = await this.db.kysely
      .selectFrom('grants')
      .select('source')
      .where('id', '=', parsed.grantId)
      .executeTakeFirst();
    if (!grant) return { ok: false, error: new TollgateError('not_found', `No such grant: ${parsed.grantId}`) };
    const result = await this.submit(
      {
        op: 'clawback',
        grant: parsed.grantId,
        amount: parsed.amountMicros.toString(),
        type: parsed.type,
        metadata: parsed.metadata,
        funding_account: FUNDING_ACCOUNT[grant.source as GrantSource],
      },
      parsed.idempotency,
      { ...input, idempotency: undefined },
    );
    return toResult(result, (raw) => ({
      grantId: String(raw.grant_id),
      customerId: String(raw.customer),
      clawedBackMicros: BigInt(raw.clawed_back as string),
      shortfallMicros: BigInt(raw.shortfall as string),
      transactionId: raw.transaction_id ? `txn_${raw.transaction_id}` : null,
      replayed: raw.replayed === true,
    }));
  }

  /**
   * Runs a domain operation defined by a later migration as `tg_op_<name>` (purchase fulfilment,
   * refunds, gift redemption) in the ledger's transaction, under the lock of `fields.customer`.
   */
  async domainOperation(
    name: string,
    fields: Record<string, unknown> & { customer: string },
  ): Promise<LedgerResult<Record<string, unknown>>> {
    if (!/^[a-z_]{1,40}$/.test(name)) throw new Error(`invalid ledger operation name: ${name}`);
    const result = await this.batcher.submit({ ...fields, op: name });
    return toResult(result, (raw) => raw);
  }

  /** Writes off the unreserved remainder of a customer's expired grants. */
  async expireGrants(customerId: string): Promise<bigint> {
    const result = await this.batcher.submit({ op: 'expire_grants', customer: customerId });
    return BigInt((result.expired as string | undefined) ?? '0');
  }

  /** Voids a hold if (and only if) its timeout has passed; used by the sweeper. */
  async voidIfExpired(holdId: string): Promise<boolean> {
    const result = await this.batcher.submit({ op: 'void', hold: holdId, reason: 'expired', only_if_due: 'true' });
    return result.ok && result.status === 'voided';
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
      .select(['id', 'source', 'amount_micros', 'remaining_micros', 'reserved_micros', 'expires_at', 'created_at'])
      .where('customer_id', '=', customerId)
      .where('remaining_micros', '>', 0n)
      .orderBy(sql`(source = 'allowance')`, 'desc')
      .orderBy(sql`expires_at asc nulls last`)
      .orderBy('priority')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    const bySource: Record<GrantSource, bigint> = { purchase: 0n, promo: 0n, gift: 0n, allowance: 0n, adjustment: 0n };
    const grants: GrantView[] = [];
    let expiredUnreservedMicros = 0n;
    for (const row of rows) {
      const expiresAt = row.expires_at ? new Date(row.expires_at) : null;
      const remaining = BigInt(row.remaining_micros);
      const reserved = BigInt(row.reserved_micros);
      // A grant past its expiry that the sweeper has not reached yet is already gone for the customer.
      const expired = expiresAt !== null && expiresAt <= now;
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
        expiresAt,
        createdAt: new Date(row.created_at),
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
