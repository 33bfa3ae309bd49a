// Spend over time (GET /api/spend): the ranges the page offers, how each is cut into buckets, and the
// chart-ready shape of the sums the engine returns. Pure and browser-safe: the server plans the buckets and
// shapes the rows with these, the UI only draws them.
import { roundUsd } from './tree';

export const SPEND_RANGES = ['1h', '24h', '7d', '30d'] as const;
export type SpendRange = (typeof SPEND_RANGES)[number];

/** What a series is keyed by: the call's model, its span's service, or its tree's root span name. */
export const SPEND_DIMENSIONS = ['model', 'service', 'rootName'] as const;
export type SpendDimension = (typeof SPEND_DIMENSIONS)[number];

/** Series drawn per dimension by default; the rest are summed into one "other" series (a single rest key is shown as itself). */
export const SPEND_TOP_DEFAULT = 6;
export const SPEND_TOP_MAX = 20;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Bucket sizes give 60–120 points per chart: enough to see a spike, few enough that each bucket holds
 * several calls, and the response stays a few kB whatever the range.
 */
export const RANGE_PLAN: Readonly<Record<SpendRange, { spanMs: number; bucketMs: number }>> = {
  '1h': { spanMs: HOUR, bucketMs: MINUTE },
  '24h': { spanMs: 24 * HOUR, bucketMs: 15 * MINUTE },
  '7d': { spanMs: 7 * 24 * HOUR, bucketMs: 2 * HOUR },
  '30d': { spanMs: 30 * 24 * HOUR, bucketMs: 6 * HOUR },
};

export interface BucketPlan {
  /** Start of the first bucket (ms since the epoch). */
  fromMs: number;
  /** End of the last bucket, the one still filling (exclusive). */
  toMs: number;
  bucketMs: number;
  count: number;
}

/**
 * The range's buckets: aligned to multiples of the bucket size since the epoch (so a refresh a few seconds
 * later adds to the same buckets instead of shifting every one), the last one holding `nowMs`.
 */
export function bucketPlan(range: SpendRange, nowMs: number): BucketPlan {
  const { spanMs, bucketMs } = RANGE_PLAN[range];
  const count = Math.round(spanMs / bucketMs);
  const last = Math.floor(nowMs / bucketMs) * bucketMs;
  return { fromMs: last - (count - 1) * bucketMs, toMs: last + bucketMs, bucketMs, count };
}

/** The start of every bucket of the plan, oldest first. */
export function bucketStarts(plan: BucketPlan): number[] {
  return Array.from({ length: plan.count }, (_, i) => plan.fromMs + i * plan.bucketMs);
}

/** One row of the engine's answer: the sums of one series in one bucket. */
export interface SeriesBucketRow {
  dimension: SpendDimension;
  /** The model, service or root name; '' when the calls have none (or for the "other" series). */
  key: string;
  /** The keys past the top N of this dimension, summed. */
  other: boolean;
  bucketMs: number;
  costUsd: number;
  tokens: number;
  calls: number;
  unpricedCalls: number;
  /** Distinct keys in the whole series (the same on each of its rows; more than 1 only for "other"). */
  keys: number;
}

export interface SpendSeries {
  key: string;
  other: boolean;
  /** Distinct keys summed in this series (the number of models, services or root names in "other"). */
  keys: number;
  costUsd: number;
  tokens: number;
  calls: number;
  unpricedCalls: number;
  /** Per bucket of the plan, oldest first; 0 where the series had no call. */
  costByBucket: number[];
  tokensByBucket: number[];
}

/**
 * One dimension's rows as series over every bucket of the plan: empty buckets filled with 0 (a chart must
 * show a quiet hour as 0, not skip it), the largest spend first (then tokens, then name, so the order is
 * stable), "other" always last. Rows outside the plan are ignored.
 */
