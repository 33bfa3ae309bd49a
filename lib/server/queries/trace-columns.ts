import 'server-only';

// The column lists both trace reads select, so the list and the detail always agree on a trace's numbers.

/** What a trace list row shows of a name: enough to recognise it, never megabytes times a page. */
export const LIST_NAME_CHARS = 256;

export const INDEX_COLUMNS = `
  trace_id,
  toString(toUnixTimestamp64Milli(max(last_seen))) AS last_seen_ms,
  toString(toUnixTimestamp64Nano(min(start_time))) AS start_ns,
  toString(toUnixTimestamp64Nano(max(end_time))) AS end_ns,
  max(root_span_id) AS root_id,
  leftUTF8(max(root_name), ${LIST_NAME_CHARS}) AS root,
  groupUniqArrayArray(services) AS service_set`;

// Exact numbers come from the span rows themselves (FINAL collapses re-sent spans). Tokens, cost and unpriced
// calls are not summed here: each model call must count once even when two instrumentations report it, which
// takes the tree (trace-stats.ts and trace-detail.ts sum them through lib/domain/tree.ts).
export const STATS_COLUMNS = `
  trace_id,
  toString(count()) AS span_count,
  toString(countIf(status = 'error')) AS error_count,
  anyIf(service_name, parent_span_id = '') AS root_service`;
