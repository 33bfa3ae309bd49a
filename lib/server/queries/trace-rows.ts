import { roundUsd, traceStatus, type AlertSeverity, type TraceSummary } from '../../domain';

// Rows as the trace queries return them, and their one mapping to the API shape.

export interface TraceIndexRow {
  trace_id: string;
  last_seen_ms: string;
  start_ns: string;
  end_ns: string;
  root_id: string;
  root: string;
  service_set: string[];
}

/** A trace's numbers: counts from the engine, tokens, cost and unpriced calls from the tree (trace-stats.ts). */
export interface TraceStatsRow {
  trace_id: string;
  span_count: string;
  error_count: string;
  in_tokens: string;
  out_tokens: string;
  cost: number;
  unpriced: string;
  root_service: string;
  /** Spans reported at start whose ended version is not stored yet (counted in span_count too). */
  running: string;
}

export function nsToIso(ns: string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}

export function toTraceSummary(
  index: TraceIndexRow,
  stats: TraceStatsRow,
  maxDepth: number,
  alerts: { count: number; worst: AlertSeverity } | undefined,
): TraceSummary {
  const lastSeenMs = Number(index.last_seen_ms);
  const errorCount = Number(stats.error_count);
  const running = Number(stats.running);
  return {
    traceId: index.trace_id,
    rootSpanId: index.root_id || null,
    rootName: index.root,
    serviceName: stats.root_service || index.service_set[0] || 'unknown_service',
    startTime: nsToIso(index.start_ns),
    lastSeen: new Date(lastSeenMs).toISOString(),
    durationMs: Math.max(0, Number((BigInt(index.end_ns) - BigInt(index.start_ns)) / 1000n) / 1000),
    spanCount: Number(stats.span_count),
    runningSpans: running,
    errorCount,
    inputTokens: Number(stats.in_tokens),
    outputTokens: Number(stats.out_tokens),
    costUsd: roundUsd(stats.cost),
    unpricedSpans: Number(stats.unpriced),
    maxDepth,
    status: traceStatus(errorCount, Boolean(index.root_id), lastSeenMs, Date.now(), running),
    openAlerts: alerts?.count ?? 0,
    worstAlert: alerts?.worst ?? null,
    // Kills live in the kill hub's memory, not in these rows: the routes mark killed trees (killedSummary).
    killed: false,
  };
}
