import type { Alert, AlertSeverity } from './alert';
import type { Kill } from './kill';
import type { TreeBudget } from './budget';
// A trace: one request's whole tree. Its summary, its status, and the read API's shapes (camelCase), shared
// by the server, the UI, the simulator and the SDK.
import type { SpanView } from './span';

/** `killed`: the whole tree was killed (a killed branch leaves the rest of the tree its own status). */
export type TraceStatus = 'running' | 'completed' | 'error' | 'killed';

/** A trace with no root yet and no new span for this long is considered finished (its root may never come). */
export const IDLE_COMPLETE_MS = 5 * 60_000;

/**
 * A trace with spans reported at start (sdk/) but not ended stays running this long without news: an agent may
 * wait an hour on a slow tool, but a process that died never ends its spans.
 */
export const STARTED_IDLE_COMPLETE_MS = 60 * 60_000;

/**
 * `error` once any span errored; `running` while a span reported at start has not ended; else `completed` once
 * the root has ended (or the trace went idle); else `running`. A root seen only at start is not completion.
 */
export function traceStatus(errorCount: number, hasRoot: boolean, lastSeenMs: number, now = Date.now(), runningSpans = 0): TraceStatus {
  if (errorCount > 0) return 'error';
  if (runningSpans > 0) return now - lastSeenMs > STARTED_IDLE_COMPLETE_MS ? 'completed' : 'running';
  if (hasRoot || now - lastSeenMs > IDLE_COMPLETE_MS) return 'completed';
  return 'running';
}

export interface TraceSummary {
  traceId: string;
  rootSpanId: string | null;
  rootName: string;
  serviceName: string;
  startTime: string; // ISO-8601
  lastSeen: string;
  durationMs: number;
  /** Spans known: ended, and reported at start but not ended yet (`runningSpans`). */
  spanCount: number;
  /** Spans reported at start (sdk/) whose ended version has not arrived: the tree is still working on them. */
  runningSpans: number;
  errorCount: number;
  inputTokens: number;
  outputTokens: number;
  costUsd: number; // sum over priced LLM calls
  unpricedSpans: number; // LLM calls with no known price (their cost is not in costUsd)
  maxDepth: number;
  status: TraceStatus;
  /** Alerts of this tree still open (not acknowledged, not resolved), and the worst of them. */
  openAlerts: number;
  worstAlert: AlertSeverity | null;
  /** The whole tree is killed (then `status` is `killed`). */
  killed: boolean;
  /**
   * In the list, while the root has not arrived (`rootName` empty): the earliest known span's name, with its
   * agent when it has one, to call the tree by.
   */
  provisionalName?: string;
}

export interface TraceListResponse {
  traces: TraceSummary[];
  nextCursor: string | null;
}

export interface TraceDetailResponse {
  trace: TraceSummary;
  /** True when the trace's spans passed the detail's byte budget: `spans` holds those that fit. */
  truncated: boolean;
  /** The detector's alerts on this tree, open ones first, worst first. */
  alerts: Alert[];
  /** The kills in force on this tree: the whole tree's and its branches'. */
  kills: Kill[];
  /** The tree's budget in force (set through the API, by attribute, or the default) and its spend; null when none. */
  budget: TreeBudget | null;
  spans: SpanView[];
  /**
   * Only the first spans of the tree, in its order (`?first=N`, for a page's first rows): `trace.spanCount` counts
   * them all, `cursor` is null, and the detail is read whole next. Absent on a whole detail.
   */
  partial?: boolean;
  /**
   * What `?since=` takes to read only what changed from here on (lib/domain/trace-increment.ts); null when the
   * detail is truncated (then it is read whole).
   */
  cursor?: string | null;
}

/** 200 with status ok; 503 with status storage_unwritable and `error` saying why and what to do. */
export interface HealthResponse {
  status: 'ok' | 'storage_unwritable';
  storage: 'embedded' | 'server';
  version: string;
  /** Present when storage cannot take writes (every export would get 503). */
  error?: string;
  /**
   * The OTLP/HTTP and OTLP/gRPC ports Canopy was configured with (CANOPY_OTLP_PORT, CANOPY_OTLP_GRPC_PORT), for
   * the exporter settings the UI shows; null when one was left to the system (0). The UI's own port serves
   * OTLP/HTTP too.
   */
  otlpPort?: number | null;
  otlpGrpcPort?: number | null;
}
