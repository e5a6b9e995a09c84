/**
 * The billing gate: prices work from the catalog, holds credits before it, captures the actual cost
 * after it (re-priced, never above the hold), voids failures for free, and funds the work with the
 * customer's own provider key instead of credits when they stored one and their app allows it (byok;
 * `ProviderKeysService.fundingKey` decides).
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { type App, type AppsService, referralAccountId } from '../apps/apps-service.ts';
import type { Principal } from '../auth/principals.ts';
import type { ProviderKeysService } from '../byok/provider-keys.ts';
import type { ModelConfig } from '../config/types.ts';
import type { CustomerRecord, CustomersService } from '../customers/customers-service.ts';
import type { Metrics } from '../http/metrics.ts';
import { type CaptureResult, type HoldResult, type Ledger, unwrap } from '../ledger/ledger.ts';
import type { GrantScope } from '../ledger/spend-order.ts';
import type { Catalog } from '../pricing/catalog.ts';
import type { UsageInput } from '../pricing/price-inputs.ts';
import { type Quote, quote } from '../pricing/quote.ts';
import { TollgateError } from '../shared/errors.ts';
import { microsToCredits, parseCredits, parsePositiveCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';
import { clientMetadata, spenderMetadata } from '../teams/spender.ts';

export interface WorkInput {
  model: string;
  quantity?: number | string;
  usage?: UsageInput;
  amount?: number | string;
}

export interface HoldRequest extends WorkInput {
  customer: string;
  run_id?: string;
  max_run_cost?: number | string;
  /** The user key the work is for, when the app places it (a user key's own calls are its own). */
  user_key_id?: string;
  metadata?: Record<string, unknown>;
  timeout_seconds?: number;
}

export interface CaptureRequest {
  quantity?: number | string;
  usage?: UsageInput;
  amount?: number | string;
}

export interface PricedWork {
  model: ModelConfig;
  quote: Quote;
}

const SCOPE_SEPARATOR = '|';

export function principalScope(principal: Principal): string {
  switch (principal.kind) {
    case 'admin':
      return 'admin';
    case 'app':
      return `app:${principal.appId}`;
    case 'user':
      return `user:${principal.customerId}`;
  }
}

/** Whose spend limit a hold counts against besides the customer's: the calling user key, or the one the app names. */
function userKeyOf(principal: Principal, request: HoldRequest): string | undefined {
  return principal.kind === 'user' ? principal.keyId : request.user_key_id;
}

export function requestFingerprint(body: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(body ?? null))
    .digest('base64url');
}

