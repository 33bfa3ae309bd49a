import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { TraceListResponse } from '../../domain';
import { toTraceSummary, type TraceIndexRow } from './trace-rows';
import { INDEX_COLUMNS } from './trace-columns';
import { traceStats } from './trace-stats';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';

export interface TraceListQuery {
  limit: number;
  cursor: { lastSeenMs: number; traceId: string } | null;
  service: string;
  q: string;
}

export async function listTraces(client: ClickHouseClient, query: TraceListQuery, opts: ReadOptions = {}): Promise<TraceListResponse> {
  const index = await rows<TraceIndexRow>(client, opts, `
    SELECT ${INDEX_COLUMNS}
    FROM traces
    GROUP BY trace_id
    HAVING ({has_cursor:UInt8} = 0 OR (toInt64(last_seen_ms), trace_id) < ({cursor_ms:Int64}, {cursor_id:FixedString(32)}))
       AND ({service:String} = '' OR has(service_set, {service:String}))
       AND ({q:String} = '' OR positionCaseInsensitive(root, {q:String}) > 0 OR startsWith(toString(trace_id), lower({q:String})))
    ORDER BY toInt64(last_seen_ms) DESC, trace_id DESC
    LIMIT {limit:UInt32}
    SETTINGS ${READ_TIME_LIMIT}`, {
    has_cursor: query.cursor ? 1 : 0,
    cursor_ms: query.cursor?.lastSeenMs ?? 0,
    cursor_id: query.cursor?.traceId ?? '0'.repeat(32),
    service: query.service,
    q: query.q,
    limit: query.limit + 1,
  });
  const page = index.slice(0, query.limit);
  if (page.length === 0) return { traces: [], nextCursor: null };

  const stats = await traceStats(client, page.map((t) => t.trace_id), opts);
  const traces = page.flatMap((t) => {
    const s = stats.get(t.trace_id);
    if (!s) return []; // expired by TTL between the two reads
    return [toTraceSummary(t, s.row, s.maxDepth)];
  });
  const last = page[page.length - 1];
  const nextCursor = index.length > query.limit ? encodeCursor(Number(last.last_seen_ms), last.trace_id) : null;
  return { traces, nextCursor };
}

export function encodeCursor(lastSeenMs: number, traceId: string): string {
  return Buffer.from(`${lastSeenMs}:${traceId}`).toString('base64url');
}

export function decodeCursor(cursor: string): { lastSeenMs: number; traceId: string } | null {
  const match = /^(\d{1,16}):([0-9a-f]{32})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) return null;
  // Milliseconds past 2^53 are no time this API ever returned (and would lose precision as a number).
  const lastSeenMs = Number(match[1]);
  return Number.isSafeInteger(lastSeenMs) ? { lastSeenMs, traceId: match[2] } : null;
}
