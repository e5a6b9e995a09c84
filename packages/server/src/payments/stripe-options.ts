/**
 * Turns `STRIPE_API_BASE` (an origin such as `http://127.0.0.1:12111`) into the `stripe` SDK's
 * connection options. Checked against stripe-node v19 (`src/stripe.core.ts`, `net/NodeHttpClient`):
 *
 * - The SDK has no base-URL option; it takes `host`, `port` and `protocol` ('http' | 'https')
 *   separately and always prefixes paths with `/v1/`, so the base URL must be an origin with no path.
 * - `port` defaults to 443 even when `protocol` is 'http', so an explicit port is always passed
 *   (80/443 when the URL leaves it implicit).
 * - `host` goes straight to `http.request({host})`, so IPv6 literals lose their brackets.
 *
 * Without a base URL the SDK's defaults (https://api.stripe.com) apply and nothing is returned.
 */
import { createRequire } from 'node:module';
import type Stripe from 'stripe';

/**
 * The SDK's constructor, loaded on first use rather than at start (~0.2 s of CPU): a server without
 * Stripe keys never needs it, and one with keys loads it once.
 */
export function stripeSdk(): typeof Stripe {
  return createRequire(import.meta.url)('stripe') as typeof Stripe;
}

export type StripeConnectionOptions = Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'>;

/**
 * @example
 * new Stripe(secretKey, { ...stripeClientOptions(process.env.STRIPE_API_BASE) })
 * stripeClientOptions('http://127.0.0.1:12111') // → { host: '127.0.0.1', port: 12111, protocol: 'http' }
 */
export function stripeClientOptions(baseUrl: string | undefined | null): StripeConnectionOptions {
  const text = baseUrl?.trim();
  if (!text) return {};
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidBase(text, 'is not a URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw invalidBase(text, 'must use http or https');
  // The SDK adds `/v1/` itself; tolerate a base that already names it, refuse any other prefix
  // rather than silently dropping it.
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== '/v1') throw invalidBase(text, 'must be an origin without a path');
  if (url.search || url.hash) throw invalidBase(text, 'must not carry a query or fragment');
  if (url.username || url.password) throw invalidBase(text, 'must not carry credentials');
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  const port = url.port ? Number(url.port) : protocol === 'http' ? 80 : 443;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port, protocol };
}

function invalidBase(value: string, reason: string): Error {
  return new Error(
    `STRIPE_API_BASE ${reason} (expected e.g. http://127.0.0.1:12111), got ${JSON.stringify(value)}`,
  );
}
