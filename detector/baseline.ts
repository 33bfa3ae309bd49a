// History per root name (and per service, the fallback): what a finished tree of that name usually looks
// like. Storage keeps one `TreeStats` per finished tree (a handful of numbers) and hands the rules the
// summary of the recent ones; this module computes both, so the eval, the backtest and the live detector
// agree on what "usual" means.
import type { AlertBaseline } from '../lib/domain';
import { concurrentChildren, type TreeSnapshot } from './snapshot';

/** The numbers one finished tree contributes to its root name's history. */
export interface TreeStats {
  rootName: string;
  serviceName: string;
  costUsd: number;
  /** Input + output tokens of its model calls (priced or not). */
  tokens: number;
  durationMs: number;
  spans: number;
  /** Most children of any one span running at once (see concurrentChildren). */
  maxChildren: number;
  /** Deepest span's depth in edges from the root (a root with children only: 1). */
  maxDepth: number;
  /** Input tokens of its largest model call. */
  maxCallInputTokens: number;
}

/** Robust centre and spread of one metric, on its own scale and on a log scale. */
export interface RobustStats {
  median: number;
  /** Median absolute deviation from the median (unscaled). */
  mad: number;
  /** Median and MAD of ln(x + epsilon): spend is a product of token counts and prices, so its spread is multiplicative. */
  logMedian: number;
  logMad: number;
  /** The epsilon the logs were taken with (keeps $0 trees of unpriced models finite). */
  epsilon: number;
  /** 99th percentile (nearest rank: with fewer than 100 trees, the maximum). */
  p99: number;
}

/** Per-metric epsilon for the log scale: well below any value that matters. */
export const LOG_EPSILON = { cost: 0.001, costRate: 0.001, tokenRate: 100 } as const;

export interface RootBaseline {
  /** Whose history: the tree's own root name, or its service's trees of every root name. */
  scope: 'rootName' | 'service';
  /** Finished trees behind the numbers. */
  trees: number;
  cost: RobustStats;
  /** $ per minute of tree duration (duration floored at one minute). */
  costRate: RobustStats;
  /** Tokens per minute of tree duration (duration floored at one minute). */
  tokenRate: RobustStats;
  /** Spans per minute of tree duration (duration floored at one minute). */
  spanRateP99: number;
  maxChildrenP99: number;
  maxDepthP99: number;
  maxCallInputTokensP99: number;
  durationP99Ms: number;
}

const MINUTE = 60_000;

/** Minutes a rate is computed over: at least one, so a 3-second tree does not have a huge "rate". */
export function rateMinutes(durationMs: number): number {
  return Math.max(1, durationMs / MINUTE);
}

/** The history numbers of a (finished) tree. */
export function treeStats(tree: TreeSnapshot): TreeStats {
  let maxChildren = 0;
  let maxDepth = 0;
  let maxCall = 0;
  for (let i = 0; i < tree.spans.length; i++) {
    if (tree.children[i].length > maxChildren) {
      const kids = concurrentChildren(tree, i);
      if (kids > maxChildren) maxChildren = kids;
    }
    if (tree.depth[i] > maxDepth) maxDepth = tree.depth[i];
    const s = tree.spans[i];
    if (tree.countsSpend[i] && s.category === 'llm' && s.inputTokens > maxCall) maxCall = s.inputTokens;
  }
  return {
    rootName: tree.rootName,
    serviceName: tree.serviceName,
    costUsd: tree.totals.costUsd,
    tokens: tree.totals.inputTokens + tree.totals.outputTokens,
    durationMs: Math.max(0, tree.lastSpanMs - tree.startMs),
    spans: tree.totals.spans,
    maxChildren,
    maxDepth,
    maxCallInputTokens: maxCall,
  };
}

export function median(values: ArrayLike<number>): number {
  return medianOfSorted(Float64Array.from(values).sort());
}

function medianOfSorted(sorted: Float64Array): number {
  if (sorted.length === 0) return 0;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Sorted once, in a typed array, and the logs of the sorted values are sorted already (ln is monotonic): a
 * 500-tree summary took ~1.4 ms with a comparator sort per median, ~0.3 ms so (each kind is summarised again
 * every 15 s on the detector's main thread).
 */
export function robust(values: readonly number[], epsilon: number): RobustStats {
  const sorted = Float64Array.from(values).sort();
  const m = medianOfSorted(sorted);
  const logs = sorted.map((v) => Math.log(Math.max(0, v) + epsilon));
  const lm = medianOfSorted(logs);
  return {
    median: m,
    mad: medianOfSorted(sorted.map((v) => Math.abs(v - m)).sort()),
    logMedian: lm,
    logMad: medianOfSorted(logs.map((v) => Math.abs(v - lm)).sort()),
    epsilon,
    p99: percentileOfSorted(sorted, 0.99),
  };
}

/** Nearest-rank percentile (p in 0..1): with fewer than 100 trees, the p99 is the maximum. */
export function percentile(values: ArrayLike<number>, p: number): number {
  return percentileOfSorted(Float64Array.from(values).sort(), p);
}

function percentileOfSorted(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/** The baseline of a set of finished trees (one root name, or one service). */
export function summariseHistory(history: readonly TreeStats[], scope: RootBaseline['scope'] = 'rootName'): RootBaseline {
  const minutes = history.map((t) => rateMinutes(t.durationMs));
  return {
    scope,
    trees: history.length,
    cost: robust(history.map((t) => t.costUsd), LOG_EPSILON.cost),
    costRate: robust(history.map((t, i) => t.costUsd / minutes[i]), LOG_EPSILON.costRate),
    tokenRate: robust(history.map((t, i) => t.tokens / minutes[i]), LOG_EPSILON.tokenRate),
    spanRateP99: percentile(history.map((t, i) => t.spans / minutes[i]), 0.99),
    maxChildrenP99: percentile(history.map((t) => t.maxChildren), 0.99),
    maxDepthP99: percentile(history.map((t) => t.maxDepth), 0.99),
    maxCallInputTokensP99: percentile(history.map((t) => t.maxCallInputTokens), 0.99),
    durationP99Ms: percentile(history.map((t) => t.durationMs), 0.99),
  };
}

/** The key a tree's own history is kept under: its service and root name. */
export function baselineKey(serviceName: string, rootName: string): string {
  return `${serviceName}\0${rootName}`;
}

/**
 * A kind's history (its service and root name), or with a null root name its service's: how the detector's cache
 * of histories (history.ts) and what it tells the ingest workers (stream-judge.ts) name them.
 */
export function historyKey(serviceName: string, rootName: string | null): string {
  return rootName === null ? `s\0${serviceName}` : `r\0${baselineKey(serviceName, rootName)}`;
}

/** A baseline's numbers as an alert's evidence carries them. */
export function evidenceBaseline(b: RootBaseline, stats?: RobustStats, p99?: number): AlertBaseline {
  const out: AlertBaseline = { trees: b.trees, scope: b.scope };
  if (stats) {
    out.median = round(stats.median);
    out.mad = round(stats.mad);
  }
  if (p99 !== undefined) out.p99 = round(p99);
  return out;
}

export function round(x: number, digits = 6): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
