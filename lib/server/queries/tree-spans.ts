import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { StoredSpanFields } from '../../../detector/snapshot';
import { queryBytes, rows } from './read';

// The spans the detector judges a tree by (detector/snapshot.ts StoredSpanFields), for many trees in one read:
// each span once (FINAL), only the columns the rules use, and of the attributes only the HTTP status.

interface TreeSpanRow extends StoredSpanFields {
  trace_id: string;
}

const HTTP_STATUS_KEYS = "['http.response.status_code', 'http.status_code']";

const SPAN_FIELDS = `trace_id, span_id, parent_span_id, service_name, name, category, model, agent_name, tool_name, call_signature,
      status, status_message, error_type,
      toString(toUnixTimestamp64Nano(start_time)) AS start_time, toString(toUnixTimestamp64Nano(end_time)) AS end_time,
      input_tokens, output_tokens, cost_usd, counts_usage, scope_name,
      mapFilter((k, v) -> has(${HTTP_STATUS_KEYS}, k), attributes) AS attributes`;

const SPAN_QUERY = `SELECT ${SPAN_FIELDS} FROM spans FINAL WHERE trace_id IN {ids:Array(FixedString(32))}
    SETTINGS max_execution_time = 60, output_format_json_quote_64bit_integers = 0`;

/** The spans of each trace (a trace with none stored is absent from the map). */
export async function spansOfTrees(client: ClickHouseClient, traceIds: readonly string[]): Promise<Map<string, StoredSpanFields[]>> {
  const out = new Map<string, StoredSpanFields[]>();
  if (traceIds.length === 0) return out;
  const found = await rows<TreeSpanRow>(client, {}, SPAN_QUERY, { ids: traceIds });
  for (const r of found) {
    const list = out.get(r.trace_id);
    if (list) list.push(r);
    else out.set(r.trace_id, [r]);
  }
  return out;
}

/**
 * The same rows as bytes, one JSON object per line (each a StoredSpanFields with its trace_id): for parsing
 * off the event loop (the detector's judge thread), where a 100,000-span tree takes a while.
 */
export async function spanRowsOfTrees(client: ClickHouseClient, traceIds: readonly string[]): Promise<Buffer> {
  if (traceIds.length === 0) return Buffer.alloc(0);
  return queryBytes(client, {}, `${SPAN_QUERY} FORMAT JSONEachRow`, { ids: traceIds });
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
