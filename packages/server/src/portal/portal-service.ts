/**
 * Portal links: the app's backend asks for a short-lived, single-use sign-in link for one of its
 * customers; the dashboard trades the token for a user key that ends with the session. The token is
 * stored only as its hash and is spent by one conditional UPDATE, so two tabs racing with the same
 * link get one session between them.
 */
import { generateKey, hashKey, keyHint } from '../auth/keys.ts';
import type { CustomerRecord } from '../customers/customers-service.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import type { Database } from '../store/database.ts';
import { hashToken, newOneTimeToken } from './pkce.ts';

export const PORTAL_TOKEN_PREFIX = 'tg_portal_';

export interface PortalOptions {
  /** How long a link may wait to be opened. */
  linkSeconds: number;
  /** How long the dashboard session it opens lasts. */
  sessionSeconds: number;
}

export const DEFAULT_PORTAL_OPTIONS: PortalOptions = { linkSeconds: 15 * 60, sessionSeconds: 12 * 3600 };

export interface CreatePortalLinkInput {
  customer: CustomerRecord;
  /** Overrides the default link lifetime (60 s – 1 h). */
  expiresInSeconds?: number;
}

export class PortalService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly publicUrl: () => string,
    private readonly options: PortalOptions = DEFAULT_PORTAL_OPTIONS,
  ) {}

  async createLink(input: CreatePortalLinkInput) {
    const token = newOneTimeToken(PORTAL_TOKEN_PREFIX);
    const now = this.clock.now();
    const expiresAt = new Date(now.getTime() + (input.expiresInSeconds ?? this.options.linkSeconds) * 1000);
    const id = newId('pl', 12);
    await this.db.kysely
      .insertInto('portal_links')
      .values({
        id,
        customer_id: input.customer.id,
        token_hash: hashToken(token),
        expires_at: expiresAt,
        created_at: now,
      })
      .execute();
    // The token rides in the fragment: browsers send it neither to the server's logs nor in Referer.
    return {
      id,
      object: 'portal_link',
      customer: input.customer.id,
      url: `${this.publicUrl()}/dashboard/#portal=${token}`,
      expires_at: expiresAt.toISOString(),
    };
  }

  /** Spends the token and issues a user key for the customer that ends with the session. */
  async exchange(token: string) {
    const tokenHash = hashToken(token);
    const now = this.clock.now();
    const sessionEndsAt = new Date(now.getTime() + this.options.sessionSeconds * 1000);
    const userKey = generateKey('user');
    const keyId = newId('uk', 12);
    const issued = await this.db.kysely.transaction().execute(async (transaction) => {
      const link = await transaction
        .updateTable('portal_links')
        .set({ used_at: now, user_key_id: keyId })
        .where('token_hash', '=', tokenHash)
        .where('used_at', 'is', null)
        .where('expires_at', '>', now)
        .returning(['customer_id'])
        .executeTakeFirst();
      if (!link) return null;
      const customer = await transaction
        .selectFrom('customers')
        .select(['id', 'app_id'])
        .where('id', '=', link.customer_id)
        .executeTakeFirstOrThrow();
      await transaction
        .insertInto('api_keys')
        .values({
          id: keyId,
          kind: 'user',
          key_hash: hashKey(userKey),
          key_hint: keyHint(userKey),
          app_id: customer.app_id,
          customer_id: customer.id,
          revoked_at: null,
          expires_at: sessionEndsAt,
        })
        .execute();
      return customer.id;
    });
    if (!issued) {
      const known = await this.db.kysely
        .selectFrom('portal_links')
        .select(['used_at', 'expires_at'])
        .where('token_hash', '=', tokenHash)
        .executeTakeFirst();
      if (!known) throw new TollgateError('not_found', 'This sign-in link is not valid');
      throw new TollgateError(
        'invalid_state',
        known.used_at ? 'This sign-in link has already been used' : 'This sign-in link has expired',
      );
    }
    return {
      object: 'portal_session',
      customer: issued,
      user_key: userKey,
      expires_at: sessionEndsAt.toISOString(),
    };
  }
}