export class GateService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly catalog: Catalog,
    private readonly apps: AppsService,
    private readonly customers: CustomersService,
    private readonly providerKeys: ProviderKeysService,
    private readonly metrics: Metrics,
  ) {}

  /** The app a customer belongs to (null for customers created by the operator without an app). */
  async appOf(customer: CustomerRecord): Promise<App | null> {
    return customer.appId ? this.apps.get(customer.appId) : null;
  }

  /**
   * The organisation member a hold is for: a user key's own, read with the key; for the app's call naming
   * one of the customer's keys (`user_key_id`), that key's member (one read, off the gateway's path). A
   * `user_key_id` that is not one of this customer's keys is refused: history and limits by key would
   * otherwise name a key that never spent.
   */
  private async memberOf(
    principal: Principal,
    customerId: string,
    userKeyId: string | undefined,
  ): Promise<string | undefined> {
    if (principal.kind === 'user') return principal.memberId;
    if (userKeyId === undefined) return undefined;
    const row = await this.db.kysely
      .selectFrom('api_keys')
      .select('member_id')
      .where('id', '=', userKeyId)
      .where('customer_id', '=', customerId)
      .where('kind', '=', 'user')
      .executeTakeFirst();
    if (!row) {
      throw new TollgateError('invalid_request', "user_key_id is not one of this customer's user keys", {
        param: 'user_key_id',
      });
    }
    return row.member_id ?? undefined;
  }

  /** Prices a piece of work: catalog price plus the app's referral share, or an explicit amount. */
  price(model: ModelConfig, work: Omit<WorkInput, 'model'>, app: App | null): Quote {
    if (work.amount !== undefined) {
      const totalMicros = parseCredits(work.amount, 'amount');
      if (totalMicros < 0n)
        throw new TollgateError('invalid_request', 'amount must not be negative', { param: 'amount' });
      return { providerCostMicros: totalMicros, referralShareMicros: 0n, totalMicros };
    }
    return quote(model, { quantity: work.quantity, usage: work.usage }, app?.referralRatePpm ?? 0n);
  }

  resolveModel(modelId: string, app: App | null): ModelConfig {
    const model = this.catalog.require(modelId);
    if (app) this.apps.assertModelAllowed(app, modelId);
    return model;
  }

  async hold(principal: Principal, request: HoldRequest, idempotencyKey?: string) {
    const customer = await this.customers.resolve(request.customer, principal);
    const app = await this.appOf(customer);
    const model = this.resolveModel(request.model, app);
    const priced = this.price(model, request, app);
    const maxRunMicros =
      request.max_run_cost !== undefined ? parseCredits(request.max_run_cost, 'max_run_cost') : undefined;
    if (maxRunMicros !== undefined && request.run_id === undefined) {
      throw new TollgateError('invalid_request', 'max_run_cost needs a run_id', { param: 'max_run_cost' });
    }
    if (maxRunMicros !== undefined && maxRunMicros < 0n) {
      throw new TollgateError('invalid_request', 'max_run_cost must not be negative', {
        param: 'max_run_cost',
      });
    }
    const funding =
      (await this.providerKeys.fundingKey(customer.id, app, model.provider)) !== null ? 'byok' : 'credits';
    const userKeyId = userKeyOf(principal, request);
    const memberId = await this.memberOf(principal, customer.id, userKeyId);
    const result = await this.ledger.hold({
      customerId: customer.id,
      amountMicros: priced.totalMicros,
      timeoutSeconds: request.timeout_seconds,
      model: model.id,
      modelType: model.type,
      provider: model.provider,
      runId: request.run_id,
      maxRunMicros,
      funding,
      userKeyId,
      memberId,
      metadata: {
        ...clientMetadata(request.metadata),
        ...spenderMetadata(userKeyId, memberId),
        provider_cost: priced.providerCostMicros.toString(),
        referral_share: priced.referralShareMicros.toString(),
        placed_by: principal.kind,
      },
      idempotency: idempotencyKey
        ? {
            key: idempotencyKey,
            scope: `${principalScope(principal)}${SCOPE_SEPARATOR}holds`,
            fingerprint: requestFingerprint(request),
          }
        : undefined,
    });
    const hold = unwrap(result);
    if (!hold.replayed) this.metrics.holds.inc({ funding: hold.funding });
    return holdWire(hold, model.id, priced);
  }

  /**
   * A hold the caller may see; with `settle`, one it may also capture, void or extend. A user key
   * settles only holds placed with a user key: a hold the app placed for its user is the app's to
   * settle (the user would otherwise capture it for nothing before the app charges the real price).
   */
  private async loadHold(principal: Principal, holdId: string, settle = false) {
    const hold = await this.db.kysely
      .selectFrom('holds')
      .select([
        'id',
        'customer_id',
        'model',
        'status',
        'funding',
        'amount_micros',
        'expires_at',
        'run_id',
        'metadata',
        'result',
      ])
      .where('id', '=', holdId)
      .executeTakeFirst();
    if (!hold) throw new TollgateError('not_found', `No such hold: ${holdId}`);
    const customer = await this.customers.resolve(hold.customer_id, principal).catch(() => {
      throw new TollgateError('not_found', `No such hold: ${holdId}`);
    });
    const placedBy = (hold.metadata as { placed_by?: unknown } | null)?.placed_by;
    if (settle && principal.kind === 'user' && placedBy !== 'user') {
      throw new TollgateError(
        'forbidden',
        'This hold was placed by the app: only the app can capture, void or extend it',
      );
    }
    return { hold, customer };
  }

  async getHold(principal: Principal, holdId: string) {
    const { hold } = await this.loadHold(principal, holdId);
    return {
      id: hold.id,
      object: 'hold',
      customer: hold.customer_id,
      model: hold.model,
      status: hold.status,
      funding: hold.funding,
      amount: microsToCredits(BigInt(hold.amount_micros)),
      expires_at: new Date(hold.expires_at).toISOString(),
      run_id: hold.run_id,
    };
  }

  async capture(principal: Principal, holdId: string, request: CaptureRequest, idempotencyKey?: string) {
    const { hold, customer } = await this.loadHold(principal, holdId, true);
    const app = await this.appOf(customer);
    const metadata = (hold.metadata ?? {}) as Record<string, string>;
    let amountMicros: bigint | undefined;
    let referralShareMicros: bigint | undefined;
    if (request.quantity !== undefined || request.usage !== undefined || request.amount !== undefined) {
      const model = this.catalog.require(hold.model ?? '');
      const priced = this.price(model, request, app);
      amountMicros = priced.totalMicros;
      referralShareMicros = priced.referralShareMicros;
    } else if (metadata.referral_share) {
      referralShareMicros = BigInt(metadata.referral_share);
    }
    const result = unwrap(
      await this.ledger.capture({
        holdId,
        amountMicros,
        referralShareMicros:
          referralShareMicros && referralShareMicros > 0n ? referralShareMicros : undefined,
        referralAccount:
          app && referralShareMicros && referralShareMicros > 0n ? referralAccountId(app.id) : undefined,
        idempotency: idempotencyKey
          ? {
              key: idempotencyKey,
              scope: `${principalScope(principal)}${SCOPE_SEPARATOR}capture:${holdId}`,
              fingerprint: requestFingerprint(request),
            }
          : undefined,
      }),
    );
    if (!result.replayed) this.metrics.captures.inc();
    return captureWire(result);
  }

  async void(principal: Principal, holdId: string, reason: string | undefined, idempotencyKey?: string) {
    const { hold } = await this.loadHold(principal, holdId, true);
    const result = unwrap(
      await this.ledger.void({
        holdId,
        reason,
        idempotency: idempotencyKey
          ? {
              key: idempotencyKey,
              scope: `${principalScope(principal)}${SCOPE_SEPARATOR}void:${holdId}`,
              fingerprint: requestFingerprint({ reason }),
            }
          : undefined,
      }),
    );
    // Counted once per hold (voiding a voided hold again is a harmless no-op), under a fixed label: the
    // caller's free-text reason as a label would open a new metrics series with every request.
    if (!result.replayed && hold.status === 'held') this.metrics.voids.inc({ reason: 'voided' });
    return { id: result.id, object: 'hold', status: result.status, reason: result.reason };
  }

  /**
   * The customer's provider key of a byok hold, for the app to run the work with; readable once, and
   * only while the customer's app allows BYOK.
   */
  async revealProviderKey(principal: Principal, holdId: string, now: Date) {
    const { customer } = await this.loadHold(principal, holdId);
    const app = await this.appOf(customer);
    const revealed = await this.providerKeys.revealForHold(holdId, customer.id, app, now);
    return { hold: holdId, provider: revealed.provider, key: revealed.key };
  }

  async extend(principal: Principal, holdId: string, timeoutSeconds: number) {
    await this.loadHold(principal, holdId, true);
    const result = unwrap(await this.ledger.extend({ holdId, timeoutSeconds }));
    return {
      id: result.id,
      object: 'hold',
      status: result.status,
      amount: microsToCredits(result.amountMicros),
      expires_at: result.expiresAt.toISOString(),
      funding: result.funding,
    };
  }

  async charge(principal: Principal, request: HoldRequest, idempotencyKey?: string) {
    const customer = await this.customers.resolve(request.customer, principal);
    const app = await this.appOf(customer);
    const model = this.resolveModel(request.model, app);
    const priced = this.price(model, request, app);
    const byok = (await this.providerKeys.fundingKey(customer.id, app, model.provider)) !== null;
    const userKeyId = userKeyOf(principal, request);
    const memberId = await this.memberOf(principal, customer.id, userKeyId);
    const idempotency = idempotencyKey
      ? {
          key: idempotencyKey,
          scope: `${principalScope(principal)}${SCOPE_SEPARATOR}charges`,
          fingerprint: requestFingerprint(request),
        }
      : undefined;
    const maxRunMicros =
      request.max_run_cost !== undefined ? parseCredits(request.max_run_cost, 'max_run_cost') : undefined;
    if (maxRunMicros !== undefined && request.run_id === undefined) {
      throw new TollgateError('invalid_request', 'max_run_cost needs a run_id', { param: 'max_run_cost' });
    }
    if (byok) {
      // A byok charge moves no credits: record it as a hold captured at zero (it still counts toward run limits).
      const hold = unwrap(
        await this.ledger.hold({
          customerId: customer.id,
          amountMicros: priced.totalMicros,
          model: model.id,
          modelType: model.type,
          provider: model.provider,
          runId: request.run_id,
          maxRunMicros,
          funding: 'byok',
          metadata: { ...clientMetadata(request.metadata), ...spenderMetadata(userKeyId, memberId) },
          idempotency,
        }),
      );
      const captured = unwrap(await this.ledger.capture({ holdId: hold.id }));
      return captureWire(captured);
    }
    const result = unwrap(
      await this.ledger.charge({
        customerId: customer.id,
        amountMicros: priced.totalMicros,
        model: model.id,
        modelType: model.type,
        provider: model.provider,
        runId: request.run_id,
        maxRunMicros,
        referralShareMicros: priced.referralShareMicros > 0n ? priced.referralShareMicros : undefined,
        referralAccount: app && priced.referralShareMicros > 0n ? referralAccountId(app.id) : undefined,
        userKeyId,
        memberId,
        metadata: { ...clientMetadata(request.metadata), ...spenderMetadata(userKeyId, memberId) },
        idempotency,
      }),
    );
    if (!result.replayed) this.metrics.captures.inc();
    return captureWire(result);
  }

  /** A positive grant, or a negative adjustment (debit), made by an operator or the app. */
  async grant(
    principal: Principal,
    customerReference: string,
    request: {
      amount: number | string;
      source: 'purchase' | 'promo' | 'gift' | 'allowance' | 'adjustment';
      expires_at?: string;
      reason?: string;
      priority?: number;
      scope?: GrantScope;
    },
    idempotencyKey?: string,
  ) {
    const customer = await this.customers.resolve(customerReference, principal);
    const amountMicros = parseCredits(request.amount, 'amount');
    const idempotency = idempotencyKey
      ? {
          key: idempotencyKey,
          scope: `${principalScope(principal)}${SCOPE_SEPARATOR}grants`,
          fingerprint: requestFingerprint(request),
        }
      : undefined;
    if (amountMicros < 0n) {
      if (request.source !== 'adjustment') {
        throw new TollgateError(
          'invalid_request',
          'a negative amount is only allowed with source "adjustment"',
          { param: 'amount' },
        );
      }
      const debit = unwrap(
        await this.ledger.debit({
          customerId: customer.id,
          amountMicros: -amountMicros,
          reason: request.reason,
          idempotency,
        }),
      );
      return {
        customer: customer.id,
        transaction_id: debit.transactionId,
        balance: microsToCredits(debit.balanceMicros),
      };
    }
    parsePositiveCredits(request.amount, 'amount');
    const grant = unwrap(
      await this.ledger.grant({
        customerId: customer.id,
        amountMicros,
        source: request.source,
        expiresAt: request.expires_at ? new Date(request.expires_at) : undefined,
        priority: request.priority,
        scope: request.scope,
        reason: request.reason,
        idempotency,
      }),
    );
    return {
      id: grant.grantId,
      object: 'grant',
      customer: customer.id,
      source: request.source,
      amount: microsToCredits(amountMicros),
      expires_at: request.expires_at ?? null,
      transaction_id: grant.transactionId,
      balance: microsToCredits(grant.balanceMicros),
    };
  }
}

