import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import type { TraceListResponse } from '../../domain';
import { toTraceSummary, type TraceIndexRow } from './trace-rows';
import { openAlertsOf } from './alerts';
import { INDEX_COLUMNS } from './trace-columns';
import { pageStats } from './trace-stats';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';
import { traceFilter, type TraceFilter } from './trace-search';
import { withListFilters, type ListFilters } from './trace-list-conditions';
import { after, before, positionsAsOf } from './trace-activity';

// The trace list (GET /api/traces). Indexes and their costs: migrations/005_trace_list_index.sql and
// docs/DESIGN.md ("Reads"). Three ways to a page, each costing what the page needs, not what is stored:
//
//  - filters matching under COMMON_SHARE of the traces: those traces, found through the skip indexes, read by
//    primary key and sorted;
//  - by last activity otherwise: the activity index read newest first (or oldest first) in growing windows
//    until a page of matching traces is found;
//  - by another key otherwise: the one read that scans the trace index (FINAL), as any order by a number
//    that every new span can change must.
//
// Paging is by cursor: the position (sort key, trace id) of the last trace listed. Keys are integers (cost in
// nano-dollars), so a position compares exactly. "Correct" paging means: no trace is listed twice and none
// that existed when paging began is skipped. By last activity this holds even while traces change: the
// cursor carries the time the first page was read (`asOfMs`), and every later page places each trace where it
// was at that time (a trace touched since stays at its old place; a trace that arrived since is not on later
// pages, it is at the top of a fresh first page); the numbers shown are always the current ones. By the other
// keys a page places each trace by its current key: keys only grow (start only moves earlier), so a trace
// whose key changes while a client pages can cross the cursor: with `desc` it can then be missing from the
// later pages (it moved up, onto pages already read), with `asc` it can appear twice. Traces whose key does
// not change (finished traces) are listed exactly once either way.

