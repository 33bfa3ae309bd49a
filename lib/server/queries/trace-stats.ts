import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { buildTree } from '../../domain';
import type { TraceStatsRow } from './trace-rows';
import { STATS_COLUMNS } from './trace-columns';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';

export interface TraceStats {
  row: TraceStatsRow;
  maxDepth: number;
}

/** Exact numbers (spans, errors, tokens, cost, depth) of a page of traces, read by primary key. */
export async function traceStats(client: ClickHouseClient, traceIds: string[], opts: ReadOptions): Promise<Map<string, TraceStats>> {
  const stats = await rows<TraceStatsRow>(client, opts, `
    SELECT ${STATS_COLUMNS}, groupArray(toString(span_id)) AS span_ids, groupArray(parent_span_id) AS parent_ids
    FROM spans FINAL
    WHERE trace_id IN {ids:Array(FixedString(32))}
    GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { ids: traceIds });
  return new Map(stats.map((s) => [s.trace_id, { row: s, maxDepth: depthOf(s.span_ids, s.parent_ids) }]));
}

function depthOf(spanIds: string[], parentIds: string[]): number {
  return buildTree(
    spanIds.map((spanId, i) => ({ spanId, parentSpanId: parentIds[i] || null, start: 0, inputTokens: 0, outputTokens: 0, costUsd: null, countsUsage: false })),
  ).maxDepth;
}
