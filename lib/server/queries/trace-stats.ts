import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { buildTree, type Rollup, type TreeInput } from '../../domain';
import type { TraceStatsRow } from './trace-rows';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';

export interface TraceStats {
  /** The trace's numbers as `toTraceSummary` takes them; tokens, cost and unpriced calls are `totals`'. */
  row: TraceStatsRow;
  maxDepth: number;
  /** Every span, each model call counted once (lib/domain/tree.ts): the numbers the detail shows too. */
  totals: Rollup;
  /**
   * The newest ingest time of the rows read (ms), when it is older than SETTLED_MS at the read (the engine's
   * clock): every row stored up to then was there to read, so the numbers hold until a row stored later moves
   * the trace index's last activity. Null while rows are arriving.
   */
  settledAtMs: number | null;
}

/** Rows stored this recently may not all be visible to a read yet (inserts end in any order). */
const SETTLED_MS = 10_000;

/** The tree's key for a span's instrumentation: compared, never shown, so a hash (short, and safe in any format). */
export const SCOPE_KEY = 'toString(cityHash64(scope_name))';

// What the tree needs of each model call (µs times, usage, instrumentation); other spans only place the tree.
const CALL_FIELDS = `toString(span_id), toUnixTimestamp64Micro(start_time), toUnixTimestamp64Micro(end_time),
    input_tokens, output_tokens, cost_usd, ${SCOPE_KEY}`;

type CallTuple = [spanId: string, start: number, end: number, input: number, output: number, cost: number | null, scope: string];

interface StatsQueryRow {
  trace_id: string;
  newest_ms: number;
  now_ms: number;
  span_ids: string[];
  parent_ids: string[];
  errors: number[];
  services: string[];
  calls: CallTuple[];
}

/**
 * Exact numbers (spans, errors, tokens, cost, depth) of a page of traces, read by primary key. Tokens and cost
 * go through the request tree, as in the detail, so that each model call counts once even when two
 * instrumentations report it (lib/domain/tree.ts): every span's id and parent, and the model calls' usage,
 * times and instrumentation.
 *
 * Without FINAL: a span an exporter re-sent may be read twice, and is counted once here, by id. FINAL would
 * merge every column of every granule the page touches across the table's parts, which grows with the history
 * stored; without it the trace-id filter runs first and only the page's rows are read in full.
 */
export async function traceStats(client: ClickHouseClient, traceIds: string[], opts: ReadOptions): Promise<Map<string, TraceStats>> {
  const [stats, started] = await Promise.all([
    rows<StatsQueryRow>(client, opts, `
      SELECT trace_id, groupArray(toString(span_id)) AS span_ids, groupArray(parent_span_id) AS parent_ids,
        groupArray(toUInt8(status = 'error')) AS errors, groupArray(toString(service_name)) AS services,
        groupArrayIf((${CALL_FIELDS}), counts_usage = 1) AS calls,
        toUnixTimestamp64Milli(max(ingested_at)) AS newest_ms, toUnixTimestamp64Milli(now64(3)) AS now_ms
      FROM spans
      WHERE trace_id IN {ids:Array(FixedString(32))}
      GROUP BY trace_id
      SETTINGS ${READ_TIME_LIMIT}, output_format_json_quote_64bit_integers = 0`, { ids: traceIds }),
    startedSpans(client, traceIds, opts),
  ]);
  const out = new Map<string, TraceStats>();
  for (const s of stats) {
    const running = started.get(s.trace_id);
    const newest = Math.max(Number(s.newest_ms), Number(running?.newest_ms ?? 0));
    out.set(s.trace_id, statsOf(withRunning(eachSpanOnce(s), running), newest < Number(s.now_ms) - SETTLED_MS ? newest : null));
  }
  // A tree whose spans have all only started.
  for (const [traceId, running] of started) if (!out.has(traceId)) out.set(traceId, statsOf(withRunning(emptyStats(traceId), running), null));
  return out;
}

function statsOf(s: StatsQueryRow & { running: number }, settledAtMs: number | null): TraceStats {
  const { maxDepth, totals } = buildTree(treeInputs(s));
  return { row: withTotals(countsOf(s), totals, s.running), maxDepth, totals, settledAtMs };
}

// The numbers of large traces as last read, under their newest ingest time. A trace list reads its page's
// numbers from every span of each trace it shows (exact, each model call once): a 100,000-span tree on the first
// page cost ~0.7 s of that on every poll of the list (2.5 s), long after it had finished.
const REMEMBER_MIN_SPANS = 2_000;
const REMEMBERED_MAX = 256;
/** Long enough to serve the polls of an incident; short enough that rows expiring by retention show soon. */
const REMEMBER_FOR_MS = 10 * 60_000;
const remembered = new Map<string, { settledAtMs: number; at: number; stats: TraceStats }>();

/**
 * traceStats for a page of the list: a large trace read before, whose last activity (the trace index's, which
 * every span stored moves) is still the newest ingest time that read saw, is not read again.
 */
