import 'server-only';
import { STARTED_IDLE_COMPLETE_MS, type TraceStatus } from '../../domain';
import type { TraceFilter } from './trace-search';

// The trace list's status, open-alert and time filters (GET /api/traces?status=&alerts=open&within=), on top of
// its service and text filters (trace-search.ts). Each is a cheap condition on the trace index, or a small set
// of trace ids, so a page still costs what it shows (docs/DESIGN.md, "Reads"):
//
//  - `within` (last activity in the last 15 min … 7 days): a lower bound of the activity index's range read
//    (by last activity, the default order, it only shortens the read) and a condition on the index row.
//  - `alerts=open`: the traces with an open alert, from the `alerts` table (a few per runaway tree), taken as the
//    page's candidates: the list reads those traces only.
//  - `status=killed`: likewise, the trees with a whole-tree kill in force, from the `kills` table.
//  - `status=error` / `completed` / `running`: the index's error count (> 0, or 0), and for running an activity
//    bound (a tree without news for an hour is not running), then the exact status of each listed trace (it
//    depends on the root, the spans reported at start and the kill switch, which the index does not hold).
//    Traces the index admits but whose status differs are dropped from the page; a short page is followed by
//    more reads of the list, at most MAX_READS per request, then the page says where to continue. Pages may
//    then hold fewer than `limit` traces, never more.

export const LIST_STATUSES = ['running', 'completed', 'error', 'killed'] as const satisfies readonly TraceStatus[];
export const LIST_WITHIN = { '15m': 15 * 60_000, '1h': 3_600_000, '6h': 6 * 3_600_000, '24h': 24 * 3_600_000, '7d': 7 * 24 * 3_600_000 } as const;
export type ListWithin = keyof typeof LIST_WITHIN;

export interface ListFilters {
  status?: TraceStatus;
  /** Only traces with an open alert. */
  openAlerts?: boolean;
  /** Only traces with activity in this last stretch of time. */
  within?: ListWithin;
}

const OPEN_ALERT_TRACES = `SELECT trace_id FROM alerts GROUP BY trace_id, rule, branch HAVING argMax(status, version) = 'open'`;
const KILLED_TREES = `SELECT trace_id FROM kills WHERE span_id = '' GROUP BY trace_id HAVING argMax(active, version) = 1`;

interface Condition {
  /** Over a trace's `traces` rows grouped by trace_id. */
  grouped: string;
  /** Over its merged `traces FINAL` row. */
  merged: string;
  /** A small set of trace ids that holds every match: the list reads only those. */
  candidates?: string;
  /** A lower bound of the activity index's range. */
  activity?: string;
}

/** The list's filter with these conditions added (AND). `nowMs` places `within` and the running bound. */
export function withListFilters(filter: TraceFilter, filters: ListFilters | undefined, nowMs = Date.now()): TraceFilter {
  if (!filters) return filter;
  const conditions: Condition[] = [];
  const params: Record<string, unknown> = {};
  const since = Math.max(filters.within ? nowMs - LIST_WITHIN[filters.within] : -Infinity, filters.status === 'running' ? nowMs - STARTED_IDLE_COMPLETE_MS : -Infinity);
  if (Number.isFinite(since)) {
    params.f_since = Math.floor(since);
    conditions.push({
      grouped: 'max(last_seen) >= fromUnixTimestamp64Milli({f_since:Int64})',
      merged: 'last_seen >= fromUnixTimestamp64Milli({f_since:Int64})',
      activity: 'last_seen >= fromUnixTimestamp64Milli({f_since:Int64})',
    });
  }
  if (filters.status === 'error') conditions.push({ grouped: 'sum(error_count) > 0', merged: 'error_count > 0' });
  if (filters.status === 'running' || filters.status === 'completed') conditions.push({ grouped: 'sum(error_count) = 0', merged: 'error_count = 0' });
  if (filters.status === 'killed') conditions.push({ grouped: `trace_id IN (${KILLED_TREES})`, merged: `trace_id IN (${KILLED_TREES})`, candidates: KILLED_TREES });
  if (filters.openAlerts) conditions.push({ grouped: `trace_id IN (${OPEN_ALERT_TRACES})`, merged: `trace_id IN (${OPEN_ALERT_TRACES})`, candidates: OPEN_ALERT_TRACES });
  if (conditions.length === 0) return filter;

  const and = (base: string, more: string[]) => [base, ...more].filter((c) => c !== '1').join(' AND ') || '1';
  const grouped = conditions.map((c) => c.grouped);
  const small = conditions.find((c) => c.candidates)?.candidates;
  const bound = conditions.find((c) => c.activity)?.activity;
  return {
    ...filter,
    active: true,
    params: { ...filter.params, ...params },
    // A small set of ids is read instead of the service's or the search's candidates, within them.
    candidates: small ? (filter.candidates ? `SELECT trace_id FROM (${small}) WHERE trace_id IN (SELECT trace_id FROM (${filter.candidates}))` : small) : filter.candidates,
    // With a small set the list is read from it (a share of 0 picks the candidates); else the filter's own estimate.
    sample: small ? 'SELECT 1 AS n, 0 AS hits' : filter.sample,
    beyondCandidates: and(filter.beyondCandidates, grouped),
    serviceGrouped: and(filter.serviceGrouped, grouped),
    merged: and(filter.merged, conditions.map((c) => c.merged)),
    activityBound: bound ?? filter.activityBound ?? null,
  };
}

