import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { TreeStats } from '../../../detector/baseline';
import { EventLoopSlices } from '../event-loop-slices';
import type { Storage } from '../storage/storage';
import { READ_TIME_LIMIT, rows } from './read';

// The detector's own state (migrations/006_detector.sql): named values (its watermark, the rule settings)
// and the history of finished trees its baselines are computed from.

const utcNow = (ms: number) => new Date(ms).toISOString().replace('T', ' ').replace('Z', '');

/** The latest value written under `name`, parsed; null when none was. */
export async function readState<T>(client: ClickHouseClient, name: string): Promise<T | null> {
  const [row] = await rows<{ value: string }>(client, {}, `
    SELECT value FROM detector_state WHERE name = {name:String} ORDER BY updated_at DESC LIMIT 1
    SETTINGS ${READ_TIME_LIMIT}`, { name });
  return row ? (JSON.parse(row.value) as T) : null;
}

/** The value and when it was written (ms), to tell whether another process changed it since. */
export async function readStateStamped<T>(client: ClickHouseClient, name: string): Promise<{ value: T; updatedMs: number } | null> {
  const [row] = await rows<{ value: string; ms: string }>(client, {}, `
    SELECT value, toString(toUnixTimestamp64Milli(updated_at)) AS ms FROM detector_state WHERE name = {name:String}
    ORDER BY updated_at DESC LIMIT 1
    SETTINGS ${READ_TIME_LIMIT}`, { name });
  return row ? { value: JSON.parse(row.value) as T, updatedMs: Number(row.ms) } : null;
}

export async function writeState(storage: Storage, name: string, value: unknown, nowMs = Date.now()): Promise<void> {
  const line = JSON.stringify({ name, value: JSON.stringify(value), updated_at: utcNow(nowMs) });
  await storage.insertRaw('detector_state', Buffer.from(line + '\n'));
}

export interface FinishedTree {
  traceId: string;
  finishedMs: number;
  stats: TreeStats;
  /** The tree had an alert: kept out of the baselines. */
  runaway: boolean;
}

/** Rows written between two looks at the event loop (a flush at full ingest holds ~7,000: ~15 ms of writing). */
const HISTORY_ROWS_PER_SLICE = 1_000;

export async function recordFinishedTrees(storage: Storage, trees: readonly FinishedTree[], retentionDays: number): Promise<void> {
  if (trees.length === 0) return;
  const parts: Buffer[] = [];
  const slices = new EventLoopSlices();
  for (let i = 0; i < trees.length; i += HISTORY_ROWS_PER_SLICE) {
    if (slices.due()) await slices.pause();
    parts.push(historyRows(trees.slice(i, i + HISTORY_ROWS_PER_SLICE), retentionDays));
  }
  await storage.insertRaw('tree_history', parts.length === 1 ? parts[0] : Buffer.concat(parts), HISTORY_ROWS_FORMAT);
}

/** The columns of `tree_history` in the order `historyRows` writes them. */
export const HISTORY_COLUMNS = [
  'service_name', 'root_name', 'trace_id', 'finished_at', 'cost_usd', 'tokens', 'duration_ms', 'spans',
  'max_children', 'max_depth', 'max_call_input_tokens', 'runaway', 'retention_days',
] as const;

const HISTORY_ROWS_FORMAT = { format: 'JSONCompactEachRow', columns: HISTORY_COLUMNS } as const;

/**
 * The rows as JSONCompactEachRow (HISTORY_COLUMNS) bytes, written field by field into one buffer: a flush holds
 * thousands of trees of a few kinds, so each name is quoted once per flush and a batch's time text made once (an
 * object and a JSON.stringify per row, as JSONEachRow, cost ~2.5× as much). Not a string per row: a template of
 * thirteen fields made ~2.5 KB of short-lived strings per tree on the event loop (~24 MB per 20 s at full ingest),
 * each scavenge of which paused it while a flush's strings were still alive.
 */
