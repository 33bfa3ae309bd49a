// JSON shapes of the read API (camelCase), shared by route handlers, hooks and components.

export type TraceStatus = 'running' | 'completed' | 'error';

export interface TraceSummary {
  traceId: string;
  rootSpanId: string | null;
  rootName: string;
  serviceName: string;
  startTime: string; // ISO-8601
  lastSeen: string;
  durationMs: number;
  spanCount: number;
  errorCount: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number; // sum over priced LLM calls
  unpricedSpans: number; // LLM calls with no known price (their cost is not in costUsd)
  maxDepth: number;
  status: TraceStatus;
}

export interface Rollup {
  spanCount: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number; // priced model calls only
  unpricedSpans: number; // model calls in the subtree with no known price
}

export interface SpanView {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  serviceName: string;
  category: string;
  model: string | null;
  provider: string | null;
  startTime: string;
  endTime: string;
  durationMs: number;
  status: 'unset' | 'ok' | 'error';
  statusMessage: string;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  agentName: string | null;
  toolName: string | null;
  callSignature: string | null;
  errorType: string | null;
  depth: number;
  orphan: boolean;
  attributes: Record<string, string>;
  rollup: Rollup;
}

export interface TraceListResponse {
  traces: TraceSummary[];
  nextCursor: string | null;
}

export interface TraceDetailResponse {
  trace: TraceSummary;
  /** True when the trace's spans passed the detail's byte budget: `spans` holds those that fit. */
  truncated: boolean;
  spans: SpanView[];
}

/** 200 with status ok; 503 with status storage_unwritable and `error` saying why and what to do. */
export interface HealthResponse {
  status: 'ok' | 'storage_unwritable';
  storage: 'embedded' | 'server';
  version: string;
  /** Present when storage cannot take writes (every export would get 503). */
  error?: string;
}
