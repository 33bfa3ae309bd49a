import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { READ_TIME_LIMIT, idNumbers, rows, type ReadOptions } from './read';

// Reads of the activity index `trace_activity` (migrations/005_trace_list_index.sql): one row per (trace,
// insert that carried its spans), ORDER BY (last_seen, trace_id), last_seen being the server's ingest time.
// Every read here is a primary-key range, so its cost follows the rows in the range, not the history stored.

/** A position in activity order: a trace's last activity (ms since the epoch, ingest time) and its id. */
export interface ActivityMark {
  lastSeenMs: number;
  traceId: string;
}

export interface TouchedTraces {
  /** Traces with activity after the watermark, by last activity then id, oldest first, at most `limit`. */
  traces: ActivityMark[];
  /** Where the next call continues: the last trace returned, or the watermark given when none was. */
  watermark: ActivityMark;
}

/**
 * Traces that got spans since `since` — the trees a detector must look at again. Pass the returned
 * `watermark` to the next call; with `traces.length === limit` there may be more right away. A trace returned
 * once comes again when it is touched again. Ingest time only moves forward within one Canopy process, but an
 * insert can become visible a moment after a later one started: a detector that must see every touch should
 * call with a watermark a few seconds behind the last one returned and treat the answer as a set.
 * `since: null` starts from the oldest activity still stored.
 */
export async function tracesTouchedSince(client: ClickHouseClient, since: ActivityMark | null, limit: number, opts: ReadOptions = {}): Promise<TouchedTraces> {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new Error(`Not a limit: ${limit}`);
  const from = since ?? { lastSeenMs: 0, traceId: '' };
  const found = await idNumbers(client, opts, `
    SELECT trace_id, toUnixTimestamp64Milli(max(last_seen))
    FROM trace_activity
    WHERE ${after('{w_ms:Int64}', '{w_id:String}')}
    GROUP BY trace_id
    ORDER BY max(last_seen), trace_id
    LIMIT {limit:UInt32}
    SETTINGS ${READ_TIME_LIMIT}
    FORMAT TabSeparated`, { w_ms: from.lastSeenMs, w_id: from.traceId, limit });
  const traces = found.map(([traceId, lastSeenMs]) => ({ traceId, lastSeenMs }));
  return { traces, watermark: traces.at(-1) ?? from };
}

/** Rows positioned after (ms, id) in ascending (last_seen, trace_id) order, written so the primary key prunes. */
export function after(ms: string, id: string): string {
  return `last_seen >= fromUnixTimestamp64Milli(${ms}) AND (last_seen > fromUnixTimestamp64Milli(${ms}) OR trace_id > ${id})`;
}

/** Rows positioned before (ms, id). */
export function before(ms: string, id: string): string {
  return `last_seen <= fromUnixTimestamp64Milli(${ms}) AND (last_seen < fromUnixTimestamp64Milli(${ms}) OR trace_id < ${id})`;
}


/**
 * For traces touched after `asOfMs`: their position as it was at `asOfMs` (their newest activity row at or
 * before it), or nothing for a trace that had no activity yet. `firstSeenMs` (the earliest first activity
 * among them) bounds the range read.
 */
export async function positionsAsOf(
  client: ClickHouseClient,
  traceIds: string[],
  asOfMs: number,
  firstSeenMs: number,
  opts: ReadOptions,
): Promise<Map<string, number>> {
  if (traceIds.length === 0) return new Map();
  const found = await rows<{ trace_id: string; ms: string }>(client, opts, `
    SELECT trace_id, toString(toUnixTimestamp64Milli(max(last_seen))) AS ms
    FROM trace_activity
    WHERE last_seen >= fromUnixTimestamp64Milli({from_ms:Int64}) AND last_seen <= fromUnixTimestamp64Milli({as_of:Int64})
      AND trace_id IN {ids:Array(FixedString(32))}
    GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { from_ms: firstSeenMs, as_of: asOfMs, ids: traceIds });
  return new Map(found.map((r) => [r.trace_id, Number(r.ms)]));
}

/** The newest activity before `ms` (ingest time, ms since the epoch); 0 when none is stored. */
export async function newestActivityBefore(client: ClickHouseClient, ms: number, opts: ReadOptions = {}): Promise<number> {
  const found = await rows<{ ms: string }>(client, opts, `
    SELECT toString(toUnixTimestamp64Milli(last_seen)) AS ms FROM trace_activity
    WHERE last_seen < fromUnixTimestamp64Milli({ms:Int64})
    ORDER BY last_seen DESC
    LIMIT 1
    SETTINGS ${READ_TIME_LIMIT}`, { ms });
  return found.length > 0 ? Number(found[0].ms) : 0;
}
