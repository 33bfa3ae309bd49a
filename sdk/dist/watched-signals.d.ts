import type { Lineage } from './local-spans.js';
export interface Watched {
    lineage: Lineage | null;
    controller: AbortController;
}
export declare class WatchedSignals {
    private readonly byTrace;
    private readonly details;
    private readonly held;
    private readonly finalizer;
    /** A new signal judging `lineage`; `holdWhile` names the running span that keeps it alive until it ends. */
    add(lineage: Lineage | null, holdWhile: string | null): AbortSignal;
    /** The span ended: its signals live on only as long as someone uses them. */
    spanEnded(spanId: string): void;
    /** Traces with a signal still waiting. */
    traces(): string[];
    /** The live signals of a trace (all traces' when `traceId` is null), dropping those gone or aborted. */
    of(traceId: string | null): Generator<Watched>;
    /** Aborts one signal; it leaves the sets at the next pass over them. */
    abort(watched: Watched, reason: Error): void;
}
