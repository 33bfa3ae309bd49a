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
  'scope_name', 'retention_days', 'budget_usd',
] as const satisfies readonly (keyof SpanRow)[];

export const SPAN_ROWS_FORMAT = {
  format: 'JSONCompactEachRow',
  columns: SPAN_COLUMNS,
  // Re-sent spans collapse at merge and reads use FINAL, so de-duplicating inside each insert as well
  // only costs CPU (measured 10–20% of the engine's time per row).
  settings: { optimize_on_insert: 0 },
} as const;

/** Where the payload goes: a buffer of at least `bytes` (e.g. one recycled from an earlier request). */
export type Allocate = (bytes: number) => Uint8Array;

const allocateNew: Allocate = (bytes) => Buffer.allocUnsafe(bytes);

export function toSpanRowsPayload(rows: readonly SpanRow[], allocate: Allocate = allocateNew): Buffer {
  let text = '';
  for (const r of rows) {
    // An array literal in SPAN_COLUMNS order: cheaper to build and to stringify than a keyed object.
    text += JSON.stringify([
      r.trace_id, r.span_id, r.parent_span_id, r.service_name, r.name, r.kind, r.status, r.status_message,
      r.start_time, r.end_time, r.category, r.model, r.provider, r.input_tokens, r.output_tokens,
      r.cache_read_tokens, r.cache_write_tokens, r.cost_usd, r.counts_usage, r.agent_name, r.tool_name,
      r.session_id, r.user_id, r.call_signature, r.error_type, r.attributes, r.resource_id,
      r.scope_name, r.retention_days, r.budget_usd,
    ]) + '\n';
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  const out = allocate(bytes);
  const payload = Buffer.from(out.buffer, out.byteOffset, bytes);
  payload.write(text, 0, 'utf8');
  return payload;
}
