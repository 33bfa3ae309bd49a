import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { TraceListResponse } from '../api-types';
import { buildTree } from '../tree';
import { toTraceSummary, type TraceIndexRow, type TraceStatsRow } from './trace-rows';

export interface TraceListQuery {
  limit: number;
  cursor: { lastSeenMs: number; traceId: string } | null;
  service: string;
  q: string;
}

const INDEX_COLUMNS = `
  trace_id,
  toString(toUnixTimestamp64Milli(max(last_seen))) AS last_seen_ms,
  toString(toUnixTimestamp64Nano(min(start_time))) AS start_ns,
  toString(toUnixTimestamp64Nano(max(end_time))) AS end_ns,
  max(root_span_id) AS root_id,
  max(root_name) AS root,
  groupUniqArrayArray(services) AS service_set`;

// Exact numbers come from the span rows themselves (FINAL collapses re-sent spans); only spans that are
// model calls (counts_usage) add tokens and cost, so wrappers repeating their children's usage count once.
const STATS_COLUMNS = `
  trace_id,
  toString(count()) AS span_count,
  toString(countIf(status = 'error')) AS error_count,
  toString(sumIf(input_tokens, counts_usage = 1)) AS in_tokens,
  toString(sumIf(output_tokens, counts_usage = 1)) AS out_tokens,
  sumIf(ifNull(cost_usd, 0), counts_usage = 1) AS cost,
  toString(countIf(counts_usage = 1 AND cost_usd IS NULL)) AS unpriced,
  anyIf(service_name, parent_span_id = '') AS root_service`;

export async function listTraces(client: ClickHouseClient, query: TraceListQuery): Promise<TraceListResponse> {
  const index = await rows<TraceIndexRow>(client, `
    SELECT ${INDEX_COLUMNS}
    FROM traces
    GROUP BY trace_id
    HAVING ({has_cursor:UInt8} = 0 OR (toInt64(last_seen_ms), trace_id) < ({cursor_ms:Int64}, {cursor_id:FixedString(32)}))
       AND ({service:String} = '' OR has(service_set, {service:String}))
       AND ({q:String} = '' OR positionCaseInsensitive(root, {q:String}) > 0 OR startsWith(toString(trace_id), lower({q:String})))
    ORDER BY toInt64(last_seen_ms) DESC, trace_id DESC
    LIMIT {limit:UInt32}`, {
    has_cursor: query.cursor ? 1 : 0,
    cursor_ms: query.cursor?.lastSeenMs ?? 0,
    cursor_id: query.cursor?.traceId ?? '0'.repeat(32),
    service: query.service,
    q: query.q,
    limit: query.limit + 1,
  });
  const page = index.slice(0, query.limit);
  if (page.length === 0) return { traces: [], nextCursor: null };

  const stats = await rows<TraceStatsRow>(client, `
    SELECT ${STATS_COLUMNS}, groupArray(toString(span_id)) AS span_ids, groupArray(parent_span_id) AS parent_ids
    FROM spans FINAL
    WHERE trace_id IN {ids:Array(FixedString(32))}
    GROUP BY trace_id`, { ids: page.map((t) => t.trace_id) });
  const statsById = new Map(stats.map((s) => [s.trace_id, s]));

  const traces = page.flatMap((t) => {
    const s = statsById.get(t.trace_id);
    if (!s) return []; // expired by TTL between the two reads
    return [toTraceSummary(t, s, depthOf(s.span_ids, s.parent_ids))];
  });
  const last = page[page.length - 1];
  const nextCursor = index.length > query.limit ? encodeCursor(Number(last.last_seen_ms), last.trace_id) : null;
  return { traces, nextCursor };
}

interface SlimSpanRow {
  span_id: string;
  parent_span_id: string;
  start_us: number; // µs since the epoch fits a double exactly (< 2^53) until the year 2255
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  counts_usage: number;
}

const iso = (column: string) =>
  `concat(substring(formatDateTime(toDateTime64(${column}, 6, 'UTC'), '%Y-%m-%dT%H:%i:%S.%f', 'UTC'), 1, 23), 'Z')`;

