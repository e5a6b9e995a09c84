/**
 * Daily series for the dashboard's usage chart and the partner view, as pure functions: the SQL
 * groups by UTC day, these fill the days without activity, fold models into their catalog type and
 * turn exact micro-credit sums into wire numbers once, at the end.
 */
import { microsToCredits } from '../shared/money.ts';

const DAY_MILLISECONDS = 86_400_000;

/** The first instant (00:00 UTC) of a window of `days` days that ends today. */
export function windowStart(now: Date, days: number): Date {
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  return new Date(today - (days - 1) * DAY_MILLISECONDS);
}

/** The window's days as `YYYY-MM-DD`, oldest first. */
export function dayKeys(now: Date, days: number): string[] {
  const start = windowStart(now, days).getTime();
  return Array.from({ length: days }, (_, index) =>
    new Date(start + index * DAY_MILLISECONDS).toISOString().slice(0, 10),
  );
}

export interface UsageRow {
  day: string;
  model: string | null;
  spentMicros: bigint;
  count: number;
}

/** Credits spent per day and model type (a model missing from the catalog counts as `operation`). */
export function usageSeries(
  rows: UsageRow[],
  options: { now: Date; days: number; typeOf(model: string | null): string },
) {
  const keys = dayKeys(options.now, options.days);
  const perDay = new Map(keys.map((key) => [key, new Map<string, bigint>()]));
  const perModel = new Map<string, { type: string; spentMicros: bigint; count: number }>();
  const perType = new Map<string, bigint>();
  let totalMicros = 0n;
  for (const row of rows) {
    const day = perDay.get(row.day);
    if (!day) continue;
    const type = options.typeOf(row.model);
    day.set(type, (day.get(type) ?? 0n) + row.spentMicros);
    perType.set(type, (perType.get(type) ?? 0n) + row.spentMicros);
    const modelKey = row.model ?? '(unknown)';
    const model = perModel.get(modelKey) ?? { type, spentMicros: 0n, count: 0 };
    model.spentMicros += row.spentMicros;
    model.count += row.count;
    perModel.set(modelKey, model);
    totalMicros += row.spentMicros;
  }
  const types = [...perType.keys()].sort();
  return {
    days: options.days,
    from: keys[0]!,
    to: keys[keys.length - 1]!,
    types,
    total: microsToCredits(totalMicros),
    totals_by_type: Object.fromEntries(types.map((type) => [type, microsToCredits(perType.get(type)!)])),
    data: keys.map((key) => {
      const day = perDay.get(key)!;
      let dayTotal = 0n;
      for (const value of day.values()) dayTotal += value;
      return {
        date: key,
        total: microsToCredits(dayTotal),
        by_type: Object.fromEntries(types.map((type) => [type, microsToCredits(day.get(type) ?? 0n)])),
      };
    }),
    by_model: [...perModel.entries()]
      .sort((left, right) =>
        left[1].spentMicros === right[1].spentMicros
          ? 0
          : left[1].spentMicros > right[1].spentMicros
            ? -1
            : 1,
      )
      .map(([model, value]) => ({
        model,
        type: value.type,
        amount: microsToCredits(value.spentMicros),
        count: value.count,
      })),
  };
}

export interface PartnerUsageRow {
  day: string;
  chargedMicros: bigint;
  providerCostMicros: bigint;
  referralShareMicros: bigint;
  count: number;
}

export interface PartnerPurchaseRow {
  day: string;
  amountCents: bigint;
  count: number;
}

/** Per day: credits charged for usage, the provider-cost and referral parts of it, and purchases in dollars. */
export function partnerSeries(
  usage: PartnerUsageRow[],
  purchases: PartnerPurchaseRow[],
  options: { now: Date; days: number; subscriptionCharges?: PartnerPurchaseRow[] },
) {
  const keys = dayKeys(options.now, options.days);
  const zero = () => ({
    charged: 0n,
    providerCost: 0n,
    referralShare: 0n,
    usageCount: 0,
    purchaseCents: 0n,
    purchaseCount: 0,
    subscriptionCents: 0n,
    subscriptionCount: 0,
  });
  const perDay = new Map(keys.map((key) => [key, zero()]));
  const total = zero();
  for (const row of usage) {
    const day = perDay.get(row.day);
    if (!day) continue;
    for (const target of [day, total]) {
      target.charged += row.chargedMicros;
      target.providerCost += row.providerCostMicros;
      target.referralShare += row.referralShareMicros;
      target.usageCount += row.count;
    }
  }
  for (const row of purchases) {
    const day = perDay.get(row.day);
    if (!day) continue;
    for (const target of [day, total]) {
      target.purchaseCents += row.amountCents;
      target.purchaseCount += row.count;
    }
  }
  // Plan payments (starts, upgrades, renewals) are revenue too, counted apart from credit purchases.
  for (const row of options.subscriptionCharges ?? []) {
    const day = perDay.get(row.day);
    if (!day) continue;
    for (const target of [day, total]) {
      target.subscriptionCents += row.amountCents;
      target.subscriptionCount += row.count;
    }
  }
  const wire = (value: ReturnType<typeof zero>) => ({
    usage_charged: microsToCredits(value.charged),
    provider_cost: microsToCredits(value.providerCost),
    referral_share: microsToCredits(value.referralShare),
    usage_count: value.usageCount,
    purchases_usd: Number(value.purchaseCents) / 100,
    purchases_count: value.purchaseCount,
    subscriptions_usd: Number(value.subscriptionCents) / 100,
    subscriptions_count: value.subscriptionCount,
  });
  return {
    days: options.days,
    from: keys[0]!,
    to: keys[keys.length - 1]!,
    totals: wire(total),
    data: keys.map((key) => ({ date: key, ...wire(perDay.get(key)!) })),
  };
}
