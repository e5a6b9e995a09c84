/**
 * Bring-your-own provider keys (seeds 000, 001): stored encrypted per customer and provider, shown
 * masked. A customer with a key for a model's provider is served with it and moves no credits.
 */
import { TollgateError } from '../shared/errors.ts';
import type { Database } from '../store/database.ts';
import { maskSecret, type SecretBox } from './crypto.ts';

export interface ProviderKeyView {
  provider: string;
  masked_key: string;
  created_at: string;
  updated_at: string;
}

const REVEAL_CACHE_MILLISECONDS = 5_000;

export class ProviderKeysService {
  /** The gateway asks on every request; a short cache keeps that off the database (cleared on change). */
  private readonly revealCache = new Map<string, { key: string | null; expiresAt: number }>();

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
  ) {}

  async set(customerId: string, provider: string, secret: string): Promise<ProviderKeyView> {
    this.revealCache.delete(`${customerId}/${provider}`);
    const now = new Date();
    const ciphertext = this.box.seal(secret, `${customerId}/${provider}`);
    await this.db.kysely
      .insertInto('provider_keys')
      .values({ customer_id: customerId, provider, ciphertext, key_hint: maskSecret(secret), created_at: now, updated_at: now })
      .onConflict((conflict) =>
        conflict.columns(['customer_id', 'provider']).doUpdateSet({ ciphertext, key_hint: maskSecret(secret), updated_at: now }),
      )
      .execute();
    return (await this.get(customerId, provider))!;
  }

  async get(customerId: string, provider: string): Promise<ProviderKeyView | null> {
    const row = await this.db.kysely
      .selectFrom('provider_keys')
      .select(['provider', 'key_hint', 'created_at', 'updated_at'])
      .where('customer_id', '=', customerId)
      .where('provider', '=', provider)
      .executeTakeFirst();
    return row ? toView(row) : null;
  }

  async list(customerId: string): Promise<ProviderKeyView[]> {
    const rows = await this.db.kysely
      .selectFrom('provider_keys')
      .select(['provider', 'key_hint', 'created_at', 'updated_at'])
      .where('customer_id', '=', customerId)
      .orderBy('provider')
      .execute();
    return rows.map(toView);
  }

  async remove(customerId: string, provider: string): Promise<boolean> {
    this.revealCache.delete(`${customerId}/${provider}`);
    const result = await this.db.kysely
      .deleteFrom('provider_keys')
      .where('customer_id', '=', customerId)
      .where('provider', '=', provider)
      .executeTakeFirst();
    return (result.numDeletedRows ?? 0n) > 0n;
  }

  /** The decrypted key, for forwarding a request upstream; null when the customer has none. */
  async reveal(customerId: string, provider: string): Promise<string | null> {
    const row = await this.db.kysely
      .selectFrom('provider_keys')
      .select('ciphertext')
      .where('customer_id', '=', customerId)
      .where('provider', '=', provider)
      .executeTakeFirst();
    return row ? this.box.open(row.ciphertext, `${customerId}/${provider}`) : null;
  }

  /** `reveal`, cached for a few seconds (other nodes see a change within that time). */
  async revealCached(customerId: string, provider: string): Promise<string | null> {
    const cacheKey = `${customerId}/${provider}`;
    const now = Date.now();
    const cached = this.revealCache.get(cacheKey);
    if (cached && cached.expiresAt > now) return cached.key;
    const key = await this.reveal(customerId, provider);
    if (this.revealCache.size > 100_000) this.revealCache.clear();
    this.revealCache.set(cacheKey, { key, expiresAt: now + REVEAL_CACHE_MILLISECONDS });
    return key;
  }

  /** Reads the key of a byok hold, once: the first call marks the hold, later calls are refused. */
  async revealForHold(holdId: string, customerId: string, now: Date): Promise<{ provider: string; key: string }> {
    const hold = await this.db.kysely
      .updateTable('holds')
      .set({ provider_key_read_at: now })
      .where('id', '=', holdId)
      .where('customer_id', '=', customerId)
      .where('funding', '=', 'byok')
      .where('status', '=', 'held')
      .where('provider_key_read_at', 'is', null)
      .returning(['provider'])
      .executeTakeFirst();
    if (!hold?.provider) {
      throw new TollgateError('invalid_state', 'The provider key of this hold is not available (not a byok hold, not open, or already read)');
    }
    const key = await this.reveal(customerId, hold.provider);
    if (!key) throw new TollgateError('invalid_state', 'The customer removed this provider key');
    return { provider: hold.provider, key };
  }
}

function toView(row: { provider: string; key_hint: string; created_at: Date | string; updated_at: Date | string }): ProviderKeyView {
  return {
    provider: row.provider,
    masked_key: row.key_hint,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}
