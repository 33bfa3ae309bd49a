import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { buildTree, killedSummary, type Alert, type Kill, type Rollup, type TraceSummary, type TreeBudget, type TreeInput, type TreeNode } from '../../domain';
import { toTraceSummary, type TraceIndexRow, type TraceStatsRow } from './trace-rows';
import { alertsOfTrace } from './alerts';
import { INDEX_COLUMNS, STATS_COLUMNS } from './trace-columns';
import { SCOPE_KEY, traceStats, withTotals } from './trace-stats';
import { READ_TIME_LIMIT, queryBytes, rows, type ReadOptions } from './read';
import { alertsKey, encodeDetailCursor, killsKey, tableMark, type TableMark } from './trace-cursor';
import { snapshotOf, snapshots } from './trace-snapshots';

// The fields the tree needs, as tab-separated text ahead of each span's JSON (TabSeparatedRaw: ids are hex,
// numbers plain, NULL is \N, and the JSON itself never holds a literal tab or newline). The ingest time (ms)
// is the detail's cursor: a later `?since=` sends only what was stored after it (trace-increment.ts).
export const TREE_COLUMNS = `toString(span_id), parent_span_id, toUnixTimestamp64Micro(start_time), toUnixTimestamp64Micro(end_time),
    input_tokens, output_tokens, cost_usd, counts_usage, ${SCOPE_KEY}, toUnixTimestamp64Milli(ingested_at)`;
const TREE_FIELDS = 10;
const TAB = 9;
const NEWLINE = 10;

const iso = (column: string) =>
  `concat(substring(formatDateTime(toDateTime64(${column}, 6, 'UTC'), '%Y-%m-%dT%H:%i:%S.%f', 'UTC'), 1, 23), 'Z')`;

// Every SpanView field but the tree's (depth, orphan, rollup, countsSpend, spendCountedOn), formatted as a JSON object by the engine:
// a 10,000-span trace is ~9 MiB of JSON, and parsing it into objects only to stringify it again cost more
// than all the rest of the request (and most of it in garbage collection).
const spanJson = (running: boolean) => `formatRowNoNewline('JSONEachRow',
    toString(span_id) AS spanId,
    nullIf(parent_span_id, '') AS parentSpanId,
    name,
    toString(service_name) AS serviceName,
    category,
    nullIf(toString(model), '') AS model,
    nullIf(toString(provider), '') AS provider,
    ${iso('start_time')} AS startTime,
    ${iso('end_time')} AS endTime,
    greatest(0, dateDiff('microsecond', start_time, ${running ? 'now64(6)' : 'end_time'})) / 1000 AS durationMs,
    status,
    status_message AS statusMessage,
    toFloat64(input_tokens) AS inputTokens,
    toFloat64(output_tokens) AS outputTokens,
    toFloat64(cache_read_tokens) AS cacheReadTokens,
    toFloat64(cache_write_tokens) AS cacheWriteTokens,
    cost_usd AS costUsd,
    nullIf(agent_name, '') AS agentName,
    nullIf(tool_name, '') AS toolName,
    nullIf(call_signature, '') AS callSignature,
    nullIf(error_type, '') AS errorType,
    attributes,
    ${running} AS running)`;
export const SPAN_JSON = spanJson(false);
export const STARTED_SPAN_JSON = spanJson(true);

export interface DetailOptions extends ReadOptions {
  /** The kills in force on the trace (the kill hub's), shown on the trace and on each span they cover. */
  kills?: readonly Kill[];
  budget?: TreeBudget | null;
  /**
   * How long before the newest row read an insert may still become visible (trace-cursor.ts): 0 on the embedded
   * engine (one writer per table, one insert at a time); a few seconds on a ClickHouse server, where several
   * processes insert at once.
   */
  slackMs?: number;
}

