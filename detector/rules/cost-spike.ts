// cost_spike: a tree spending far more than its kind usually does. Its spend, or its burn rate ($/min,
// tokens/min), far above the history of its root name and service (robust z-score 0.6745·(x − median)/MAD
// > 3.5, by default on the log scale, with a MAD floor, once there are 20+ finished trees); or a tree that
// keeps spending past its usual duration (the slow burn). Trees that spent less than $0.25 never page.
// Also the service-level spend-rate chart (EWMA), a pure function the storage side feeds with spend buckets.
import { evidenceBaseline, rateMinutes, round, type RobustStats, type RootBaseline, type TreeStats } from '../baseline';
import { evidence, FindingSet, minutes, severityOf, tokens, trusted, usd, type Rule } from '../rule';
import type { DetectorSettings } from '../settings';
import type { TreeSnapshot } from '../snapshot';
import { stripVerb } from './fanout';

/** Robust z-score of x against a history, on the configured scale, with the MAD floor. */
export function robustZ(x: number, stats: RobustStats, cfg: DetectorSettings['cost_spike']): number {
  if (cfg.logScale) {
    const mad = Math.max(stats.logMad, Math.log1p(cfg.madFloorRatio), 1e-9);
    return (0.6745 * (Math.log(Math.max(0, x) + stats.epsilon) - stats.logMedian)) / mad;
  }
  const mad = Math.max(stats.mad, cfg.madFloorRatio * stats.median, 1e-12);
  return (0.6745 * (x - stats.median)) / mad;
}

interface Measured {
  metric: 'cost' | 'costRate' | 'tokenRate';
  label: string;
  value: number;
  stats: RobustStats;
  z: number;
}

/** The z-score, or 0 when the value does not also pass p99Factor × the history's p99 (the workflow's own tail). */
function judged(m: Omit<Measured, 'z'>, cfg: DetectorSettings['cost_spike']): Measured {
  const z = robustZ(m.value, m.stats, cfg);
  return { ...m, z: m.value > cfg.p99Factor * m.stats.p99 ? z : Math.min(z, 0) };
}

/**
 * Whether a finished tree with these history numbers stays under this rule's thresholds against `base` (a
 * trusted history or null). Its tokens stand in for the unpriced calls' share (the rule counts tokens/min only
 * when unpriced calls alone pass the token floor, or the tree is priced): more trees are measured here than by
 * the rule, never fewer, so a quiet answer is the rule's.
 */
export function costSpikeQuiet(stats: TreeStats, base: RootBaseline | null, settings: DetectorSettings): boolean {
  const cfg = settings.cost_spike;
  if (!cfg.enabled || !base) return true;
  const mins = rateMinutes(stats.durationMs);
  const priced = stats.costUsd >= cfg.minCostUsd;
  if (base.scope === 'rootName') {
    if (priced && (judged({ metric: 'cost', label: '', value: stats.costUsd, stats: base.cost }, cfg).z >= cfg.zThreshold || judged({ metric: 'costRate', label: '', value: stats.costUsd / mins, stats: base.costRate }, cfg).z >= cfg.zThreshold)) return false;
    if (stats.tokens >= cfg.minTokens && judged({ metric: 'tokenRate', label: '', value: stats.tokens / mins, stats: base.tokenRate }, cfg).z >= cfg.zThreshold) return false;
  }
  return !(priced && base.durationP99Ms > 0 && stats.durationMs >= cfg.overrunFactor * base.durationP99Ms);
}

