const BRAND = Symbol.for('@canopy/sdk/KilledError');
export class KilledError extends Error {
    name = 'KilledError';
    traceId;
    /** The root of the killed branch; null for a whole-tree kill (and for `unreachable`). */
    spanId;
    scope;
    reason;
    /** When the kill was made (ISO-8601). */
    killedAt;
    constructor(fields) {
        super(describe(fields));
        this.traceId = fields.traceId;
        this.spanId = fields.spanId;
        this.scope = fields.scope;
        this.reason = fields.reason;
        this.killedAt = fields.killedAt;
        this[BRAND] = true;
    }
}
/** True for a KilledError from any copy of this package (where `instanceof` would say no). */
export function isKilledError(error) {
    return typeof error === 'object' && error !== null && error[BRAND] === true;
}
function describe(f) {
    const why = f.reason ? `: ${f.reason}` : '';
    if (f.scope === 'unreachable')
        return `Canopy unreachable and failClosed is on${why}`;
    if (f.scope === 'tree')
        return `Canopy killed request tree ${f.traceId}${why}`;
    return `Canopy killed the branch under span ${f.spanId} of trace ${f.traceId}${why}`;
}
