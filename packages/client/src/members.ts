/**
 * Team wallets: an organisation customer (`customers.create({ type: 'organization' })`) whose members,
 * each with their own user keys and an optional spend limit, spend its one balance. Called with the
 * app's secret key; a member's own user key cannot manage members.
 */
import { optionalCredits } from './json.ts';
import type { RequestOptions, Transport } from './transport.ts';
import type { CreditAmount, Timestamp } from './types.ts';
import type {
  SpendLimit,
  SpendLimitParams,
  UserKeyCreated,
  UserKeyCreateParams,
  UserKeyInfo,
} from './user-keys.ts';

export interface Member {
  /** `mem_…`; the member's `external_id` works wherever a member is named. */
  id: string;
  object: 'member';
  customer: string;
  external_id: string;
  created_at: Timestamp;
  /** The member's limit over all of its keys, with what it spent this period. */
  limit: SpendLimit | null;
  /** What the member's work cost in total. */
  spent: CreditAmount;
  /** The member's keys not revoked (masked). */
  user_keys: UserKeyInfo[];
}

export interface MemberCreated extends Member {
  /** The member's first user key, `tg_uk_…`, shown only now. */
  user_key: string;
  user_key_id: string;
}

export interface MemberCreateParams {
  /** The app's own id for this member; unique among the organisation's members. */
  external_id: string;
  limit?: SpendLimitParams;
  /** The first key's name (default: the external id). */
  key_name?: string;
}

function limitBody(limit: SpendLimitParams | null | undefined) {
  if (limit === undefined || limit === null) return limit;
  return { amount: optionalCredits(limit.amount), period: limit.period };
}

const segment = (value: string) => encodeURIComponent(value);

/** Members of an organisation customer (secret key). */
export class Members {
  constructor(private readonly transport: Transport) {}

  /**
   * Adds a member with its first user key (in this answer only) and an optional limit.
   *
   * @example
   * ```ts
   * const { user_key } = await tollgate.members.create('acme', { external_id: 'ada', limit: { amount: 20, period: 'month' } });
   * ```
   */
  async create(organization: string, params: MemberCreateParams, options?: RequestOptions) {
    return this.transport.request<MemberCreated>(
      {
        method: 'POST',
        path: `/v1/customers/${segment(organization)}/members`,
        body: { ...params, limit: limitBody(params.limit) },
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * @example
   * ```ts
   * for (const member of (await tollgate.members.list('acme')).data) console.log(member.external_id, member.spent);
   * ```
   */
  async list(organization: string, options?: RequestOptions) {
    return this.transport.request<{ object: 'list'; data: Member[] }>(
      {
        method: 'GET',
        path: `/v1/customers/${segment(organization)}/members`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * @example
   * ```ts
   * const member = await tollgate.members.retrieve('acme', 'ada');
   * ```
   */
  async retrieve(organization: string, member: string, options?: RequestOptions) {
    return this.transport.request<Member>(
      {
        method: 'GET',
        path: `/v1/customers/${segment(organization)}/members/${segment(member)}`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * Sets the member's limit over all of its keys (`null` removes it).
   *
   * @example
   * ```ts
   * await tollgate.members.setLimit('acme', 'ada', { amount: 50, period: 'month' });
   * ```
   */
  async setLimit(
    organization: string,
    member: string,
    limit: SpendLimitParams | null,
    options?: RequestOptions,
  ) {
    return this.transport.request<Member>(
      {
        method: 'PATCH',
        path: `/v1/customers/${segment(organization)}/members/${segment(member)}`,
        body: { limit: limitBody(limit) },
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }

  /**
   * Issues another user key for a member (in this answer only).
   *
   * @example
   * ```ts
   * const key = await tollgate.members.createKey('acme', 'ada', { name: 'laptop' });
   * ```
   */
  async createKey(
    organization: string,
    member: string,
    params: UserKeyCreateParams = {},
    options?: RequestOptions,
  ) {
    return this.transport.request<UserKeyCreated>(
      {
        method: 'POST',
        path: `/v1/customers/${segment(organization)}/members/${segment(member)}/user-keys`,
        body: { ...params, limit: limitBody(params.limit) },
        auth: 'secret',
        retry: 'idempotency-key',
      },
      options,
    );
  }

  /**
   * Removes a member and revokes every key of it at once.
   *
   * @example
   * ```ts
   * await tollgate.members.remove('acme', 'ada');
   * ```
   */
  async remove(organization: string, member: string, options?: RequestOptions) {
    return this.transport.request<{ id: string; object: 'member'; removed: true; revoked_keys: number }>(
      {
        method: 'DELETE',
        path: `/v1/customers/${segment(organization)}/members/${segment(member)}`,
        auth: 'secret',
        retry: 'safe',
      },
      options,
    );
  }
}
