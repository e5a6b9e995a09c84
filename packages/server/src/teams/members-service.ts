/**
 * Team wallets: an organisation customer's members, each with their own user keys and an optional
 * spend limit, spending the organisation's one balance. The ledger does the spending and the limits
 * (scope `member:<id>`); this owns who the members are, their keys, and removal (which revokes every
 * key of the member in the same transaction).
 */
import type {
  CustomerRecord,
  CustomersService,
  SpendLimitSetting,
  UserKeyView,
} from '../customers/customers-service.ts';
import { type Ledger, type SpendLimitView, unwrap } from '../ledger/ledger.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import type { Database } from '../store/database.ts';

export interface MemberView {
  id: string;
  customerId: string;
  externalId: string;
  createdAt: Date;
  /** The member's limit over all of its keys, with what it spent this period; null: none. */
  limit: SpendLimitView | null;
  /** What the member's work cost, in total (usage rows that name the member). */
  spentMicros: bigint;
  /** The member's user keys not revoked, newest first (masked). */
  keys: UserKeyView[];
}

interface MemberRow {
  id: string;
  external_id: string;
  created_at: Date;
}

export class MembersService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly customers: CustomersService,
  ) {}

  /**
   * Adds a member and issues its first user key (shown once). The member's limit is set before the key
   * exists, so no request can be made with the key before the limit holds.
   */
  async add(
    customer: CustomerRecord,
    input: { externalId: string; limit?: SpendLimitSetting; keyName?: string },
  ): Promise<{ member: MemberView; userKey: string; userKeyId: string }> {
    assertOrganization(customer);
    const id = newId('mem', 12);
    // The partial unique index (customer, external id) among members not removed: a concurrent add of
    // the same member inserts nothing here.
    const inserted = await this.db.query<{ id: string }>(
      `insert into members (id, customer_id, external_id) values ($1, $2, $3)
       on conflict do nothing returning id`,
      [id, customer.id, input.externalId],
    );
    if (inserted.length === 0) {
      throw new TollgateError('invalid_state', `Member ${input.externalId} already exists`, {
        param: 'external_id',
      });
    }
    if (input.limit) await this.setLimit(customer.id, id, input.limit);
    const key = await this.customers.createUserKey(customer, {
      name: input.keyName ?? input.externalId,
      memberId: id,
    });
    return { member: await this.get(customer, id), userKey: key.userKey, userKeyId: key.id };
  }

  /** Issues another user key for a member (shown once). */
  async addKey(
    customer: CustomerRecord,
    reference: string,
    options: { name?: string; limit?: SpendLimitSetting },
  ): Promise<{ id: string; userKey: string }> {
    const member = await this.row(customer, reference);
    return this.customers.createUserKey(customer, { ...options, memberId: member.id });
  }

  /** The organisation's members (not removed), oldest first. */
  async list(customer: CustomerRecord): Promise<MemberView[]> {
    assertOrganization(customer);
    const rows = await this.db.query<MemberRow>(
      `select id, external_id, created_at from members
       where customer_id = $1 and removed_at is null order by created_at, id`,
      [customer.id],
    );
    return this.views(customer.id, rows);
  }

  async get(customer: CustomerRecord, reference: string): Promise<MemberView> {
    const [view] = await this.views(customer.id, [await this.row(customer, reference)]);
    return view!;
  }

  /**
   * Removes a member: the member's row is marked removed and every key of it revoked, in one
   * transaction, so no key outlives its member. This server forgets the keys at once, others within
   * their key cache's lifetime.
   */
  async remove(customer: CustomerRecord, reference: string): Promise<{ id: string; revokedKeys: number }> {
    const member = await this.row(customer, reference);
    const revoked = await this.db.transaction(async (query) => {
      const removed = await query<{ id: string }>(
        `update members set removed_at = now()
         where id = $1 and customer_id = $2 and removed_at is null returning id`,
        [member.id, customer.id],
      );
      if (removed.length === 0) throw new TollgateError('not_found', `No such member: ${reference}`);
      return query<{ key_hash: string }>(
        `update api_keys set revoked_at = now()
         where member_id = $1 and customer_id = $2 and kind = 'user' and revoked_at is null
         returning key_hash`,
        [member.id, customer.id],
      );
    });
    this.customers.forgetKeys(revoked.map((row) => row.key_hash));
    return { id: member.id, revokedKeys: revoked.length };
  }

  /** A member not removed, by its id or the app's external id for it. */
  private async row(customer: CustomerRecord, reference: string): Promise<MemberRow> {
    assertOrganization(customer);
    const rows = await this.db.query<MemberRow>(
      `select id, external_id, created_at from members
       where customer_id = $1 and removed_at is null and (id = $2 or external_id = $2) limit 2`,
      [customer.id, reference],
    );
    const row = rows.find((candidate) => candidate.id === reference) ?? rows[0];
    if (!row) throw new TollgateError('not_found', `No such member: ${reference}`);
    return row;
  }

  private async views(customerId: string, rows: MemberRow[]): Promise<MemberView[]> {
    if (rows.length === 0) return [];
    const ids = rows.map((row) => row.id);
    const [limits, keys, spent] = await Promise.all([
      this.ledger.spendLimits(customerId),
      this.customers.listUserKeys(customerId),
      this.db.query<{ member_id: string; spent_micros: string }>(
        `select t.metadata->>'member_id' as member_id, (-sum(t.amount_micros))::text as spent_micros
         from ledger_transactions t
         where t.customer_id = $1 and t.type = 'usage' and t.metadata->>'member_id' = any($2::text[])
         group by 1`,
        [customerId, ids],
      ),
    ]);
    const spentBy = new Map(spent.map((row) => [row.member_id, BigInt(row.spent_micros)]));
    return rows.map((row) => ({
      id: row.id,
      customerId,
      externalId: row.external_id,
      createdAt: new Date(row.created_at),
      limit: limits.find((limit) => limit.memberId === row.id) ?? null,
      spentMicros: spentBy.get(row.id) ?? 0n,
      keys: keys.filter((key) => key.memberId === row.id && key.revokedAt === null),
    }));
  }

  /** Sets (null: removes) a member's spend limit. */
  async updateLimit(
    customer: CustomerRecord,
    reference: string,
    limit: SpendLimitSetting | null,
  ): Promise<MemberView> {
    const member = await this.row(customer, reference);
    await this.setLimit(customer.id, member.id, limit);
    return this.get(customer, member.id);
  }

  private async setLimit(
    customerId: string,
    memberId: string,
    limit: SpendLimitSetting | null,
  ): Promise<void> {
    unwrap(
      await this.ledger.setSpendLimit({
        customerId,
        memberId,
        amountMicros: limit?.amountMicros ?? null,
        period: limit?.period,
      }),
    );
  }
}

function assertOrganization(customer: CustomerRecord): void {
  if (customer.type !== 'organization') {
    throw new TollgateError(
      'invalid_state',
      `Customer ${customer.externalId ?? customer.id} is not an organization: only organizations have members`,
    );
  }
}
