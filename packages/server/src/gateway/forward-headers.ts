/**
 * The client's request headers that travel on to the provider: only those that change what the
 * request means to a provider of the same dialect (an explicit allow-list), never credentials
 * (`authorization`, `x-api-key`: the provider gets Tollgate's or the customer's stored key), cookies,
 * hop-by-hop headers or anything else the client sent. `anthropic-beta` is what unlocks beta fields
 * such as `context_management`: without it the provider refuses the very body Tollgate forwards.
 */
import { ANTHROPIC_VERSION } from '../byok/key-check.ts';
import type { ApiFormat } from './formats/index.ts';

/** Headers forwarded to an upstream of each dialect (lower case). */
const FORWARDED: Record<ApiFormat, readonly string[]> = {
  anthropic: ['anthropic-version', 'anthropic-beta'],
  openai: ['openai-beta'],
};

/** Longest header value passed on; a real beta list is a few hundred characters. */
const MAX_VALUE_LENGTH = 2_000;
/** Visible ASCII and spaces only: nothing that could split a header or smuggle another. */
const SAFE_VALUE = /^[\x20-\x7e]*$/;

/**
 * The headers to send upstream from the client's. The client's dialect must be the upstream's: a
 * header of one provider means nothing to the other (a translated request gets none of them). Repeated
 * headers are joined with commas, as HTTP allows for lists.
 */
export function forwardedHeaders(
  clientHeaders: Record<string, string | string[] | undefined>,
  clientFormat: ApiFormat,
  upstreamFormat: ApiFormat,
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (clientFormat === upstreamFormat) {
    for (const name of FORWARDED[upstreamFormat]) {
      const raw = clientHeaders[name];
      const value = (Array.isArray(raw) ? raw.join(',') : raw)?.trim();
      if (!value || value.length > MAX_VALUE_LENGTH || !SAFE_VALUE.test(value)) continue;
      headers[name] = value;
    }
  }
  if (upstreamFormat === 'anthropic') headers['anthropic-version'] ??= ANTHROPIC_VERSION;
  return headers;
}
