/**
 * Customers of an app: created idempotently on the app's own `external_id`, reachable by `cus_…` id
 * or external id. Customers the app creates get the signup bonus exactly once on creation; customers
 * the public widget opens earn it later (signup-bonus.ts).
 */
import { generateKey, hashKey, keyHint } from '../auth/keys.ts';
import type { KeyStore, Principal } from '../auth/principals.ts';
import type { Ledger } from '../ledger/ledger.ts';
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
  }): Promise<{
    customer: CustomerRecord;
    created: boolean;
    userKey?: string;
  }> {
    const { id, created } = await this.ledger.createCustomer({
      appId: input.appId,
      externalId: input.externalId,
      email: input.email ?? null,
    });
    // The bonus is keyed by customer, so a retry after a crash between the two steps grants it once.
    if ((input.signupBonus ?? 'vouched') === 'vouched') await this.signupBonus.grantVouched(id);
    const customer = await this.get(id);
    if (!created) return { customer, created };
    const userKey = await this.createUserKey(customer);
    return { customer, created, userKey: userKey.userKey };
  }

  async get(id: string): Promise<CustomerRecord> {
    const row = await this.db.kysely
      .selectFrom('customers')
      .select(['id', 'app_id', 'external_id', 'email', 'created_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw new TollgateError('not_found', `No such customer: ${id}`);
    return {
      id: row.id,
      appId: row.app_id,
      externalId: row.external_id,
      email: row.email,
      createdAt: new Date(row.created_at),
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
      .select(['id', 'app_id', 'external_id', 'email', 'created_at']);
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
    };
  }

  async createUserKey(customer: CustomerRecord): Promise<{ id: string; userKey: string }> {
    const userKey = generateKey('user');
    const id = newId('uk', 12);
    await this.db.kysely
      .insertInto('api_keys')
      .values({
        id,
        kind: 'user',
        key_hash: hashKey(userKey),
        key_hint: keyHint(userKey),
        app_id: customer.appId,
        customer_id: customer.id,
        revoked_at: null,
      })
      .execute();
    return { id, userKey };
  }

  async listUserKeys(customerId: string) {
    return this.db.kysely
      .selectFrom('api_keys')
      .select(['id', 'key_hint', 'created_at', 'revoked_at'])
      .where('customer_id', '=', customerId)
      .where('kind', '=', 'user')
      .orderBy('created_at', 'desc')
      .execute();
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
