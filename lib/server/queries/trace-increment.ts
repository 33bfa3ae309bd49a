import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { buildTree, type Kill, type Tree, type TreeNode } from '../../domain';
import { READ_TIME_LIMIT, queryBytes, type ReadOptions } from './read';
import { alertsOfTrace } from './alerts';
import { alertsKey, encodeDetailCursor, killsKey, knownUpTo, tableMark, type DetailCursor } from './trace-cursor';
import { parentsOf, snapshotOf, snapshots, treeFieldsKey, type TreeSnapshot } from './trace-snapshots';
import {
  getTraceJson, headJson, jsonNameRange, killCover, parseTreeRows, SPAN_JSON, STARTED_SPAN_JSON, statsOf, summaryOf,
  tailBytes, tailOf, traceCounts, traceIndexRow, TREE_COLUMNS, writeTail, type DetailOptions, type Tail, type TreeRow,
} from './trace-detail';

// `GET /api/traces/:id?since=<cursor>`: what changed in a trace since a client read it, so that an open page
// keeps a running 10,000-span tree live without reading, sending and parsing the whole tree every second.
//
// The tree's order, depth, orphans, rollups and spend counting stay the server's (lib/domain/tree.ts): the tree
// is built from the light leading columns of every span (no attributes, no JSON) as it is now, and compared with
// the tree the client holds: the one last sent, kept in memory (trace-snapshots.ts), or else rebuilt from the rows
// stored up to the cursor (trace-cursor.ts says which). When nothing was stored since, no tree is built at all.
// The comparison gives, in tree order:
//  - spans new or changed since the cursor (a re-sent span, a running span that ended): whole, as in the detail;
//  - spans whose tree fields changed (an ancestor's rollup, a re-parented orphan's depth, spend counting): a
//    patch of those fields only;
// each with `after`, the span before it in the new tree order (null: first). Every other span keeps its place
// relative to the others (its ancestors are unchanged, and siblings are ordered by start), so the client
// rebuilds the order in one pass (lib/domain/trace-increment.ts). Only the new and changed spans' JSON is read,
// by primary key. A kill or revive since the cursor, or more changed spans than unchanged ones, is answered
// with the full detail, as is a cursor of a truncated detail (it has none).

/**
 * What a tree's order and numbers need, without any span's JSON: the index row, every ended and started span's
 * tree columns, the counts and the alerts, read at once. Null for an unknown trace.
 */
export async function readTreeState(client: ClickHouseClient, traceId: string, opts: DetailOptions) {
  const [around, ended] = await Promise.all([readAroundTree(client, traceId, opts), readEndedTreeRows(client, traceId, opts)]);
  return around && { ...around, ended };
}

/** The ended spans' tree columns (readTreeState's largest read). */
export async function readEndedTreeRows(client: ClickHouseClient, traceId: string, opts: DetailOptions): Promise<TreeRow[]> {
  return parseTreeRows(await lightRows(client, 'spans', traceId, opts), Infinity).spans;
}

/** All of readTreeState but the ended spans' rows (the largest read): for a caller that may hold those already. */
export async function readAroundTree(client: ClickHouseClient, traceId: string, opts: DetailOptions) {
  const [index, startedText, counts, alerts] = await Promise.all([
    traceIndexRow(client, traceId, opts),
    lightRows(client, 'started_spans', traceId, opts),
    traceCounts(client, traceId, opts),
    alertsOfTrace(client, traceId, opts),
  ]);
  if (!index) return null;
  return { index, started: parseTreeRows(startedText, Infinity).spans, counts, alerts };
}

const lightRows = (client: ClickHouseClient, table: 'spans' | 'started_spans', traceId: string, opts: DetailOptions) =>
  queryBytes(client, opts, `SELECT ${TREE_COLUMNS} FROM ${table} FINAL WHERE trace_id = {t:FixedString(32)}
    SETTINGS ${READ_TIME_LIMIT} FORMAT TabSeparatedRaw`, { t: traceId });