/**
 * The trace and its spans as the UTF-8 JSON of a TraceDetailResponse, or null for an unknown trace. The tree
 * (depth, orphans, rollups) is computed in JS from a few leading columns of each row; the rest of each span
 * arrives as JSON formatted by the engine and is copied to the response as bytes, never decoded: a
 * 10,000-span trace is ~9 MiB, and decoding it to a string and encoding it again cost more than the tree.
 * At most `maxBytes` of span JSON is read (the engine stops near it, the rest is cut here): a trace past
 * it answers with the spans that fit and `truncated: true`, the totals still counting every span. `cursor`
 * (null when truncated) is what `?since=` takes to read only the changes from here on (trace-increment.ts).
 */
export async function getTraceJson(client: ClickHouseClient, traceId: string, maxBytes: number, opts: DetailOptions = {}): Promise<Buffer | null> {
  // One scan gives both the tree's fields and the formatted spans; the trace's index row, counts and alerts
  // are small reads, run meanwhile.
  const limit = `SETTINGS ${READ_TIME_LIMIT}, max_result_bytes = ${resultByteLimit(maxBytes)}, result_overflow_mode = 'break'
      FORMAT TabSeparatedRaw`;
  const [index, endedText, startedText, counts, alerts] = await Promise.all([
    traceIndexRow(client, traceId, opts),
    queryBytes(client, opts, `SELECT ${TREE_COLUMNS}, ${SPAN_JSON} FROM spans FINAL WHERE trace_id = {t:FixedString(32)} ${limit}`, { t: traceId }),
    // Spans reported at start (sdk/): those not ended yet are shown running. Usually none, and then nothing is read.
    queryBytes(client, opts, `SELECT ${TREE_COLUMNS}, ${STARTED_SPAN_JSON} FROM started_spans FINAL WHERE trace_id = {t:FixedString(32)} ${limit}`, { t: traceId }),
    traceCounts(client, traceId, opts),
    alertsOfTrace(client, traceId, opts),
  ]);
  if (!index) return null;
  const { spans, truncated } = parseTreeRows(endedText, maxBytes);
  const slack = opts.slackMs ?? 0;
  const marks: { ended: TableMark; started: TableMark } = { ended: tableMark(spans, slack), started: tableMark([], slack) };
  let text = endedText;
  let running = 0;
  // A truncated detail lacks ended spans past the cut, whose started reports would read as running: none are added.
  if (startedText.length > 0 && !truncated) {
    text = Buffer.concat([endedText, startedText]);
    const ended = new Set(spans.map((s) => s.spanId));
    const started = parseTreeRows(text, Infinity, endedText.length).spans;
    marks.started = tableMark(started, slack);
    for (const s of started) {
      if (ended.has(s.spanId)) continue;
      spans.push({ ...s, running: true, countsUsage: false });
      running++;
    }
  }
  if (spans.length === 0 && !truncated) return null;
  const tree = buildTree(spans);
  // The trace's tokens and cost are the tree's totals, summed by the same function as the list's (trace-stats.ts),
  // so list and detail always agree. A truncated detail has only part of the tree: its totals are read whole.
  let stats: TraceStatsRow | undefined;
  let maxDepth = tree.maxDepth;
  if (truncated) {
    const whole = (await traceStats(client, [traceId], opts)).get(traceId);
    stats = whole?.row;
    if (whole) maxDepth = whole.maxDepth;
  } else {
    stats = statsOf(traceId, counts, tree.totals, running);
  }
  if (!stats) return null;

  const { nodes } = tree;
  const kills = opts.kills ?? [];
  const cursor = truncated ? null : encodeDetailCursor({ ...marks, kills: killsKey(kills), alerts: alertsKey(alerts) });
  const head = `{${headJson(summaryOf(index, stats, maxDepth, alerts, kills), alerts, kills, opts.budget ?? null)},"truncated":${truncated},"cursor":${JSON.stringify(cursor)},"spans":[`;
  const covers = killCover(nodes, kills);
  // What the client now holds, for its next `?since=` (trace-snapshots.ts).
  if (cursor) snapshots.set(traceId, cursor, snapshotOf(nodes, covers), { totals: tree.totals, maxDepth, running });
  // Each span's JSON minus its closing brace, then the tree's fields: ASCII (numbers print the same through a
  // template as through JSON.stringify), but for the name of the span that counts a call's usage, copied as
  // the engine formatted it in that span's JSON.
  // Each span on its own line (JSON allows the whitespace; the engine's JSON holds no raw newline): the browser
  // parses a large detail a slice of lines at a time, never blocking the page for the whole body
  // (lib/client/detail-text.ts).
  const tails: Tail[] = new Array(nodes.length);
  let size = Buffer.byteLength(head) + 3;
  for (let i = 0; i < nodes.length; i++) {
    const tail = tailOf(nodes[i], covers[i], (on) => nameIn(text, on));
    tails[i] = tail;
    size += 1 + nodes[i].span.jsonEnd - 1 - nodes[i].span.jsonStart + tailBytes(tail) + (i > 0 ? 1 : 0);
  }
  const out = Buffer.allocUnsafe(size);
  let at = out.write(head, 0, 'utf8');
  for (let i = 0; i < nodes.length; i++) {
    const span = nodes[i].span;
    if (i > 0) out[at++] = 0x2c; // ,
    out[at++] = 0x0a;
    at += text.copy(out, at, span.jsonStart, span.jsonEnd - 1);
    at = writeTail(out, at, tails[i]);
  }
  at += out.write('\n]}', at, 'latin1');
  return out;
}

