/**
 * What a customer may do, from the same plan data that bills them (Autumn's `check` and `track`):
 * the live subscription's plan and the packs they bought carry features (config `plans[].features`,
 * `purchases.packs[].features`). Switches are on if any source turns them on, limits are the largest
 * any source gives, and metered features have the plan's allowance per subscription period, drawn
 * from by `track` — atomically, in one conditional upsert, so concurrent tracks never pass it.
 */
import type { Feature, FeatureKind, TollgateConfig } from '../config/types.ts';
import type { Clock } from '../shared/clock.ts';
import { TollgateError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import type { Database } from '../store/database.ts';

/** Why `check` refused; null when it allowed. */
export type CheckReason = 'not_included' | 'limit_exceeded' | 'allowance_exhausted' | null;

export interface Entitlement {
  feature: string;
  kind: FeatureKind;
  /** Switches: on or off. Limits and metered features: whether any source grants them. */
  enabled: boolean;
  /** Limits: the largest limit any source grants. */
  limit: number | null;
  /** Metered: the allowance of the current period, what was used of it, and what remains. */
  allowance: number | null;
  used: number | null;
  remaining: number | null;
  /** Metered: when the allowance resets (the end of the subscription period). */
  resetsAt: string | null;
  /** Where it comes from: `plan:<code>`, `pack:<code>`. */
  sources: string[];
}

export interface CustomerEntitlements {
  plan: string | null;
  periodStart: Date | null;
  periodEnd: Date | null;
  features: Entitlement[];
}

export interface CheckResult {
  feature: string;
  allowed: boolean;
  /** Limits: the limit; metered: what remains after the period's use; switches: null. */
  remaining: number | null;
  reason: CheckReason;
  entitlement: Entitlement;
}

export interface TrackResult {
  id: string;
  feature: string;
  quantity: number;
  used: number;
  remaining: number;
  allowance: number;
  periodStart: string;
  resetsAt: string | null;
}

/** A plan's or pack's features as the config file writes them: `true`, `10`, `{monthly: 100}`. */
export function featuresWire(
  features: Record<string, Feature>,
): Record<string, boolean | number | { monthly: number }> {
  return Object.fromEntries(
    Object.entries(features).map(([name, feature]) => [
      name,
      feature.kind === 'boolean'
        ? feature.enabled
        : feature.kind === 'limit'
          ? feature.limit
          : { monthly: feature.monthlyAllowance },
    ]),
  );
}

interface PlanRow {
  plan_code: string;
  current_period_start: Date | null;
  current_period_end: Date | null;
}

export class EntitlementsService {
  /** Every feature the config names and its kind: a feature nobody declares is a typo, refused. */
  private readonly declared = new Map<string, FeatureKind>();

  constructor(
    private readonly db: Database,
    private readonly config: TollgateConfig,
    private readonly clock: Clock,
  ) {
    for (const owner of [...config.plans, ...config.purchases.packs]) {
      for (const [name, feature] of Object.entries(owner.features)) this.declared.set(name, feature.kind);
    }
  }

  /** The customer's plan (live subscription) and the codes of the packs they bought, in one read. */
  private async sources(customerId: string): Promise<{ plan: PlanRow | null; packs: string[] }> {
    const rows = await this.db.query<{
      source: 'plan' | 'pack';
      code: string;
      start: Date | null;
      end: Date | null;
    }>(
      `select 'plan' as source, plan_code as code, current_period_start as start, current_period_end as "end"
         from subscriptions where customer_id = $1 and status in ('active', 'past_due')
       union all
       select distinct 'pack', pack_code, null::timestamptz, null::timestamptz
         from purchases where customer_id = $1 and kind = 'pack' and status in ('completed', 'partially_refunded')
           and pack_code is not null`,
      [customerId],
    );
    const planRow = rows.find((row) => row.source === 'plan');
    return {
      plan: planRow
        ? { plan_code: planRow.code, current_period_start: planRow.start, current_period_end: planRow.end }
        : null,
      packs: rows.filter((row) => row.source === 'pack').map((row) => row.code),
    };
  }

  async entitlements(customerId: string): Promise<CustomerEntitlements> {
    const { plan: planRow, packs } = await this.sources(customerId);
    const plan = planRow
      ? this.config.plans.find((candidate) => candidate.code === planRow.plan_code)
      : undefined;
    const periodStart = planRow?.current_period_start ? new Date(planRow.current_period_start) : null;
    const periodEnd = planRow?.current_period_end ? new Date(planRow.current_period_end) : null;
    const granted: [string, Record<string, Feature>][] = [];
    if (plan) granted.push([`plan:${plan.code}`, plan.features]);
    for (const code of packs) {
      const pack = this.config.purchases.packs.find((candidate) => candidate.code === code);
      if (pack) granted.push([`pack:${pack.code}`, pack.features]);
    }
    const used = periodStart ? await this.usedInPeriod(customerId, periodStart) : new Map<string, number>();
    const features: Entitlement[] = [];
    for (const [name, kind] of this.declared) {
      const entitlement: Entitlement = {
        feature: name,
        kind,
        enabled: false,
        limit: null,
        allowance: null,
        used: null,
        remaining: null,
        resetsAt: null,
        sources: [],
      };
      for (const [source, owned] of granted) {
        const feature = owned[name];
        if (!feature) continue;
        if (feature.kind === 'boolean') {
          if (feature.enabled) entitlement.sources.push(source);
          entitlement.enabled ||= feature.enabled;
        } else if (feature.kind === 'limit') {
          entitlement.sources.push(source);
          entitlement.enabled = true;
          entitlement.limit = Math.max(entitlement.limit ?? 0, feature.limit);
        } else if (periodStart) {
          entitlement.sources.push(source);
          entitlement.enabled = true;
          entitlement.allowance = (entitlement.allowance ?? 0) + feature.monthlyAllowance;
        }
      }
      if (kind === 'metered' && entitlement.allowance !== null) {
        entitlement.used = used.get(name) ?? 0;
        entitlement.remaining = Math.max(0, entitlement.allowance - entitlement.used);
        entitlement.resetsAt = periodEnd?.toISOString() ?? null;
      }
      features.push(entitlement);
    }
    return { plan: plan?.code ?? null, periodStart, periodEnd, features };
  }

  private async usedInPeriod(customerId: string, periodStart: Date): Promise<Map<string, number>> {
    const rows = await this.db.query<{ feature: string; used: bigint }>(
      'select feature, used from feature_usage where customer_id = $1 and period_start = $2::timestamptz',
      [customerId, periodStart.toISOString()],
    );
    return new Map(rows.map((row) => [row.feature, Number(row.used)]));
  }

  private entitlementOf(entitlements: CustomerEntitlements, feature: string): Entitlement {
    if (!this.declared.has(feature)) {
      throw new TollgateError('invalid_request', `No plan or pack declares the feature "${feature}"`, {
        param: 'feature',
      });
    }
    return entitlements.features.find((candidate) => candidate.feature === feature)!;
  }

  /**
   * Whether the customer may use `quantity` of `feature` now. A switch: whether it is on. A limit:
   * whether `quantity` (the total the customer would have, e.g. their 11th project) is within it. A
   * metered feature: whether `quantity` more fits in what remains of the period's allowance.
   */
  async check(customerId: string, feature: string, quantity: number): Promise<CheckResult> {
    const entitlement = this.entitlementOf(await this.entitlements(customerId), feature);
    const result = (allowed: boolean, remaining: number | null, reason: CheckReason): CheckResult => ({
      feature,
      allowed,
      remaining,
      reason: allowed ? null : reason,
      entitlement,
    });
    if (!entitlement.enabled) return result(false, entitlement.kind === 'boolean' ? null : 0, 'not_included');
    if (entitlement.kind === 'boolean') return result(true, null, null);
    if (entitlement.kind === 'limit') {
      return result(quantity <= entitlement.limit!, entitlement.limit, 'limit_exceeded');
    }
    return result(quantity <= entitlement.remaining!, entitlement.remaining, 'allowance_exhausted');
  }

  /**
   * Records `quantity` of a metered feature against the period's allowance, or refuses it
   * (`402 feature_limit_exceeded`) when it would pass. Under an idempotency key the first answer is
   * stored with the usage in one transaction and replayed to a retry (another body under the same
   * key is `idempotency_conflict`); a refused track stores nothing and may be retried later.
   */
  async track(
    customerId: string,
    feature: string,
    quantity: number,
    idempotencyKey: string | undefined,
  ): Promise<TrackResult> {
    const entitlements = await this.entitlements(customerId);
    const entitlement = this.entitlementOf(entitlements, feature);
    if (entitlement.kind !== 'metered') {
      throw new TollgateError(
        'invalid_request',
        `"${feature}" is a ${entitlement.kind} feature: only metered features are tracked`,
        {
          param: 'feature',
        },
      );
    }
    if (idempotencyKey !== undefined) {
      const replay = await this.storedTrack(customerId, idempotencyKey, feature, quantity);
      if (replay) return replay;
    }
    const periodStart = entitlements.periodStart;
    if (!entitlement.enabled || entitlement.allowance === null || !periodStart) {
      throw new TollgateError('feature_limit_exceeded', `The customer's plan does not include "${feature}"`, {
        feature,
        reason: 'not_included',
        remaining: 0,
      });
    }
    const allowance = entitlement.allowance;
    const id = newId('trk', 16);
    try {
      return await this.db.transaction(async (query) => {
        // The key is claimed first: a concurrent retry waits here, then replays this track's answer.
        if (idempotencyKey !== undefined) {
          const claimed = await query(
            `insert into feature_tracks (customer_id, idempotency_key, feature, quantity, period_start, response, created_at)
             values ($1, $2, $3, $4, $5::timestamptz, '{}'::jsonb, $6::timestamptz)
             on conflict (customer_id, idempotency_key) do nothing returning 1`,
            [
              customerId,
              idempotencyKey,
              feature,
              quantity,
              periodStart.toISOString(),
              this.clock.now().toISOString(),
            ],
          );
          if (claimed.length === 0) throw new DuplicateTrack();
        }
        // The allowance is checked by the row update itself: concurrent tracks queue on the row.
        const [row] = await query<{ used: bigint }>(
          `insert into feature_usage (customer_id, feature, period_start, used)
           select $1, $2, $3::timestamptz, $4::bigint where $4::bigint <= $5::bigint
           on conflict (customer_id, feature, period_start)
           do update set used = feature_usage.used + excluded.used
           where feature_usage.used + excluded.used <= $5::bigint
           returning used`,
          [customerId, feature, periodStart.toISOString(), quantity, allowance],
        );
        if (!row) {
          const [current] = await query<{ used: bigint }>(
            'select used from feature_usage where customer_id = $1 and feature = $2 and period_start = $3::timestamptz',
            [customerId, feature, periodStart.toISOString()],
          );
          const used = Number(current?.used ?? 0n);
          throw new TollgateError(
            'feature_limit_exceeded',
            `Tracking ${quantity} of "${feature}" would pass the allowance (${used} of ${allowance} used)`,
            {
              feature,
              reason: 'allowance_exhausted',
              remaining: Math.max(0, allowance - used),
              allowance,
              used,
            },
          );
        }
        const used = Number(row.used);
        const result: TrackResult = {
          id,
          feature,
          quantity,
          used,
          remaining: allowance - used,
          allowance,
          periodStart: periodStart.toISOString(),
          resetsAt: entitlements.periodEnd?.toISOString() ?? null,
        };
        if (idempotencyKey !== undefined) {
          await query(
            'update feature_tracks set response = $3::jsonb where customer_id = $1 and idempotency_key = $2',
            [customerId, idempotencyKey, JSON.stringify(result)],
          );
        }
        return result;
      });
    } catch (error) {
      if (error instanceof DuplicateTrack && idempotencyKey !== undefined) {
        const replay = await this.storedTrack(customerId, idempotencyKey, feature, quantity);
        if (replay) return replay;
      }
      throw error;
    }
  }

  private async storedTrack(
    customerId: string,
    idempotencyKey: string,
    feature: string,
    quantity: number,
  ): Promise<TrackResult | null> {
    const [stored] = await this.db.query<{
      feature: string;
      quantity: bigint;
      response: TrackResult | string;
    }>(
      'select feature, quantity, response from feature_tracks where customer_id = $1 and idempotency_key = $2',
      [customerId, idempotencyKey],
    );
    if (!stored) return null;
    if (stored.feature !== feature || Number(stored.quantity) !== quantity) {
      throw new TollgateError('idempotency_conflict', 'This Idempotency-Key was used for another track');
    }
    return typeof stored.response === 'string' ? JSON.parse(stored.response) : stored.response;
  }
}

/** Another request claimed the same idempotency key in the meantime; its answer is replayed. */
class DuplicateTrack extends Error {}
