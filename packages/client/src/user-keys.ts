/**
 * A customer's user keys (several, each named, with an optional spend limit) and the customer's own
 * spend limit. Called with the app's secret key; a plain user key cannot manage keys.
 */
import type { AmountInput } from './amounts.ts';
import { optionalCredits } from './json.ts';
import type { RequestOptions, Transport } from './transport.ts';
import type { CreditAmount, Timestamp } from './types.ts';

/** Calendar periods in UTC: a day from 00:00, a week from Monday 00:00, a month from the 1st; `total` never resets. */
export type SpendLimitPeriod = 'day' | 'week' | 'month' | 'total';

export interface SpendLimitParams {
  /** Credits per period. */
  amount: AmountInput;
  period: SpendLimitPeriod;
}

export interface SpendLimit {
  amount: CreditAmount;
  period: SpendLimitPeriod;
  /** What open holds reserve plus what captures charged in this period. */
  spent: CreditAmount;
  remaining: CreditAmount;
  period_start: Timestamp;
  /** When `spent` counts from zero again; null for `total`. */
  resets_at: Timestamp | null;
}

export interface UserKeyInfo {
  id: string;
  object: 'user_key';
  customer: string;
  name: string;
  /** `tg_uk_…a1b2`: the last characters only. */
  hint: string;
  created_at: Timestamp;
  /** To the minute. */
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
  limit: SpendLimit | null;
  /** The organisation member the key belongs to (`mem_…`), or null. */
  member?: string | null;
}

export interface UserKeyCreated extends UserKeyInfo {
  /** `tg_uk_…`, shown only now. */
  user_key: string;
}

export interface UserKeyCreateParams {
  name?: string;
  limit?: SpendLimitParams;
}

export interface UserKeyUpdateParams {
  name?: string;
  /** Null removes the key's limit. */
  limit?: SpendLimitParams | null;
}

function limitBody(limit: SpendLimitParams | null | undefined) {
  if (limit === undefined || limit === null) return limit;
  return { amount: optionalCredits(limit.amount), period: limit.period };
}

const segment = (value: string) => encodeURIComponent(value);

/** User keys of a customer (secret key). */
export class UserKeys {
  constructor(private readonly transport: Transport) {}

  /**
   * Issues a named user key, optionally with its own spend limit; the key is in this answer only.
   *
   * @example
   * ```ts
   * const key = await tollgate.userKeys.create('user_42', { name: 'CI', limit: { amount: 10, period: 'day' } });
   * console.log(key.user_key);
   * ```
   */
  async create(customer: string, params: UserKeyCreateParams = {}, options?: RequestOptions) {
    return this.transport.request<UserKeyCreated>(
      {
        method: 'POST',
        path: `/v1/customers/${segment(customer)}/user-keys`,
        body: { ...params, limit: limitBody(params.limit) },
        auth: 'secret',
        retry: 'unsafe',
      },
      options,
    );
  }

  /**
   * The customer's keys, newest first, each with what its limit spent this period.
   *
   * @example
   * ```ts
   * for (const key of (await tollgate.userKeys.list('user_42')).data) console.log(key.name, key.limit?.spent);
   * ```
   */
  async list(customer: string, options?: RequestOptions) {
    return this.transport.request<{ object: 'list'; data: UserKeyInfo[] }>(
      { method: 'GET', path: `/v1/customers/${segment(customer)}/user-keys`, auth: 'secret', retry: 'safe' },
      options,
    );
  }

  /**
   * Renames a key or changes its limit (`limit: null` removes it).
   *
   * @example
   * ```ts
   * await tollgate.userKeys.update('user_42', 'uk_…', { limit: { amount: 50, period: 'month' } });
   * ```
   */
  async update(customer: string, keyId: string, params: UserKeyUpdateParams, options?: RequestOptions) {
    return this.transport.request<UserKeyInfo>(
      {
        method: 'PATCH',
        path: `/v1/customers/${segment(customer)}/user-keys/${segment(keyId)}`,
        body: { ...params, limit: limitBody(params.limit) },
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * Revokes a key: refused at once on the server that revoked it, within seconds on the others.
   *
   * @example
   * ```ts
   * await tollgate.userKeys.revoke('user_42', 'uk_…');
   * ```
   */
  async revoke(customer: string, keyId: string, options?: RequestOptions) {
    return this.transport.request<{ id: string; object: 'user_key'; revoked: true }>(
      {
        method: 'DELETE',
        path: `/v1/customers/${segment(customer)}/user-keys/${segment(keyId)}`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }
}

/** A customer's own spend limit, over all its keys and the app's calls for it (secret key). */
export class SpendLimits {
  constructor(private readonly transport: Transport) {}

  /**
   * @example
   * ```ts
   * const { limit } = await tollgate.spendLimits.retrieve('user_42');
   * ```
   */
  async retrieve(customer: string, options?: RequestOptions) {
    return this.transport.request<{ customer: string; limit: SpendLimit | null }>(
      {
        method: 'GET',
        path: `/v1/customers/${segment(customer)}/spend-limit`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * Sets the limit; past it holds and charges fail with `SpendLimitExceededError`.
   *
   * @example
   * ```ts
   * await tollgate.spendLimits.set('user_42', { amount: 100, period: 'month' });
   * ```
   */
  async set(customer: string, params: SpendLimitParams, options?: RequestOptions) {
    return this.transport.request<{ customer: string; limit: SpendLimit }>(
      {
        method: 'PUT',
        path: `/v1/customers/${segment(customer)}/spend-limit`,
        body: limitBody(params),
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * @example
   * ```ts
   * await tollgate.spendLimits.remove('user_42');
   * ```
   */
  async remove(customer: string, options?: RequestOptions) {
    return this.transport.request<{ customer: string; limit: null }>(
      {
        method: 'DELETE',
        path: `/v1/customers/${segment(customer)}/spend-limit`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }
}
