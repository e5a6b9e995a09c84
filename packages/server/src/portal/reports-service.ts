/**
 * Read-side reports for the dashboard and the partner view: a customer's usage by day and model type,
 * an app's customers with balances, its revenue and referral earnings by day, its latest usage. Reads
 * only; the ledger stays the one writer. Sums are exact (`bigint`) until the wire.
 */
import { minorUnitDigits } from '../config/credit-rate.ts';
import type { Catalog } from '../pricing/catalog.ts';
import type { Clock } from '../shared/clock.ts';
import { microsToCredits, minorUnitsToAmount } from '../shared/money.ts';
import type { Database } from '../store/database.ts';
import { partnerSeries, usageSeries, windowStart } from './report-series.ts';

/** Which customers a report covers: one app's, or every customer (the operator). */
export type AppScope = { kind: 'app'; appId: string } | { kind: 'all' };

const DAY_SQL = `to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD')`;

export class ReportsService {
  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly catalog: Catalog,
  ) {}

  private typeOf = (model: string | null): string =>
    model ? (this.catalog.find(model)?.type ?? 'operation') : 'operation';

  async customerUsage(customerId: string, days: number) {
    const now = this.clock.now();
    const rows = await this.db.query<{
      day: string;
      model: string | null;
      spent: bigint | string;
      count: bigint | number;
    }>(
      `select ${DAY_SQL} as day, t.model, sum(-t.amount_micros)::bigint as spent, count(*) as count
       from ledger_transactions t
       where t.customer_id = $1 and t.type = 'usage' and t.created_at >= $2::timestamptz and t.created_at <= $3::timestamptz
       group by 1, 2`,
      [customerId, windowStart(now, days).toISOString(), now.toISOString()],
    );
    return {
      object: 'usage_report',
      customer: customerId,
      currency: 'credits',
      ...usageSeries(
        rows.map((row) => ({
          day: row.day,
          model: row.model,
          spentMicros: BigInt(row.spent),
          count: Number(row.count),
        })),
        { now, days, typeOf: this.typeOf },
      ),
    };
  }

  async listCustomers(scope: AppScope, input: { limit: number; offset: number; search?: string }) {
    const parameters: unknown[] = [];
    const where: string[] = [];
    if (scope.kind === 'app') {
      parameters.push(scope.appId);
      where.push(`c.app_id = $${parameters.length}`);
    }
    if (input.search) {
      parameters.push(`%${input.search.replace(/[\\%_]/g, (character) => `\\${character}`)}%`);
      where.push(
        `(c.external_id ilike $${parameters.length} or c.email ilike $${parameters.length} or c.id = $${parameters.length + 1})`,
      );
      parameters.push(input.search);
    }
    parameters.push(input.limit + 1, input.offset);
    const rows = await this.db.query<{
      id: string;
      app_id: string | null;
      external_id: string | null;
      email: string | null;
      balance_micros: bigint | string;
      held_micros: bigint | string;
      created_at: Date | string;
      last_activity: Date | string | null;
    }>(
      `select c.id, c.app_id, c.external_id, c.email, c.balance_micros, c.held_micros, c.created_at,
              (select max(t.created_at) from ledger_transactions t where t.customer_id = c.id) as last_activity
       from customers c ${where.length ? `where ${where.join(' and ')}` : ''}
       order by c.created_at desc, c.id desc
       limit $${parameters.length - 1} offset $${parameters.length}`,
      parameters,
    );
    return {
      object: 'list',
      data: rows.slice(0, input.limit).map((row) => {
        const balance = BigInt(row.balance_micros);
        const held = BigInt(row.held_micros);
        return {
          id: row.id,
          object: 'customer',
          app_id: row.app_id,
          external_id: row.external_id,
          email: row.email,
          balance: microsToCredits(balance),
          pending: microsToCredits(held),
          available: microsToCredits(balance - held),
          created_at: new Date(row.created_at).toISOString(),
          last_activity_at: row.last_activity ? new Date(row.last_activity).toISOString() : null,
        };
      }),
      has_more: rows.length > input.limit,
    };
  }

  async partnerStats(scope: AppScope, days: number) {
    const now = this.clock.now();
    const from = windowStart(now, days).toISOString();
    const appFilter = scope.kind === 'app' ? 'and c.app_id = $3' : '';
    const parameters =
      scope.kind === 'app' ? [from, now.toISOString(), scope.appId] : [from, now.toISOString()];
    const usage = await this.db.query<{
      day: string;
      charged: bigint | string;
      provider_cost: bigint | string;
      referral_share: bigint | string;
      count: bigint | number;
    }>(
      `select ${DAY_SQL} as day, sum(-t.amount_micros)::bigint as charged,
              coalesce(sum((t.metadata->>'provider_cost')::bigint), 0)::bigint as provider_cost,
              coalesce(sum((t.metadata->>'referral_share')::bigint), 0)::bigint as referral_share,
              count(*) as count
       from ledger_transactions t join customers c on c.id = t.customer_id
       where t.type = 'usage' and t.created_at >= $1::timestamptz and t.created_at <= $2::timestamptz ${appFilter}
       group by 1`,
      parameters,
    );
    const purchases = await this.db.query<{
      day: string;
      amount_cents: bigint | string;
      count: bigint | number;
    }>(
      `select to_char(p.completed_at at time zone 'UTC', 'YYYY-MM-DD') as day, sum(p.amount_cents)::bigint as amount_cents,
              count(*) as count
       from purchases p join customers c on c.id = p.customer_id
       where p.completed_at is not null and p.completed_at >= $1::timestamptz and p.completed_at <= $2::timestamptz ${appFilter}
         and p.currency = 'usd'
       group by 1`,
      parameters,
    );
    // The daily series is in USD; purchases paid in other currencies are totalled apart, never added to it.
    const otherCurrencies = await this.db.query<{
      currency: string;
      amount_minor: bigint | string;
      count: bigint | number;
    }>(
      `select p.currency, sum(p.amount_cents)::bigint as amount_minor, count(*) as count
       from purchases p join customers c on c.id = p.customer_id
       where p.completed_at is not null and p.completed_at >= $1::timestamptz and p.completed_at <= $2::timestamptz ${appFilter}
         and p.currency <> 'usd'
       group by 1 order by 1`,
      parameters,
    );
    const subscriptionCharges = await this.db.query<{
      day: string;
      amount_cents: bigint | string;
      count: bigint | number;
    }>(
      `select to_char(s.paid_at at time zone 'UTC', 'YYYY-MM-DD') as day, sum(s.amount_cents)::bigint as amount_cents,
              count(*) as count
       from subscription_charges s join customers c on c.id = s.customer_id
       where s.status = 'paid' and s.paid_at >= $1::timestamptz and s.paid_at <= $2::timestamptz ${appFilter}
       group by 1`,
      parameters,
    );
    return {
      object: 'partner_stats',
      app: scope.kind === 'app' ? scope.appId : null,
      currency: 'credits',
      purchases_in_other_currencies: otherCurrencies.map((row) => ({
        currency: row.currency,
        amount: minorUnitsToAmount(BigInt(row.amount_minor), minorUnitDigits(row.currency)),
        count: Number(row.count),
      })),
      ...partnerSeries(
        usage.map((row) => ({
          day: row.day,
          chargedMicros: BigInt(row.charged),
          providerCostMicros: BigInt(row.provider_cost),
          referralShareMicros: BigInt(row.referral_share),
          count: Number(row.count),
        })),
        purchases.map((row) => ({
          day: row.day,
          amountCents: BigInt(row.amount_cents),
          count: Number(row.count),
        })),
        {
          now,
          days,
          subscriptionCharges: subscriptionCharges.map((row) => ({
            day: row.day,
            amountCents: BigInt(row.amount_cents),
            count: Number(row.count),
          })),
        },
      ),
    };
  }

  async recentUsage(scope: AppScope, limit: number) {
    const rows = await this.db.query<{
      id: bigint | string;
      customer_id: string;
      external_id: string | null;
      model: string | null;
      amount_micros: bigint | string;
      metadata: Record<string, unknown> | null;
      created_at: Date | string;
    }>(
      `select t.id, t.customer_id, c.external_id, t.model, t.amount_micros, t.metadata, t.created_at
       from ledger_transactions t join customers c on c.id = t.customer_id
       where t.type = 'usage' ${scope.kind === 'app' ? 'and c.app_id = $2' : ''}
       order by t.created_at desc, t.id desc
       limit $1`,
      scope.kind === 'app' ? [limit, scope.appId] : [limit],
    );
    const creditsOf = (value: unknown) =>
      typeof value === 'string' && /^-?\d+$/.test(value) ? microsToCredits(BigInt(value)) : null;
    return {
      object: 'list',
      data: rows.map((row) => ({
        id: `txn_${row.id}`,
        object: 'usage',
        customer: row.customer_id,
        external_id: row.external_id,
        model: row.model,
        type: this.typeOf(row.model),
        amount: microsToCredits(-BigInt(row.amount_micros)),
        provider_cost: creditsOf(row.metadata?.provider_cost),
        referral_share: creditsOf(row.metadata?.referral_share),
        created_at: new Date(row.created_at).toISOString(),
      })),
    };
  }
}
