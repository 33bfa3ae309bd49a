// The abort signals handed out by killSignal and not aborted yet, by trace, each with the lineage it judges.
// Held weakly: a signal nobody uses any more is collected and forgotten, so a signal per model call costs nothing
// once the call is over. While the span it was made for still runs here, it is also held strongly, so code that
// only listens to it (`signal.addEventListener('abort', …)`, keeping no reference) still hears the kill.
import type { Lineage } from './local-spans.js';

export interface Watched {
  lineage: Lineage | null;
  controller: AbortController;
}

/** Signals made outside any trace: only failClosed can abort them. */
const NO_TRACE = '';

export class WatchedSignals {
  private readonly byTrace = new Map<string, Set<WeakRef<AbortSignal>>>();
  private readonly details = new WeakMap<AbortSignal, Watched>();
  private readonly held = new Map<string, AbortSignal[]>();
  private readonly finalizer = new FinalizationRegistry<{ key: string; ref: WeakRef<AbortSignal> }>(({ key, ref }) => {
    const set = this.byTrace.get(key);
    set?.delete(ref);
    if (set?.size === 0) this.byTrace.delete(key);
  });

  /** A new signal judging `lineage`; `holdWhile` names the running span that keeps it alive until it ends. */
  add(lineage: Lineage | null, holdWhile: string | null): AbortSignal {
    const controller = new AbortController();
    const signal = controller.signal;
    const key = lineage?.traceId ?? NO_TRACE;
    const ref = new WeakRef(signal);
    let set = this.byTrace.get(key);
    if (!set) this.byTrace.set(key, (set = new Set()));
    set.add(ref);
    this.details.set(signal, { lineage, controller });
    this.finalizer.register(signal, { key, ref }, ref);
    if (holdWhile) {
      const list = this.held.get(holdWhile);
      if (list) list.push(signal);
      else this.held.set(holdWhile, [signal]);
    }
    return signal;
  }

  /** The span ended: its signals live on only as long as someone uses them. */
  spanEnded(spanId: string): void {
    this.held.delete(spanId);
  }

  /** Traces with a signal still waiting. */
  traces(): string[] {
    const out = new Set<string>();
    for (const watched of this.of(null)) if (watched.lineage) out.add(watched.lineage.traceId);
    return [...out];
  }

  /** The live signals of a trace (all traces' when `traceId` is null), dropping those gone or aborted. */
  *of(traceId: string | null): Generator<Watched> {
    for (const key of traceId === null ? [...this.byTrace.keys()] : [traceId]) {
      const set = this.byTrace.get(key);
      if (!set) continue;
      for (const ref of set) {
        const signal = ref.deref();
        const watched = signal && !signal.aborted ? this.details.get(signal) : undefined;
        if (watched) yield watched;
        else {
          set.delete(ref);
          if (signal) this.finalizer.unregister(ref);
        }
      }
      if (set.size === 0) this.byTrace.delete(key);
    }
  }

  /** Aborts one signal; it leaves the sets at the next pass over them. */
  abort(watched: Watched, reason: Error): void {
    watched.controller.abort(reason);
  }
}