export function historyRows(trees: readonly FinishedTree[], retentionDays: number): Buffer {
  const w = new RowWriter(trees.length * 160 + 64);
  const quoted = new Map<string, string>();
  let lastMs = NaN;
  let lastText = '';
  for (const { traceId, finishedMs, stats: s, runaway } of trees) {
    if (finishedMs !== lastMs) lastText = quoteOnce(quoted, utcNow((lastMs = finishedMs)));
    w.text('[');
    w.text(quoteOnce(quoted, s.serviceName));
    w.text(',');
    w.text(quoteOnce(quoted, s.rootName));
    w.text(',"');
    w.text(traceId); // 32 hex digits: nothing to escape
    w.text('",');
    w.text(lastText);
    w.text(',');
    w.num(s.costUsd, ',');
    w.num(s.tokens, ',');
    w.num(s.durationMs, ',');
    w.num(s.spans, ',');
    w.num(s.maxChildren, ',');
    w.num(s.maxDepth, ',');
    w.num(s.maxCallInputTokens, ',');
    w.num(runaway ? 1 : 0, ',');
    w.num(retentionDays, ']\n');
  }
  return w.bytes();
}

function quoteOnce(quoted: Map<string, string>, text: string): string {
  let q = quoted.get(text);
  if (q === undefined) quoted.set(text, (q = JSON.stringify(text)));
  return q;
}

