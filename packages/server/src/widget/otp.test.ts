import { describe, expect, it } from 'vitest';
import {
  generateLoginCode,
  hashLoginCode,
  judgeLoginCode,
  LOGIN_CODE_MAX_ATTEMPTS,
  loginCodeExpiry,
  normalizeEmail,
  normalizeLoginCode,
  type StoredLoginCode,
} from './otp.ts';

const now = new Date('2026-03-01T12:00:00Z');

function stored(code: string, overrides: Partial<StoredLoginCode> = {}): StoredLoginCode {
  const salt = 'a1b2c3';
  return {
    codeHash: hashLoginCode(code, salt),
    codeSalt: salt,
    attempts: 1,
    expiresAt: loginCodeExpiry(now),
    consumedAt: null,
    ...overrides,
  };
}

describe('login codes', () => {
  it('are six digits, leading zeros kept', () => {
    expect(generateLoginCode(() => 42)).toBe('000042');
    expect(generateLoginCode(() => 999_999)).toBe('999999');
    for (let index = 0; index < 200; index++) expect(generateLoginCode()).toMatch(/^\d{6}$/);
  });

  it('are stored only as a salted digest', () => {
    const digest = hashLoginCode('123456', 'salt-one');
    expect(digest).toMatch(/^[0-9a-f]{64}$/);
    expect(digest).not.toContain('123456');
    expect(hashLoginCode('123456', 'salt-two')).not.toBe(digest);
  });

  it('accept the right code, forgiving spaces and dashes', () => {
    expect(judgeLoginCode(stored('004217'), '004217', now)).toBe('accepted');
    expect(judgeLoginCode(stored('004217'), ' 004 217 ', now)).toBe('accepted');
    expect(judgeLoginCode(stored('004217'), '004-217', now)).toBe('accepted');
  });

  it('refuse a wrong or malformed code', () => {
    expect(judgeLoginCode(stored('004217'), '004218', now)).toBe('mismatch');
    expect(judgeLoginCode(stored('004217'), '4217', now)).toBe('mismatch');
    expect(judgeLoginCode(stored('004217'), 'abcdef', now)).toBe('mismatch');
    expect(normalizeLoginCode('12345a')).toBeNull();
  });

  it('expire after ten minutes, and once used', () => {
    const code = stored('111111');
    expect(judgeLoginCode(code, '111111', new Date(now.getTime() + 10 * 60 * 1000 - 1))).toBe('accepted');
    expect(judgeLoginCode(code, '111111', new Date(now.getTime() + 10 * 60 * 1000))).toBe('expired');
    expect(judgeLoginCode(stored('111111', { consumedAt: now }), '111111', now)).toBe('expired');
  });

  it('allow five guesses, the right code included', () => {
    expect(judgeLoginCode(stored('222222', { attempts: LOGIN_CODE_MAX_ATTEMPTS }), '222222', now)).toBe(
      'accepted',
    );
    expect(judgeLoginCode(stored('222222', { attempts: LOGIN_CODE_MAX_ATTEMPTS + 1 }), '222222', now)).toBe(
      'too_many_attempts',
    );
  });

  it('compare email addresses without case or surrounding space', () => {
    expect(normalizeEmail('  Buyer@Example.COM ')).toBe('buyer@example.com');
  });
});
