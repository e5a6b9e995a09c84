/**
 * Customers of an app: created idempotently on the app's own `external_id`, reachable by `cus_…` id
 * or external id. Customers the app creates get the signup bonus exactly once on creation; customers
 * the public widget opens earn it later (signup-bonus.ts).
 */
import { generateKey, hashKey, keyHint } from '../auth/keys.ts';
import type { KeyStore, Principal } from '../auth/principals.ts';
import { type Ledger, type SpendLimitView, unwrap } from '../ledger/ledger.ts';
import type { SpendLimitPeriod } from '../ledger/spend-limits.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import type { Database } from '../store/database.ts';
import type { SignupBonus } from './signup-bonus.ts';

export interface CustomerRecord {
  id: string;
  appId: string | null;
  externalId: string | null;
  email: string | null;
  createdAt: Date;
  /** An organisation's members (teams/) spend its one balance. */
  type: CustomerType;
}

export type CustomerType = 'individual' | 'organization';

/** What the first key of a customer (and one created without a name) is called. */
export const DEFAULT_KEY_NAME = 'Default';

export interface SpendLimitSetting {
  amountMicros: bigint;
  period: SpendLimitPeriod;
}

export interface UserKeyView {
  id: string;
  customerId: string;
  name: string;
  /** The key's last characters: `tg_uk_…a1b2`. */
  hint: string;
  createdAt: Date;
  /** To the minute. */
  lastUsedAt: Date | null;
  revokedAt: Date | null;
  limit: SpendLimitView | null;
  /** The organisation member the key belongs to (teams/), or null. */
  memberId: string | null;
}

