/** Who decided: a person (the API), the auto-kill policy acting on an alert, or a tree's budget. */
export type KillSource = 'manual' | 'auto' | 'budget';
/** `tree`: every span of the trace; `branch`: the span `spanId` and every span below it. */
export type KillScope = 'tree' | 'branch';
export interface Kill {
    traceId: string;
    /** The root of the killed branch; null for the whole tree. */
    spanId: string | null;
    scope: KillScope;
    reason: string;
    source: KillSource;
    /** The alert that caused an automatic kill; null for a manual one. */
    alertId: string | null;
    createdAt: string;
    /** Set once revived: the kill no longer stops anything. */
    revokedAt: string | null;
    active: boolean;
}
/** The answer of `GET /api/control/:traceId`: may this tree, or this span, go on? */
export interface ControlAnswer {
    killed: boolean;
    scope: KillScope | null;
    reason: string | null;
    killedAt: string | null;
    /** The root of the killed branch that covers the span asked about (null for a tree kill or no kill). */
    killedSpanId: string | null;
    budget: {
        maxCostUsd: number;
        spentUsd: number;
    } | null;
}
/** Pushed on `GET /api/control/events` (Server-Sent Events), one per kill or revive. */
export interface KillEvent {
    type: 'kill' | 'revive';
    kill: Kill;
}
/** Marks a span reported when it starts; its ended version, exported later, is the one Canopy counts. */
export declare const STARTED_ATTRIBUTE = "canopy.span.started";
/** The most span ids one control request may carry in `ancestors`. */
export declare const MAX_ANCESTORS = 256;
