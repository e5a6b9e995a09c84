/**
 * Bring-your-own provider keys (seeds 000, 001): stored encrypted per customer and provider, shown
 * masked. A customer with a key for a model's provider is served with it and moves no credits.
 *
 * The two rules that keep BYOK from switching billing off live here and nowhere else:
 * - `store` checks a key with the provider before keeping it (`key-check.ts`), so a made-up string
 *   never makes work free;
 * - `fundingKey` is the one answer to "which key funds this work": the customer's, unless their app
 *   forbids BYOK (`allow_byok: false`), in which case keys stored earlier are ignored and the work is
 *   paid with credits. The gate, generations and the gateway all ask it.
 */
import type { App } from '../apps/apps-service.ts';
import type { ProviderConfig } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';
import type { Database } from '../store/database.ts';
import { maskSecret, type SecretBox } from './crypto.ts';
import { checkProviderKey } from './key-check.ts';

export interface ProviderKeyView {
  provider: string;
  masked_key: string;
  created_at: string;
  updated_at: string;
}

const REVEAL_CACHE_MILLISECONDS = 5_000;
const DEFAULT_KEY_CHECK_MILLISECONDS = 10_000;

export interface ProviderKeysOptions {
  /** The providers this server knows (config `providers`): keys for any other name are refused. */
  providers: Record<string, ProviderConfig>;
  /** How long the provider may take to answer a key check. */
  keyCheckTimeoutMilliseconds?: number;
}

/** Whether an app lets its customers fund work with their own keys (a customer without an app may). */
export function byokAllowed(app: App | null): boolean {
  return app === null || app.byokAllowed;
}

/** Refuses (403 forbidden, reason `byok_not_allowed`) when the app forbids BYOK. */
export function assertByokAllowed(app: App | null): void {
  if (app && !byokAllowed(app)) {
    throw new TollgateError(
      'forbidden',
      `${app.name} does not let its customers use their own provider keys: work is paid with credits`,
      { reason: 'byok_not_allowed' },
    );
  }
}

export class ProviderKeysService {
  /**
   * The gateway asks on every request, for each provider a model may use: a short cache of all of a
   * customer's keys, read in one query, keeps that off the database (cleared on change).
   */
  private readonly revealCache = new Map<string, { keys: Map<string, string>; expiresAt: number }>();

  constructor(
    private readonly db: Database,
    private readonly box: SecretBox,
    private readonly options: ProviderKeysOptions,
  ) {}

  /**
   * Stores a customer's key for `provider` once the provider has accepted it. Refuses: an app that
   * forbids BYOK (403 forbidden), a provider this server does not know (400), a key the provider
   * rejects (400, reason `provider_key_rejected`), a provider that cannot be asked (502). Nothing is
   * stored unless the key was accepted; the key is never echoed.
   */
  async store(
    customerId: string,
    app: App | null,
    provider: string,
    secret: string,
  ): Promise<ProviderKeyView> {
    assertByokAllowed(app);
    const config = this.options.providers[provider];
    if (!config) {
      const known = Object.keys(this.options.providers).sort().join(', ');
      throw new TollgateError(
        'invalid_request',
        `Unknown provider "${provider}": this server knows ${known}`,
        {
          param: 'provider',
        },
      );
    }
    await checkProviderKey(config, secret, {
      timeoutMilliseconds: this.options.keyCheckTimeoutMilliseconds ?? DEFAULT_KEY_CHECK_MILLISECONDS,
    });
    return this.write(customerId, provider, secret);
  }

  /**
   * The key to fund a customer's work on `provider` with: theirs, or null when they have none or
   * their app forbids BYOK (then the work is paid with credits and runs on the platform's key).
   */
  async fundingKey(customerId: string, app: App | null, provider: string): Promise<string | null> {
    if (!byokAllowed(app)) return null;
    return this.revealCached(customerId, provider);
  }

  private async write(customerId: string, provider: string, secret: string): Promise<ProviderKeyView> {
    this.revealCache.delete(customerId);
    const now = new Date();
    const ciphertext = this.box.seal(secret, `${customerId}/${provider}`);
    await this.db.kysely
      .insertInto('provider_keys')
      .values({
        customer_id: customerId,
        provider,
        ciphertext,
        key_hint: maskSecret(secret),
        created_at: now,
        updated_at: now,
      })
      .onConflict((conflict) =>
        conflict
          .columns(['customer_id', 'provider'])
          .doUpdateSet({ ciphertext, key_hint: maskSecret(secret), updated_at: now }),
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
    this.revealCache.delete(customerId);
    const result = await this.db.kysely
      .deleteFrom('provider_keys')
      .where('customer_id', '=', customerId)
      .where('provider', '=', provider)
      .executeTakeFirst();
    return (result.numDeletedRows ?? 0n) > 0n;
  }

  /**
   * The decrypted key; null when the customer has none. To decide how new work is funded, ask
   * `fundingKey`: this is for work already funded by the key (polling a byok job).
   */
  async reveal(customerId: string, provider: string): Promise<string | null> {
    const row = await this.db.kysely
      .selectFrom('provider_keys')
      .select('ciphertext')
      .where('customer_id', '=', customerId)
      .where('provider', '=', provider)
      .executeTakeFirst();
    return row ? this.box.open(row.ciphertext, `${customerId}/${provider}`) : null;
  }

  /**
   * `reveal`, cached for a few seconds (other nodes see a change within that time): every key of the
   * customer in one query, so a model with several providers costs one round trip, not one each.
   */
  private async revealCached(customerId: string, provider: string): Promise<string | null> {
    const now = Date.now();
    let cached = this.revealCache.get(customerId);
    if (!cached || cached.expiresAt <= now) {
      const rows = await this.db.kysely
        .selectFrom('provider_keys')
        .select(['provider', 'ciphertext'])
        .where('customer_id', '=', customerId)
        .execute();
      // Kept sealed: a key that cannot be opened fails only the calls that use it.
      const keys = new Map(rows.map((row) => [row.provider, row.ciphertext]));
      if (this.revealCache.size > 100_000) this.revealCache.clear();
      cached = { keys, expiresAt: now + REVEAL_CACHE_MILLISECONDS };
      this.revealCache.set(customerId, cached);
    }
    const ciphertext = cached.keys.get(provider);
    return ciphertext === undefined ? null : this.box.open(ciphertext, `${customerId}/${provider}`);
  }

  /**
   * Reads the key of a byok hold, once: the first call marks the hold, later calls are refused. An
   * app that has since forbidden BYOK gets no key (void the hold; a new one is paid with credits).
   */
  async revealForHold(
    holdId: string,
    customerId: string,
    app: App | null,
    now: Date,
  ): Promise<{ provider: string; key: string }> {
    assertByokAllowed(app);
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
      throw new TollgateError(
        'invalid_state',
        'The provider key of this hold is not available (not a byok hold, not open, or already read)',
      );
    }
    const key = await this.reveal(customerId, hold.provider);
    if (!key) throw new TollgateError('invalid_state', 'The customer removed this provider key');
    return { provider: hold.provider, key };
  }
}

function toView(row: {
  provider: string;
  key_hint: string;
  created_at: Date | string;
  updated_at: Date | string;
}): ProviderKeyView {
  return {
    provider: row.provider,
    masked_key: row.key_hint,
    created_at: new Date(row.created_at).toISOString(),
    updated_at: new Date(row.updated_at).toISOString(),
  };
}
