import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { SpanView, TraceDetailResponse, TraceListResponse } from '../api-types';
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

interface SpanRowOut {
  span_id: string;
  parent_span_id: string;
  name: string;
  service_name: string;
  category: string;
  model: string;
  provider: string;
  start_us: number; // µs since the epoch fits a double exactly (< 2^53) until the year 2255
  end_us: number;
  status: 'unset' | 'ok' | 'error';
  status_message: string;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  counts_usage: number;
  agent_name: string;
  tool_name: string;
  call_signature: string;
  error_type: string;
  attributes: Record<string, string>;
}

export async function getTrace(client: ClickHouseClient, traceId: string): Promise<TraceDetailResponse | null> {
  const [index] = await rows<TraceIndexRow>(client, `
    SELECT ${INDEX_COLUMNS} FROM traces WHERE trace_id = {t:FixedString(32)} GROUP BY trace_id`, { t: traceId });
  if (!index) return null;
  const spanRows = await rows<SpanRowOut>(client, `
    SELECT toString(span_id) AS span_id, parent_span_id, name, service_name, category, model, provider,
           toFloat64(toUnixTimestamp64Micro(start_time)) AS start_us, toFloat64(toUnixTimestamp64Micro(end_time)) AS end_us,
           status, status_message, toFloat64(input_tokens) AS input_tokens, toFloat64(output_tokens) AS output_tokens,
           cost_usd, counts_usage, agent_name, tool_name, call_signature, error_type, attributes
    FROM spans FINAL
    WHERE trace_id = {t:FixedString(32)}`, { t: traceId });
  if (spanRows.length === 0) return null;

  const inputs = spanRows.map((r) => ({
    row: r,
    spanId: r.span_id,
    parentSpanId: r.parent_span_id || null,
    start: r.start_us,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    costUsd: r.cost_usd,
    countsUsage: r.counts_usage === 1,
  }));
  const { nodes, maxDepth } = buildTree(inputs);
  const spans: SpanView[] = nodes.map(({ span, depth, orphan, rollup }) => {
    const r = span.row;
    return {
      spanId: r.span_id,
      parentSpanId: r.parent_span_id || null,
      name: r.name,
      serviceName: r.service_name,
      category: r.category,
      model: r.model || null,
      provider: r.provider || null,
      startTime: new Date(Math.floor(r.start_us / 1000)).toISOString(),
      endTime: new Date(Math.floor(r.end_us / 1000)).toISOString(),
      durationMs: Math.max(0, r.end_us - r.start_us) / 1000,
      status: r.status,
      statusMessage: r.status_message,
      inputTokens: span.inputTokens,
      outputTokens: span.outputTokens,
      costUsd: r.cost_usd,
      agentName: r.agent_name || null,
      toolName: r.tool_name || null,
      callSignature: r.call_signature || null,
      errorType: r.error_type || null,
      depth,
      orphan,
      attributes: r.attributes,
      rollup,
    };
  });

  const counted = inputs.filter((s) => s.countsUsage);
  const stats = {
    trace_id: traceId,
    span_count: String(spanRows.length),
    error_count: String(spanRows.filter((r) => r.status === 'error').length),
    in_tokens: String(counted.reduce((n, s) => n + s.inputTokens, 0)),
    out_tokens: String(counted.reduce((n, s) => n + s.outputTokens, 0)),
    cost: counted.reduce((n, s) => n + (s.costUsd ?? 0), 0),
    unpriced: String(counted.filter((s) => s.costUsd === null).length),
    root_service: spanRows.find((r) => !r.parent_span_id)?.service_name ?? '',
  };
  return { trace: toTraceSummary(index, stats, maxDepth), spans };
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