export function holdWire(hold: HoldResult, model: string, priced?: Quote) {
  return {
    id: hold.id,
    object: 'hold',
    customer: hold.customerId,
    model,
    status: hold.status,
    amount: microsToCredits(hold.amountMicros),
    expires_at: hold.expiresAt.toISOString(),
    funding: hold.funding,
    ...(priced
      ? {
          provider_cost: microsToCredits(priced.providerCostMicros),
          referral_share: microsToCredits(priced.referralShareMicros),
        }
      : {}),
  };
}

export function captureWire(result: CaptureResult) {
  return {
    id: result.id,
    object: 'hold',
    customer: result.customerId,
    status: result.status,
    amount: microsToCredits(result.amountMicros),
    cost: microsToCredits(result.costMicros),
    referral_share: microsToCredits(result.referralShareMicros),
    shortfall: microsToCredits(result.shortfallMicros),
    funding: result.funding,
    transaction_id: result.transactionId,
  };
}

const fundingSchema = z
  .enum(['credits', 'byok'])
  .describe('byok: the customer pays the provider with their own key');

/** holdWire: a hold just placed (201). */
export const holdSchema = z.object({
  id: z.string(),
  object: z.literal('hold'),
  customer: z.string(),
  model: z.string(),
  status: z.literal('held'),
  amount: z.number().describe('Credits reserved'),
  expires_at: z.string().datetime({ offset: true }),
  funding: fundingSchema,
  provider_cost: z.number().optional(),
  referral_share: z.number().optional(),
});