// --- what the full detail and the increment share ----------------------------------------------------------

export async function traceIndexRow(client: ClickHouseClient, traceId: string, opts: ReadOptions): Promise<TraceIndexRow | undefined> {
  const [index] = await rows<TraceIndexRow>(client, opts, `
    SELECT ${INDEX_COLUMNS} FROM traces WHERE trace_id = {t:FixedString(32)} GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { t: traceId });
  return index;
}

type CountsRow = Pick<TraceStatsRow, 'trace_id' | 'span_count' | 'error_count' | 'root_service'>;

export async function traceCounts(client: ClickHouseClient, traceId: string, opts: ReadOptions): Promise<CountsRow | undefined> {
  const [counts] = await rows<CountsRow>(client, opts, `
    SELECT ${STATS_COLUMNS} FROM spans FINAL WHERE trace_id = {t:FixedString(32)} GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { t: traceId });
  return counts;
}

/** The engine's counts with the tree's totals, the running spans counted too; undefined for a trace with no spans. */
export function statsOf(traceId: string, counts: CountsRow | undefined, totals: Rollup, running: number): TraceStatsRow | undefined {
  const known = counts ?? (running > 0 ? { trace_id: traceId, span_count: '0', error_count: '0', root_service: '' } : undefined);
  return known && withTotals({ ...known, span_count: String(Number(known.span_count) + running), root_service: known.root_service }, totals, running);
}

export function summaryOf(index: TraceIndexRow, stats: TraceStatsRow, maxDepth: number, alerts: readonly Alert[], kills: readonly Kill[]): TraceSummary {
  const open = alerts.filter((a) => a.status === 'open');
  const openSummary = open.length ? { count: open.length, worst: open.some((a) => a.severity === 'critical') ? ('critical' as const) : ('warning' as const) } : undefined;
  const summary = toTraceSummary(index, stats, maxDepth, openSummary);
  return kills.some((k) => k.scope === 'tree') ? killedSummary(summary) : summary;
}

/** The response's leading members, without braces: the trace, its alerts (null: unchanged, not sent), kills and budget. */
export function headJson(summary: TraceSummary, alerts: readonly Alert[] | null, kills: readonly Kill[], budget: TreeBudget | null): string {
  return `"trace":${JSON.stringify(summary)},${alerts ? `"alerts":${JSON.stringify(alerts)},` : ''}"kills":${JSON.stringify(kills)},"budget":${JSON.stringify(budget)}`;
}

/** A span's tree fields as JSON: ASCII `head`, then bytes [nameStart, nameEnd) of `nameText`, then ASCII `rest`. */
export interface Tail {
  head: string;
  nameText: Buffer | null;
  nameStart: number;
  nameEnd: number;
  rest: string;
}

export const tailBytes = (t: Tail) => t.head.length + t.nameEnd - t.nameStart + t.rest.length;