export const TRACE_SORTS = ['activity', 'start', 'duration', 'spans', 'tokens', 'cost', 'errors'] as const;
export type TraceSort = (typeof TRACE_SORTS)[number];
export const SORT_ORDERS = ['desc', 'asc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

export interface TraceListCursor {
  sort: TraceSort;
  order: SortOrder;
  /** The sort key of the last trace listed, as the engine printed it (an integer). */
  key: string;
  traceId: string;
  /** By last activity: when the first page was read (ingest time, ms); the list as it was then. */
  asOfMs: number | null;
}

export interface TraceListQuery {
  limit: number;
  cursor: TraceListCursor | null;
  service: string;
  q: string;
  sort: TraceSort;
  order: SortOrder;
  /** Status, open alerts, time range (trace-list-conditions.ts). */
  filters?: ListFilters;
}

/**
 * A filter matching at least this share of traces (estimated on a sample) is applied while reading in sort
 * order; a rarer one picks its traces first. Reading in order costs the page over the share (rows checked per
 * trace listed), picking first costs the traces matched: at 1 M traces they cross near 2%.
 */
export const COMMON_SHARE = 0.02;
// Windows of the activity index: the first sized to fill a page, then 4× larger; a page with rare matches
// stops after reading WINDOW_ROWS_MAX rows and says where to continue.
const WINDOW_GROWTH = 4;
const WINDOW_MAX = 50_000;
const WINDOW_ROWS_MAX = 200_000;
/** The newest activity stored (ms): the newest row of the activity index, read in key order. */
const LATEST_ACTIVITY = 'SELECT toUnixTimestamp64Milli(last_seen) FROM trace_activity ORDER BY last_seen DESC LIMIT 1';

/**
 * Each sort key over one trace's index rows grouped (GROUP BY trace_id) and over its merged row (FINAL).
 * Spans, errors, tokens and cost are the index's sums, which can run ahead of the exact numbers shown (a span
 * re-sent in a later insert is added again; tokens and cost add every model-call span, also when two
 * instrumentations report one call that the displayed numbers count once): see docs/DESIGN.md.
 */
const KEYS: Record<TraceSort, { grouped: string; merged: string; type: 'Int64' | 'UInt64' }> = {
  activity: { grouped: 'toUnixTimestamp64Milli(max(last_seen))', merged: 'toUnixTimestamp64Milli(last_seen)', type: 'Int64' },
  start: { grouped: 'toUnixTimestamp64Nano(min(start_time))', merged: 'toUnixTimestamp64Nano(start_time)', type: 'Int64' },
  duration: {
    grouped: '(toUnixTimestamp64Nano(max(end_time)) - toUnixTimestamp64Nano(min(start_time)))',
    merged: '(toUnixTimestamp64Nano(end_time) - toUnixTimestamp64Nano(start_time))',
    type: 'Int64',
  },
  spans: { grouped: 'sum(span_count)', merged: 'span_count', type: 'UInt64' },
  tokens: { grouped: 'sum(tokens)', merged: 'tokens', type: 'UInt64' },
  cost: { grouped: 'sum(cost_nanos)', merged: 'cost_nanos', type: 'UInt64' },
  errors: { grouped: 'sum(error_count)', merged: 'error_count', type: 'UInt64' },
};

/** A trace's place in the list: its id and sort key (by last activity: its position as of the list's time). */
interface Placed {
  traceId: string;
  key: string;
}

interface Page {
  /** Sorted; more than `limit` means there is a next page. */
  items: Placed[];
  /** Set when the read stopped before it could tell: the position to continue from. */
  resume?: Placed;
  asOfMs: number | null;
}

export async function listTraces(client: ClickHouseClient, query: TraceListQuery, opts: ReadOptions = {}): Promise<TraceListResponse> {
  const filter = withListFilters(traceFilter(query.service, query.q), query.filters);
  const share = filter.sample ? await matchShare(client, filter, opts) : 1;
  const page =
    share < COMMON_SHARE
      ? await pageOfCandidates(client, query, filter, opts)
      : query.sort === 'activity'
        ? await pageByActivity(client, query, filter, share, opts)
        : await pageByKey(client, query, filter, opts);

  const listed = page.items.slice(0, query.limit);
  const ids = listed.map((t) => t.traceId);
  // What the page shows: the index's fields and the exact numbers, read at once.
  const indexRead = ids.length
    ? rows<TraceIndexRow>(client, opts, `
        SELECT ${INDEX_COLUMNS} FROM traces WHERE trace_id IN {ids:Array(FixedString(32))} GROUP BY trace_id
        SETTINGS ${READ_TIME_LIMIT}`, { ids })
    : Promise.resolve([]);
  const [index, stats, alerts] = ids.length
    ? await Promise.all([
        indexRead,
        pageStats(client, ids, indexRead.then((found) => new Map(found.map((r) => [r.trace_id, Number(r.last_seen_ms)]))), opts),
        openAlertsOf(client, ids, opts),
      ])
    : [[], new Map(), new Map()];
  const byId = new Map(index.map((r) => [r.trace_id, r]));
  const traces = ids.flatMap((id) => {
    const i = byId.get(id);
    const s = stats.get(id);
    return i && s ? [toTraceSummary(i, s.row, s.maxDepth, alerts.get(id))] : []; // expired by TTL between the reads
  });
  const resumeAt = page.items.length > query.limit ? listed[listed.length - 1] : page.resume;
  const nextCursor = resumeAt
    ? encodeCursor({ sort: query.sort, order: query.order, key: resumeAt.key, traceId: resumeAt.traceId, asOfMs: page.asOfMs })
    : null;
  return { traces, nextCursor };
}

// A filter's estimated share, kept for a few seconds: a list open in the UI asks the same filter again every
// 2.5 s, and the estimate only picks how a page is read (any choice lists the same traces), so one a few
// seconds old is as good; it spared each read one query (~10 ms at 1 M traces).
const SHARE_TTL_MS = 10_000;
const SHARES_MAX = 256;
const shares = new Map<string, { share: number; at: number }>();

/** The share of traces the filter matches, estimated on a sample of its source rows. */
async function matchShare(client: ClickHouseClient, filter: TraceFilter, opts: ReadOptions): Promise<number> {
  const key = filter.sample + JSON.stringify(filter.params);
  const now = Date.now();
  const known = shares.get(key);
  if (known && now - known.at < SHARE_TTL_MS) return known.share;
  const [row] = await rows<{ n: string; hits: string }>(client, opts, `
    SELECT toString(n) AS n, toString(hits) AS hits FROM (${filter.sample})
    SETTINGS ${READ_TIME_LIMIT}`, filter.params);
  const n = Number(row?.n ?? 0);
  const share = n === 0 ? 0 : Number(row!.hits) / n;
  if (shares.size >= SHARES_MAX) shares.delete(shares.keys().next().value!);
  shares.set(key, { share, at: now });
  return share;
}

const dir = (order: SortOrder) => (order === 'desc' ? 'DESC' : 'ASC');
const cmp = (order: SortOrder) => (order === 'desc' ? '<' : '>');

/** Compares two positions in the list's order: negative when `a` comes first. */
function comparePositions(order: SortOrder, a: Placed, b: Placed): number {
  const ka = BigInt(a.key);
  const kb = BigInt(b.key);
  const byKey = ka === kb ? (a.traceId < b.traceId ? -1 : a.traceId > b.traceId ? 1 : 0) : ka < kb ? -1 : 1;
  return order === 'desc' ? -byKey : byKey;
}

const sortPlaced = (order: SortOrder, items: Placed[]) => items.sort((a, b) => comparePositions(order, a, b));

/** The traces a rare filter matches, read by primary key and sorted by the engine. */
async function pageOfCandidates(client: ClickHouseClient, query: TraceListQuery, filter: TraceFilter, opts: ReadOptions): Promise<Page> {
  const key = KEYS[query.sort];
  const c = query.cursor;
  const params: Record<string, unknown> = { ...filter.params, n: query.limit + 1 };
  const having = [filter.beyondCandidates];
  if (c) {
    having.push(`(${key.grouped}, trace_id) ${cmp(query.order)} ({c_key:${key.type}}, {c_id:FixedString(32)})`);
    Object.assign(params, { c_key: c.key, c_id: c.traceId });
  }
  const placed = (extra: string, columns = '') => rows<Placed & { latest_ms?: string; first_seen_ms?: string }>(client, opts, `
    SELECT trace_id AS traceId, toString(${key.grouped}) AS key${columns}
    FROM traces WHERE trace_id IN (SELECT trace_id FROM (${filter.candidates}))
    GROUP BY trace_id
    HAVING ${[...having, extra].join(' AND ')}
    ORDER BY ${key.grouped} ${dir(query.order)}, trace_id ${dir(query.order)}
    LIMIT {n:UInt32}
    SETTINGS ${READ_TIME_LIMIT}`, params);
  if (query.sort !== 'activity') return { items: await placed('1'), asOfMs: null };

  // By last activity, as of the list's time (`asOfMs`). The first page fixes that time: the newest activity
  // stored when it was read (or the newest it shows, if a trace was touched during the read).
  if (!c) {
    const first = await placed('1', `, toString((${LATEST_ACTIVITY})) AS latest_ms`);
    const asOfMs = first.length ? first.reduce((m, r) => Math.max(m, Number(r.latest_ms), Number(r.key)), 0) : null;
    return { items: first.map(({ traceId, key }) => ({ traceId, key })), asOfMs };
  }
  // Later pages: traces last touched before the list's time by their last activity; those touched since by
  // where they were then (read from the activity index); those that arrived since, not at all.
  const asOfMs = c.asOfMs!;
  params.as_of = asOfMs;
  const settled = await placed('max(last_seen) <= fromUnixTimestamp64Milli({as_of:Int64})');
  const touched = await rows<{ trace_id: string; first_seen_ms: string }>(client, opts, `
    SELECT trace_id, toString(toUnixTimestamp64Milli(min(first_seen))) AS first_seen_ms
    FROM traces WHERE trace_id IN (SELECT trace_id FROM (${filter.candidates}))
    GROUP BY trace_id
    HAVING ${filter.beyondCandidates} AND max(last_seen) > fromUnixTimestamp64Milli({as_of:Int64})
    SETTINGS ${READ_TIME_LIMIT}`, { ...filter.params, as_of: asOfMs });
  const items: Placed[] = settled.map(({ traceId, key }) => ({ traceId, key }));
  if (touched.length) {
    const firstMs = touched.reduce((m, t) => Math.min(m, Number(t.first_seen_ms)), Infinity);
    const then = await positionsAsOf(client, touched.map((t) => t.trace_id), asOfMs, firstMs, opts);
    for (const t of touched) {
      const ms = then.get(t.trace_id);
      if (ms === undefined) continue; // arrived after the list's time
      const item = { traceId: t.trace_id, key: String(ms) };
      if (comparePositions(query.order, item, { key: c.key, traceId: c.traceId }) > 0) items.push(item);
    }
  }
  return { items: sortPlaced(query.order, items).slice(0, query.limit + 1), asOfMs };
}

interface WindowLookupRow {
  trace_id: string;
  last_seen_ms: string;
  first_seen_ms: string;
  matches: number;
}

/** By last activity: the activity index in order, in windows, until a page of matching traces is found. */
async function pageByActivity(client: ClickHouseClient, query: TraceListQuery, filter: TraceFilter, share: number, opts: ReadOptions): Promise<Page> {
  const { order } = query;
  const desc = order === 'desc';
  // The list's time: the cursor's, or on the first page the newest activity stored when it was read.
  let asOfMs = query.cursor?.asOfMs ?? null;
  let from: Placed | null = query.cursor ? { key: query.cursor.key, traceId: query.cursor.traceId } : null;
  // The first window: a page's worth of matching traces at the filter's share, with a margin.
  let window = Math.min(Math.ceil(((query.limit + 1) * 1.5) / share), WINDOW_MAX);
  let scanned = 0;
  const decided = new Set<string>();
  const found: Placed[] = [];

  for (;;) {
    // Rows at or before the list's time, after the previous window (`from`), in the list's order.
    const range: string[] = filter.activityBound ? [filter.activityBound] : [];
    const params: Record<string, unknown> = { ...filter.params, w: window };
    if (asOfMs !== null) {
      range.push('last_seen <= fromUnixTimestamp64Milli({as_of:Int64})');
      params.as_of = asOfMs;
    }
    if (from) {
      range.push(desc ? before('{f_ms:Int64}', '{f_id:FixedString(32)}') : after('{f_ms:Int64}', '{f_id:FixedString(32)}'));
      Object.assign(params, { f_ms: Number(from.key), f_id: from.traceId });
    }
    const windowRows = await rows<{ trace_id: string; ms: string; latest_ms: string; has_text?: number; hit?: number }>(client, opts, `
      SELECT trace_id, toString(toUnixTimestamp64Milli(last_seen)) AS ms,
        toString(${asOfMs === null && !desc ? `(${LATEST_ACTIVITY})` : '0'}) AS latest_ms
        ${filter.rowText ? `, has_text, toUInt8(${filter.rowText}) AS hit` : ''}
      FROM trace_activity
      ${range.length ? `WHERE ${range.join(' AND ')}` : ''}
      ORDER BY last_seen ${dir(order)}, trace_id ${dir(order)}
      LIMIT {w:UInt32}
      SETTINGS ${READ_TIME_LIMIT}`, params);
    if (asOfMs === null) {
      if (windowRows.length === 0) return { items: [], asOfMs: null };
      asOfMs = desc ? Number(windowRows[0].ms) : Number(windowRows[0].latest_ms);
      range.push('last_seen <= fromUnixTimestamp64Milli({as_of:Int64})');
      params.as_of = asOfMs;
    }
    if (windowRows.length === 0) break;
    // The first page without filters: each trace's first row in the first window is its newest, so the page is
    // the window's first distinct traces (a trace touched since the window was read stays at its place in it).
    // Only the first window: a later one starts where it ended, and its traces are not the page's first.
    if (!query.cursor && !filter.active && desc && from === null) {
      const firsts: Placed[] = [];
      const seen = new Set<string>();
      for (const r of windowRows) {
        if (seen.has(r.trace_id)) continue;
        seen.add(r.trace_id);
        firsts.push({ key: r.ms, traceId: r.trace_id });
        if (firsts.length > query.limit) break;
      }
      if (firsts.length > query.limit || windowRows.length < window) return { items: firsts, asOfMs };
    }
    scanned += windowRows.length;
    const end = windowRows[windowRows.length - 1];
    const endPos: Placed = { key: end.ms, traceId: end.trace_id };
    // Each trace's first row in the window is the furthest along the list's order it reaches here.
    const firstRow = new Map<string, number>();
    for (const r of windowRows) if (!decided.has(r.trace_id) && !firstRow.has(r.trace_id)) firstRow.set(r.trace_id, Number(r.ms));

    // Places a trace at its position as of the list's time. Up to this window's end the list is complete; a
    // trace placed further along (ascending: it was touched later) is decided by a later window.
    const place = (r: WindowLookupRow, ms: number) => {
      const pos: Placed = { key: String(ms), traceId: r.trace_id };
      if (comparePositions(order, pos, endPos) > 0) return;
      decided.add(r.trace_id);
      if (!Number(r.matches)) return;
      if (query.cursor && comparePositions(order, pos, query.cursor) <= 0) return;
      found.push(pos);
    };

    if (firstRow.size) {
      // The same rows again, as a range (the ids never travel as a parameter): their traces' last activity
      // and whether they match the filters.
      Object.assign(params, { e_ms: Number(end.ms), e_id: end.trace_id });
      const pastEnd = desc ? before('{e_ms:Int64}', '{e_id:FixedString(32)}') : after('{e_ms:Int64}', '{e_id:FixedString(32)}');
      const windowIds = `SELECT trace_id FROM trace_activity WHERE ${range.join(' AND ')} AND NOT (${pastEnd})`;
      // Their last activity and service from the trace index; which of them the search matches, at once —
      // unless the window's own rows carry the search text (then only the traces they cannot decide are looked up).
      const qAmong = filter.rowText ? null : filter.qAmong(windowIds);
      const [indexed, searched] = await Promise.all([
        rows<WindowLookupRow>(client, opts, `
          SELECT trace_id, toString(toUnixTimestamp64Milli(max(last_seen))) AS last_seen_ms,
            toString(toUnixTimestamp64Milli(min(first_seen))) AS first_seen_ms, ${filter.serviceGrouped} AS matches
          FROM traces
          WHERE trace_id IN (${windowIds})
          GROUP BY trace_id
          SETTINGS ${READ_TIME_LIMIT}`, params),
        qAmong
          ? rows<{ trace_id: string }>(client, opts, `SELECT DISTINCT trace_id FROM (${qAmong}) SETTINGS ${READ_TIME_LIMIT}`, params)
          : null,
      ]);
      const qMatched = filter.rowText
        ? await matchedInWindow(client, filter, params, windowRows.filter((r) => firstRow.has(r.trace_id)), indexed, { desc, asOfMs, end: endPos, from }, opts)
        : searched && new Set(searched.map((r) => r.trace_id));
      const lookup = qMatched ? indexed.map((r) => ({ ...r, matches: Number(r.matches) && qMatched.has(r.trace_id) ? 1 : 0 })) : indexed;
      const touched: WindowLookupRow[] = [];
      const inIndex = new Set<string>();
      for (const r of lookup) {
        if (!firstRow.has(r.trace_id)) continue;
        inIndex.add(r.trace_id);
        // Touched after the list's time: placed where it was then, below.
        if (Number(r.last_seen_ms) > asOfMs) touched.push(r);
        else place(r, Number(r.last_seen_ms));
      }
      if (touched.length) {
        const firstMs = touched.reduce((m, t) => Math.min(m, firstRow.get(t.trace_id)!), Infinity);
        const then = await positionsAsOf(client, touched.map((t) => t.trace_id), asOfMs, firstMs, opts);
        for (const t of touched) {
          const ms = then.get(t.trace_id);
          if (ms === undefined) decided.add(t.trace_id);
          else place(t, ms);
        }
      }
      // In the window but not in the index: expired between the reads.
      for (const id of firstRow.keys()) if (!inIndex.has(id)) decided.add(id);
    }

    if (found.length > query.limit) break;
    if (windowRows.length < window) break; // the whole list has been read
    if (scanned >= WINDOW_ROWS_MAX) {
      // Rare matches: answer what was found so far, and where to continue.
      return { items: sortPlaced(order, found), resume: endPos, asOfMs };
    }
    from = endPos;
    // The next window: sized by the share of rows that gave a listed trace so far (with a margin), at most
    // WINDOW_GROWTH times this one.
    const perRow = found.length / scanned;
    const wanted = perRow > 0 ? Math.ceil(((query.limit + 1 - found.length) / perRow) * 1.5) : window * WINDOW_GROWTH;
    window = Math.min(Math.max(wanted, query.limit + 1), window * WINDOW_GROWTH, WINDOW_MAX);
  }
  return { items: sortPlaced(order, found).slice(0, query.limit + 1), asOfMs };
}

/**
 * Which traces of an activity window match `q`, from the search text on the window's own rows: a row that
 * matches decides its trace; a trace none of whose rows match is decided only when every activity row it has
 * up to the list's time lies in the window (its first activity is past the window's older bound) and carries
 * text. The few others (older rows outside the window, rows without text, touched after the list's time) are
 * looked up in `trace_search`, by id.
 */
async function matchedInWindow(
  client: ClickHouseClient,
  filter: TraceFilter,
  params: Record<string, unknown>,
  /** The window's rows of the traces it has to decide. */
  windowRows: readonly { trace_id: string; has_text?: number; hit?: number }[],
  indexed: readonly WindowLookupRow[],
  w: { desc: boolean; asOfMs: number; end: Placed; from: Placed | null },
  opts: ReadOptions,
): Promise<Set<string>> {
  const rowsOf = new Map<string, { hit: boolean; allText: boolean }>();
  for (const r of windowRows) {
    const t = rowsOf.get(r.trace_id) ?? { hit: false, allText: true };
    t.hit ||= Number(r.hit) === 1;
    t.allText &&= Number(r.has_text) === 1;
    rowsOf.set(r.trace_id, t);
  }
  // The window's older bound in (ms, id) order: desc, its last row (inclusive); asc, where it started (exclusive).
  const olderBound = w.desc ? w.end : w.from;
  const inWindowFrom = (traceId: string, firstMs: number) => {
    if (!olderBound) return true; // ascending from the oldest activity stored
    const boundMs = Number(olderBound.key);
    return firstMs > boundMs || (firstMs === boundMs && (w.desc ? traceId >= olderBound.traceId : traceId > olderBound.traceId));
  };
  const matched = new Set<string>();
  const undecided: string[] = [];
  for (const r of indexed) {
    const t = rowsOf.get(r.trace_id);
    if (!t) continue;
    if (t.hit) matched.add(r.trace_id);
    else if (!t.allText || Number(r.last_seen_ms) > w.asOfMs || !inWindowFrom(r.trace_id, Number(r.first_seen_ms))) undecided.push(r.trace_id);
  }
  if (undecided.length && filter.qAmongIds) {
    const found = await rows<{ trace_id: string }>(client, opts, `SELECT DISTINCT trace_id FROM (${filter.qAmongIds}) SETTINGS ${READ_TIME_LIMIT}`, { ...params, u_ids: undecided });
    for (const r of found) matched.add(r.trace_id);
  }
  return matched;
}

/** By spans, tokens, cost, errors, start or duration: the merged trace index, sorted by the engine. */
async function pageByKey(client: ClickHouseClient, query: TraceListQuery, filter: TraceFilter, opts: ReadOptions): Promise<Page> {
  const key = KEYS[query.sort];
  const c = query.cursor;
  const where = [filter.merged];
  const params: Record<string, unknown> = { ...filter.params, n: query.limit + 1 };
  if (c) {
    where.push(`(${key.merged}, trace_id) ${cmp(query.order)} ({c_key:${key.type}}, {c_id:FixedString(32)})`);
    Object.assign(params, { c_key: c.key, c_id: c.traceId });
  }
  const items = await rows<Placed>(client, opts, `
    SELECT trace_id AS traceId, toString(${key.merged}) AS key
    FROM traces FINAL
    WHERE ${where.join(' AND ')}
    ORDER BY ${key.merged} ${dir(query.order)}, trace_id ${dir(query.order)}
    LIMIT {n:UInt32}
    SETTINGS ${READ_TIME_LIMIT}`, params);
  return { items, asOfMs: null };
}

// --- cursors -------------------------------------------------------------------------------------------------

const CURSOR = /^(activity|start|duration|spans|tokens|cost|errors):(asc|desc):(-?\d{1,20}):([0-9a-f]{32})(?::(\d{1,16}))?$/;
const RANGE = { Int64: [-(2n ** 63n), 2n ** 63n - 1n], UInt64: [0n, 2n ** 64n - 1n] } as const;

export function encodeCursor(c: TraceListCursor): string {
  const tail = c.asOfMs === null ? '' : `:${c.asOfMs}`;
  return Buffer.from(`${c.sort}:${c.order}:${c.key}:${c.traceId}${tail}`).toString('base64url');
}

/** A cursor this API returned, or null for anything else (the route answers 400). */
export function decodeCursor(cursor: string): TraceListCursor | null {
  const m = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) return null;
  const sort = m[1] as TraceSort;
  const [lo, hi] = RANGE[KEYS[sort].type];
  const key = BigInt(m[3]);
  if (key < lo || key > hi) return null;
  if (sort === 'activity') {
    // Milliseconds past 2^53 are no time this API ever returned (and would lose precision as a number).
    const asOfMs = m[5] === undefined ? NaN : Number(m[5]);
    if (!Number.isSafeInteger(Number(m[3])) || key < 0n || !Number.isSafeInteger(asOfMs)) return null;
    return { sort, order: m[2] as SortOrder, key: key.toString(), traceId: m[4], asOfMs };
  }
  if (m[5] !== undefined) return null;
  return { sort, order: m[2] as SortOrder, key: key.toString(), traceId: m[4], asOfMs: null };
}
