import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { StoredSpanFields } from '../../../detector/snapshot';
import { queryBytes, READ_TIME_LIMIT, rows, type ReadOptions } from './read';

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

// The spans of many trees at once, as the detector's rules take them (detector/snapshot.ts StoredSpanFields).
// tree-spans.ts `spansOfTrees` reads the same for the live tick; a backtest reads a million spans, and there
// the output format decides the time. Measured on the bench's store (2,000 trees, 100k spans per read, chDB
// 3.4, a busy 2-core machine): the engine reads them in ~0.15 s; as JSONEachRow (52 MB) the read took ~2.5 s
// and JSON.parse ~1.3 s more, as TabSeparated (22 MB) ~0.7 s and the split below ~0.5 s. The attributes map
// is the widest column and the rules use one value of it, the HTTP status, only on failed spans (the retry
// storm's error class): it is read only there, which also lets the engine skip it elsewhere.
const SPAN_COLUMNS = `trace_id, span_id, parent_span_id, service_name, name, category, model, agent_name, tool_name, call_signature,
  status, status_message, error_type, toUnixTimestamp64Nano(start_time), toUnixTimestamp64Nano(end_time),
  input_tokens, output_tokens, cost_usd, counts_usage, scope_name,
  if(status = 'error', attributes['http.response.status_code'], ''), if(status = 'error', attributes['http.status_code'], '')`;

/** The spans of each trace, each span once (FINAL); a trace with none stored is absent from the map. */
export async function spanFieldsOfTrees(client: ClickHouseClient, traceIds: readonly string[], opts: ReadOptions = {}): Promise<Map<string, StoredSpanFields[]>> {
  const out = new Map<string, StoredSpanFields[]>();
  if (traceIds.length === 0) return out;
  const bytes = await queryBytes(client, opts, `
    SELECT ${SPAN_COLUMNS}
    FROM spans FINAL
    WHERE trace_id IN {ids:Array(FixedString(32))}
    FORMAT TabSeparated
    SETTINGS max_execution_time = 60`, { ids: traceIds });
  const text = bytes.toString('utf8');
  let at = 0;
  while (at < text.length) {
    let end = text.indexOf('\n', at);
    if (end < 0) end = text.length;
    const f = text.slice(at, end).split('\t').map(unescapeTsv);
    at = end + 1;
    if (f.length < 22) continue;
    const http = f[20] || f[21];
    const row: StoredSpanFields = {
      span_id: f[1], parent_span_id: f[2], service_name: f[3], name: f[4], category: f[5] as StoredSpanFields['category'],
      model: f[6], agent_name: f[7], tool_name: f[8], call_signature: f[9], status: f[10] as StoredSpanFields['status'],
      status_message: f[11], error_type: f[12], start_time: f[13], end_time: f[14],
      input_tokens: Number(f[15]), output_tokens: Number(f[16]), cost_usd: f[17] === '\\N' ? null : Number(f[17]),
      counts_usage: Number(f[18]), scope_name: f[19],
      attributes: http ? { [f[20] ? 'http.response.status_code' : 'http.status_code']: http } : undefined,
    };
    const list = out.get(f[0]);
    if (list) list.push(row);
    else out.set(f[0], [row]);
  }
  return out;
}

const TSV_ESCAPES: Record<string, string> = { b: '\b', f: '\f', r: '\r', n: '\n', t: '\t', '0': '\0' };

/** A TabSeparated field as ClickHouse escapes it (`\N`, a NULL, is left as is for the caller). */
function unescapeTsv(s: string): string {
  if (!s.includes('\\') || s === '\\N') return s;
  return s.replace(/\\(.)/g, (_, c: string) => TSV_ESCAPES[c] ?? c);
}
