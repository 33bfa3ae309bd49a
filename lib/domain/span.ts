// A span: one call in a request tree (a model call, a tool, an agent step), as the API returns it, and the
// categories every convention is normalised to.
import type { KillRef } from './kill';
import type { Rollup } from './tree';

export type SpanCategory = 'llm' | 'embedding' | 'tool' | 'agent' | 'retriever' | 'chain' | 'other';
export const SPAN_CATEGORIES: readonly SpanCategory[] = ['llm', 'embedding', 'tool', 'agent', 'retriever', 'chain', 'other'];

export type SpanStatus = 'unset' | 'ok' | 'error';

/** Model calls: their own tokens are a provider's usage, counted once in rollups; their price matters. */
export function isModelCallCategory(category: string): boolean {
  return category === 'llm' || category === 'embedding';
}

export interface SpanView {
  spanId: string;
  parentSpanId: string | null;
  name: string;
  serviceName: string;
  category: SpanCategory;
  model: string | null;
  provider: string | null;
  startTime: string;
  endTime: string;
  durationMs: number;
  status: SpanStatus;
  statusMessage: string;
  inputTokens: number;
  outputTokens: number;
  /** Of the input tokens, those read from / written to the provider's prompt cache, when the span reports them. */
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  costUsd: number | null;
  agentName: string | null;
  toolName: string | null;
  callSignature: string | null;
  errorType: string | null;
  depth: number;
  orphan: boolean;
  attributes: Record<string, string>;
  rollup: Rollup;
  /** This span's own tokens and cost are in the rollups and the trace's totals: true on each model call counted once. */
  countsSpend: boolean;
  /**
   * On a model call that does not count: the span that counts its usage, and why. `below`: model calls below it
   * report the usage (a client's span nested in a framework's, the calls an agent-level span sums);
   * `same-call`: another instrumentation reported the same call beside it in the tree (lib/domain/tree.ts
   * `spendCounting` has the rule). Null on every other span.
   */
  spendCountedOn: { spanId: string; name: string; reason: 'below' | 'same-call' } | null;
  /** Reported at start (sdk/) and not ended yet: no end time, no usage, its duration counts up to now. */
  running: boolean;
  /** A kill in force covers this span: the whole tree's, or one on it or on a span above it. */
  killed: boolean;
  /** The kill that covers it (the outermost when several do); its record is in the detail's `kills`. */
  killedBy: KillRef | null;
}


/**
 * What a span is called before it arrives (exporters send a span when it ends, so a running agent's is not there
 * yet): its id's first eight digits. The detector's alerts and the trace page say the same.
 */
export function notReceivedName(spanId: string): string {
  return `span ${spanId.slice(0, 8)}`;
}
