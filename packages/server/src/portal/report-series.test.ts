import { describe, expect, it } from 'vitest';
import { dayKeys, partnerSeries, usageSeries, windowStart } from './report-series.ts';

const now = new Date('2026-03-10T15:30:00Z');

describe('day windows', () => {
  it('ends today (UTC) and starts days-1 earlier', () => {
    expect(windowStart(now, 30).toISOString()).toBe('2026-02-09T00:00:00.000Z');
    expect(dayKeys(now, 3)).toEqual(['2026-03-08', '2026-03-09', '2026-03-10']);
    expect(dayKeys(now, 30)).toHaveLength(30);
  });
});

describe('usageSeries', () => {
  const types: Record<string, string> = { 'fal-ai/flux/schnell': 'image', 'fal-ai/veo3': 'video' };
  const typeOf = (model: string | null) => (model && types[model]) ?? 'operation';

  it('folds models into types per day, fills empty days and sums exactly', () => {
    const series = usageSeries(
      [
        { day: '2026-03-09', model: 'fal-ai/flux/schnell', spentMicros: 100_000n, count: 1 },
        { day: '2026-03-09', model: 'fal-ai/flux/schnell', spentMicros: 200_000n, count: 2 },
        { day: '2026-03-10', model: 'fal-ai/veo3', spentMicros: 35_000_000n, count: 1 },
        { day: '2026-03-10', model: 'custom/thing', spentMicros: 5_000_000n, count: 1 },
        { day: '2025-01-01', model: 'fal-ai/veo3', spentMicros: 1n, count: 1 },
      ],
      { now, days: 3, typeOf },
    );
    expect(series.types).toEqual(['image', 'operation', 'video']);
    expect(series.data).toEqual([
      { date: '2026-03-08', total: 0, by_type: { image: 0, operation: 0, video: 0 } },
      { date: '2026-03-09', total: 0.3, by_type: { image: 0.3, operation: 0, video: 0 } },
      { date: '2026-03-10', total: 40, by_type: { image: 0, operation: 5, video: 35 } },
    ]);
    expect(series.total).toBe(40.3);
    expect(series.by_model[0]).toEqual({ model: 'fal-ai/veo3', type: 'video', amount: 35, count: 1 });
    expect(series.by_model.map((row) => row.model)).toEqual([
      'fal-ai/veo3',
      'custom/thing',
      'fal-ai/flux/schnell',
    ]);
  });
});

describe('partnerSeries', () => {
  it('puts usage and purchases on the same days', () => {
    const series = partnerSeries(
      [
        {
          day: '2026-03-10',
          chargedMicros: 12_000_000n,
          providerCostMicros: 10_000_000n,
          referralShareMicros: 2_000_000n,
          count: 3,
        },
      ],
      [{ day: '2026-03-09', amountCents: 2500n, count: 1 }],
      { now, days: 2, subscriptionCharges: [{ day: '2026-03-10', amountCents: 4000n, count: 1 }] },
    );
    expect(series.data).toEqual([
      {
        date: '2026-03-09',
        usage_charged: 0,
        provider_cost: 0,
        referral_share: 0,
        usage_count: 0,
        purchases_usd: 25,
        purchases_count: 1,
        subscriptions_usd: 0,
        subscriptions_count: 0,
      },
      {
        date: '2026-03-10',
        usage_charged: 12,
        provider_cost: 10,
        referral_share: 2,
        usage_count: 3,
        purchases_usd: 0,
        purchases_count: 0,
        subscriptions_usd: 40,
        subscriptions_count: 1,
      },
    ]);
    expect(series.totals).toEqual({
      usage_charged: 12,
      provider_cost: 10,
      referral_share: 2,
      usage_count: 3,
      purchases_usd: 25,
      purchases_count: 1,
      subscriptions_usd: 40,
      subscriptions_count: 1,
    });
  });
});
