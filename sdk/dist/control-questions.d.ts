import type { ControlClient } from './control-client.js';
import type { KillsInForce } from './kills-in-force.js';
import type { Lineage, LocalSpans } from './local-spans.js';
export interface ControlQuestionsDeps {
    control: ControlClient;
    kills: KillsInForce;
    spans: LocalSpans;
    /** Every span of the trace this process judges. */
    lineages(traceId: string): Lineage[];
    /** Kills of the trace changed: judge its signals again. */
    changed(traceId: string): void;
    report(error: Error): void;
}
export declare class ControlQuestions {
    private readonly deps;
    /** `${traceId}/${spanId}` → the trace's kill version when Canopy was last asked about that span. */
    private readonly asked;
    private readonly asking;
    private readonly retryAt;
    private stopped;
    constructor(deps: ControlQuestionsDeps);
    stop(): void;
    /** Asks about a span whose ancestry continues beyond this process, unless asked since its trace's last kill. */
    aboutRemoteAncestry(lineage: Lineage): void;
    /** A branch of the trace was killed: spans here may be under it through another process. */
    afterBranchKill(traceId: string): void;
    /** The stream (re)opened: kills made while it was down are learned by asking about each tree running here. */
    afterConnect(traceIds: string[], reconnect: boolean): Promise<void>;
    /** One question about every span of the tree running here, the ids above them included. */
    private catchUp;
    private remember;
}
export declare function asError(error: unknown): Error;
