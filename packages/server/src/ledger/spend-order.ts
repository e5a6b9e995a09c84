/**
 * Which credits a charge spends first. The engine keeps each account's grants sorted by
 * `compareSpendOrder`; the property tests restate the rule in their own model and check the database
 * against it.
 *
 *   1. the subscription allowance (it resets each period: use it or lose it);
 *   2. then the grant that expires soonest (never-expiring grants last);
 *   3. then promotional and gift credits before adjustments, and those before purchased credits;
 *   4. then the oldest grant.
 */
export const GRANT_SOURCES = ['purchase', 'promo', 'gift', 'allowance', 'adjustment'] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];

export const SOURCE_PRIORITY: Record<GrantSource, number> = {
  allowance: 0,
  promo: 1,
  gift: 1,
  adjustment: 2,
  purchase: 3,
};

/** The system account that funds each kind of grant (it goes negative by what it issued). */
export const FUNDING_ACCOUNT: Record<GrantSource, string> = {
  purchase: 'sys:purchases',
  promo: 'sys:promotions',
  gift: 'sys:gifts',
  allowance: 'sys:allowance',
  adjustment: 'sys:adjustments',
};

export interface SpendOrderKey {
  id: string;
  source: GrantSource;
  priority: number;
  expiresAt: Date | null;
  createdAt: Date;
}

export function compareSpendOrder(left: SpendOrderKey, right: SpendOrderKey): number {
  const leftAllowance = left.source === 'allowance' ? 0 : 1;
  const rightAllowance = right.source === 'allowance' ? 0 : 1;
  if (leftAllowance !== rightAllowance) return leftAllowance - rightAllowance;
  const leftExpiry = left.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const rightExpiry = right.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (leftExpiry !== rightExpiry) return leftExpiry < rightExpiry ? -1 : 1;
  if (left.priority !== right.priority) return left.priority - right.priority;
  if (left.createdAt.getTime() !== right.createdAt.getTime())
    return left.createdAt < right.createdAt ? -1 : 1;
  return left.id < right.id ? -1 : left.id > right.id ? 1 : 0;
}
