/**
 * Gift codes (seed 000): an app creates batches of codes; a user redeems one with their user key.
 * Codes created with the admin key belong to no app and any user of the server may redeem them.
 * Codes carry 80 random bits in an unambiguous alphabet, are stored only as hashes, and are redeemed
 * at most `max_redemptions` times (and once per customer) — enforced inside the ledger transaction
 * that grants the credits.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { type Ledger, unwrap } from '../ledger/ledger.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';

// Crockford-style alphabet: no I, L, O, U — easy to read aloud and type.
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export function generateGiftCode(): string {
  const bytes = randomBytes(10);
  let bits = 0n;
  for (const byte of bytes) bits = (bits << 8n) | BigInt(byte);
  let text = '';
  for (let index = 0; index < 16; index += 1) {
    text = CODE_ALPHABET[Number(bits & 31n)] + text;
    bits >>= 5n;
  }
  return `TG-${text.slice(0, 4)}-${text.slice(4, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}`;
}

/** Codes are compared case- and separator-insensitively. */
export function normalizeGiftCode(code: string): string {
  return code
    .toUpperCase()
    .replace(/[^0-9A-Z]/g, '')
    .replace(/^TG/, '');
}

export function hashGiftCode(code: string): string {
  return createHash('sha256')
    .update(`gift:${normalizeGiftCode(code)}`)
    .digest('hex');
}

export class GiftCodesService {
  constructor(
    private readonly db: Database,
    private readonly ledger: Ledger,
    private readonly clock: Clock,
  ) {}

  async createBatch(input: {
    appId: string | null;
    amountMicros: bigint;
    count: number;
    maxRedemptions: number;
    expiresAt: Date | null;
  }) {
    const batchId = newId('gcb', 12);
    const now = this.clock.now();
    if (input.expiresAt && input.expiresAt <= now) {
      throw new TollgateError('invalid_request', 'expires_at must be in the future', { param: 'expires_at' });
    }
    const codes = Array.from({ length: input.count }, generateGiftCode);
    const expiresAt = input.expiresAt?.toISOString() ?? null;
    await this.db.kysely.transaction().execute(async (transaction) => {
      await sql`insert into gift_code_batches (id, app_id, amount_micros, count, max_redemptions, expires_at, created_at)
        values (${batchId}, ${input.appId}, ${input.amountMicros}, ${input.count}, ${input.maxRedemptions}, ${expiresAt}, ${now})`.execute(
        transaction,
      );
      for (const code of codes) {
        await sql`insert into gift_codes (id, batch_id, app_id, code_hash, code_hint, amount_micros, max_redemptions, expires_at, created_at)
          values (${newId('gc', 12)}, ${batchId}, ${input.appId}, ${hashGiftCode(code)}, ${`…${code.slice(-4)}`},
                  ${input.amountMicros}, ${input.maxRedemptions}, ${expiresAt}, ${now})`.execute(transaction);
      }
    });
    return {
      id: batchId,
      object: 'gift_code_batch',
      amount: microsToCredits(input.amountMicros),
      count: input.count,
      max_redemptions: input.maxRedemptions,
      expires_at: input.expiresAt?.toISOString() ?? null,
      codes,
    };
  }

  async listBatches(appId: string | null) {
    const rows = await this.db.query<{
      id: string;
      amount_micros: bigint;
      count: number;
      max_redemptions: number;
      expires_at: Date | null;
      created_at: Date;
      redeemed: bigint | null;
    }>(
      `select b.id, b.amount_micros, b.count, b.max_redemptions, b.expires_at, b.created_at,
              (select sum(redemptions) from gift_codes c where c.batch_id = b.id) as redeemed
       from gift_code_batches b where b.app_id is not distinct from $1 order by b.created_at desc limit 200`,
      [appId],
    );
    return rows.map((row) => ({
      id: row.id,
      object: 'gift_code_batch',
      amount: microsToCredits(BigInt(row.amount_micros)),
      count: row.count,
      max_redemptions: row.max_redemptions,
      redemptions: Number(row.redeemed ?? 0),
      expires_at: row.expires_at ? new Date(row.expires_at).toISOString() : null,
      created_at: new Date(row.created_at).toISOString(),
    }));
  }

  /**
   * Redeems a code at most `max_redemptions` times and once per customer: the code's row lock
   * serializes concurrent redemptions (the counter's check constraint backs it up), and the counter,
   * the redemption and the grant commit in one ledger transaction.
   */
  async redeem(customerId: string, appId: string | null, code: string) {
    const redemption = await this.ledger.transaction([customerId], async (transaction) => {
      const [row] = await transaction.query<GiftCodeRow>(
        'select * from gift_codes where code_hash = $1 for update',
        [hashGiftCode(code)],
      );
      // An app's codes are for its own users; the operator's (created with the admin key, no app)
      // are for every user of this server.
      if (!row || (row.app_id !== null && row.app_id !== appId)) {
        throw new TollgateError('not_found', 'This gift code does not exist');
      }
      if (row.expires_at !== null && new Date(row.expires_at) <= this.clock.now()) {
        throw new TollgateError('invalid_state', 'This gift code has expired');
      }
      const [already] = await transaction.query(
        'select 1 from gift_redemptions where code_id = $1 and customer_id = $2',
        [row.id, customerId],
      );
      if (already) throw new TollgateError('already_redeemed', 'You have already redeemed this gift code');
      if (row.redemptions >= row.max_redemptions) {
        throw new TollgateError('already_redeemed', 'This gift code has already been redeemed');
      }
      await transaction.query('update gift_codes set redemptions = redemptions + 1 where id = $1', [row.id]);
      const grant = unwrap(
        transaction.grant({
          customerId,
          amountMicros: BigInt(row.amount_micros),
          source: 'gift',
          type: 'gift_code',
          reason: `Gift code ${row.code_hint}`,
          metadata: { gift_code_id: row.id },
        }),
      );
      await transaction.query(
        'insert into gift_redemptions (code_id, customer_id, grant_id, redeemed_at) values ($1, $2, $3, $4)',
        [row.id, customerId, grant.grantId, this.clock.now().toISOString()],
      );
      return {
        amountMicros: BigInt(row.amount_micros),
        grantId: grant.grantId,
        balanceMicros: grant.balanceMicros,
      };
    });
    return {
      object: 'gift_code_redemption',
      amount: microsToCredits(redemption.amountMicros),
      grant_id: redemption.grantId,
      balance: microsToCredits(redemption.balanceMicros),
    };
  }
}

interface GiftCodeRow {
  id: string;
  app_id: string | null;
  code_hint: string;
  amount_micros: bigint | string;
  max_redemptions: number;
  redemptions: number;
  expires_at: Date | string | null;
}
