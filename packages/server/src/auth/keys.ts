/**
 * API keys: random, prefixed by kind, stored only as a SHA-256 hash (keys carry 160+ bits of
 * randomness, so a plain hash is enough; no slow KDF needed) and shown in full once, at creation.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { randomToken } from '../shared/ids.ts';

export type KeyKind = 'admin' | 'publishable' | 'secret' | 'user';

export const KEY_PREFIX: Record<KeyKind, string> = {
  admin: 'tg_admin_',
  publishable: 'tg_pk_',
  secret: 'tg_sk_',
  user: 'tg_uk_',
};

export function generateKey(kind: KeyKind): string {
  return `${KEY_PREFIX[kind]}${randomToken(24)}`;
}

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** Last characters of a key, for display: `tg_uk_…a1b2`. */
export function keyHint(key: string): string {
  const prefix = Object.values(KEY_PREFIX).find((candidate) => key.startsWith(candidate)) ?? '';
  return `${prefix}…${key.slice(-4)}`;
}

/** Constant-time comparison of two hex digests. */
export function sameHash(left: string, right: string): boolean {
  const leftBuffer = Buffer.from(left, 'hex');
  const rightBuffer = Buffer.from(right, 'hex');
  return leftBuffer.length === rightBuffer.length && timingSafeEqual(leftBuffer, rightBuffer);
}