export async function getTraceIncrementJson(client: ClickHouseClient, traceId: string, cursor: DetailCursor, maxBytes: number, opts: DetailOptions = {}): Promise<Buffer | null> {
  const kills = opts.kills ?? [];
  if (killsKey(kills) !== cursor.kills) return getTraceJson(client, traceId, maxBytes, opts);
  const state = await readTreeState(client, traceId, opts);
  if (!state) return null;
  const { index, ended, started, counts, alerts } = state;
  const slack = opts.slackMs ?? 0;
  const held = snapshots.get(traceId, encodeDetailCursor(cursor));
  const alertsNow = alertsKey(alerts);
  // Nothing stored since the tree the client holds: its numbers as sent, no tree to build.
  if (held?.numbers && unchanged(ended, started, cursor, slack, held.snapshot.size)) {
    const stats = statsOf(traceId, counts, held.numbers.totals, held.numbers.running);
    if (!stats) return null;
    const next = encodeDetailCursor({ ...cursor, alerts: alertsNow });
    if (next !== encodeDetailCursor(cursor)) snapshots.set(traceId, next, held.snapshot, held.numbers);
    const summary = summaryOf(index, stats, held.numbers.maxDepth, alerts, kills);
    return Buffer.from(`{"increment":true,${headJson(summary, alertsNow === cursor.alerts ? null : alerts, kills, opts.budget ?? null)},"truncated":false,"cursor":"${next}","spanTotal":${held.snapshot.size},"changes":[]}`);
  }
  const plan = planIncrement(ended, started, cursor, slack, kills, held?.snapshot);
  const { tree, whole, patched, covers, running } = plan;
  const stats = statsOf(traceId, counts, tree.totals, running);
  if (!stats || tree.nodes.length === 0) return null;
  const { nodes } = tree;
  if (whole.length * 2 > nodes.length) return getTraceJson(client, traceId, maxBytes, opts);

  // The JSON of the spans sent whole, and the names of the spans that count their (or a patched span's) usage.
  const needed = new Set<number>(whole);
  const at = new Map<TreeRow, number>();
  nodes.forEach((n, i) => at.set(n.span, i));
  for (const i of [...whole, ...patched]) {
    const on = nodes[i].spendCountedElsewhere?.on;
    if (on) needed.add(at.get(on)!);
  }
  const json = await spanJsonOf(client, traceId, [...needed].map((i) => nodes[i].span), opts);
  if (whole.some((i) => !json.has(nodes[i].span.spanId))) return getTraceJson(client, traceId, maxBytes, opts); // expired meanwhile

  const next = encodeDetailCursor({ ended: tableMark(ended, slack), started: tableMark(started, slack), kills: cursor.kills, alerts: alertsNow });
  snapshots.set(traceId, next, snapshotOf(nodes, covers), { totals: tree.totals, maxDepth: tree.maxDepth, running });
  const summary = summaryOf(index, stats, tree.maxDepth, alerts, kills);
  const head = `{"increment":true,${headJson(summary, alertsNow === cursor.alerts ? null : alerts, kills, opts.budget ?? null)},"truncated":false,"cursor":"${next}","spanTotal":${nodes.length},"changes":[`;
  const nameOf = (on: TreeRow) => {
    const j = json.get(on.spanId);
    return j ? { text: j.text, range: jsonNameRange(j.text, j.start, j.end) } : { text: null, range: [0, 0] as [number, number] };
  };
  const sent = [...whole, ...patched].sort((a, b) => a - b);
  const isWhole = new Set(whole);
  const parts: { lead: string; body: { text: Buffer; start: number; end: number } | null; tail: Tail }[] = [];
  let size = Buffer.byteLength(head) + 2;
  for (const i of sent) {
    const id = nodes[i].span.spanId;
    const after = i > 0 ? `"${nodes[i - 1].span.spanId}"` : 'null';
    const tail = tailOf(nodes[i], covers[i], nameOf);
    // Whole: the span's JSON without its braces between `{"after":…,` and the tree fields. Patch: the id only.
    const body = isWhole.has(i) ? json.get(id)! : null;
    const lead = body ? `{"after":${after},` : `{"patch":true,"after":${after},"spanId":"${id}"`;
    parts.push({ lead, body, tail });
    size += lead.length + (body ? body.end - body.start - 2 : 0) + tailBytes(tail) + 1;
  }
  const out = Buffer.allocUnsafe(size);
  let pos = out.write(head, 0, 'utf8');
  parts.forEach((part, k) => {
    if (k > 0) out[pos++] = 0x2c; // ,
    pos += out.write(part.lead, pos, 'latin1');
    if (part.body) pos += part.body.text.copy(out, pos, part.body.start + 1, part.body.end - 1);
    pos = writeTail(out, pos, part.tail);
  });
  pos += out.write(']}', pos, 'latin1');
  return out.subarray(0, pos);
}

export interface IncrementPlan {
  /** The tree now. */
  tree: Tree<TreeRow>;
  /** Its spans that were reported at start and have not ended. */
  running: number;
  /** Nodes (positions in `tree.nodes`) the client lacks or holds an older version of: sent whole. */
  whole: number[];
  /** Nodes whose tree fields or place changed: sent as patches. */
  patched: number[];
  /** Each node's `killed` JSON (killCover). */
  covers: string[];
}