export const costSpikeRule: Rule = (tree, ctx) => {
  const cfg = ctx.settings.cost_spike;
  if (!cfg.enabled || tree.spans.length === 0 || !tree.rootSpanId) return [];
  const out = new FindingSet('cost_spike');
  const cost = tree.totals.costUsd;
  const tokensUsed = tree.totals.inputTokens + tree.totals.outputTokens;
  const ageMs = Math.max(0, (tree.running ? Math.max(tree.now, tree.lastSpanMs) : tree.lastSpanMs) - tree.startMs);
  const mins = rateMinutes(ageMs);
  const name = tree.rootName ? stripVerb(tree.rootName) : 'This running tree';

  // Spend and burn rate against the root name's own history (a service-wide fallback is not comparable).
  const own = ctx.baseline && ctx.baseline.scope === 'rootName' ? trusted(ctx.baseline, ctx) : null;
  if (own) {
    const measured: Measured[] = [];
    const priced = cost >= cfg.minCostUsd;
    if (priced) {
      measured.push(judged({ metric: 'cost', label: 'spend', value: cost, stats: own.cost }, cfg));
      measured.push(judged({ metric: 'costRate', label: 'spend per minute', value: cost / mins, stats: own.costRate }, cfg));
    }
    // Tokens/min: on every tree past the $ floor, and on trees whose unpriced calls alone pass the token
    // floor (their spend is unknown, so tokens stand in for dollars; a cheap tree still never pages).
    if (tokensUsed >= cfg.minTokens && (priced || unpricedTokens(tree) >= cfg.minTokens)) {
      measured.push(judged({ metric: 'tokenRate', label: 'tokens per minute', value: tokensUsed / mins, stats: own.tokenRate }, cfg));
    }
    let strongest: Measured | null = null;
    for (const m of measured) if (!strongest || m.z > strongest.z) strongest = m;
    const severity = strongest ? severityOf(strongest.z, cfg.zThreshold, cfg.criticalZ) : null;
    // Severity from the strongest signal; the title speaks of spend whenever spend alone is a spike.
    const top = measured[0] && measured[0].z >= cfg.zThreshold && severity === severityOf(measured[0].z, cfg.zThreshold, cfg.criticalZ) ? measured[0] : strongest;
    if (top && severity) {
      const ratio = top.stats.median > 0 ? top.value / top.stats.median : Infinity;
      const fmt = (v: number) => (top.metric === 'tokenRate' ? `${tokens(v)} tokens/min` : top.metric === 'costRate' ? `${usd(v)}/min` : usd(v));
      out.add(
        tree.rootSpanId,
        severity,
        `${name} ${top.metric === 'cost' ? 'cost' : 'burned'} ${fmt(top.value)}, ${Number.isFinite(ratio) ? `${round(ratio, 1)}×` : 'far above'} its usual ${fmt(top.stats.median)} (robust z ${round(top.z, 1)} over ${own.trees} trees)`,
        evidence(tree, [], {
          metric: `robust z-score of ${top.label}${cfg.logScale ? ' (log scale)' : ''}`,
          value: round(top.z, 2),
          warningAt: cfg.zThreshold,
          criticalAt: cfg.criticalZ,
          names: [tree.rootName],
          baseline: evidenceBaseline(own, top.stats, top.stats.p99),
          details: {
            scope: 'tree',
            costUsd: round(cost),
            costPerMinute: round(cost / mins),
            tokens: tokensUsed,
            tokensPerMinute: Math.round(tokensUsed / mins),
            unpricedCalls: tree.totals.unpricedCalls,
            ratioToMedian: Number.isFinite(ratio) ? round(ratio, 2) : null,
            zCost: measured[0] ? round(measured[0].z, 2) : null,
            zCostRate: measured[1] ? round(measured[1].z, 2) : null,
            zTokenRate: measured.find((m) => m.metric === 'tokenRate') ? round(measured.find((m) => m.metric === 'tokenRate')!.z, 2) : null,
            minCostUsd: cfg.minCostUsd,
            p99Limit: round(cfg.p99Factor * top.stats.p99),
          },
        }),
      );
    }
  }

  // Overrun: still spending after far longer than this kind of tree usually runs.
  const durationBase = trusted(ctx.baseline, ctx);
  if (durationBase && durationBase.durationP99Ms > 0 && cost >= cfg.minCostUsd) {
    const p99 = durationBase.durationP99Ms;
    const severity = severityOf(ageMs, cfg.overrunFactor * p99, cfg.overrunCritical * p99);
    if (severity) {
      out.add(
        tree.rootSpanId,
        severity,
        `${name} has ${tree.running ? 'been running' : 'run'} ${minutes(ageMs)}, ${round(ageMs / p99, 1)}× its ${durationBase.scope === 'service' ? "service's" : ''} usual p99 of ${minutes(p99)}, and spent ${usd(cost)} (${usd(cost / mins)}/min)`.replace('its  usual', 'its usual'),
        evidence(tree, [], {
          metric: 'minutes of spending, against the usual p99 duration',
          value: round(ageMs / 60_000, 2),
          warningAt: round((cfg.overrunFactor * p99) / 60_000, 2),
          criticalAt: round((cfg.overrunCritical * p99) / 60_000, 2),
          names: [tree.rootName || tree.serviceName],
          baseline: evidenceBaseline(durationBase, undefined, p99),
          details: { scope: 'tree', costUsd: round(cost), costPerMinute: round(cost / mins), running: tree.running, minCostUsd: cfg.minCostUsd },
        }),
      );
    }
  }
  return out.list();
};