export const holdExample = {
  id: 'hold_7QnXr2',
  object: 'hold',
  customer: 'cus_8f3k2m9x1q7z',
  model: 'gpt-4o-mini',
  status: 'held',
  amount: 0.25,
  expires_at: '2026-01-01T00:10:00.000Z',
  funding: 'credits',
  provider_cost: 0.2,
  referral_share: 0.05,
};

/** getHold: a hold as it stands. */
export const holdStateSchema = z.object({
  id: z.string(),
  object: z.literal('hold'),
  customer: z.string(),
  model: z.string().nullable(),
  status: z.enum(['held', 'captured', 'voided']),
  funding: fundingSchema,
  amount: z.number(),
  expires_at: z.string().datetime({ offset: true }),
  run_id: z.string().nullable(),
});

/** captureWire: what a capture or a charge took. */
export const captureSchema = z.object({
  id: z.string(),
  object: z.literal('hold'),
  customer: z.string(),
  status: z.literal('captured'),
  amount: z.number().describe('Credits the customer paid'),
  cost: z.number().describe('The cost asked for (more than amount by the shortfall)'),
  referral_share: z.number(),
  shortfall: z.number(),
  funding: fundingSchema,
  transaction_id: z.string().nullable(),
});

export const captureExample = {
  id: 'hold_7QnXr2',
  object: 'hold',
  customer: 'cus_8f3k2m9x1q7z',
  status: 'captured',
  amount: 0.18,
  cost: 0.18,
  referral_share: 0.03,
  shortfall: 0,
  funding: 'credits',
  transaction_id: 'txn_1',
};

export const voidSchema = z.object({
  id: z.string(),
  object: z.literal('hold'),
  status: z.literal('voided'),
  reason: z.string().nullable(),
});

export const extendSchema = z.object({
  id: z.string(),
  object: z.literal('hold'),
  status: z.literal('held'),
  amount: z.number(),
  expires_at: z.string().datetime({ offset: true }),
  funding: fundingSchema,
});
