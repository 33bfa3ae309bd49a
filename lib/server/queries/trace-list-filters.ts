import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { killedSummary, type TraceListResponse, type TraceSummary } from '../../domain';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';
import { LIST_NAME_CHARS } from './trace-columns';
import { decodeCursor, listTraces, type TraceListQuery } from './trace-list';
import type { ListFilters } from './trace-list-conditions';

// The list with its status filter: the conditions on the index are in trace-list-conditions.ts; the exact status
// of each listed trace is checked here, reading on while a page lacks traces (at most MAX_READS reads).

/** Reads of the list one request may make to fill a page whose traces the exact status filter drops. */
const MAX_READS = 6;

/**
 * A page of the list with every filter applied. `isTreeKilled`: the kill hub's answer (the list's rows do not
 * hold kills), so killed trees read `killed` and the status filter sees it.
 */
export async function listTracesFiltered(
  client: ClickHouseClient,
  query: TraceListQuery,
  filters: ListFilters,
  isTreeKilled: (traceId: string) => boolean,
  opts: ReadOptions = {},
): Promise<TraceListResponse> {
  const mark = (t: TraceSummary) => (isTreeKilled(t.traceId) ? killedSummary(t) : t);
  const first = await listTraces(client, { ...query, filters }, opts);
  if (!filters.status) return { ...first, traces: first.traces.map(mark) };
  // Each read asks for no more than the page still lacks, so a page never holds more than `limit` traces.
  const traces: TraceSummary[] = [];
  let page = first;
  for (let reads = 1; ; reads++) {
    for (const t of page.traces.map(mark)) if (t.status === filters.status) traces.push(t);
    const cursor = page.nextCursor ? decodeCursor(page.nextCursor) : null;
    if (!cursor || traces.length >= query.limit || reads >= MAX_READS) return { traces, nextCursor: page.nextCursor };
    page = await listTraces(client, { ...query, cursor, limit: query.limit - traces.length, filters }, opts);
  }
}

/**
 * The page with a name for each tree whose root has not arrived: its earliest known span's (ended or reported at
 * start), with the span's agent. One read by primary key, of those trees only (usually none, or the few running).
 */
export async function withProvisionalNames(client: ClickHouseClient, page: TraceListResponse, opts: ReadOptions = {}): Promise<TraceListResponse> {
  const ids = page.traces.filter((t) => !t.rootName).map((t) => t.traceId);
  if (ids.length === 0) return page;
  const found = await rows<{ trace_id: string; name: string; agent: string }>(client, opts, `
    SELECT trace_id, leftUTF8(argMin(name, start_time), ${LIST_NAME_CHARS}) AS name, argMin(agent_name, start_time) AS agent
    FROM (
      SELECT trace_id, name, agent_name, start_time FROM spans WHERE trace_id IN {ids:Array(FixedString(32))}
      UNION ALL
      SELECT trace_id, name, agent_name, start_time FROM started_spans WHERE trace_id IN {ids:Array(FixedString(32))}
    )
    GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { ids });
  const names = new Map(found.map((r) => [r.trace_id, r.agent && !r.name.includes(r.agent) ? `${r.agent} · ${r.name}` : r.name]));
  return { ...page, traces: page.traces.map((t) => (names.get(t.traceId) ? { ...t, provisionalName: names.get(t.traceId) } : t)) };
}
