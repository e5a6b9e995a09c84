/**
 * Which credits a charge spends first, and which grants may pay for it at all. The engine keeps each
 * account's grants sorted by `compareSpendOrder`; the property tests restate the rule in their own
 * model and check the database against it.
 *
 *   1. the subscription allowance (it resets each period: use it or lose it);
 *   2. then the grant with the lowest explicit `priority` (0–100; a grant given none has
 *      `DEFAULT_PRIORITY`, 50, so that an app can put a grant before or after the ordinary ones);
 *   3. then the grant that expires soonest (never-expiring grants last);
 *   4. then promotional and gift credits before adjustments, and those before purchased credits;
 *   5. then the oldest grant.
 *
 * Only grants whose scope pays for the work take part (`grantPaysFor`): a grant scoped to model types
 * and/or model ids pays only for those; a grant without a scope pays for anything.
 */
export const GRANT_SOURCES = ['purchase', 'promo', 'gift', 'allowance', 'adjustment'] as const;
export type GrantSource = (typeof GRANT_SOURCES)[number];

/** Rank of each source at step 4 (derived from the source, never stored). */
export const SOURCE_PRIORITY: Record<GrantSource, number> = {
  allowance: 0,
  promo: 1,
  gift: 1,
  adjustment: 2,
  purchase: 3,
};

/** The explicit priority of a grant that was given none: the middle, so others can go before or after. */
export const DEFAULT_PRIORITY = 50;
export const MAX_PRIORITY = 100;

/** The system account that funds each kind of grant (it goes negative by what it issued). */
export const FUNDING_ACCOUNT: Record<GrantSource, string> = {
  purchase: 'sys:purchases',
  promo: 'sys:promotions',
  gift: 'sys:gifts',
  allowance: 'sys:allowance',
  adjustment: 'sys:adjustments',
};

/** What a grant may pay for: model types (`chat`, `image`, …) and/or model ids; either matches. */
export interface GrantScope {
  types?: string[];
  models?: string[];
}

/** The work a hold pays for: its model and that model's type (either may be unknown). */
export interface GrantUse {
  model?: string | null;
  modelType?: string | null;
}

/**
 * Whether a grant of this scope may pay for the work. No scope: anything. A scope: the work's model id
 * is one of its models, or the work's model type one of its types; work that names neither is paid
 * only by grants without a scope.
 */
export function grantPaysFor(scope: GrantScope | null, use: GrantUse): boolean {
  if (scope === null) return true;
  if (use.model != null && scope.models?.includes(use.model)) return true;
  return use.modelType != null && scope.types?.includes(use.modelType) === true;
}

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
  if (left.priority !== right.priority) return left.priority - right.priority;
  const leftExpiry = left.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  const rightExpiry = right.expiresAt?.getTime() ?? Number.POSITIVE_INFINITY;
  if (leftExpiry !== rightExpiry) return leftExpiry < rightExpiry ? -1 : 1;
  const leftRank = SOURCE_PRIORITY[left.source];
  const rightRank = SOURCE_PRIORITY[right.source];
  if (leftRank !== rightRank) return leftRank - rightRank;
  if (left.createdAt.getTime() !== right.createdAt.getTime())
    return left.createdAt < right.createdAt ? -1 : 1;
  return left.id < right.id ? -1 : left.id > right.id ? 1 : 0;
}
