/**
 * Grants as a resource of their own: create (now, or scheduled for a future `effective_at`), list with
 * what remains and what holds reserve, and void. The ledger owns every grant that counts in a balance;
 * this service owns only the grants that are not in force yet (`scheduled_grants`), which the sweeper
 * credits once due (`activateDue`): until then they are neither in the balance nor available, so the
 * ledger's balance = Σ grant remaining never has to make an exception for them.
 */
import type { Principal } from '../auth/principals.ts';
import type { CustomersService } from '../customers/customers-service.ts';
import { type GateService, principalScope, requestFingerprint } from '../gate/gate-service.ts';
import type { GrantView, Ledger } from '../ledger/ledger.ts';
import { unwrap } from '../ledger/ledger.ts';
import { DEFAULT_PRIORITY, type GrantScope, type GrantSource } from '../ledger/spend-order.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { microsToCredits, parsePositiveCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';

/** Paid: the customer paid money for them (purchases, a subscription's allowance); the rest is promotional. */
export type GrantCategory = 'paid' | 'promotional';

export function categoryOf(source: GrantSource): GrantCategory {
  return source === 'purchase' || source === 'allowance' ? 'paid' : 'promotional';
}

/** The source a grant named only by its category gets. */
const SOURCE_OF_CATEGORY: Record<GrantCategory, GrantSource> = { paid: 'purchase', promotional: 'promo' };

export interface GrantRequest {
  amount: number | string;
  source?: GrantSource;
  category?: GrantCategory;
  priority?: number;
  effective_at?: string;
  expires_at?: string;
  scope?: GrantScope;
  reason?: string;
}

interface ScheduledRow {
  id: string;
  customer_id: string;
  source: GrantSource;
  amount_micros: string | bigint;
  priority: number;
  effective_at: Date | string;
  expires_at: Date | string | null;
  scope: GrantScope | null;
  reason: string | null;
  status: 'scheduled' | 'granted' | 'voided';
  created_at: Date | string;
}

const SCHEDULED_COLUMNS =
  'id, customer_id, source, amount_micros, priority, effective_at, expires_at, scope, reason, status, created_at';

function iso(value: Date | string | null): string | null {
  return value === null ? null : new Date(value).toISOString();
}

export function grantWire(grant: GrantView, customerId: string) {
  return {
    id: grant.id,
    object: 'grant',
    customer: customerId,
    status: grant.voidedAt ? 'voided' : 'active',
    source: grant.source,
    category: categoryOf(grant.source),
    priority: grant.priority,
    amount: microsToCredits(grant.amountMicros),
    remaining: microsToCredits(grant.remainingMicros),
    reserved: microsToCredits(grant.reservedMicros),
    available: microsToCredits(grant.voidedAt ? 0n : grant.remainingMicros - grant.reservedMicros),
    scope: grant.scope,
    effective_at: null,
    expires_at: grant.expiresAt?.toISOString() ?? null,
    voided_at: grant.voidedAt?.toISOString() ?? null,
    created_at: grant.createdAt.toISOString(),
  };
}

function scheduledWire(row: ScheduledRow) {
  return {
    id: row.id,
    object: 'grant',
    customer: row.customer_id,
    status: row.status === 'voided' ? 'voided' : 'scheduled',
    source: row.source,
    category: categoryOf(row.source),
    priority: row.priority,
    amount: microsToCredits(BigInt(row.amount_micros)),
    remaining: 0,
    reserved: 0,
    available: 0,
    scope: row.scope,
    effective_at: iso(row.effective_at),
    expires_at: iso(row.expires_at),
    voided_at: null,
    created_at: iso(row.created_at),
  };
}

