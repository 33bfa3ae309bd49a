/** What is known above a span: enough to judge a kill locally, or to ask Canopy about the rest. */
export interface Lineage {
    traceId: string;
    /** The span, then each ancestor known, nearest first; empty when only the trace is known. */
    chain: string[];
    /** The chain ends at the trace's root span: no kill outside it can cover the span. */
    rootReached: boolean;
    /** What to ask Canopy when the ancestry continues in another process: the topmost span known here, and the
     * ids known above it (its remote parent, or the ancestors a caller gave). */
    ask: {
        spanId: string | null;
        ancestors: string[];
    };
}
/** Ended spans are kept this long for the children still running below them. */
export declare const ENDED_GRACE_MS = 60000;
export declare class LocalSpans {
    private readonly graceMs;
    private readonly spans;
    private readonly live;
    private readonly endedQueue;
    private endedHead;
    private readonly endListeners;
    constructor(graceMs?: number);
    started(traceId: string, spanId: string, parent: string | null): void;
    ended(spanId: string): void;
    /** Tells `listener` of every span that ends; returns the unsubscribe. */
    onEnded(listener: (spanId: string) => void): () => void;
    isLive(spanId: string): boolean;
    knows(spanId: string): boolean;
    /** Traces with a span running here. */
    liveTraces(): string[];
    liveSpans(traceId: string): string[];
    /** The span's ancestry as far as this process knows it. */
    lineage(traceId: string, spanId: string): Lineage;
    private sweep;
}
/** The process's registry, shared by every copy of this package. */
export declare function localSpans(): LocalSpans;
