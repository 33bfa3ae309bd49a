// The service-level half of cost_spike: each service's spend per bucket (finished trees, by finish time) as an
// EWMA control chart (rules/cost-spike.ts serviceSpendAnomaly). Judged once per bucket, when it closes; an
// anomaly becomes an alert on the tree that spent most in that bucket, keyed apart from that tree's own
// alerts (`details.scope = 'service'`).
import type { ClickHouseClient } from '@clickhouse/client';
import type { Finding } from '../lib/domain';
import { rootSpanIdOf, serviceSpendBuckets } from '../lib/server/queries/detector-state';
import { round } from './baseline';
import { serviceSpendAnomaly } from './rules/cost-spike';
import type { DetectorSettings } from './settings';

/** Buckets of history the chart reads (with 5-minute buckets: 4 hours). */
const HISTORY_BUCKETS = 48;

export interface ServiceSpendFinding {
  traceId: string;
  finding: Finding;
}

/** Judges the bucket that ended at `bucketEndMs`, for every service that spent in the history read. */
export async function judgeServiceSpend(client: ClickHouseClient, bucketEndMs: number, settings: DetectorSettings): Promise<ServiceSpendFinding[]> {
  const cfg = settings.cost_spike;
  if (!cfg.enabled) return [];
  const bucketMs = cfg.ewmaBucketMinutes * 60_000;
  const fromMs = bucketEndMs - HISTORY_BUCKETS * bucketMs;
  const rows = await serviceSpendBuckets(client, fromMs, bucketEndMs, cfg.ewmaBucketMinutes);
  const byService = new Map<string, Map<number, { usd: number; top: string }>>();
  for (const r of rows) (byService.get(r.serviceName) ?? byService.set(r.serviceName, new Map()).get(r.serviceName)!).set(r.bucketMs, { usd: r.costUsd, top: r.topTraceId });
  const out: ServiceSpendFinding[] = [];
  const last = bucketEndMs - bucketMs;
  for (const [service, buckets] of byService) {
    const latest = buckets.get(last);
    if (!latest) continue;
    // From the service's first bucket with spend: quiet buckets after it count as $0.
    const first = Math.min(...buckets.keys());
    const series: number[] = [];
    for (let b = first; b <= last; b += bucketMs) series.push(buckets.get(b)?.usd ?? 0);
    const verdict = serviceSpendAnomaly(service, series, settings);
    if (!verdict?.severity) continue;
    const width = verdict.upperLimit - verdict.mean;
    out.push({
      traceId: latest.top,
      finding: {
        rule: 'cost_spike',
        severity: verdict.severity,
        spanId: await rootSpanIdOf(client, latest.top),
        title: verdict.title,
        evidence: {
          spanIds: [],
          spanCount: 0,
          metric: `EWMA of ${service}'s spend per ${cfg.ewmaBucketMinutes} min ($)`,
          value: round(verdict.ewma),
          warningAt: round(verdict.upperLimit),
          criticalAt: round(verdict.mean + 2 * width),
          names: [service],
          baseline: null,
          details: { scope: 'service', service, bucketStartMs: last, latestUsd: round(verdict.latest), meanUsd: round(verdict.mean), sigmaUsd: round(verdict.sigma), buckets: series.length },
        },
      },
    });
  }
  return out;
}