export class GrantsService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly gate: GateService,
    private readonly customers: CustomersService,
    private readonly clock: Clock,
  ) {}

  /** A grant in force now (through the gate, which also takes negative adjustments), or scheduled. */
  async create(principal: Principal, customerReference: string, request: GrantRequest, key?: string) {
    const source = sourceOf(request);
    const now = this.clock.now();
    const effectiveAt = request.effective_at ? new Date(request.effective_at) : null;
    const expiresAt = request.expires_at ? new Date(request.expires_at) : null;
    if (effectiveAt && expiresAt && expiresAt <= effectiveAt) {
      throw new TollgateError('invalid_request', 'expires_at must be after effective_at', {
        param: 'expires_at',
      });
    }
    if (!effectiveAt || effectiveAt <= now) {
      const { category: _category, effective_at: _effective, ...rest } = request;
      const granted = await this.gate.grant(principal, customerReference, { ...rest, source }, key);
      if (!('id' in granted)) return granted;
      return {
        ...granted,
        category: categoryOf(source),
        priority: request.priority ?? DEFAULT_PRIORITY,
        scope: request.scope ?? null,
        status: 'active',
        effective_at: null,
      };
    }
    const customer = await this.customers.resolve(customerReference, principal);
    const amountMicros = parsePositiveCredits(request.amount, 'amount');
    return this.schedule(principal, customer.id, request, key, {
      id: newId('gr'),
      customer_id: customer.id,
      source,
      amount_micros: amountMicros,
      priority: request.priority ?? DEFAULT_PRIORITY,
      effective_at: effectiveAt.toISOString(),
      expires_at: expiresAt?.toISOString() ?? null,
      scope: request.scope ?? null,
      reason: request.reason ?? null,
      status: 'scheduled',
      created_at: now.toISOString(),
    });
  }

  /** Inserts a scheduled grant; the Idempotency-Key is claimed in the same transaction (scope as the gate's). */
  private async schedule(
    principal: Principal,
    customerId: string,
    request: GrantRequest,
    key: string | undefined,
    row: ScheduledRow,
  ) {
    const answer = scheduledWire(row);
    const scope = `${principalScope(principal)}|grants`;
    const hash = requestFingerprint(request);
    return this.db.transaction(async (query) => {
      if (key) {
        const claimed = await query(
          `insert into idempotency_keys (scope, key, request_hash, response, created_at)
           values ($1, $2, $3, $4::jsonb, $5::timestamptz) on conflict do nothing returning key`,
          [scope, key, hash, JSON.stringify({ ok: true, ...answer }), row.created_at],
        );
        if (claimed.length === 0) {
          const [stored] = await query<{ request_hash: string; response: Record<string, unknown> | null }>(
            'select request_hash, response from idempotency_keys where scope = $1 and key = $2',
            [scope, key],
          );
          if (!stored || stored.request_hash !== hash || !stored.response) {
            throw new TollgateError(
              'idempotency_conflict',
              'This Idempotency-Key was already used with a different request',
            );
          }
          const { ok: _ok, ...response } = stored.response;
          return { ...response, replayed: true };
        }
      }
      await query(
        `insert into scheduled_grants (id, customer_id, source, amount_micros, priority, effective_at, expires_at,
                                       scope, reason, status, created_at)
         values ($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8::jsonb, $9, 'scheduled', $10::timestamptz)`,
        [
          row.id,
          customerId,
          row.source,
          row.amount_micros.toString(),
          row.priority,
          row.effective_at,
          row.expires_at,
          row.scope === null ? null : JSON.stringify(row.scope),
          row.reason,
          row.created_at,
        ],
      );
      return answer;
    });
  }

  /** The customer's live grants in spend order (remaining, reserved), then those scheduled, soonest first. */
  async list(principal: Principal, customerReference: string) {
    const customer = await this.customers.resolve(customerReference, principal);
    const balance = await this.ledger.balance(customer.id);
    if (!balance) throw new TollgateError('not_found', `No such customer: ${customerReference}`);
    const scheduled = await this.db.query<ScheduledRow>(
      `select ${SCHEDULED_COLUMNS} from scheduled_grants
       where customer_id = $1 and status = 'scheduled' order by effective_at, id limit 1000`,
      [customer.id],
    );
    const scheduledMicros = scheduled.reduce((sum, row) => sum + BigInt(row.amount_micros), 0n);
    return {
      object: 'list',
      customer: customer.id,
      balance: microsToCredits(balance.balanceMicros),
      pending: microsToCredits(balance.pendingMicros),
      available: microsToCredits(balance.availableMicros),
      scheduled: microsToCredits(scheduledMicros),
      data: [
        ...balance.grants.map((grant) => grantWire(grant, customer.id)),
        ...scheduled.map(scheduledWire),
      ],
      has_more: false,
    };
  }

  /**
   * Voids a grant: a live one through the ledger (its unreserved remainder is written off, what holds
   * reserve stays theirs); a scheduled one is cancelled before it is ever credited. Idempotent.
   */
  async void(principal: Principal, grantId: string, reason: string | undefined, key?: string) {
    const [scheduled] = await this.db.query<ScheduledRow>(
      `select ${SCHEDULED_COLUMNS} from scheduled_grants where id = $1`,
      [grantId],
    );
    if (scheduled && scheduled.status !== 'granted') {
      await this.customers.resolve(scheduled.customer_id, principal);
      // Under the row's lock: the sweeper credits a scheduled grant only while it is still scheduled.
      await this.db.query(
        `update scheduled_grants set status = 'voided', resolved_at = $2::timestamptz
         where id = $1 and status = 'scheduled'`,
        [grantId, this.clock.now().toISOString()],
      );
      const [after] = await this.db.query<ScheduledRow>(
        `select ${SCHEDULED_COLUMNS} from scheduled_grants where id = $1`,
        [grantId],
      );
      if (after && after.status === 'voided') {
        return {
          ...scheduledWire(after),
          voided: 0,
          balance: null,
          transaction_id: null,
        };
      }
    }
    const [owner] = await this.db.query<{ customer_id: string }>(
      'select customer_id from grants where id = $1',
      [grantId],
    );
    if (!owner) throw new TollgateError('not_found', `No such grant: ${grantId}`);
    const customer = await this.customers.resolve(owner.customer_id, principal);
    const result = unwrap(
      await this.ledger.voidGrant({
        grantId,
        reason,
        idempotency: key
          ? {
              key,
              scope: `${principalScope(principal)}|grant-voids`,
              fingerprint: requestFingerprint({ grantId, reason }),
            }
          : undefined,
      }),
    );
    const balance = await this.ledger.balance(customer.id);
    const view = balance?.grants.find((grant) => grant.id === grantId);
    return {
      id: grantId,
      object: 'grant',
      customer: customer.id,
      status: 'voided',
      voided: microsToCredits(result.voidedMicros),
      reserved: microsToCredits(result.reservedMicros),
      remaining: microsToCredits(view?.remainingMicros ?? 0n),
      balance: microsToCredits(result.balanceMicros),
      transaction_id: result.transactionId,
      ...(result.replayed ? { replayed: true } : {}),
    };
  }

  /**
   * Credits the scheduled grants that are due (the sweeper's step). Each in a ledger transaction that
   * locks its customer and the row: credited once, whichever server gets there first, and never after
   * a void. One whose expiry passed before it could be credited is voided instead.
   */
  async activateDue(batchSize = 200): Promise<number> {
    const now = this.clock.now();
    const due = await this.db.query<{ id: string; customer_id: string }>(
      `select id, customer_id from scheduled_grants
       where status = 'scheduled' and effective_at <= $1::timestamptz order by effective_at limit $2`,
      [now.toISOString(), batchSize],
    );
    let credited = 0;
    for (const { id, customer_id: customerId } of due) {
      const done = await this.ledger.transaction([customerId], async (transaction) => {
        const [row] = await transaction.query<ScheduledRow>(
          `select ${SCHEDULED_COLUMNS} from scheduled_grants
           where id = $1 and customer_id = $2 and status = 'scheduled' for update`,
          [id, customerId],
        );
        if (!row) return false;
        const expiresAt = row.expires_at === null ? undefined : new Date(row.expires_at);
        const granted =
          expiresAt && expiresAt <= now
            ? null
            : transaction.grant({
                grantId: row.id,
                customerId,
                amountMicros: BigInt(row.amount_micros),
                source: row.source,
                priority: row.priority,
                expiresAt,
                scope: row.scope ?? undefined,
                reason: row.reason ?? undefined,
                metadata: { effective_at: iso(row.effective_at) },
              });
        await transaction.query(
          'update scheduled_grants set status = $2, resolved_at = $3::timestamptz where id = $1 and customer_id = $4',
          [id, granted?.ok ? 'granted' : 'voided', now.toISOString(), customerId],
        );
        return granted?.ok === true;
      });
      if (done) credited += 1;
    }
    return credited;
  }
}

function sourceOf(request: GrantRequest): GrantSource {
  if (request.category && request.source && categoryOf(request.source) !== request.category) {
    throw new TollgateError(
      'invalid_request',
      `source "${request.source}" is ${categoryOf(request.source)}, not ${request.category}`,
      { param: 'category' },
    );
  }
  return request.source ?? (request.category ? SOURCE_OF_CATEGORY[request.category] : 'adjustment');
}