export async function pageStats(client: ClickHouseClient, traceIds: string[], lastActivity: Promise<Map<string, number>>, opts: ReadOptions): Promise<Map<string, TraceStats>> {
  const now = Date.now();
  const known = new Set(traceIds.filter((id) => now - (remembered.get(id)?.at ?? -Infinity) < REMEMBER_FOR_MS));
  const others = traceIds.filter((id) => !known.has(id));
  const reading = others.length ? traceStats(client, others, opts) : Promise.resolve(new Map<string, TraceStats>());
  const last = await lastActivity;
  const out = new Map<string, TraceStats>();
  const changed: string[] = [];
  for (const id of known) {
    const r = remembered.get(id)!;
    if (last.get(id) === r.settledAtMs) out.set(id, r.stats);
    else changed.push(id);
  }
  const [read, reread] = await Promise.all([reading, changed.length ? traceStats(client, changed, opts) : new Map<string, TraceStats>()]);
  for (const found of [read, reread]) {
    for (const [id, stats] of found) {
      out.set(id, stats);
      remembered.delete(id);
      if (stats.settledAtMs === null || Number(stats.row.span_count) < REMEMBER_MIN_SPANS) continue;
      if (remembered.size >= REMEMBERED_MAX) remembered.delete(remembered.keys().next().value!);
      remembered.set(id, { settledAtMs: stats.settledAtMs, at: now, stats });
    }
  }
  return out;
}

interface StartedRow {
  trace_id: string;
  newest_ms: number;
  span_ids: string[];
  parent_ids: string[];
  services: string[];
}

/** The spans of these traces reported at start (sdk/), ended or not: where they place the tree, nothing else. */
async function startedSpans(client: ClickHouseClient, traceIds: string[], opts: ReadOptions): Promise<Map<string, StartedRow>> {
  const found = await rows<StartedRow>(client, opts, `
    SELECT trace_id, groupArray(toString(span_id)) AS span_ids, groupArray(parent_span_id) AS parent_ids,
      groupArray(toString(service_name)) AS services, toUnixTimestamp64Milli(max(ingested_at)) AS newest_ms
    FROM started_spans
    WHERE trace_id IN {ids:Array(FixedString(32))}
    GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { ids: traceIds });
  return new Map(found.map((r) => [r.trace_id, r]));
}

const emptyStats = (traceId: string): StatsQueryRow => ({ trace_id: traceId, newest_ms: 0, now_ms: 0, span_ids: [], parent_ids: [], errors: [], services: [], calls: [] });

/** The ended spans, then each started span whose ended version is not among them: running, no usage. */
function withRunning(s: StatsQueryRow, started: StartedRow | undefined): StatsQueryRow & { running: number } {
  if (!started) return { ...s, running: 0 };
  const ended = new Set(s.span_ids);
  const out = { ...s, span_ids: [...s.span_ids], parent_ids: [...s.parent_ids], errors: [...s.errors], services: [...s.services], running: 0 };
  for (let i = 0; i < started.span_ids.length; i++) {
    const id = started.span_ids[i];
    if (ended.has(id)) continue;
    ended.add(id);
    out.span_ids.push(id);
    out.parent_ids.push(started.parent_ids[i]);
    out.errors.push(0);
    out.services.push(started.services[i]);
    out.running++;
  }
  return out;
}

/** The rows with each span id once (the last copy read wins, as a merge keeps one copy). */
function eachSpanOnce(s: StatsQueryRow): StatsQueryRow {
  const at = new Map<string, number>();
  for (let i = 0; i < s.span_ids.length; i++) at.set(s.span_ids[i], i);
  if (at.size === s.span_ids.length) return s;
  const keep = [...at.values()].sort((x, y) => x - y);
  return { ...s, span_ids: keep.map((i) => s.span_ids[i]), parent_ids: keep.map((i) => s.parent_ids[i]), errors: keep.map((i) => s.errors[i]), services: keep.map((i) => s.services[i]) };
}

function countsOf(s: StatsQueryRow): Pick<TraceStatsRow, 'trace_id' | 'span_count' | 'error_count' | 'root_service'> {
  let errors = 0;
  let rootService = '';
  for (let i = 0; i < s.span_ids.length; i++) {
    if (s.errors[i]) errors++;
    if (s.parent_ids[i] === '' && !rootService) rootService = s.services[i];
  }
  return { trace_id: s.trace_id, span_count: String(s.span_ids.length), error_count: String(errors), root_service: rootService };
}

/** The summary row with the tree's totals in place of the engine's sums. */
export function withTotals(s: Pick<TraceStatsRow, 'trace_id' | 'span_count' | 'error_count' | 'root_service'>, totals: Rollup, running = 0): TraceStatsRow {
  return {
    running: String(running),
    trace_id: s.trace_id,
    span_count: s.span_count,
    error_count: s.error_count,
    root_service: s.root_service,
    in_tokens: String(totals.inputTokens),
    out_tokens: String(totals.outputTokens),
    cost: totals.costUsd,
    unpriced: String(totals.unpricedSpans),
  };
}

function treeInputs(s: StatsQueryRow): TreeInput[] {
  const calls = new Map<string, CallTuple>();
  for (const c of s.calls) calls.set(c[0], c);
  return s.span_ids.map((spanId, i) => {
    const c = calls.get(spanId);
    const parentSpanId = s.parent_ids[i] || null;
    return c
      ? { spanId, parentSpanId, start: c[1], end: c[2], inputTokens: c[3], outputTokens: c[4], costUsd: c[5], countsUsage: true, scope: c[6] }
      : { spanId, parentSpanId, start: 0, end: 0, inputTokens: 0, outputTokens: 0, costUsd: null, countsUsage: false, scope: '' };
  });
}