export function shapeSeries(rows: readonly SeriesBucketRow[], plan: BucketPlan): SpendSeries[] {
  const byKey = new Map<string, SpendSeries>();
  for (const r of rows) {
    const index = Math.floor((r.bucketMs - plan.fromMs) / plan.bucketMs);
    if (index < 0 || index >= plan.count) continue;
    const id = `${r.other ? 1 : 0}\0${r.key}`;
    let s = byKey.get(id);
    if (!s) {
      s = { key: r.key, other: r.other, keys: 0, costUsd: 0, tokens: 0, calls: 0, unpricedCalls: 0, costByBucket: new Array(plan.count).fill(0), tokensByBucket: new Array(plan.count).fill(0) };
      byKey.set(id, s);
    }
    s.costByBucket[index] += r.costUsd;
    s.tokensByBucket[index] += r.tokens;
    s.costUsd += r.costUsd;
    s.tokens += r.tokens;
    s.calls += r.calls;
    s.unpricedCalls += r.unpricedCalls;
    s.keys = Math.max(s.keys, r.keys);
  }
  const series = [...byKey.values()].map((s) => ({
    ...s,
    costUsd: roundUsd(s.costUsd),
    costByBucket: s.costByBucket.map(roundUsd),
  }));
  return series.sort(
    (a, b) => Number(a.other) - Number(b.other) || b.costUsd - a.costUsd || b.tokens - a.tokens || a.key.localeCompare(b.key),
  );
}

/** One point of a chart: the bucket's start and one value per series, keyed by the series' index. */
export type ChartPoint = { t: number } & Record<`s${number}`, number>;

/** Series as recharts rows: one object per bucket, `s0`, `s1`, … the series in order. */
export function chartPoints(starts: readonly number[], series: readonly SpendSeries[], metric: 'costUsd' | 'tokens'): ChartPoint[] {
  return starts.map((t, i) => {
    const point = { t } as ChartPoint;
    series.forEach((s, k) => {
      point[`s${k}`] = metric === 'costUsd' ? s.costByBucket[i] : s.tokensByBucket[i];
    });
    return point;
  });
}

export interface SpendTotals {
  costUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** Model calls (spans that report usage, each counted once). */
  calls: number;
  /** Model calls with tokens and no known price: their cost is not in costUsd. */
  unpricedCalls: number;
  unpricedTokens: number;
  /** Trees with at least one model call in the range. */
  trees: number;
}

export interface TopTree {
  traceId: string;
  /** The root span's name; '' while the root has not arrived. */
  rootName: string;
  services: string[];
  costUsd: number;
  tokens: number;
  calls: number;
  unpricedCalls: number;
}

export interface KillSpend {
  traceId: string;
  /** The killed branch's root; null for a whole-tree kill. */
  spanId: string | null;
  scope: 'tree' | 'branch';
  source: 'manual' | 'auto' | 'budget';
  reason: string;
  killedAt: string;
  revokedAt: string | null;
  rootName: string;
  /** The whole tree's spend on calls started before the kill. */
  costUsd: number;
  tokens: number;
  unpricedCalls: number;
  /** From the tree's first span to the kill; null when no span of the tree is stored. */
  lifeMs: number | null;
  /** costUsd per minute of that life; null without a life. */
  usdPerMinute: number | null;
}

export interface SpendResponse {
  range: SpendRange;
  from: string;
  to: string;
  bucketMs: number;
  /** Start of each bucket (ISO-8601), oldest first; every series has one value per bucket. */
  buckets: string[];
  top: number;
  totals: SpendTotals;
  series: Record<SpendDimension, SpendSeries[]>;
  topTrees: TopTree[];
  kills: KillSpend[];
}

/** Burn rate in USD per minute over `lifeMs`; null for a life too short to mean anything (under a second). */
export function usdPerMinute(costUsd: number, lifeMs: number | null): number | null {
  if (lifeMs === null || !Number.isFinite(lifeMs) || lifeMs < 1000) return null;
  return roundUsd(costUsd / (lifeMs / MINUTE));
}

/** The response's bucket starts as ms since the epoch. */
export function bucketStartsOf(response: Pick<SpendResponse, 'buckets'>): number[] {
  return response.buckets.map((iso) => Date.parse(iso));
}
