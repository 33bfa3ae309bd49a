import type { SpanRow } from './types';

/**
 * Columns of `spans` in the order `toSpanRowsPayload` writes them. JSONCompactEachRow (arrays, not
 * objects) costs ~35% less JS time and ~30% fewer bytes than JSONEachRow for the same rows; the engine
 * parses either on its own threads, off the event loop.
 */
export const SPAN_COLUMNS = [
  'trace_id', 'span_id', 'parent_span_id', 'service_name', 'name', 'kind', 'status', 'status_message',
  'start_time', 'end_time', 'category', 'model', 'provider', 'input_tokens', 'output_tokens',
  'cache_read_tokens', 'cache_write_tokens', 'cost_usd', 'counts_usage', 'agent_name', 'tool_name',
  'session_id', 'user_id', 'call_signature', 'error_type', 'attributes', 'resource_id',
  'scope_name', 'retention_days',
] as const satisfies readonly (keyof SpanRow)[];

export const SPAN_ROWS_FORMAT = {
  format: 'JSONCompactEachRow',
  columns: SPAN_COLUMNS,
  // Re-sent spans collapse at merge and reads use FINAL, so de-duplicating inside each insert as well
  // only costs CPU (measured 10–20% of the engine's time per row).
  settings: { optimize_on_insert: 0 },
} as const;

const str = JSON.stringify;

export function toSpanRowsPayload(rows: readonly SpanRow[]): Buffer {
  const lines: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    // Written field by field in SPAN_COLUMNS order rather than stringifying a 29-element array per row:
    // the arrays were a large share of ingest garbage. Ids are validated lowercase hex, enums and numbers
    // are plain; every other string goes through JSON.stringify for escaping.
    lines[i] =
      `["${r.trace_id}","${r.span_id}","${r.parent_span_id}",${str(r.service_name)},${str(r.name)},${r.kind},` +
      `"${r.status}",${str(r.status_message)},"${r.start_time}","${r.end_time}","${r.category}",${str(r.model)},` +
      `${str(r.provider)},${r.input_tokens},${r.output_tokens},${r.cache_read_tokens},${r.cache_write_tokens},` +
      `${r.cost_usd === null ? 'null' : str(r.cost_usd)},${r.counts_usage},${str(r.agent_name)},${str(r.tool_name)},` +
      `${str(r.session_id)},${str(r.user_id)},"${r.call_signature}",${str(r.error_type)},${str(r.attributes)},` +
      `"${r.resource_id}",${str(r.scope_name)},${r.retention_days}]`;
  }
  return Buffer.from(lines.join('\n') + '\n', 'utf8');
}
