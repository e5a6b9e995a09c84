import { describe, expect, it } from 'vitest';
import {
  codeChallengeS256,
  hashToken,
  newCodeVerifier,
  newOneTimeToken,
  openRouterAuthorizeUrl,
  openRouterOrigin,
} from './pkce.ts';

describe('PKCE', () => {
  it('derives the RFC 7636 appendix B challenge', () => {
    expect(codeChallengeS256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe(
      'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    );
  });

  it('makes verifiers of the allowed alphabet and length', () => {
    const verifier = newCodeVerifier();
    expect(verifier).toMatch(/^[A-Za-z0-9._~-]{43,128}$/);
    expect(newCodeVerifier()).not.toBe(verifier);
  });

  it('hashes one-time tokens, never keeping the token', () => {
    const token = newOneTimeToken('tg_portal_');
    expect(token.startsWith('tg_portal_')).toBe(true);
    expect(hashToken(token)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(token)).not.toContain(token);
  });
});

describe('OpenRouter origin', () => {
  it('accepts the origin or the API root', () => {
    expect(openRouterOrigin({})).toBe('https://openrouter.ai');
    expect(openRouterOrigin({ OPENROUTER_BASE_URL: 'https://openrouter.ai/api/v1/' })).toBe(
      'https://openrouter.ai',
    );
    expect(openRouterOrigin({ OPENROUTER_BASE_URL: 'http://127.0.0.1:9000' })).toBe('http://127.0.0.1:9000');
    expect(openRouterOrigin({ OPENROUTER_BASE_URL: 'http://a', OPENROUTER_OAUTH_URL: 'http://b/' })).toBe(
      'http://b',
    );
  });

  it('builds the authorization URL with the S256 challenge', () => {
    const url = new URL(
      openRouterAuthorizeUrl(
        'http://or.test',
        'http://tg.test/dashboard/openrouter/callback?state=s1',
        'abc',
      ),
    );
    expect(url.pathname).toBe('/auth');
    expect(url.searchParams.get('callback_url')).toBe(
      'http://tg.test/dashboard/openrouter/callback?state=s1',
    );
    expect(url.searchParams.get('code_challenge')).toBe('abc');
    expect(url.searchParams.get('code_challenge_method')).toBe('S256');
  });
});
