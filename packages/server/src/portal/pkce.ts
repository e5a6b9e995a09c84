/**
 * OAuth PKCE (RFC 7636) and the one-time tokens of the portal: pure functions over node:crypto.
 */
import { createHash, randomBytes } from 'node:crypto';

/** A code verifier: 43–128 characters of [A-Za-z0-9-._~]; 32 random bytes in base64url give 43. */
export function newCodeVerifier(): string {
  return randomBytes(32).toString('base64url');
}

/** The S256 code challenge: base64url(SHA-256(verifier)), no padding. */
export function codeChallengeS256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

/** An unguessable single-use token (192 bits) with a readable prefix. */
export function newOneTimeToken(prefix: string): string {
  return `${prefix}${randomBytes(24).toString('base64url')}`;
}

/** Tokens are kept only as their SHA-256 (they carry 192 bits, so no slow hash is needed). */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Where OpenRouter's OAuth pages and key exchange live. OPENROUTER_BASE_URL also configures the
 * gateway's upstream, which is usually the API root (`https://openrouter.ai/api/v1`): a trailing
 * `/api/v1` is dropped so one variable serves both. OPENROUTER_OAUTH_URL overrides it.
 */
export function openRouterOrigin(env: Record<string, string | undefined>): string {
  const configured = env.OPENROUTER_OAUTH_URL ?? env.OPENROUTER_BASE_URL ?? 'https://openrouter.ai';
  return configured.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
}

/** The authorization page URL the browser is sent to. */
export function openRouterAuthorizeUrl(origin: string, callbackUrl: string, codeChallenge: string): string {
  const url = new URL(`${origin}/auth`);
  url.searchParams.set('callback_url', callbackUrl);
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  return url.toString();
}
