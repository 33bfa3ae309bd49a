// What changed in a trace since a client read it (`GET /api/traces/:id?since=<cursor>`), and how the client
// folds it into the detail it holds. The server keeps the tree's order and depths (lib/domain/tree.ts); this
// only places the spans it sent: each after the span it follows in the new tree order. Browser-safe.
import type { SpanView } from './span';
import type { TraceDetailResponse } from './trace';

/** The fields of a span the tree sets; they change as spans arrive (rollups, a re-parented orphan's depth). */
export type SpanTreeFields = Pick<SpanView, 'spanId' | 'depth' | 'orphan' | 'killed' | 'killedBy' | 'rollup' | 'countsSpend' | 'spendCountedOn'>;

/** A span new or changed since the cursor: whole. `after`: the span before it in tree order (null: first). */
export type WholeSpanChange = SpanView & { after: string | null; patch?: undefined };
/** A span the client has, whose tree fields (or place) changed. */
export type SpanPatch = SpanTreeFields & { patch: true; after: string | null };
export type SpanChange = WholeSpanChange | SpanPatch;

export interface TraceIncrementResponse extends Omit<TraceDetailResponse, 'spans' | 'cursor' | 'alerts'> {
  increment: true;
  /** Absent when they did not change since the cursor: the client keeps those it holds. */
  alerts?: TraceDetailResponse['alerts'];
  cursor: string;
  /** Spans in the tree once the changes are applied: a client that ends up with another count reads it whole. */
  spanTotal: number;
  /** In tree order. */
  changes: SpanChange[];
}

export function isIncrement(r: TraceDetailResponse | TraceIncrementResponse): r is TraceIncrementResponse {
  return (r as TraceIncrementResponse).increment === true;
}

/**
 * The detail with the increment applied, or null when it does not fit what the client holds (a change placed
 * after a span it does not have, a count that differs): the caller then reads the detail whole. Unchanged spans
 * keep their objects, so memoised rows do not render again. Linear in the spans.
 */
export function applyIncrement(prev: TraceDetailResponse, inc: TraceIncrementResponse): TraceDetailResponse | null {
  const { increment: _i, spanTotal, changes, alerts, ...rest } = inc;
  const base: TraceDetailResponse = { ...rest, alerts: alerts ?? prev.alerts, spans: prev.spans };
  if (changes.length === 0) return prev.spans.length === spanTotal ? base : null;
  // Each span follows exactly one span (or the start): the chain of changes hanging after each anchor.
  const follower = new Map<string | null, string>();
  const changed = new Map<string, SpanChange>();
  for (const c of changes) {
    if (follower.has(c.after) || changed.has(c.spanId)) return null;
    follower.set(c.after, c.spanId);
    changed.set(c.spanId, c);
  }
  let prevById: Map<string, SpanView> | null = null;
  const resolve = (c: SpanChange): SpanView | null => {
    if (!c.patch) {
      const { after: _a, patch: _p, ...span } = c;
      return span;
    }
    prevById ??= new Map(prev.spans.map((s) => [s.spanId, s]));
    const old = prevById.get(c.spanId);
    if (!old) return null;
    const { patch: _p, after: _a, ...fields } = c;
    return { ...old, ...fields };
  };
  const spans: SpanView[] = [];
  const chain = (anchor: string | null): boolean => {
    for (let next = follower.get(anchor); next !== undefined; next = follower.get(anchor)) {
      follower.delete(anchor);
      const span = resolve(changed.get(next)!);
      if (!span) return false;
      spans.push(span);
      anchor = next;
    }
    return true;
  };
  if (!chain(null)) return null;
  for (const s of prev.spans) {
    if (changed.has(s.spanId)) continue;
    spans.push(s);
    if (follower.has(s.spanId) && !chain(s.spanId)) return null;
  }
  if (follower.size > 0 || spans.length !== spanTotal) return null;
  return { ...base, spans };
}
