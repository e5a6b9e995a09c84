/**
 * A customer's statement: the ledger's history with each line described, the holds still reserved
 * as pending lines, receipts for purchases, and the whole statement as a streamed CSV. Reads only.
 */

import type { ServerResponse } from 'node:http';
import { z } from 'zod';
import { creditsSchema, timestampSchema, transactionSchema } from '../http/wire.ts';
import type { TransactionView } from '../ledger/ledger.ts';
import { TollgateError } from '../shared/errors.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';
import { csvField } from '../usage/usage-service.ts';
import { describeTransaction, type StatementFacts, type StatementRow } from './describe.ts';

/** Rows read per page of the CSV export (by id cursor, newest first). */
export const STATEMENT_PAGE_ROWS = 500;
/** Pending holds listed at most: a customer rarely has more than a few running at once. */
const PENDING_ROWS = 100;

export const STATEMENT_CSV_COLUMNS = [
  'id',
  'created_at',
  'status',
  'type',
  'description',
  'model',
  'amount',
  'balance_after',
] as const;

interface LedgerRow {
  id: string | number;
  type: string;
  amount_micros: bigint | string;
  balance_after_micros: bigint | string;
  model: string | null;
  hold_id: string | null;
  grant_id: string | null;
  metadata: Record<string, unknown> | null;
  created_at: Date | string;
}

/** A held hold on the statement: credits reserved by running work, nothing taken yet. */
export const pendingLineSchema = z
  .object({
    id: z.string(),
    type: z.literal('pending'),
    status: z.literal('pending'),
    amount: creditsSchema.describe('Negative: what the hold reserves'),
    model: z.string().nullable(),
    hold_id: z.string(),
    summary: z.string(),
    created_at: timestampSchema,
    expires_at: timestampSchema.nullable(),
  })
  .describe('A reserved hold (include_pending=true), listed before the posted lines');

/** A posted line: the ledger movement, said in words, with the receipt of a purchase. */
export const postedLineSchema = transactionSchema.extend({
  status: z.literal('posted'),
  summary: z.string().describe('The line in words: what was bought, granted or used'),
  receipt: z.string().nullable().describe('A purchase’s receipt id (GET …/receipts/{receipt})'),
});

export const statementLineSchema = z.union([postedLineSchema, pendingLineSchema]);

export const receiptSchema = z.object({
  id: z.string(),
  object: z.literal('receipt'),
  customer: z.string(),
  app: z.object({ id: z.string(), name: z.string() }).nullable(),
  status: z.string(),
  amount_paid_cents: z.number().int().describe('In the minor units of `currency`'),
  refunded_cents: z.number().int(),
  currency: z.string(),
  credits: creditsSchema.describe('Credits bought, the bonus included'),
  bonus_credits: creditsSchema,
  pack: z.string().nullable(),
  paid_at: timestampSchema.nullable(),
  created_at: timestampSchema,
});

export interface PendingLine {
  id: string;
  type: 'pending';
  status: 'pending';
  amount: number;
  model: string | null;
  hold_id: string;
  summary: string;
  created_at: string;
  expires_at: string | null;
}

export interface Receipt {
  id: string;
  object: 'receipt';
  customer: string;
  app: { id: string; name: string } | null;
  status: string;
  amount_paid_cents: number;
  refunded_cents: number;
  currency: string;
  credits: number;
  bonus_credits: number;
  pack: string | null;
  paid_at: string | null;
  created_at: string;
}

export class StatementService {
  constructor(private readonly db: Database) {}

  /** The currencies of the purchases these lines name, for "$12.50 paid" (one query per page). */
  async facts(rows: readonly StatementRow[]): Promise<StatementFacts> {
    const ids = [
      ...new Set(
        rows
          .map((row) => row.metadata.purchase_id)
          .filter((id): id is string => typeof id === 'string' && id.length <= 100),
      ),
    ];
    if (ids.length === 0) return { purchaseCurrencies: new Map() };
    const found = await this.db.query<{ id: string; currency: string }>(
      'select id, currency from purchases where id = any($1::text[])',
      [ids],
    );
    return { purchaseCurrencies: new Map(found.map((row) => [row.id, row.currency])) };
  }

  /** Lines with a `summary` in words, and a `receipt` id on a purchase. */
  async describe<Row extends StatementRow>(rows: Row[]) {
    const facts = await this.facts(rows);
    return rows.map((row) => ({
      ...row,
      status: 'posted' as const,
      summary: describeTransaction(row, facts),
      receipt:
        row.type === 'purchase' && typeof row.metadata.purchase_id === 'string'
          ? row.metadata.purchase_id
          : null,
    }));
  }

