/**
 * Stripe's scheme: `Tollgate-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`,
 * one `v1` per valid secret (two while a rotated secret is still honoured). The receiving side is
 * `verifyWebhook` in `@tollgate/client`.
 */
import { createHmac } from 'node:crypto';
import { randomToken } from '../shared/ids.ts';

export const SIGNATURE_HEADER = 'Tollgate-Signature';
export const EVENT_ID_HEADER = 'Tollgate-Event-Id';
export const DELIVERY_ID_HEADER = 'Tollgate-Delivery-Id';

export function newSigningSecret(): string {
  return `whsec_${randomToken(32)}`;
}

export function signatureHeader(secrets: string[], timestampSeconds: number, body: string): string {
  const signatures = secrets.map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`,
  );
  return [`t=${timestampSeconds}`, ...signatures].join(',');
}