export function writeTail(out: Buffer, at: number, tail: Tail): number {
  at += out.write(tail.head, at, 'latin1');
  if (tail.nameText) at += tail.nameText.copy(out, at, tail.nameStart, tail.nameEnd);
  return at + out.write(tail.rest, at, 'latin1');
}

/** Where the JSON name string of a span is: its bytes in `text`, quotes included ([0, 0] when not found). */
export type NameOf = (on: TreeRow) => { text: Buffer | null; range: [number, number] };

function nameIn(text: Buffer, on: TreeRow): { text: Buffer; range: [number, number] } {
  on.nameRange ??= jsonNameRange(text, on.jsonStart, on.jsonEnd);
  return { text, range: on.nameRange };
}

/** `killed`: the node's `killed` and `killedBy` JSON (killCover). */
export function tailOf(node: TreeNode<TreeRow>, killed: string, nameOf: NameOf): Tail {
  const { depth, orphan, rollup: r, countsSpend, spendCountedElsewhere: elsewhere } = node;
  const tree =
    `,"depth":${depth},"orphan":${orphan},${killed},"rollup":{"spanCount":${r.spanCount},"inputTokens":${finite(r.inputTokens)},` +
    `"outputTokens":${finite(r.outputTokens)},"costUsd":${finite(r.costUsd)},"unpricedSpans":${r.unpricedSpans}}}`;
  if (!elsewhere) return { head: `,"countsSpend":${countsSpend},"spendCountedOn":null`, nameText: null, nameStart: 0, nameEnd: 0, rest: tree };
  const on = elsewhere.on;
  const { text, range } = nameOf(on);
  const found = range[1] > range[0];
  return {
    head: `,"countsSpend":${countsSpend},"spendCountedOn":{"spanId":"${on.spanId}","name":${found ? '' : '""'}`,
    nameText: found ? text : null,
    nameStart: range[0],
    nameEnd: range[1],
    rest: `,"reason":"${elsewhere.reason}"}${tree}`,
  };
}

const NOT_KILLED = '"killed":false,"killedBy":null';

/**
 * Per node, in tree order, its `killed` and `killedBy` JSON (ASCII: ids are hex). One pass over the order: a
 * node's subtree is the nodes after it with a greater depth, so a killed branch covers the nodes that follow
 * it until the depth falls back to its own. An orphan (its parent never arrived, e.g. a killed agent still
 * running) is covered by a kill of that parent. The outermost kill is named when several cover a span.
 */
export function killCover(nodes: readonly TreeNode<TreeRow>[], kills: readonly Kill[]): string[] {
  const out = new Array<string>(nodes.length).fill(NOT_KILLED);
  if (kills.length === 0) return out;
  const ref = (k: Kill) => `"killed":true,"killedBy":{"scope":"${k.scope}","spanId":${k.spanId ? `"${k.spanId}"` : 'null'}}`;
  const tree = kills.find((k) => k.scope === 'tree');
  if (tree) return out.fill(ref(tree));
  const branches = new Map(kills.map((k) => [k.spanId ?? '', ref(k)]));
  let cover: string | null = null;
  let coverDepth = -1;
  for (let i = 0; i < nodes.length; i++) {
    const { span, depth } = nodes[i];
    if (cover !== null && depth <= coverDepth) cover = null;
    if (cover === null) {
      const own = branches.get(span.spanId) ?? (depth === 0 && span.parentSpanId ? branches.get(span.parentSpanId) : undefined);
      if (own) (cover = own), (coverDepth = depth);
    }
    if (cover !== null) out[i] = cover;
  }
  return out;
}

const NAME_KEY = Buffer.from('"name":');

/**
 * The bytes of the `name` string in a span's JSON (quotes included): the first `"name":` in the object is its
 * key, as only hex ids or null come before it (SPAN_JSON), and the string ends at the first quote not escaped.
 */