/**
 * What a client holding the detail at `cursor` needs: the tree now, and which of its nodes to send whole or as
 * patches, found by comparing it with the client's tree: `held` when the last answer left it in memory
 * (trace-snapshots.ts), else rebuilt from the rows stored before the cursor. Pure: the rows in, the plan out
 * (tests/unit/trace-increment.test.ts replays it against applyIncrement).
 */
export function planIncrement(ended: TreeRow[], started: TreeRow[], cursor: Pick<DetailCursor, 'ended' | 'started'>, slackMs: number, kills: readonly Kill[], held?: TreeSnapshot): IncrementPlan {
  const known = { ended: knownUpTo(ended, cursor.ended, slackMs), started: knownUpTo(started, cursor.started, slackMs) };
  const now = withRunning(ended, started);
  const tree = buildTree(now.spans);
  const { nodes } = tree;
  const covers = killCover(nodes, kills);
  let before = held;
  if (!before) {
    const old = buildTree(withRunning(ended.filter((s) => s.ingestedMs <= known.ended), started.filter((s) => s.ingestedMs <= known.started)).spans);
    before = snapshotOf(old.nodes, killCover(old.nodes, kills));
  }
  const parents = parentsOf(nodes);
  // A span is moved when its chain of ancestors changed: a new parent, or a moved one.
  const moved = new Uint8Array(nodes.length);
  const whole: number[] = [];
  const patched: number[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const span = nodes[i].span;
    const had = before.get(span.spanId);
    const p = parents[i];
    moved[i] = !had || had.parent !== (p >= 0 ? nodes[p].span.spanId : null) || (p >= 0 && moved[p] === 1) ? 1 : 0;
    // Stored again after what the client has (re-sent, or its ended version), or it ended since: whole.
    if (!had || span.running !== had.running || span.ingestedMs > (span.running ? known.started : known.ended)) whole.push(i);
    else if (moved[i] || treeFieldsKey(nodes[i], covers[i]) !== had.key) patched.push(i);
  }
  return { tree, running: now.running, whole, patched, covers };
}

/** Every row the client has (none stored after what it holds), and as many spans as it holds. */
function unchanged(ended: TreeRow[], started: TreeRow[], cursor: Pick<DetailCursor, 'ended' | 'started'>, slackMs: number, held: number): boolean {
  const knownEnded = knownUpTo(ended, cursor.ended, slackMs);
  const knownStarted = knownUpTo(started, cursor.started, slackMs);
  if (ended.some((s) => s.ingestedMs > knownEnded) || started.some((s) => s.ingestedMs > knownStarted)) return false;
  return withRunning(ended, started).spans.length === held;
}

/** The ended spans, then each started span whose ended version is not among them: running, no usage. */
export function withRunning(ended: TreeRow[], started: TreeRow[]): { spans: TreeRow[]; running: number } {
  if (started.length === 0) return { spans: ended, running: 0 };
  const ids = new Set(ended.map((s) => s.spanId));
  const spans = [...ended];
  for (const s of started) if (!ids.has(s.spanId)) spans.push({ ...s, running: true, countsUsage: false });
  return { spans, running: spans.length - ended.length };
}

/** The engine-formatted JSON of these spans (running ones from their started report), read by primary key. */
export async function spanJsonOf(client: ClickHouseClient, traceId: string, spans: readonly TreeRow[], opts: ReadOptions): Promise<Map<string, { text: Buffer; start: number; end: number }>> {
  const read = async (table: string, json: string, ids: string[]) => {
    if (ids.length === 0) return Buffer.alloc(0);
    return queryBytes(client, opts, `SELECT toString(span_id), ${json} FROM ${table} FINAL
      WHERE trace_id = {t:FixedString(32)} AND span_id IN {ids:Array(FixedString(16))}
      SETTINGS ${READ_TIME_LIMIT} FORMAT TabSeparatedRaw`, { t: traceId, ids });
  };
  const [endedText, startedText] = await Promise.all([
    read('spans', SPAN_JSON, spans.filter((s) => !s.running).map((s) => s.spanId)),
    read('started_spans', STARTED_SPAN_JSON, spans.filter((s) => s.running).map((s) => s.spanId)),
  ]);
  const out = new Map<string, { text: Buffer; start: number; end: number }>();
  for (const text of [endedText, startedText]) {
    let pos = 0;
    while (pos < text.length) {
      let end = text.indexOf(10, pos);
      if (end < 0) end = text.length;
      const tab = text.indexOf(9, pos);
      out.set(text.toString('latin1', pos, tab), { text, start: tab + 1, end });
      pos = end + 1;
    }
  }
  return out;
}
