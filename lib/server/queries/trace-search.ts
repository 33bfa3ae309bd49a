import 'server-only';

// The trace list's filters (`service`, `q`) as SQL over the list's indexes (migrations/005_trace_list_index.sql).
// Only the shape of the SQL depends on the input; every value goes in as a query parameter.
//
// `q` matches a trace when any of its spans' name, agent, tool, model, service or error type contains it as a
// substring, ignoring case (both sides lowercased with lowerUTF8: `Run_Tests` finds `execute_tool run_tests`;
// `%` and `_` are plain characters). A `q` of 8 to 32 hex digits also matches the trace ids that start with
// it, and one of exactly 16 hex digits the trace holding a span with that id. `service` matches a trace with
// a span of exactly that service.

export interface TraceFilter {
  /** True when there is anything to filter on. */
  active: boolean;
  params: Record<string, unknown>;
  /**
   * Every trace that can match, as a subquery of trace ids (from `q` when given, else from `service`), read
   * through the skip indexes and primary keys; null without filters. Each of its rows is one part of a trace
   * (an insert's worth), so it holds every matching trace and may repeat one.
   */
  candidates: string | null;
  /**
   * SELECT n, hits: of a sample of the candidates' source rows (the first SAMPLE_ROWS by trace id: random
   * traces), how many match. Null without filters.
   */
  sample: string | null;
  /** What a trace among `candidates` must also satisfy, over its `traces` rows grouped by trace_id. */
  beyondCandidates: string;
  /** The service filter over a trace's `traces` rows grouped by trace_id ('1' without one). */
  serviceGrouped: string;
  /** SELECT trace_id …: the traces among those `within` selects that match `q`; null without `q`. */
  qAmong(within: string): string | null;
  /**
   * Whether one row of `trace_activity` matches `q`, over the row's search text (migrations/010); null without
   * `q`, and when `q` may also match ids (those are looked up as before).
   */
  rowText: string | null;
  /** SELECT trace_id …: which of the trace ids in the parameter `u_ids` match `q`; null without `q`. */
  qAmongIds: string | null;
  /** Every filter, over a trace's merged `traces FINAL` row; the text search over every trace. */
  merged: string;
  /** A lower bound of the activity index's range read (a time filter: trace-list-conditions.ts); none when absent. */
  activityBound?: string | null;
}

const HEX_ID = /^[0-9a-f]+$/;
const SAMPLE_ROWS = 20_000;
const TEXT_MATCH = "text LIKE lowerUTF8({q_like:String})";

export function traceFilter(service: string, rawQ: string): TraceFilter {
  const q = rawQ.trim();
  const params: Record<string, unknown> = {};
  const serviceGrouped = service !== '' ? 'has(groupUniqArrayArray(services), {service:String})' : null;
  const serviceMerged = service !== '' ? 'has(services, {service:String})' : null;
  if (service !== '') params.service = service;
  if (q === '') {
    return {
      active: service !== '',
      params,
      candidates: service !== '' ? 'SELECT trace_id FROM traces WHERE has(services, {service:String})' : null,
      sample: service !== '' ? `SELECT count() AS n, countIf(has(services, {service:String})) AS hits FROM (SELECT services FROM traces LIMIT ${SAMPLE_ROWS})` : null,
      beyondCandidates: '1',
      serviceGrouped: serviceGrouped ?? '1',
      qAmong: () => null,
      rowText: null,
      qAmongIds: null,
      merged: serviceMerged ?? '1',
    };
  }

  params.q_like = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const ids: string[] = [];
  const sources = [`SELECT trace_id FROM trace_search WHERE ${TEXT_MATCH}`];
  const among = (within: string) => [`SELECT trace_id FROM trace_search WHERE trace_id IN (${within}) AND ${TEXT_MATCH}`];
  const hex = q.toLowerCase();
  if (HEX_ID.test(hex) && hex.length >= 8 && hex.length <= 32) {
    params.q_lo = hex.padEnd(32, '0');
    params.q_hi = hex.padEnd(32, 'f');
    ids.push('trace_id BETWEEN {q_lo:FixedString(32)} AND {q_hi:FixedString(32)}');
    sources.push(`SELECT trace_id FROM traces WHERE ${ids[ids.length - 1]}`);
  }
  if (HEX_ID.test(hex) && hex.length === 16) {
    params.q_span = hex;
    ids.push('trace_id IN (SELECT trace_id FROM spans WHERE span_id = {q_span:FixedString(16)})');
    sources.push('SELECT trace_id FROM spans WHERE span_id = {q_span:FixedString(16)}');
  }
  return {
    active: true,
    params,
    candidates: sources.join('\nUNION ALL\n'),
    sample: `SELECT count() AS n, countIf(${TEXT_MATCH}) AS hits FROM (SELECT text FROM trace_search LIMIT ${SAMPLE_ROWS})`,
    beyondCandidates: serviceGrouped ?? '1',
    serviceGrouped: serviceGrouped ?? '1',
    // The id matches need no reading beyond their own (a range of the trace index, one span id); as
    // separate queries they keep each one simple.
    qAmong: (within) => [...among(within), ...sources.slice(1)].join('\nUNION ALL\n'),
    rowText: ids.length === 0 ? TEXT_MATCH : null,
    qAmongIds: `SELECT trace_id FROM trace_search WHERE trace_id IN {u_ids:Array(FixedString(32))} AND ${TEXT_MATCH}`,
    merged: [serviceMerged, `(${[`trace_id IN (SELECT trace_id FROM trace_search WHERE ${TEXT_MATCH})`, ...ids].join(' OR ')})`].filter(Boolean).join(' AND '),
  };
}
