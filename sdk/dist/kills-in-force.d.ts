import type { Lineage } from './local-spans.js';
import type { ControlAnswer, KillEvent, KillScope } from './wire.js';
export interface KnownKill {
    traceId: string;
    /** Root of the killed branch; null for the whole tree. */
    spanId: string | null;
    scope: KillScope;
    reason: string;
    killedAt: string;
    /** Order in which kills were learned: what a later answer may overrule. */
    learned: number;
}
export declare class KillsInForce {
    private readonly traces;
    private learned;
    /** Where the next kill learned will be counted from. */
    get clock(): number;
    version(traceId: string): number;
    /** A pushed event; returns whether anything changed. */
    apply({ type, kill }: KillEvent): boolean;
    /** Canopy answered "killed" about `askedSpanId` (null: the tree): the kill it named, and that it covers that span. */
    answer(traceId: string, askedSpanId: string | null, a: ControlAnswer): KnownKill | null;
    /** Canopy answered "not killed" about these spans: kills learned before `before` that would cover them are stale. */
    confirmAlive(traceId: string, spanIds: readonly string[], before: number): boolean;
    /** The kill that stops this span (or tree), if any is known. */
    killOf(lineage: Lineage): KnownKill | null;
    /** Branch kills of this trace that are not in the chain: they may cover it through another process. */
    hasBranchesOutside(lineage: Lineage): boolean;
    /** Forgets every trace but these (after an outage, what was learned before may have been revived since). */
    retainOnly(traceIds: Set<string>): void;
    private add;
    private remove;
    private dropIfEmpty;
}
