/**
 * The books, checked from the database alone. Each check is a query that returns the rows that break
 * an invariant; a clean ledger returns none. `tollgate audit` and the crash test print this report.
 */
import { sql } from 'kysely';
import type { Clock } from '../shared/clock.ts';
import type { Database } from '../store/database.ts';

export interface AuditReport {
  ok: boolean;
  checkedAt: string;
  customers: number;
  transactions: number;
  /** Σ over every account's entries; zero when every transfer is balanced. */
  totalMicros: bigint;
  systemAccounts: Record<string, bigint>;
  problems: { check: string; count: number; sample: unknown[] }[];
}

const CHECKS: { name: string; query: string }[] = [
  {
    name: 'transactions whose legs do not sum to zero',
    query: `select transaction_id, sum(amount_micros)::text as total from ledger_entries
            group by transaction_id having sum(amount_micros) <> 0`,
  },
  {
    name: 'customer balance differs from the sum of its entries',
    query: `select c.id, c.balance_micros::text as balance, coalesce(e.total, 0)::text as entries
            from customers c left join (select account_id, sum(amount_micros) as total from ledger_entries group by account_id) e
              on e.account_id = c.id
            where c.balance_micros <> coalesce(e.total, 0)`,
  },
  {
    name: 'customer balance differs from the sum of grant remainders',
    query: `select c.id, c.balance_micros::text as balance, coalesce(g.total, 0)::text as grants
            from customers c left join (select customer_id, sum(remaining_micros) as total from grants group by customer_id) g
              on g.customer_id = c.id
            where c.balance_micros <> coalesce(g.total, 0)`,
  },
  {
    name: 'customer held amount differs from open holds and from grant reservations',
    query: `select c.id, c.held_micros::text as held, coalesce(h.total, 0)::text as holds, coalesce(g.total, 0)::text as reserved
            from customers c
            left join (select customer_id, sum(amount_micros) as total from holds
                       where status = 'held' and funding = 'credits' group by customer_id) h on h.customer_id = c.id
            left join (select customer_id, sum(reserved_micros) as total from grants group by customer_id) g on g.customer_id = c.id
            where c.held_micros <> coalesce(h.total, 0) or c.held_micros <> coalesce(g.total, 0)`,
  },
  {
    name: 'history does not replay to the stored balance',
    query: `select customer_id, id from (
              select customer_id, id, balance_after_micros,
                     sum(amount_micros) over (partition by customer_id order by id) as running
              from ledger_transactions) t
            where running <> balance_after_micros
            union all
            select c.id, null from customers c
            where c.balance_micros <> coalesce((select balance_after_micros from ledger_transactions t
                                               where t.customer_id = c.id order by id desc limit 1), 0)`,
  },
  {
    name: 'entries on unknown accounts',
    query: `select distinct e.account_id from ledger_entries e
            where not exists (select 1 from customers c where c.id = e.account_id)
              and not exists (select 1 from ledger_accounts a where a.id = e.account_id)`,
  },
  {
    // The append-heavy tables carry no foreign keys (store/migrations/0010): the references are checked here.
    // A leg must also name its transaction's customer: the two share a shard on a distributed cluster.
    name: 'holds, transactions or legs that point at nothing',
    query: `select 'hold' as kind, h.id::text as id from holds h
              where not exists (select 1 from customers c where c.id = h.customer_id)
            union all
            select 'transaction', t.id::text from ledger_transactions t
              where not exists (select 1 from customers c where c.id = t.customer_id)
            union all
            select 'leg', e.transaction_id::text from ledger_entries e
              where not exists (select 1 from ledger_transactions t
                                where t.id = e.transaction_id and t.customer_id = e.customer_id)
                -- A partner payout moves no customer's money: its legs belong to its partner_payouts row.
                and not exists (select 1 from partner_payouts p
                                where p.transaction_id = e.transaction_id and e.customer_id = '')`,
  },
  {
    name: 'captured hold without a matching usage transaction',
    query: `select h.id from holds h
            where h.status = 'captured' and h.funding = 'credits' and h.captured_micros > 0
              and not exists (select 1 from ledger_transactions t where t.id = h.transaction_id and -t.amount_micros = h.captured_micros)`,
  },
];

/**
 * `graceSeconds`: an open hold counts as stuck only once it is that long past its timeout. Tests that
 * control the clock use 0; `tollgate audit` on a live server gives the sweeper two of its intervals
 * (DEFAULT_AUDIT_GRACE_SECONDS), since a hold that expired a moment ago is open until the next sweep.
 */
export async function auditLedger(db: Database, clock: Clock, graceSeconds = 0): Promise<AuditReport> {
  const problems: AuditReport['problems'] = [];
  for (const check of CHECKS) {
    const rows = await db.query(check.query);
    if (rows.length > 0) problems.push({ check: check.name, count: rows.length, sample: rows.slice(0, 5) });
  }
  const cutoff = new Date(clock.now().getTime() - graceSeconds * 1000).toISOString();
  const stuck = await db.query<{ id: string }>(
    `select id from holds where status = 'held' and expires_at < $1::timestamptz limit 5`,
    [cutoff],
  );
  if (stuck.length > 0) {
    problems.push({ check: 'holds still open past their timeout', count: stuck.length, sample: stuck });
  }
  const totals = await db.kysely
    .selectFrom('ledger_entries')
    .select(['account_id', sql<string>`sum(amount_micros)::text`.as('total')])
    .where('account_id', 'not in', db.kysely.selectFrom('customers').select('id'))
    .groupBy('account_id')
    .execute();
  const systemAccounts: Record<string, bigint> = {};
  for (const row of totals) systemAccounts[row.account_id] = BigInt(row.total);
  const [{ total }] = await db.query<{ total: string }>(
    'select coalesce(sum(amount_micros), 0)::text as total from ledger_entries',
  );
  const [{ customers }] = await db.query<{ customers: string }>(
    'select count(*)::text as customers from customers',
  );
  const [{ transactions }] = await db.query<{ transactions: string }>(
    'select count(*)::text as transactions from ledger_transactions',
  );
  const totalMicros = BigInt(total!);
  if (totalMicros !== 0n)
    problems.push({ check: 'sum over all accounts is not zero', count: 1, sample: [total] });
  return {
    ok: problems.length === 0,
    checkedAt: clock.now().toISOString(),
    customers: Number(customers),
    transactions: Number(transactions),
    totalMicros,
    systemAccounts,
    problems,
  };
}