export function jsonNameRange(text: Buffer, start: number, end: number): [number, number] {
  const key = text.indexOf(NAME_KEY, start);
  const open = key + NAME_KEY.length;
  if (key < 0 || open >= end || text[open] !== 0x22) return [0, 0];
  for (let i = open + 1; i < end; i++) {
    if (text[i] === 0x5c) i++; // a backslash escapes the next byte
    else if (text[i] === 0x22) return [open, i + 1];
  }
  return [0, 0];
}

/** SETTINGS takes literals only, not parameters: the budget comes from configuration, checked to be an integer. */
function resultByteLimit(maxBytes: number): string {
  if (!Number.isSafeInteger(maxBytes) || maxBytes <= 0) throw new Error(`Not a byte budget: ${maxBytes}`);
  return String(maxBytes);
}

/** JSON has no Infinity or NaN: a number that is not finite is written as null. */
function finite(x: number): string {
  return Number.isFinite(x) ? String(x) : 'null';
}

export interface TreeRow extends TreeInput {
  /** Byte range of the span's JSON object in the query's output (empty when the query read no JSON). */
  jsonStart: number;
  jsonEnd: number;
  /** Byte range of its JSON name string, once another span's detail needs it. */
  nameRange?: [number, number];
  /** Reported at start and not ended yet. */
  running: boolean;
  /** When this version of the row was stored (ms, the engine's clock). */
  ingestedMs: number;
}

export function maxIngested(spans: readonly TreeRow[]): number {
  let max = 0;
  for (const s of spans) if (s.ingestedMs > max) max = s.ingestedMs;
  return max;
}

/** TREE_COLUMNS that are integers (µs and ms times, token counts, counts_usage): never NULL, at most 2^53. */
const INTEGER_FIELD = [false, false, true, true, true, true, false, true, false, true];

/** The number in bytes [from, to), as Number() reads its text: digits (and a minus sign) read here, the rest by Number. */
export function integerAt(text: Buffer, from: number, to: number): number {
  const negative = text[from] === 0x2d;
  let i = negative ? from + 1 : from;
  if (i >= to) return Number(text.toString('latin1', from, to));
  let value = 0;
  for (; i < to; i++) {
    const d = text[i] - 48;
    if (d < 0 || d > 9) return Number(text.toString('latin1', from, to));
    value = value * 10 + d;
  }
  return negative ? -value : value;
}

/**
 * The rows that end within `maxBytes`; `truncated` when the output holds (or the engine cut) more. A row is
 * TREE_FIELDS tab-separated fields, then (when the query selected it) the span's JSON up to the newline.
 */
export function parseTreeRows(text: Buffer, maxBytes: number, from = 0): { spans: TreeRow[]; truncated: boolean } {
  const out: TreeRow[] = [];
  const f: string[] = new Array(TREE_FIELDS);
  const n: number[] = new Array(TREE_FIELDS).fill(0);
  let pos = from;
  // The engine stops at a block boundary past max_result_bytes, so reaching the budget means rows are missing.
  let truncated = text.length >= maxBytes;
  while (pos < text.length) {
    let end = text.indexOf(NEWLINE, pos);
    if (end < 0) end = text.length;
    if (end > maxBytes) {
      truncated = true;
      break;
    }
    let p = pos;
    for (let k = 0; k < TREE_FIELDS; k++) {
      let tab = text.indexOf(TAB, p);
      if (tab < 0 || tab > end) tab = end;
      // The integer columns are read from the bytes: a string per field was most of this parse (1 M strings
      // for a 100,000-span tree, whose first rows wait on it: trace-head.ts).
      if (INTEGER_FIELD[k]) n[k] = integerAt(text, p, tab);
      else f[k] = text.toString('latin1', p, tab);
      p = Math.min(tab + 1, end);
    }
    out.push({
      spanId: f[0],
      parentSpanId: f[1] || null,
      start: n[2],
      end: n[3],
      inputTokens: n[4],
      outputTokens: n[5],
      costUsd: f[6] === '\\N' ? null : Number(f[6]),
      countsUsage: n[7] === 1,
      scope: f[8],
      ingestedMs: n[9],
      jsonStart: p,
      jsonEnd: end,
      running: false,
    });
    pos = end + 1;
  }
  return { spans: out, truncated };
}