  /** What running generations reserve now: each held hold, newest first; nothing is taken yet. */
  async pending(customerId: string): Promise<PendingLine[]> {
    const rows = await this.db.query<{
      id: string;
      amount_micros: bigint | string;
      model: string | null;
      created_at: Date | string;
      expires_at: Date | string | null;
    }>(
      `select id, amount_micros, model, created_at, expires_at from holds
       where customer_id = $1 and status = 'held' and funding = 'credits' and amount_micros > 0
       order by created_at desc, id desc limit ${PENDING_ROWS}`,
      [customerId],
    );
    return rows.map((row) => {
      const amount = -microsToCredits(BigInt(row.amount_micros));
      return {
        id: row.id,
        type: 'pending',
        status: 'pending',
        amount,
        model: row.model,
        hold_id: row.id,
        summary: describeTransaction({
          type: 'pending',
          amount,
          model: row.model,
          source: null,
          description: null,
          metadata: {},
        }),
        created_at: new Date(row.created_at).toISOString(),
        expires_at: row.expires_at ? new Date(row.expires_at).toISOString() : null,
      };
    });
  }

  /** A purchase's receipt, only for its own customer (anyone else's is "not found"). */
  async receipt(customerId: string, purchaseId: string): Promise<Receipt> {
    const [row] = await this.db.query<{
      id: string;
      customer_id: string;
      app_id: string | null;
      app_name: string | null;
      status: string;
      amount_cents: bigint | string;
      refunded_cents: bigint | string;
      currency: string;
      credits_micros: bigint | string;
      bonus_micros: bigint | string;
      pack_code: string | null;
      completed_at: Date | string | null;
      created_at: Date | string;
    }>(
      `select p.id, p.customer_id, p.app_id, a.name as app_name, p.status, p.amount_cents, p.refunded_cents,
              p.currency, p.credits_micros, p.bonus_micros, p.pack_code, p.completed_at, p.created_at
       from purchases p left join apps a on a.id = p.app_id
       where p.id = $1 and p.customer_id = $2 and p.status <> 'pending' and p.status <> 'failed'`,
      [purchaseId, customerId],
    );
    if (!row) throw new TollgateError('not_found', `No receipt ${purchaseId}`);
    return {
      id: row.id,
      object: 'receipt',
      customer: row.customer_id,
      app: row.app_id ? { id: row.app_id, name: row.app_name ?? row.app_id } : null,
      status: row.status,
      amount_paid_cents: Number(row.amount_cents),
      refunded_cents: Number(row.refunded_cents),
      currency: row.currency.toLowerCase(),
      credits: microsToCredits(BigInt(row.credits_micros)),
      bonus_credits: microsToCredits(BigInt(row.bonus_micros)),
      pack: row.pack_code,
      paid_at: row.completed_at ? new Date(row.completed_at).toISOString() : null,
      created_at: new Date(row.created_at).toISOString(),
    };
  }

  /**
   * The whole statement as CSV, pending lines first, then every posted line newest first, read a
   * page at a time by id cursor and written before the next is read (waiting for `drain` when the
   * socket's buffer is full): memory stays at one page however long the history.
   */
  async exportCsv(
    customerId: string,
    toWire: (
      row: TransactionView,
    ) => StatementRow & { id: string; balance_after: number; created_at: string },
    response: ServerResponse,
  ): Promise<void> {
    response.writeHead(200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="statement.csv"',
      'cache-control': 'no-store',
    });
    let closed = false;
    response.on('close', () => {
      closed = true;
    });
    const write = async (text: string) => {
      if (response.write(text) || closed) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          response.off('drain', done);
          response.off('close', done);
          resolve();
        };
        response.on('drain', done);
        response.on('close', done);
      });
    };
    const line = (values: Record<(typeof STATEMENT_CSV_COLUMNS)[number], string | number | null>) =>
      `${STATEMENT_CSV_COLUMNS.map((column) => csvField(values[column])).join(',')}\n`;
    let chunk = `${STATEMENT_CSV_COLUMNS.join(',')}\n`;
    for (const pending of await this.pending(customerId)) {
      chunk += line({ ...pending, description: pending.summary, balance_after: null });
    }
    await write(chunk);
    let before: string | null = null;
    while (!closed) {
      const rows: LedgerRow[] = await this.db.query<LedgerRow>(
        `select id, type, amount_micros, balance_after_micros, model, hold_id, grant_id, metadata, created_at
         from ledger_transactions where customer_id = $1 ${before === null ? '' : 'and id < $2'}
         order by id desc limit ${STATEMENT_PAGE_ROWS}`,
        before === null ? [customerId] : [customerId, before],
      );
      if (rows.length === 0) break;
      before = String(rows[rows.length - 1]!.id);
      const wire = rows.map((row) =>
        toWire({
          id: `txn_${row.id}`,
          type: row.type,
          amountMicros: BigInt(row.amount_micros),
          balanceAfterMicros: BigInt(row.balance_after_micros),
          model: row.model,
          holdId: row.hold_id,
          grantId: row.grant_id,
          metadata: row.metadata ?? {},
          createdAt: new Date(row.created_at),
        }),
      );
      const facts = await this.facts(wire);
      await write(
        wire
          .map((row) => line({ ...row, status: 'posted', description: describeTransaction(row, facts) }))
          .join(''),
      );
      if (rows.length < STATEMENT_PAGE_ROWS) break;
    }
    response.end();
  }
}
