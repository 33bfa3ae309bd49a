import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';

// The trees a backtest replays (detector/backtest.ts): those whose last activity lies in a time range, read in
// pages by trace id. Trace-id order matters beyond paging: the spans of consecutive ids sit in the same
// granules of `spans` (ORDER BY trace_id, span_id), so a batch of them reads few granules.

export interface TreeInRange {
  traceId: string;
  /** Newest activity (server ingest time, ms since the epoch). */
  lastSeenMs: number;
  /** Spans stored, an upper bound (a span re-sent in a later insert counts again): sizes the span reads. */
  spans: number;
}

export interface TreeRangePage {
  fromMs: number;
  toMs: number;
  /** Continue after this trace id ('' for the first page). */
  afterId: string;
  limit: number;
}

/**
 * Traces whose newest activity lies in [fromMs, toMs], by trace id after `afterId`, at most `limit`. The
 * activity index (a primary-key range on last_seen) narrows the ids first, so the cost follows the traces
 * in the range, not the history stored; the trace index then gives each one's newest activity, which also
 * leaves out a trace touched again after `toMs`.
 */
export async function treesInRange(client: ClickHouseClient, page: TreeRangePage, opts: ReadOptions = {}): Promise<TreeInRange[]> {
  const found = await rows<{ trace_id: string; ms: string; spans: string }>(client, opts, `
    SELECT trace_id, toString(toUnixTimestamp64Milli(max(last_seen))) AS ms, toString(sum(span_count)) AS spans
    FROM traces
    WHERE trace_id > {after:String} AND trace_id IN (
      SELECT trace_id FROM trace_activity
      WHERE last_seen >= fromUnixTimestamp64Milli({from:Int64}) AND last_seen <= fromUnixTimestamp64Milli({to:Int64})
        AND trace_id > {after:String})
    GROUP BY trace_id
    HAVING max(last_seen) >= fromUnixTimestamp64Milli({from:Int64}) AND max(last_seen) <= fromUnixTimestamp64Milli({to:Int64})
    ORDER BY trace_id
    LIMIT {limit:UInt32}
    SETTINGS ${READ_TIME_LIMIT}`, { after: page.afterId, from: page.fromMs, to: page.toMs, limit: page.limit });
  return found.map((r) => ({ traceId: r.trace_id, lastSeenMs: Number(r.ms), spans: Number(r.spans) }));
}
