// The spend page's pure logic (lib/domain/spend.ts): bucket plans per range, the engine's rows as chart series.
import { describe, expect, it } from 'vitest';
import { bucketPlan, bucketStarts, chartPoints, RANGE_PLAN, shapeSeries, SPEND_RANGES, usdPerMinute, type SeriesBucketRow } from '../../lib/domain/spend';

const MIN = 60_000;
const HOUR = 60 * MIN;

describe('bucketPlan', () => {
  it('cuts each range into 60–120 aligned buckets, the last holding now', () => {
    const now = Date.UTC(2026, 10, 30, 11, 34, 27, 512);
    for (const range of SPEND_RANGES) {
      const plan = bucketPlan(range, now);
      expect(plan.count).toBeGreaterThanOrEqual(60);
      expect(plan.count).toBeLessThanOrEqual(120);
      expect(plan.count * plan.bucketMs).toBe(RANGE_PLAN[range].spanMs);
      expect(plan.fromMs % plan.bucketMs).toBe(0);
      expect(plan.toMs - plan.fromMs).toBe(plan.count * plan.bucketMs);
      expect(now).toBeGreaterThanOrEqual(plan.toMs - plan.bucketMs);
      expect(now).toBeLessThan(plan.toMs);
    }
    expect(bucketPlan('1h', now)).toEqual({ fromMs: Date.UTC(2026, 10, 30, 10, 35), toMs: Date.UTC(2026, 10, 30, 11, 35), bucketMs: MIN, count: 60 });
    expect(bucketPlan('24h', now).bucketMs).toBe(15 * MIN);
    expect(bucketPlan('7d', now).bucketMs).toBe(2 * HOUR);
    expect(bucketPlan('30d', now).bucketMs).toBe(6 * HOUR);
  });

  it('keeps the same buckets for refreshes within a bucket', () => {
    const a = bucketPlan('24h', Date.UTC(2026, 0, 1, 10, 0, 1));
    const b = bucketPlan('24h', Date.UTC(2026, 0, 1, 10, 14, 59));
    expect(b).toEqual(a);
    expect(bucketStarts(a)).toHaveLength(96);
    expect(bucketStarts(a)[1] - bucketStarts(a)[0]).toBe(15 * MIN);
    expect(bucketStarts(a).at(-1)).toBe(Date.UTC(2026, 0, 1, 10, 0));
  });
});

describe('shapeSeries', () => {
  const plan = bucketPlan('1h', Date.UTC(2026, 0, 1, 12, 0, 30)); // buckets 11:01 … 12:00
  const at = (h: number, m: number) => Date.UTC(2026, 0, 1, h, m);
  const row = (key: string, bucketMs: number, costUsd: number, tokens: number, extra: Partial<SeriesBucketRow> = {}): SeriesBucketRow => ({
    dimension: 'model',
    key,
    other: false,
    bucketMs,
    costUsd,
    tokens,
    calls: 1,
    unpricedCalls: 0,
    keys: 1,
    ...extra,
  });

  it('fills every bucket, sums each series, orders by spend then tokens then name, "other" last', () => {
    const series = shapeSeries(
      [
        row('gpt-4o-mini', at(11, 1), 0.01, 500),
        row('gpt-4o', at(11, 30), 0.2, 1000),
        row('', at(11, 59), 0.5, 9000, { other: true, keys: 3, calls: 4 }),
        row('gpt-4o', at(12, 0), 0.1, 400),
        row('acme', at(11, 30), 0, 7000, { unpricedCalls: 2, calls: 2 }),
        row('zeta', at(11, 31), 0.01, 500),
      ],
      plan,
    );
    expect(series.map((s) => s.key)).toEqual(['gpt-4o', 'gpt-4o-mini', 'zeta', 'acme', '']);
    const [gpt4o] = series;
    expect(gpt4o.costUsd).toBeCloseTo(0.3, 12);
    expect(gpt4o.tokens).toBe(1400);
    expect(gpt4o.calls).toBe(2);
    expect(gpt4o.costByBucket).toHaveLength(60);
    expect(gpt4o.costByBucket[29]).toBe(0.2); // 11:30 is the 30th bucket from 11:01
    expect(gpt4o.costByBucket[59]).toBe(0.1);
    expect(gpt4o.costByBucket.filter((v) => v !== 0)).toHaveLength(2);
    const other = series.at(-1)!;
    expect(other).toMatchObject({ other: true, keys: 3, costUsd: 0.5, calls: 4 });
    expect(series.find((s) => s.key === 'acme')).toMatchObject({ unpricedCalls: 2, costUsd: 0, tokens: 7000 });
  });

  it('keeps an empty key apart from "other", and ignores rows outside the plan', () => {
    const series = shapeSeries([row('', at(11, 5), 0.1, 10), row('', at(11, 6), 0.2, 10, { other: true, keys: 2 }), row('x', at(10, 0), 9, 9)], plan);
    expect(series.map((s) => [s.key, s.other])).toEqual([['', false], ['', true]]);
  });

  it('sums cost without float dust', () => {
    const rows = Array.from({ length: 10 }, () => row('m', at(11, 10), 0.1, 1));
    expect(shapeSeries(rows, plan)[0].costUsd).toBe(1);
  });

  it('turns series into chart points, one value per series per bucket', () => {
    const series = shapeSeries([row('a', at(11, 1), 1, 10), row('b', at(11, 2), 2, 20)], plan);
    const points = chartPoints(bucketStarts(plan), series, 'tokens');
    expect(points).toHaveLength(60);
    expect(points[0]).toEqual({ t: at(11, 1), s0: 0, s1: 10 });
    expect(points[1]).toEqual({ t: at(11, 2), s0: 20, s1: 0 });
    expect(chartPoints(bucketStarts(plan), series, 'costUsd')[1]).toEqual({ t: at(11, 2), s0: 2, s1: 0 });
  });
});

describe('usdPerMinute', () => {
  it('is spend over the life in minutes, and nothing for lives under a second or unknown', () => {
    expect(usdPerMinute(3, 2 * MIN)).toBe(1.5);
    expect(usdPerMinute(0.5, 30_000)).toBe(1);
    expect(usdPerMinute(1, 999)).toBeNull();
    expect(usdPerMinute(1, null)).toBeNull();
  });
});
