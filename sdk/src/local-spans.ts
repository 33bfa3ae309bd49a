// The spans running in this process and their parents, recorded by CanopyStartProcessor. A branch kill covers
// every span below the killed one, so the kill watcher needs a span's ancestry to judge it: walked here, locally,
// without a request. Ended spans are remembered a little longer (children may outlive their parent), then
// forgotten. One registry per process, even when two copies of this package are loaded: it lives on globalThis.

/** What is known above a span: enough to judge a kill locally, or to ask Canopy about the rest. */
export interface Lineage {
  traceId: string;
  /** The span, then each ancestor known, nearest first; empty when only the trace is known. */
  chain: string[];
  /** The chain ends at the trace's root span: no kill outside it can cover the span. */
  rootReached: boolean;
  /** What to ask Canopy when the ancestry continues in another process: the topmost span known here, and the
   * ids known above it (its remote parent, or the ancestors a caller gave). */
  ask: { spanId: string | null; ancestors: string[] };
}

interface Recorded {
  traceId: string;
  /** null: a root span. */
  parent: string | null;
  ended: boolean;
}

/** Ended spans are kept this long for the children still running below them. */
export const ENDED_GRACE_MS = 60_000;
/** A chain longer than this is bad data (a parent cycle across processes): stop walking. */
const MAX_DEPTH = 10_000;

export class LocalSpans {
  private readonly spans = new Map<string, Recorded>();
  private readonly live = new Map<string, Set<string>>();
  private readonly endedQueue: { spanId: string; at: number }[] = [];
  private endedHead = 0;
  private readonly endListeners = new Set<(spanId: string) => void>();

  constructor(private readonly graceMs = ENDED_GRACE_MS) {}

  started(traceId: string, spanId: string, parent: string | null): void {
    this.sweep();
    this.spans.set(spanId, { traceId, parent, ended: false });
    let set = this.live.get(traceId);
    if (!set) this.live.set(traceId, (set = new Set()));
    set.add(spanId);
  }

  ended(spanId: string): void {
    const span = this.spans.get(spanId);
    if (!span || span.ended) return;
    span.ended = true;
    const set = this.live.get(span.traceId);
    set?.delete(spanId);
    if (set?.size === 0) this.live.delete(span.traceId);
    this.endedQueue.push({ spanId, at: Date.now() });
    for (const listener of this.endListeners) listener(spanId);
    this.sweep();
  }

  /** Tells `listener` of every span that ends; returns the unsubscribe. */
  onEnded(listener: (spanId: string) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  isLive(spanId: string): boolean {
    const span = this.spans.get(spanId);
    return Boolean(span && !span.ended);
  }

  knows(spanId: string): boolean {
    return this.spans.has(spanId);
  }

  /** Traces with a span running here. */
  liveTraces(): string[] {
    return [...this.live.keys()];
  }

  liveSpans(traceId: string): string[] {
    return [...(this.live.get(traceId) ?? [])];
  }

  /** The span's ancestry as far as this process knows it. */
  lineage(traceId: string, spanId: string): Lineage {
    const chain = [spanId];
    let id = spanId;
    for (let depth = 0; depth < MAX_DEPTH; depth++) {
      const span = this.spans.get(id);
      if (!span || span.traceId !== traceId) break;
      if (span.parent === null) return { traceId, chain, rootReached: true, ask: { spanId, ancestors: chain.slice(1) } };
      chain.push(span.parent);
      if (!this.spans.has(span.parent)) return { traceId, chain, rootReached: false, ask: { spanId: id, ancestors: [span.parent] } };
      id = span.parent;
    }
    return { traceId, chain, rootReached: false, ask: { spanId: id, ancestors: [] } };
  }

  private sweep(): void {
    const cutoff = Date.now() - this.graceMs;
    while (this.endedHead < this.endedQueue.length && this.endedQueue[this.endedHead]!.at <= cutoff) {
      const { spanId } = this.endedQueue[this.endedHead++]!;
      // Started again under the same id meanwhile (a replayed span): still in use.
      if (this.spans.get(spanId)?.ended) this.spans.delete(spanId);
    }
    if (this.endedHead > 1024 && this.endedHead * 2 > this.endedQueue.length) {
      this.endedQueue.splice(0, this.endedHead);
      this.endedHead = 0;
    }
  }
}

const REGISTRY = Symbol.for('@canopy/sdk/local-spans@1');

/** The process's registry, shared by every copy of this package. */
export function localSpans(): LocalSpans {
  const holder = globalThis as { [REGISTRY]?: LocalSpans };
  return (holder[REGISTRY] ??= new LocalSpans());
}