/** Bytes written in place, growing by doubling; integers digit by digit (no string per number). */
class RowWriter {
  private buf: Buffer;
  private pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  text(s: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8.
    this.room(3 * s.length);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
  /** A number as JSON writes it (a non-finite one as null), then `after`. */
  num(x: number, after: string): void {
    if (Number.isSafeInteger(x) && x >= 0) {
      this.room(16 + after.length);
      let digits = 1;
      for (let v = x; v >= 10; v = Math.floor(v / 10)) digits++;
      for (let i = digits - 1, v = x; i >= 0; i--, v = Math.floor(v / 10)) this.buf[this.pos + i] = 48 + (v % 10);
      this.pos += digits;
    } else this.text(num(x));
    this.text(after);
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
  private room(bytes: number): void {
    if (this.pos + bytes <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.buf.length, this.pos + bytes));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}

/** A number as JSON writes it (a non-finite one as null). */
function num(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

interface HistoryRow {
  trace_id: string;
  service_name: string;
  root_name: string;
  cost_usd: number;
  tokens: number;
  duration_ms: number;
  spans: number;
  max_children: number;
  max_depth: number;
  max_call_input_tokens: number;
}

/**
 * The most recent finished, non-runaway trees of a service (and root name, when given), newest first. The
 * key's prefix is the table's primary key, so this reads one service's rows, not the whole history.
 */
export async function recentHistory(client: ClickHouseClient, serviceName: string, rootName: string | null, limit: number): Promise<(TreeStats & { traceId: string })[]> {
  const found = await rows<HistoryRow>(client, {}, `
    SELECT trace_id, service_name, root_name, cost_usd, tokens, duration_ms, spans, max_children, max_depth, max_call_input_tokens
    FROM tree_history FINAL
    WHERE service_name = {service:String} ${rootName === null ? '' : 'AND root_name = {root:String}'} AND runaway = 0
    ORDER BY finished_at DESC
    LIMIT {limit:UInt32}
    SETTINGS ${READ_TIME_LIMIT}`, { service: serviceName, root: rootName ?? '', limit });
  return found.map(historyRow);
}

export interface ServiceSpendBucket {
  serviceName: string;
  /** Start of the bucket, ms since the epoch. */
  bucketMs: number;
  costUsd: number;
  /** The tree that spent most in it (where an alert about the service points). */
  topTraceId: string;
}

/**
 * Spend of finished trees per service and bucket of their finish time, over [fromMs, toMs): the service-level
 * spend chart the EWMA rule reads. One row per finished tree in tree_history, so this reads the range's trees.
 */
export async function serviceSpendBuckets(client: ClickHouseClient, fromMs: number, toMs: number, bucketMinutes: number): Promise<ServiceSpendBucket[]> {
  const found = await rows<{ service_name: string; b: string; usd: number; top: string }>(client, {}, `
    SELECT service_name, toString(toUnixTimestamp(toStartOfInterval(finished_at, toIntervalSecond({secs:UInt32}))) * 1000) AS b,
      sum(cost_usd) AS usd, argMax(trace_id, cost_usd) AS top
    FROM tree_history FINAL
    WHERE finished_at >= fromUnixTimestamp64Milli({from:Int64}) AND finished_at < fromUnixTimestamp64Milli({to:Int64})
    GROUP BY service_name, b
    SETTINGS ${READ_TIME_LIMIT}`, { from: fromMs, to: toMs, secs: Math.round(bucketMinutes * 60) });
  return found.map((r) => ({ serviceName: r.service_name, bucketMs: Number(r.b), costUsd: Number(r.usd), topTraceId: r.top }));
}

/** The root span id of a trace ('' while its root has not arrived). */
export async function rootSpanIdOf(client: ClickHouseClient, traceId: string): Promise<string> {
  const [row] = await rows<{ root: string }>(client, {}, `
    SELECT max(root_span_id) AS root FROM traces WHERE trace_id = {t:FixedString(32)} SETTINGS ${READ_TIME_LIMIT}`, { t: traceId });
  return row?.root ?? '';
}

/**
 * The same for many keys in one read: per (service, root name) pair, and per service (every root name), the
 * `limit` most recent finished, non-runaway trees. The detector reads a batch's baselines this way, not one
 * query per tree.
 */
export async function recentHistoryMany(
  client: ClickHouseClient,
  pairs: readonly [service: string, rootName: string][],
  services: readonly string[],
  limit: number,
): Promise<{ byPair: Map<string, (TreeStats & { traceId: string })[]>; byService: Map<string, (TreeStats & { traceId: string })[]> }> {
  const columns = 'trace_id, service_name, root_name, cost_usd, tokens, duration_ms, spans, max_children, max_depth, max_call_input_tokens';
  const [pairRows, serviceRows] = await Promise.all([
    pairs.length
      ? rows<HistoryRow>(client, {}, `
          SELECT ${columns} FROM tree_history FINAL
          WHERE service_name IN {pair_services:Array(String)} AND concat(service_name, '\\0', root_name) IN {pairs:Array(String)}
            AND runaway = 0
          ORDER BY finished_at DESC LIMIT {limit:UInt32} BY service_name, root_name
          SETTINGS ${READ_TIME_LIMIT}`, { pair_services: [...new Set(pairs.map(([s]) => s))], pairs: pairs.map(([s, r]) => `${s}\0${r}`), limit })
      : [],
    services.length
      ? rows<HistoryRow>(client, {}, `
          SELECT ${columns} FROM tree_history FINAL
          WHERE service_name IN {services:Array(String)} AND runaway = 0
          ORDER BY finished_at DESC LIMIT {limit:UInt32} BY service_name
          SETTINGS ${READ_TIME_LIMIT}`, { services, limit })
      : [],
  ]);
  const byPair = new Map<string, (TreeStats & { traceId: string })[]>();
  for (const r of pairRows) (byPair.get(`${r.service_name}\0${r.root_name}`) ?? byPair.set(`${r.service_name}\0${r.root_name}`, []).get(`${r.service_name}\0${r.root_name}`)!).push(historyRow(r));
  const byService = new Map<string, (TreeStats & { traceId: string })[]>();
  for (const r of serviceRows) (byService.get(r.service_name) ?? byService.set(r.service_name, []).get(r.service_name)!).push(historyRow(r));
  return { byPair, byService };
}

function historyRow(r: HistoryRow): TreeStats & { traceId: string } {
  return {
    traceId: r.trace_id,
    serviceName: r.service_name,
    rootName: r.root_name,
    costUsd: Number(r.cost_usd),
    tokens: Number(r.tokens),
    durationMs: Number(r.duration_ms),
    spans: Number(r.spans),
    maxChildren: Number(r.max_children),
    maxDepth: Number(r.max_depth),
    maxCallInputTokens: Number(r.max_call_input_tokens),
  };
}
