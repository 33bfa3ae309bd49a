// Contracts between the ingest stages: OTLP decode → normalise → batch writer.
import type { SpanCategory, SpanStatus } from '../lib/domain';

export type { SpanCategory };

/** An OTLP AnyValue flattened to plain JS: kvlists become objects, bytes become lowercase hex. */
export type AttrValue = string | number | boolean | null | AttrValue[] | { [key: string]: AttrValue };
export type Attributes = Record<string, AttrValue>;

/** One span as decoded from OTLP (protobuf or JSON), ids already validated and lowercase hex. */
export interface DecodedSpan {
  traceId: string; // 32 hex chars, not all zero
  spanId: string; // 16 hex chars, not all zero
  parentSpanId: string; // '' for a root, else 16 hex chars
  name: string;
  kind: number; // OTLP SpanKind enum value
  startTimeUnixNano: string; // decimal string: int64 nanoseconds do not fit a JS number
  endTimeUnixNano: string;
  attributes: Attributes;
  statusCode: number; // 0 unset, 1 ok, 2 error
  statusMessage: string;
  events: DecodedEvent[];
}

export interface DecodedEvent {
  name: string;
  timeUnixNano: string;
  attributes: Attributes;
}

export interface DecodedScope {
  name: string;
  version: string;
  spans: DecodedSpan[];
}

export interface DecodedResourceSpans {
  resource: Attributes;
  scopes: DecodedScope[];
}

/** A decoded ExportTraceServiceRequest. Spans with invalid ids are dropped and counted, not fatal. */
export interface DecodedRequest {
  resourceSpans: DecodedResourceSpans[];
  spanCount: number; // accepted spans
  rejectedSpans: number;
  rejectReason: string; // first reason, '' when none rejected
}

/**
 * On a row made by ingest: whether its tool or model call recorded what it was called with (arguments or input),
 * i.e. whether its call signature says anything about sameness. Not a column (a symbol key, which JSON.stringify
 * skips): the detector judging in the ingest stream reads it instead of recomputing the signature such an empty
 * call gets (detector/signature.ts, which rows read from storage still go through).
 */
export const CALL_CONTENT: unique symbol = Symbol('canopy.callContent');

/**
 * One row of the `spans` table (migrations/001_spans.sql), shaped so that JSON.stringify(row) is a
 * valid JSONEachRow line for it.
 */
export interface SpanRow {
  trace_id: string;
  span_id: string;
  parent_span_id: string;
  service_name: string;
  name: string;
  kind: number;
  status: SpanStatus;
  status_message: string;
  start_time: string; // unix nanoseconds, decimal string
  end_time: string;
  category: SpanCategory;
  model: string;
  provider: string;
  input_tokens: number;
  output_tokens: number;
  cache_read_tokens: number;
  cache_write_tokens: number;
  cost_usd: number | null; // null = unpriced (unknown model), never 0 for unknown
  counts_usage: 0 | 1; // 1 when this span is itself a model call whose tokens count in rollups
  agent_name: string;
  tool_name: string;
  session_id: string;
  user_id: string;
  call_signature: string; // stable hash: tool+args or model+input; '' when not a call
  error_type: string;
  attributes: Record<string, string>;
  resource_id: string; // 16 hex chars: the row of `resources` holding this span's resource attributes
  scope_name: string;
  retention_days: number;
  /** The tree budget this span (or its resource) sets with canopy.budget.usd; null when none or not a valid amount. */
  budget_usd: number | null;
  [CALL_CONTENT]?: boolean;
}

/** One row of the `resources` table (migrations/003_resources.sql). */
export interface ResourceRow {
  resource_id: string;
  service_name: string;
  attributes: Record<string, string>;
  retention_days: number;
}

