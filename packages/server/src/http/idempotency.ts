/**
 * Idempotency for POSTs whose effect is not a single ledger operation (creating a customer, a checkout
 * session, gift codes, a subscription, a generation job): the first answer is stored under the key and
 * replayed to a repeat with the same body; another body under the same key is 409. The key is claimed
 * through the unique index of `idempotency_keys` before the work runs, so two concurrent repeats cannot
 * both do it. (Ledger operations claim their key inside the ledger's own transaction instead.)
 */
import { createHash } from 'node:crypto';
import { TollgateError } from '../shared/errors.ts';
import type { Database } from '../store/database.ts';

export interface StoredAnswer {
  status: number;
  body: unknown;
}

export class HttpIdempotency {
  constructor(private readonly db: Database) {}

  async run(
    scope: string,
    key: string,
    request: unknown,
    work: () => Promise<StoredAnswer>,
  ): Promise<StoredAnswer> {
    const hash = createHash('sha256')
      .update(JSON.stringify(request ?? null))
      .digest('base64url');
    const claimed = await this.db.query(
      `insert into idempotency_keys (scope, key, request_hash, created_at) values ($1, $2, $3, now())
       on conflict do nothing returning key`,
      [scope, key, hash],
    );
    if (claimed.length === 0) {
      const [row] = await this.db.query<{ request_hash: string; response: StoredAnswer | null }>(
        'select request_hash, response from idempotency_keys where scope = $1 and key = $2',
        [scope, key],
      );
      if (!row || row.request_hash !== hash) {
        throw new TollgateError(
          'idempotency_conflict',
          'This Idempotency-Key was already used with a different request',
        );
      }
      if (!row.response) {
        throw new TollgateError(
          'idempotency_conflict',
          'A request with this Idempotency-Key is still in progress',
        );
      }
      return row.response;
    }
    try {
      const answer = await work();
      await this.db.query('update idempotency_keys set response = $3::jsonb where scope = $1 and key = $2', [
        scope,
        key,
        JSON.stringify(answer),
      ]);
      return answer;
    } catch (error) {
      // Nothing was done (or it failed): release the key so that a retry can try again.
      await this.db.query('delete from idempotency_keys where scope = $1 and key = $2 and response is null', [
        scope,
        key,
      ]);
      throw error;
    }
  }
}
