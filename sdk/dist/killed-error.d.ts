import type { KillScope } from './wire.js';
/** `unreachable`: not a kill, but `failClosed` stopping work after Canopy could not be reached for too long. */
export type KilledScope = KillScope | 'unreachable';
export declare class KilledError extends Error {
    readonly name = "KilledError";
    readonly traceId: string | null;
    /** The root of the killed branch; null for a whole-tree kill (and for `unreachable`). */
    readonly spanId: string | null;
    readonly scope: KilledScope;
    readonly reason: string;
    /** When the kill was made (ISO-8601). */
    readonly killedAt: string;
    constructor(fields: {
        traceId: string | null;
        spanId: string | null;
        scope: KilledScope;
        reason: string;
        killedAt: string;
    });
}
/** True for a KilledError from any copy of this package (where `instanceof` would say no). */
export declare function isKilledError(error: unknown): error is KilledError;
