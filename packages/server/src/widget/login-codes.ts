/**
 * Where sign-in codes live (table `widget_login_codes`, migration 0006). Each guess is counted by one
 * atomic UPDATE before it is judged, so parallel guesses cannot get past the limit; a code is spent by
 * a conditional UPDATE, so it signs in at most once.
 */
import type { Clock } from '../shared/clock.ts';
import { newId } from '../shared/ids.ts';
import type { Database } from '../store/database.ts';
import {
  generateLoginCode,
  hashLoginCode,
  judgeLoginCode,
  LOGIN_CODE_MAX_ATTEMPTS,
  type LoginCodeVerdict,
  loginCodeExpiry,
  newCodeSalt,
} from './otp.ts';

interface LoginCodeRow {
  id: string;
  code_salt: string;
  code_hash: string;
  attempts: number;
  expires_at: Date | string;
  consumed_at: Date | string | null;
}

/** Codes are kept a day past their expiry for inspection, then swept when new ones are issued. */
const RETENTION_MILLISECONDS = 24 * 60 * 60 * 1000;

export class LoginCodes {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** A fresh code for this app and email; any code issued before it stops working. */
  async issue(
    appId: string,
    email: string,
    retries = 2,
  ): Promise<{ id: string; code: string; expiresAt: Date }> {
    const now = this.clock.now();
    await this.db.query('delete from widget_login_codes where expires_at < $1', [
      new Date(now.getTime() - RETENTION_MILLISECONDS).toISOString(),
    ]);
    await this.db.query(
      'update widget_login_codes set consumed_at = $3 where app_id = $1 and email = $2 and consumed_at is null',
      [appId, email, now.toISOString()],
    );
    const id = newId('wlc', 12);
    const code = generateLoginCode();
    const salt = newCodeSalt();
    const expiresAt = loginCodeExpiry(now);
    const inserted = await this.db.query(
      `insert into widget_login_codes (id, app_id, email, code_salt, code_hash, attempts, expires_at, created_at)
       values ($1, $2, $3, $4, $5, 0, $6, $7)
       on conflict (app_id, email) where consumed_at is null do nothing
       returning id`,
      [id, appId, email, salt, hashLoginCode(code, salt), expiresAt.toISOString(), now.toISOString()],
    );
    // Another request issued one between our two statements: that one stands.
    if (inserted.length === 0) {
      if (retries === 0) throw new Error('could not issue a sign-in code');
      return this.issue(appId, email, retries - 1);
    }
    return { id, code, expiresAt };
  }

  /** Withdraws a code that could not be delivered. */
  async discard(id: string): Promise<void> {
    await this.db.query(
      'update widget_login_codes set consumed_at = $2 where id = $1 and consumed_at is null',
      [id, this.clock.now().toISOString()],
    );
  }

  /** Counts the guess, judges it, and spends the code when it is right. `missing`: no live code. */
  async verify(
    appId: string,
    email: string,
    presented: string,
  ): Promise<{ verdict: LoginCodeVerdict | 'missing'; attemptsLeft: number }> {
    const now = this.clock.now();
    const rows = await this.db.query<LoginCodeRow>(
      `update widget_login_codes set attempts = attempts + 1
       where app_id = $1 and email = $2 and consumed_at is null
       returning id, code_salt, code_hash, attempts, expires_at, consumed_at`,
      [appId, email],
    );
    const row = rows[0];
    if (!row) return { verdict: 'missing', attemptsLeft: 0 };
    const verdict = judgeLoginCode(
      {
        codeHash: row.code_hash,
        codeSalt: row.code_salt,
        attempts: Number(row.attempts),
        expiresAt: new Date(row.expires_at),
        consumedAt: row.consumed_at === null ? null : new Date(row.consumed_at),
      },
      presented,
      now,
    );
    const attemptsLeft = Math.max(0, LOGIN_CODE_MAX_ATTEMPTS - Number(row.attempts));
    if (verdict === 'accepted') {
      const spent = await this.db.query(
        'update widget_login_codes set consumed_at = $2 where id = $1 and consumed_at is null returning id',
        [row.id, now.toISOString()],
      );
      return { verdict: spent.length === 1 ? 'accepted' : 'expired', attemptsLeft };
    }
    // A code that can no longer succeed is retired, so the next request gets a clear "ask again".
    if (verdict === 'expired' || verdict === 'too_many_attempts' || attemptsLeft === 0)
      await this.discard(row.id);
    return { verdict, attemptsLeft };
  }
}
