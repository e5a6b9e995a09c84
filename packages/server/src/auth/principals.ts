/**
 * Who is calling. Keys are looked up by their hash; a short-lived cache keeps the gateway's hot path
 * free of a database round trip per request (revocation clears the entry at once on this node; other
 * nodes see it within the cache's lifetime).
 */

import { type Clock, systemClock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import type { Database } from '../store/database.ts';
import { hashKey, KEY_PREFIX, sameHash } from './keys.ts';

export type Principal =
  | { kind: 'admin' }
  | { kind: 'app'; appId: string }
  | {
      kind: 'user';
      appId: string | null;
      customerId: string;
      keyId: string;
      /** The organisation member the key belongs to (teams/): read with the key, no extra round trip. */
      memberId?: string;
      /** A dashboard session (portal link): it manages the customer's user keys; a plain user key cannot. */
      session?: true;
    };

export type PrincipalKind = Principal['kind'];

interface CachedPrincipal {
  principal: Principal | null;
  expiresAt: number;
}

const CACHE_MILLISECONDS = 5_000;
const CACHE_LIMIT = 50_000;
/** `last_used_at` is written at most this often per key: it is shown to people, not billed from. */
const LAST_USED_PRECISION_MILLISECONDS = 60_000;

export class KeyStore {
  private readonly cache = new Map<string, CachedPrincipal>();
  /** When this process last wrote each key's `last_used_at`: no statement at all within the minute. */
  private readonly notedAt = new Map<string, number>();
  private adminHash: string | null = null;

  constructor(
    private readonly db: Database,
    /** Decides when an expiring key (a portal session) has ended. */
    private readonly clock: Clock = systemClock,
  ) {}

  async loadAdminHash(): Promise<void> {
    const row = await this.db.kysely
      .selectFrom('settings')
      .select('value')
      .where('name', '=', 'admin_key_hash')
      .executeTakeFirst();
    this.adminHash = row?.value ?? null;
  }

  setAdminHash(hash: string): void {
    this.adminHash = hash;
  }

  /** Resolves a presented key to a principal, or null when it is unknown or revoked. */
  async resolve(key: string): Promise<Principal | null> {
    const hash = hashKey(key);
    if (this.adminHash && !key.startsWith(KEY_PREFIX.user) && !key.startsWith(KEY_PREFIX.secret)) {
      return sameHash(hash, this.adminHash) ? { kind: 'admin' } : null;
    }
    const now = Date.now();
    const cached = this.cache.get(hash);
    if (cached && cached.expiresAt > now) return cached.principal;
    const row = await this.db.kysely
      .selectFrom('api_keys')
      .select(['id', 'kind', 'key_hash', 'app_id', 'customer_id', 'expires_at', 'member_id'])
      .where('key_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    let principal: Principal | null = null;
    const ended = row?.expires_at != null && new Date(row.expires_at) <= this.clock.now();
    if (row && !ended && sameHash(row.key_hash, hash)) {
      if (row.kind === 'secret' && row.app_id) principal = { kind: 'app', appId: row.app_id };
      if (row.kind === 'user' && row.customer_id) {
        principal = { kind: 'user', appId: row.app_id, customerId: row.customer_id, keyId: row.id };
        if (row.member_id) principal.memberId = row.member_id;
        if (row.expires_at != null) principal.session = true;
        else this.noteUsed(row.id);
      }
    }
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(hash, { principal, expiresAt: now + CACHE_MILLISECONDS });
    return principal;
  }

  /**
   * Records when a user key was last seen, off the request's path: at most once a minute per key from
   * this process, and only when the stored time (other servers write it too) is older than a minute.
   */
  private noteUsed(keyId: string): void {
    const now = this.clock.now();
    const noted = this.notedAt.get(keyId);
    if (noted !== undefined && now.getTime() - noted < LAST_USED_PRECISION_MILLISECONDS) return;
    if (this.notedAt.size >= CACHE_LIMIT) this.notedAt.clear();
    this.notedAt.set(keyId, now.getTime());
    const stale = new Date(now.getTime() - LAST_USED_PRECISION_MILLISECONDS);
    this.db.kysely
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('id', '=', keyId)
      .where((where) => where.or([where('last_used_at', 'is', null), where('last_used_at', '<', stale)]))
      .execute()
      .catch(() => {
        // A lost update only makes "last used" older; a closed database during shutdown is expected.
      });
  }

  forget(keyHash?: string): void {
    if (keyHash) this.cache.delete(keyHash);
    else this.cache.clear();
  }

  /** The app a publishable key belongs to. */
  async appForPublishableKey(key: string): Promise<string> {
    if (!key.startsWith(KEY_PREFIX.publishable))
      throw new TollgateError('invalid_api_key', 'Invalid publishable key');
    const row = await this.db.kysely
      .selectFrom('api_keys')
      .select(['app_id', 'key_hash'])
      .where('key_hash', '=', hashKey(key))
      .where('kind', '=', 'publishable')
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (!row?.app_id) throw new TollgateError('invalid_api_key', 'Invalid publishable key');
    return row.app_id;
  }
}

/** Pulls the presented key out of the headers the contract accepts. */
export function presentedKey(headers: Record<string, string | string[] | undefined>): string | null {
  const userKey = headers['x-user-key'];
  if (typeof userKey === 'string' && userKey) return userKey.trim();
  const authorization = headers.authorization;
  if (typeof authorization === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(authorization.trim());
    if (match) return match[1]!.trim();
  }
  const apiKey = headers['x-api-key'];
  if (typeof apiKey === 'string' && apiKey) return apiKey.trim();
  return null;
}
