/**
 * One-time sign-in codes, as plain functions: six decimal digits drawn uniformly, kept only as a
 * salted SHA-256 digest, good for ten minutes and five guesses. The store (`login-codes.ts`) counts
 * attempts atomically and calls `judgeLoginCode` for the verdict; nothing here touches I/O.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

export const LOGIN_CODE_DIGITS = 6;
export const LOGIN_CODE_TTL_SECONDS = 10 * 60;
export const LOGIN_CODE_MAX_ATTEMPTS = 5;

/** A uniformly random code, leading zeros kept: `'004217'`. */
export function generateLoginCode(random: (maxExclusive: number) => number = randomInt): string {
  return String(random(10 ** LOGIN_CODE_DIGITS)).padStart(LOGIN_CODE_DIGITS, '0');
}

export function newCodeSalt(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Digest stored instead of the code. The per-code salt stops precomputed tables; the code's small
 * space is defended by the attempt limit and the short lifetime, not by hashing cost.
 */
export function hashLoginCode(code: string, salt: string): string {
  return createHash('sha256').update(`${salt}:${code}`).digest('hex');
}

/** What people type: spaces and dashes are forgiven ("123 456"), anything else is not a code. */
export function normalizeLoginCode(input: string): string | null {
  const digits = input.replace(/[\s-]/g, '');
  return new RegExp(`^\\d{${LOGIN_CODE_DIGITS}}$`).test(digits) ? digits : null;
}

/** Email addresses compare case-insensitively and without surrounding spaces. */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface StoredLoginCode {
  codeHash: string;
  codeSalt: string;
  /** Guesses made so far, counting the one being judged. */
  attempts: number;
  expiresAt: Date;
  consumedAt: Date | null;
}

export type LoginCodeVerdict = 'accepted' | 'expired' | 'too_many_attempts' | 'mismatch';

export function judgeLoginCode(stored: StoredLoginCode, presented: string, now: Date): LoginCodeVerdict {
  if (stored.consumedAt !== null || now.getTime() >= stored.expiresAt.getTime()) return 'expired';
  if (stored.attempts > LOGIN_CODE_MAX_ATTEMPTS) return 'too_many_attempts';
  const code = normalizeLoginCode(presented);
  if (code === null) return 'mismatch';
  const expected = Buffer.from(stored.codeHash, 'hex');
  const actual = Buffer.from(hashLoginCode(code, stored.codeSalt), 'hex');
  return expected.length === actual.length && timingSafeEqual(expected, actual) ? 'accepted' : 'mismatch';
}

export function loginCodeExpiry(now: Date): Date {
  return new Date(now.getTime() + LOGIN_CODE_TTL_SECONDS * 1000);
}