// Every SpanView field but the tree's (depth, orphan, rollup), formatted as a JSON object by the engine:
// a 10,000-span trace is ~9 MiB of JSON, and parsing it into objects only to stringify it again cost more
// than all the rest of the request (and most of it in garbage collection).
const SPAN_JSON = `formatRowNoNewline('JSONEachRow',
    toString(span_id) AS spanId,
    nullIf(parent_span_id, '') AS parentSpanId,
    name,
    toString(service_name) AS serviceName,
    category,
    nullIf(toString(model), '') AS model,
    nullIf(toString(provider), '') AS provider,
    ${iso('start_time')} AS startTime,
    ${iso('end_time')} AS endTime,
    greatest(0, dateDiff('microsecond', start_time, end_time)) / 1000 AS durationMs,
    status,
    status_message AS statusMessage,
    toFloat64(input_tokens) AS inputTokens,
    toFloat64(output_tokens) AS outputTokens,
    cost_usd AS costUsd,
    nullIf(agent_name, '') AS agentName,
    nullIf(tool_name, '') AS toolName,
    nullIf(call_signature, '') AS callSignature,
    nullIf(error_type, '') AS errorType,
    attributes)`;

/**
 * The trace and its spans as the JSON text of a TraceDetailResponse, or null for an unknown trace. The tree
 * (depth, orphans, rollups) is computed in JS from a slim projection; each span's other fields arrive
 * already formatted by the engine and are spliced in untouched.
 */
export async function getTraceJson(client: ClickHouseClient, traceId: string): Promise<string | null> {
  const [index] = await rows<TraceIndexRow>(client, `
    SELECT ${INDEX_COLUMNS} FROM traces WHERE trace_id = {t:FixedString(32)} GROUP BY trace_id`, { t: traceId });
  if (!index) return null;
  // The trace's totals come from the same STATS_COLUMNS the list uses, so list and detail always agree.
  const [slim, formatted, [stats]] = await Promise.all([
    rows<SlimSpanRow>(client, `
      SELECT toString(span_id) AS span_id, parent_span_id, toFloat64(toUnixTimestamp64Micro(start_time)) AS start_us,
             toFloat64(input_tokens) AS input_tokens, toFloat64(output_tokens) AS output_tokens, cost_usd, counts_usage
      FROM spans FINAL
      WHERE trace_id = {t:FixedString(32)}`, { t: traceId }),
    client
      .query({
        query: `SELECT toString(span_id), ${SPAN_JSON} FROM spans FINAL WHERE trace_id = {t:FixedString(32)}`,
        query_params: { t: traceId },
        // Raw TSV is safe here: JSON text never contains a literal tab or newline.
        format: 'TabSeparatedRaw',
      })
      .then((r) => r.text()),
    rows<Omit<TraceStatsRow, 'span_ids' | 'parent_ids'>>(client, `
      SELECT ${STATS_COLUMNS} FROM spans FINAL WHERE trace_id = {t:FixedString(32)} GROUP BY trace_id`, { t: traceId }),
  ]);
  if (slim.length === 0 || !stats) return null;

  const spanJson = new Map<string, string>();
  for (const line of formatted.split('\n')) if (line.length > 17) spanJson.set(line.slice(0, 16), line.slice(17));

  const inputs = slim.map((r) => ({
    spanId: r.span_id,
    parentSpanId: r.parent_span_id || null,
    start: r.start_us,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    costUsd: r.cost_usd,
    countsUsage: r.counts_usage === 1,
  }));
  const { nodes, maxDepth } = buildTree(inputs);
  const parts: string[] = [];
  for (const { span, depth, orphan, rollup } of nodes) {
    const json = spanJson.get(span.spanId);
    if (!json) continue; // stored between the two reads: it shows on the next refresh
    parts.push(`${json.slice(0, -1)},"depth":${depth},"orphan":${orphan},"rollup":${JSON.stringify(rollup)}}`);
  }

  const trace = toTraceSummary(index, stats, maxDepth);
  return `{"trace":${JSON.stringify(trace)},"spans":[${parts.join(',')}]}`;
}

function depthOf(spanIds: string[], parentIds: string[]): number {
  return buildTree(
    spanIds.map((spanId, i) => ({ spanId, parentSpanId: parentIds[i] || null, start: 0, inputTokens: 0, outputTokens: 0, costUsd: null, countsUsage: false })),
  ).maxDepth;
}

export function encodeCursor(lastSeenMs: number, traceId: string): string {
  return Buffer.from(`${lastSeenMs}:${traceId}`).toString('base64url');
}

export function decodeCursor(cursor: string): { lastSeenMs: number; traceId: string } | null {
  const match = /^(\d{1,16}):([0-9a-f]{32})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  return match ? { lastSeenMs: Number(match[1]), traceId: match[2] } : null;
}

async function rows<T>(client: ClickHouseClient, query: string, params: Record<string, unknown>): Promise<T[]> {
  const result = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  return result.json<T>();
}