export class CustomersService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly keys: KeyStore,
    private readonly signupBonus: SignupBonus,
  ) {}

  /**
   * `signupBonus: 'vouched'` (the default: an app's backend or the operator creates the customer) grants
   * the bonus now; `'earned'` (the public widget) leaves it to be earned by a verified email or a payment.
   */
  async create(input: {
    appId: string | null;
    externalId: string;
    email?: string | null;
    signupBonus?: 'vouched' | 'earned';
    /** Omitted: individual for a new customer, and whatever an existing one is. */
    type?: CustomerType;
  }): Promise<{
    customer: CustomerRecord;
    created: boolean;
    userKey?: string;
  }> {
    const { id, created } = await this.ledger.createCustomer({
      appId: input.appId,
      externalId: input.externalId,
      email: input.email ?? null,
      type: input.type,
    });
    // The bonus is keyed by customer, so a retry after a crash between the two steps grants it once.
    if ((input.signupBonus ?? 'vouched') === 'vouched') await this.signupBonus.grantVouched(id);
    const customer = await this.get(id);
    if (!created && input.type !== undefined && input.type !== customer.type) {
      throw new TollgateError(
        'invalid_state',
        `Customer ${input.externalId} already exists as an ${customer.type} customer`,
        { param: 'type' },
      );
    }
    if (!created) return { customer, created };
    const userKey = await this.createUserKey(customer);
    return { customer, created, userKey: userKey.userKey };
  }

  async get(id: string): Promise<CustomerRecord> {
    const row = await this.db.kysely
      .selectFrom('customers')
      .select(['id', 'app_id', 'external_id', 'email', 'created_at', 'type'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new TollgateError('not_found', `No such customer: ${id}`);
    return {
      id: row.id,
      appId: row.app_id,
      externalId: row.external_id,
      email: row.email,
      createdAt: new Date(row.created_at),
      type: row.type,
    };
  }

  /**
   * Resolves a customer reference (Tollgate id or the app's external id) for a caller, refusing
   * anything outside the caller's app. An unknown customer and another app's customer answer alike
   * (404), so ids cannot be probed.
   */
  async resolve(reference: string, principal: Principal): Promise<CustomerRecord> {
    const appId = principal.kind === 'app' || principal.kind === 'user' ? principal.appId : null;
    let query = this.db.kysely
      .selectFrom('customers')
      .select(['id', 'app_id', 'external_id', 'email', 'created_at', 'type']);
    if (principal.kind === 'admin') {
      query = query.where('id', '=', reference);
    } else {
      query = query.where((where) =>
        where.or([where('id', '=', reference), where('external_id', '=', reference)]),
      );
      query = appId === null ? query.where('app_id', 'is', null) : query.where('app_id', '=', appId);
    }
    const rows = await query.limit(2).execute();
    const row = rows.find((candidate) => candidate.id === reference) ?? rows[0];
    if (!row || (principal.kind === 'user' && row.id !== principal.customerId)) {
      throw new TollgateError('not_found', `No such customer: ${reference}`);
    }
    return {
      id: row.id,
      appId: row.app_id,
      externalId: row.external_id,
      email: row.email,
      createdAt: new Date(row.created_at),
      type: row.type,
    };
  }

  /**
   * Issues a user key (shown once) with a name and, optionally, a spend limit. The limit is set first,
   * under the key's id, so that no request can be made with the key before its limit holds.
   */
  async createUserKey(
    customer: CustomerRecord,
    options: { name?: string; limit?: SpendLimitSetting; memberId?: string } = {},
  ): Promise<{ id: string; userKey: string }> {
    const userKey = generateKey('user');
    const id = newId('uk', 12);
    if (options.limit) await this.setKeyLimit(customer.id, id, options.limit);
    await this.db.kysely
      .insertInto('api_keys')
      .values({
        id,
        kind: 'user',
        key_hash: hashKey(userKey),
        key_hint: keyHint(userKey),
        name: options.name ?? DEFAULT_KEY_NAME,
        app_id: customer.appId,
        customer_id: customer.id,
        revoked_at: null,
        member_id: options.memberId ?? null,
      })
      .execute();
    return { id, userKey };
  }

  /** The customer's user keys, newest first, with their limits (dashboard sessions are not keys). */
  async listUserKeys(customerId: string): Promise<UserKeyView[]> {
    const [rows, limits] = await Promise.all([
      this.db.kysely
        .selectFrom('api_keys')
        .select(['id', 'name', 'key_hint', 'created_at', 'last_used_at', 'revoked_at', 'member_id'])
        .where('customer_id', '=', customerId)
        .where('kind', '=', 'user')
        .where('expires_at', 'is', null)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .execute(),
      this.ledger.spendLimits(customerId),
    ]);
    const byKey = new Map(limits.map((limit) => [limit.userKeyId, limit]));
    return rows.map((row) => ({
      id: row.id,
      customerId,
      name: row.name ?? DEFAULT_KEY_NAME,
      hint: row.key_hint,
      createdAt: new Date(row.created_at),
      lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
      revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
      limit: byKey.get(row.id) ?? null,
      memberId: row.member_id,
    }));
  }

  async getUserKey(customerId: string, keyId: string): Promise<UserKeyView> {
    const key = (await this.listUserKeys(customerId)).find((candidate) => candidate.id === keyId);
    if (!key) throw new TollgateError('not_found', `No such user key: ${keyId}`);
    return key;
  }

  /** Renames a key and/or sets (null: removes) its spend limit. */
  async updateUserKey(
    customerId: string,
    keyId: string,
    change: { name?: string; limit?: SpendLimitSetting | null },
  ): Promise<UserKeyView> {
    const key = await this.getUserKey(customerId, keyId);
    if (key.revokedAt) throw new TollgateError('invalid_state', `User key ${keyId} is revoked`);
    if (change.name !== undefined) {
      await this.db.kysely
        .updateTable('api_keys')
        .set({ name: change.name })
        .where('id', '=', keyId)
        .where('customer_id', '=', customerId)
        .execute();
    }
    if (change.limit !== undefined) await this.setKeyLimit(customerId, keyId, change.limit);
    return this.getUserKey(customerId, keyId);
  }

  private async setKeyLimit(customerId: string, keyId: string, limit: SpendLimitSetting | null) {
    unwrap(
      await this.ledger.setSpendLimit({
        customerId,
        userKeyId: keyId,
        amountMicros: limit?.amountMicros ?? null,
        period: limit?.period,
      }),
    );
  }

  /** The customer's own spend limit (over all its keys and the app's calls for it), or null. */
  async customerLimit(customerId: string): Promise<SpendLimitView | null> {
    const limits = await this.ledger.spendLimits(customerId);
    return limits.find((limit) => limit.scope === 'customer') ?? null;
  }

  async setCustomerLimit(
    customerId: string,
    limit: SpendLimitSetting | null,
  ): Promise<SpendLimitView | null> {
    return unwrap(
      await this.ledger.setSpendLimit({
        customerId,
        amountMicros: limit?.amountMicros ?? null,
        period: limit?.period,
      }),
    );
  }

  /** Forgets revoked keys in this node's cache (other nodes drop them within seconds). */
  forgetKeys(keyHashes: string[]): void {
    for (const hash of keyHashes) this.keys.forget(hash);
  }

  async revokeUserKey(customerId: string, keyId: string): Promise<void> {
    const row = await this.db.kysely
      .updateTable('api_keys')
      .set({ revoked_at: new Date() })
      .where('id', '=', keyId)
      .where('customer_id', '=', customerId)
      .where('kind', '=', 'user')
      .returning('key_hash')
      .executeTakeFirst();
    if (!row) throw new TollgateError('not_found', `No such user key: ${keyId}`);
    this.keys.forget(row.key_hash);
  }
}
