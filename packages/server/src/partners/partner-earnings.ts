/**
 * Partner earnings: what each app earned as its referral share, month by month, what the operator paid
 * out, and what is still owed. The referral account `ref:<app>` is a system account: its balance is
 * derived from its entries (ledger/README.md), so what is owed is the sum of its legs — the shares
 * captures paid it, less the payouts.
 *
 * A payout is one balanced transaction of its own, `ref:<app>` −amount and `sys:payouts` +amount, under
 * a transaction id from the same sequence as `ledger_transactions` (it moves no customer's money, so it
 * has no history row; `partner_payouts` points at its legs and the audit knows them). It is refused
 * past what is owed; two payouts of one app are serialised on its account row, so together they never
 * pay out more than was earned.
 */
import { referralAccountId } from '../apps/apps-service.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import { microsToCredits } from '../shared/money.ts';
import type { Database } from '../store/database.ts';

export const PAYOUTS_ACCOUNT = 'sys:payouts';

interface PayoutRow {
  id: string;
  app_id: string;
  amount_micros: bigint;
  reference: string | null;
  note: string | null;
  created_at: Date;
}

function payoutWire(row: PayoutRow) {
  return {
    id: row.id,
    object: 'payout',
    app: row.app_id,
    amount: microsToCredits(BigInt(row.amount_micros)),
    reference: row.reference,
    note: row.note,
    created_at: new Date(row.created_at).toISOString(),
  };
}

export class PartnerEarnings {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
  ) {}

  /** Earned (referral shares, less any reversed), paid out and owed; per UTC month and in total. */
  async statement(appId: string) {
    const account = referralAccountId(appId);
    const [known] = await this.db.query('select 1 from ledger_accounts where id = $1', [account]);
    if (!known) throw new TollgateError('not_found', `No such app: ${appId}`);
    const earned = await this.db.query<{ period: string; earned: string }>(
      `select to_char(date_trunc('month', t.created_at at time zone 'UTC'), 'YYYY-MM') as period,
              sum(e.amount_micros)::text as earned
       from ledger_entries e join ledger_transactions t on t.id = e.transaction_id
       where e.account_id = $1 group by 1`,
      [account],
    );
    const payouts = await this.db.query<PayoutRow>(
      'select id, app_id, amount_micros, reference, note, created_at from partner_payouts where app_id = $1 order by created_at, id',
      [appId],
    );
    const [{ balance }] = (await this.db.query<{ balance: string }>(
      'select coalesce(sum(amount_micros), 0)::text as balance from ledger_entries where account_id = $1',
      [account],
    )) as [{ balance: string }];
    const periods = new Map<string, { earned: bigint; paid: bigint }>();
    const periodOf = (key: string) => {
      let period = periods.get(key);
      if (!period) {
        period = { earned: 0n, paid: 0n };
        periods.set(key, period);
      }
      return period;
    };
    for (const row of earned) periodOf(row.period).earned += BigInt(row.earned);
    for (const payout of payouts) {
      periodOf(new Date(payout.created_at).toISOString().slice(0, 7)).paid += BigInt(payout.amount_micros);
    }
    const earnedMicros = earned.reduce((sum, row) => sum + BigInt(row.earned), 0n);
    const paidMicros = payouts.reduce((sum, row) => sum + BigInt(row.amount_micros), 0n);
    return {
      object: 'partner_earnings',
      app: appId,
      account,
      earned: microsToCredits(earnedMicros),
      paid: microsToCredits(paidMicros),
      // The account's own balance: earned − paid, read from the entries themselves.
      owed: microsToCredits(BigInt(balance)),
      periods: [...periods.entries()]
        .sort(([left], [right]) => (left < right ? -1 : 1))
        .map(([period, totals]) => ({
          period,
          earned: microsToCredits(totals.earned),
          paid: microsToCredits(totals.paid),
        })),
      payouts: payouts.map(payoutWire),
    };
  }

  /** Records money paid to the app outside Tollgate: debits `ref:<app>`, refused past what is owed. */
  async recordPayout(appId: string, input: { amountMicros: bigint; reference?: string; note?: string }) {
    const account = referralAccountId(appId);
    const now = this.clock.now().toISOString();
    const row = await this.db.transaction(async (query) => {
      const [locked] = await query('select id from ledger_accounts where id = $1 for update', [account]);
      if (!locked) throw new TollgateError('not_found', `No such app: ${appId}`);
      const [{ owed }] = (await query<{ owed: string }>(
        'select coalesce(sum(amount_micros), 0)::text as owed from ledger_entries where account_id = $1',
        [account],
      )) as [{ owed: string }];
      if (input.amountMicros > BigInt(owed)) {
        throw new TollgateError(
          'invalid_request',
          `A payout of ${microsToCredits(input.amountMicros)} credits is more than the ${microsToCredits(BigInt(owed))} owed to this app`,
          { param: 'amount', owed: microsToCredits(BigInt(owed)) },
        );
      }
      // An id no ledger transaction will take: the history's own sequence.
      const [{ id: transactionId }] = (await query<{ id: string }>(
        `select nextval(pg_get_serial_sequence('ledger_transactions', 'id'))::text as id`,
      )) as [{ id: string }];
      await query(
        // No customer's money moves: the legs carry the empty customer id (one shard on a cluster).
        `insert into ledger_entries (transaction_id, customer_id, account_id, amount_micros)
         values ($1::bigint, '', $2, $3::bigint), ($1::bigint, '', $4, $5::bigint)`,
        [
          transactionId,
          account,
          (-input.amountMicros).toString(),
          PAYOUTS_ACCOUNT,
          input.amountMicros.toString(),
        ],
      );
      const [payout] = await query<PayoutRow>(
        `insert into partner_payouts (id, app_id, transaction_id, amount_micros, reference, note, created_at)
         values ($1, $2, $3::bigint, $4::bigint, $5, $6, $7::timestamptz)
         returning id, app_id, amount_micros, reference, note, created_at`,
        [
          newId('po', 12),
          appId,
          transactionId,
          input.amountMicros.toString(),
          input.reference ?? null,
          input.note ?? null,
          now,
        ],
      );
      return { payout: payout!, owedAfter: BigInt(owed) - input.amountMicros };
    });
    return { ...payoutWire(row.payout), owed_after: microsToCredits(row.owedAfter) };
  }
}