/** Tokens of the model calls with no known price (counted once). */
function unpricedTokens(tree: TreeSnapshot): number {
  let sum = 0;
  for (let i = 0; i < tree.spans.length; i++) {
    const s = tree.spans[i];
    if (tree.countsSpend[i] && s.costUsd === null) sum += s.inputTokens + s.outputTokens;
  }
  return sum;
}

/** The service-level spend chart's verdict on its latest bucket. */
export interface ServiceSpendAnomaly {
  severity: 'warning' | 'critical' | null;
  /** The latest bucket's spend, the EWMA after it, the in-control mean and the upper control limit. */
  latest: number;
  ewma: number;
  mean: number;
  sigma: number;
  upperLimit: number;
  title: string;
}

/**
 * EWMA control chart over a service's spend per bucket (oldest first; the last is the bucket being judged):
 * mean and σ from the earlier buckets, z_t = λ·x_t + (1 − λ)·z_{t−1} from the mean, upper limit
 * mean + k·σ·sqrt(λ / (2 − λ)); critical past twice that distance. Needs ewmaMinBuckets of history.
 */
export function serviceSpendAnomaly(service: string, buckets: readonly number[], settings: DetectorSettings): ServiceSpendAnomaly | null {
  const cfg = settings.cost_spike;
  if (!cfg.enabled || buckets.length < cfg.ewmaMinBuckets + 1) return null;
  const history = buckets.slice(0, -1);
  const mean = history.reduce((a, b) => a + b, 0) / history.length;
  const variance = history.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, history.length - 1);
  // σ floor: a perfectly flat history would make any change an anomaly.
  const sigma = Math.max(Math.sqrt(variance), cfg.madFloorRatio * mean, 1e-9);
  let z = mean;
  for (const x of buckets) z = cfg.ewmaLambda * x + (1 - cfg.ewmaLambda) * z;
  const width = cfg.ewmaK * sigma * Math.sqrt(cfg.ewmaLambda / (2 - cfg.ewmaLambda));
  const upperLimit = mean + width;
  const latest = buckets[buckets.length - 1];
  const total = latest;
  const severity = z > mean + 2 * width && total >= cfg.minCostUsd ? 'critical' : z > upperLimit && total >= cfg.minCostUsd ? 'warning' : null;
  return {
    severity,
    latest,
    ewma: z,
    mean,
    sigma,
    upperLimit,
    title: `${service} spent ${usd(latest)} in the last ${cfg.ewmaBucketMinutes} min; its spend-rate average ${usd(z)} is above the control limit ${usd(upperLimit)} (usual ${usd(mean)})`,
  };
}
