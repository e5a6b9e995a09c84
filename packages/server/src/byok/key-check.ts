/**
 * A provider key is checked with the provider before it is stored: a key the provider refuses would
 * otherwise switch the customer's billing off (their holds become `byok` and cost nothing) while an
 * app that calls the provider with its own key serves them for free.
 *
 * Each check is the cheapest request the provider authenticates, and none of them generates anything:
 * - OpenAI format: `GET {base}/models` with `Authorization: Bearer`;
 * - Anthropic: `GET {base}/v1/models?limit=1` with `x-api-key` and `anthropic-version`;
 * - OpenRouter (the provider named `openrouter`): `GET {base}/key`, its key-info endpoint (its model
 *   list answers without a key, so it would accept anything);
 * - fal: `GET {base}/fal-ai/flux/requests/{a request id that does not exist}/status` with
 *   `Authorization: Key`. fal's queue authenticates before it looks the request up: a good key gets
 *   404 (no such request), a bad one 401/403. It reads no model and starts no job.
 */
import type { ProviderConfig } from '../config/types.ts';
import { TollgateError } from '../shared/errors.ts';
import { scrubSecrets } from '../shared/scrub-secrets.ts';

export const ANTHROPIC_VERSION = '2023-06-01';
/** A well-formed request id no job will ever have: the probe must find nothing. */
const FAL_PROBE_REQUEST_ID = '00000000-0000-4000-8000-000000000000';
const FAL_PROBE_APP = 'fal-ai/flux';
const PROVIDER_TEXT_LIMIT = 200;

export interface KeyCheckRequest {
  url: string;
  headers: Record<string, string>;
}

export type KeyCheckVerdict = 'accepted' | 'rejected' | 'unreachable';

/** Stable reasons in the error details, so clients can branch without parsing messages. */
export const KEY_CHECK_REASONS = {
  rejected: 'provider_key_rejected',
  unreachable: 'provider_unreachable',
  notConfigured: 'provider_not_configured',
} as const;

function isOpenRouter(provider: ProviderConfig): boolean {
  return provider.name === 'openrouter';
}

/** The request that checks `key` with `provider`. */
export function keyCheckRequest(provider: ProviderConfig, key: string): KeyCheckRequest {
  const base = provider.baseUrl.replace(/\/+$/, '');
  switch (provider.format) {
    case 'anthropic':
      return {
        url: `${base}/v1/models?limit=1`,
        headers: { 'x-api-key': key, 'anthropic-version': ANTHROPIC_VERSION },
      };
    case 'fal':
      return {
        url: `${base}/${FAL_PROBE_APP}/requests/${FAL_PROBE_REQUEST_ID}/status`,
        headers: { authorization: `Key ${key}` },
      };
    case 'openai':
      return {
        url: isOpenRouter(provider) ? `${base}/key` : `${base}/models`,
        headers: { authorization: `Bearer ${key}` },
      };
  }
}

/** What the provider's HTTP status says about the key. */
export function keyCheckVerdict(provider: ProviderConfig, status: number): KeyCheckVerdict {
  if (status >= 200 && status < 300) return 'accepted';
  if (provider.format === 'fal' && status === 404) return 'accepted';
  if (status === 401 || status === 403) return 'rejected';
  // 429, 5xx, a redirect or any other answer: we could not learn whether the key is good.
  return 'unreachable';
}

/** The provider's own words about a refusal, without the key (providers echo it) or anything key-shaped. */
function providerText(body: string, key: string): string {
  let text = body;
  try {
    const parsed = JSON.parse(body) as Record<string, any>;
    const message = parsed?.error?.message ?? parsed?.detail ?? parsed?.message ?? parsed?.error;
    if (typeof message === 'string') text = message;
  } catch {
    // not JSON: the text itself
  }
  return scrubSecrets(text.replace(/\s+/g, ' ').trim(), [key]).slice(0, PROVIDER_TEXT_LIMIT);
}

export interface KeyCheckOptions {
  timeoutMilliseconds: number;
  fetch?: typeof fetch;
}

/**
 * Resolves when `provider` accepts `key`. Otherwise throws: `400 invalid_request` with reason
 * `provider_key_rejected` when the provider refuses it, `502 upstream_error` with reason
 * `provider_unreachable` (or `provider_not_configured`) when it could not be asked. The key never
 * appears in a message.
 */
export async function checkProviderKey(
  provider: ProviderConfig,
  key: string,
  options: KeyCheckOptions,
): Promise<void> {
  const details = { provider: provider.name };
  if (!provider.configured) {
    throw new TollgateError(
      'upstream_error',
      `${provider.name} is not configured on this server, so a ${provider.name} key cannot be checked; nothing was stored`,
      { ...details, reason: KEY_CHECK_REASONS.notConfigured },
    );
  }
  const request = keyCheckRequest(provider, key);
  let response: Response;
  let body: string;
  try {
    response = await (options.fetch ?? fetch)(request.url, {
      method: 'GET',
      headers: { accept: 'application/json', ...request.headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMilliseconds),
    });
    body = await response.text();
  } catch (error) {
    const reason =
      (error as Error).name === 'TimeoutError' ? 'it did not answer in time' : 'it could not be reached';
    throw new TollgateError(
      'upstream_error',
      `The key could not be checked with ${provider.name}: ${reason}. Nothing was stored; try again`,
      { ...details, reason: KEY_CHECK_REASONS.unreachable },
    );
  }
  const verdict = keyCheckVerdict(provider, response.status);
  if (verdict === 'accepted') return;
  const said = providerText(body, key);
  const quoted = said ? `: ${said}` : '';
  if (verdict === 'rejected') {
    throw new TollgateError(
      'invalid_request',
      `${provider.name} did not accept this key (HTTP ${response.status}${quoted}). Nothing was stored`,
      { ...details, param: 'key', reason: KEY_CHECK_REASONS.rejected },
    );
  }
  throw new TollgateError(
    'upstream_error',
    `The key could not be checked with ${provider.name} (HTTP ${response.status}${quoted}). Nothing was stored; try again`,
    { ...details, reason: KEY_CHECK_REASONS.unreachable },
  );
}
