import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { StoredSpanFields } from '../../../detector/snapshot';
import { parseSpanRows } from '../../../detector/span-rows';
import { idNumbers, queryBytes, rows, type ReadOptions } from './read';

// The spans the detector judges a tree by (detector/snapshot.ts StoredSpanFields), for many trees in one read,
// as TabSeparated (parsed by detector/span-rows.ts, in that column order). Not FINAL: FINAL would merge every
// column of the touched granules across parts; the parser keeps each span id once instead. The attributes map
// is the widest column and the rules use one value of it, the HTTP status, only on failed spans (the retry
// storm's error class): it is read only there, which also lets the engine skip it elsewhere.
const SPAN_COLUMNS = `trace_id, span_id, parent_span_id, service_name, name, category, model, agent_name, tool_name, call_signature,
  status, status_message, error_type, toUnixTimestamp64Nano(start_time), toUnixTimestamp64Nano(end_time),
  input_tokens, output_tokens, cost_usd, counts_usage, scope_name,
  if(status = 'error', attributes['http.response.status_code'], ''), if(status = 'error', attributes['http.status_code'], ''), budget_usd`;

/** The span rows of these trees as bytes, for parsing off the event loop (the detector's judge thread). */
export async function spanRowsOfTrees(client: ClickHouseClient, traceIds: readonly string[], opts: ReadOptions = {}): Promise<Buffer> {
  if (traceIds.length === 0) return Buffer.alloc(0);
  return queryBytes(client, opts, `
    SELECT ${SPAN_COLUMNS} FROM spans WHERE trace_id IN {ids:Array(FixedString(32))}
    FORMAT TabSeparated
    SETTINGS max_execution_time = 60`, { ids: traceIds });
}

/** How many ended spans storage holds of each trace (the trace index's count; re-sent copies counted too). */
export async function storedSpanCounts(client: ClickHouseClient, traceIds: readonly string[], opts: ReadOptions = {}): Promise<Map<string, number>> {
  if (traceIds.length === 0) return new Map();
  return new Map(await idNumbers(client, opts, `
    SELECT trace_id, sum(span_count) FROM traces WHERE trace_id IN {ids:Array(FixedString(32))}
    GROUP BY trace_id
    SETTINGS max_execution_time = 60
    FORMAT TabSeparated`, { ids: traceIds }));
}

/** The spans of each trace, each span once; a trace with none stored is absent from the map. */
export async function spansOfTrees(client: ClickHouseClient, traceIds: readonly string[], opts: ReadOptions = {}): Promise<Map<string, StoredSpanFields[]>> {
  return parseSpanRows((await spanRowsOfTrees(client, traceIds, opts)).toString('utf8'));
}

/**
 * Running trees (no root span yet) whose newest activity lies in (fromMs, toMs]: the quiet trees the stall
 * rule must look at although they receive no spans. A range of the activity index, then those trees' rows
 * of the trace index.
 */
export async function quietRunningTrees(client: ClickHouseClient, fromMs: number, toMs: number, limit: number): Promise<{ traceId: string; lastSeenMs: number }[]> {
  const found = await rows<{ trace_id: string; ms: string }>(client, {}, `
    SELECT trace_id, toString(toUnixTimestamp64Milli(max(last_seen))) AS ms
    FROM traces
    WHERE trace_id IN (
      SELECT trace_id FROM trace_activity
      WHERE last_seen > fromUnixTimestamp64Milli({from:Int64}) AND last_seen <= fromUnixTimestamp64Milli({to:Int64}))
    GROUP BY trace_id
    HAVING max(root_span_id) = '' AND max(last_seen) <= fromUnixTimestamp64Milli({to:Int64})
    ORDER BY max(last_seen)
    LIMIT {limit:UInt32}
    SETTINGS max_execution_time = 30`, { from: fromMs, to: toMs, limit });
  return found.map((r) => ({ traceId: r.trace_id, lastSeenMs: Number(r.ms) }));
}
