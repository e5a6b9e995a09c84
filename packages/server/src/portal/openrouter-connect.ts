/**
 * "Connect via OpenRouter" (seed 000): OpenRouter's OAuth PKCE flow provisions a key for the customer,
 * stored as their `openrouter` provider key.
 *
 * The verifier stays on the server, sealed, under a random `state` bound to the customer who started
 * the flow. Why not sessionStorage: the code is exchanged here anyway, so the verifier would have to
 * travel to the server; a sessionStorage entry is lost when OpenRouter's redirect lands in another tab
 * or window; and binding the state to the customer means a callback can only be completed with that
 * customer's key — a link crafted from someone else's flow cannot attach a victim's OpenRouter key to
 * an attacker's account (or the other way round). States are single-use and live ten minutes.
 *
 * The key OpenRouter hands back is stored like any other provider key (`ProviderKeysService.store`):
 * checked with OpenRouter, and refused when the customer's app forbids BYOK — which `authorize`
 * already says before the customer is sent to OpenRouter at all.
 */
import type { App, AppsService } from '../apps/apps-service.ts';
import type { SecretBox } from '../byok/crypto.ts';
import { assertByokAllowed, type ProviderKeysService } from '../byok/provider-keys.ts';
import type { CustomerRecord } from '../customers/customers-service.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import type { Database } from '../store/database.ts';
import {
  codeChallengeS256,
  hashToken,
  newCodeVerifier,
  newOneTimeToken,
  openRouterAuthorizeUrl,
} from './pkce.ts';

const STATE_SECONDS = 10 * 60;
const EXCHANGE_TIMEOUT_MILLISECONDS = 15_000;
export const OPENROUTER_PROVIDER = 'openrouter';

export interface OpenRouterConnectDeps {
  db: Database;
  clock: Clock;
  box: SecretBox;
  providerKeys: ProviderKeysService;
  apps: AppsService;
  /** OpenRouter's origin (`https://openrouter.ai`, or a local fake). */
  origin: string;
  publicUrl(): string;
}

export class OpenRouterConnect {
  constructor(private readonly deps: OpenRouterConnectDeps) {}

  private async appOf(customer: CustomerRecord): Promise<App | null> {
    return customer.appId ? this.deps.apps.get(customer.appId) : null;
  }

  /** Starts the flow: where to send the browser. `callbackUrl` defaults to this server's dashboard. */
  async authorize(customer: CustomerRecord, callbackUrl?: string) {
    assertByokAllowed(await this.appOf(customer));
    const state = newOneTimeToken('');
    const verifier = newCodeVerifier();
    const stateHash = hashToken(state);
    const now = this.deps.clock.now();
    const expiresAt = new Date(now.getTime() + STATE_SECONDS * 1000);
    await this.deps.db.kysely
      .insertInto('oauth_states')
      .values({
        state_hash: stateHash,
        customer_id: customer.id,
        provider: OPENROUTER_PROVIDER,
        code_verifier_sealed: this.deps.box.seal(verifier, `oauth/${stateHash}`),
        expires_at: expiresAt,
        created_at: now,
      })
      .execute();
    const callback = new URL(callbackUrl ?? `${this.deps.publicUrl()}/dashboard/openrouter/callback`);
    callback.searchParams.set('state', state);
    return {
      object: 'oauth_authorization',
      provider: OPENROUTER_PROVIDER,
      url: openRouterAuthorizeUrl(this.deps.origin, callback.toString(), codeChallengeS256(verifier)),
      state,
      expires_at: expiresAt.toISOString(),
    };
  }

  /** Completes the flow for the customer who started it: trades the code for a key and stores it. */
  async complete(customer: CustomerRecord, state: string, code: string) {
    const stateHash = hashToken(state);
    const now = this.deps.clock.now();
    const claimed = await this.deps.db.kysely
      .updateTable('oauth_states')
      .set({ used_at: now })
      .where('state_hash', '=', stateHash)
      .where('customer_id', '=', customer.id)
      .where('provider', '=', OPENROUTER_PROVIDER)
      .where('used_at', 'is', null)
      .where('expires_at', '>', now)
      .returning(['code_verifier_sealed'])
      .executeTakeFirst();
    if (!claimed) {
      throw new TollgateError(
        'invalid_state',
        'This OpenRouter sign-in has expired or was already used; connect again',
      );
    }
    const verifier = this.deps.box.open(claimed.code_verifier_sealed, `oauth/${stateHash}`);
    const key = await this.exchangeCode(code, verifier);
    return this.deps.providerKeys.store(customer.id, await this.appOf(customer), OPENROUTER_PROVIDER, key);
  }

  private async exchangeCode(code: string, verifier: string): Promise<string> {
    let response: Response;
    try {
      response = await fetch(`${this.deps.origin}/api/v1/auth/keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body: JSON.stringify({ code, code_verifier: verifier, code_challenge_method: 'S256' }),
        signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MILLISECONDS),
      });
    } catch (error) {
      throw new TollgateError(
        'upstream_error',
        `OpenRouter could not be reached: ${(error as Error).message}`,
      );
    }
    const text = await response.text();
    let body: { key?: unknown; error?: { message?: unknown } } | null = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: reported below
    }
    if (!response.ok || typeof body?.key !== 'string' || body.key.length < 8) {
      const reason =
        typeof body?.error?.message === 'string' ? body.error.message : `status ${response.status}`;
      throw new TollgateError(
        'upstream_error',
        `OpenRouter refused the code exchange (${reason.slice(0, 200)})`,
      );
    }
    return body.key;
  }
}
