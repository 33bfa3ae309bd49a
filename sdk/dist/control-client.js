// Asks Canopy's control API about one span (or the whole tree): `GET /api/control/:traceId?spanId=&ancestors=`.
// Used only where the event stream cannot answer alone: ancestry that runs through another process, and kills
// made while the stream was down.
import { untraced } from './untraced.js';
import { MAX_ANCESTORS } from './wire.js';
export class ControlClient {
    baseUrl;
    apiKey;
    timeoutMs;
    constructor(baseUrl, apiKey, timeoutMs) {
        this.baseUrl = baseUrl;
        this.apiKey = apiKey;
        this.timeoutMs = timeoutMs;
    }
    async ask(traceId, spanId, ancestors = []) {
        const url = new URL(`${this.baseUrl}/api/control/${traceId}`);
        if (spanId)
            url.searchParams.set('spanId', spanId);
        const above = ancestors.filter((id) => id !== spanId).slice(0, MAX_ANCESTORS);
        if (above.length)
            url.searchParams.set('ancestors', above.join(','));
        const headers = { accept: 'application/json' };
        if (this.apiKey)
            headers.authorization = `Bearer ${this.apiKey}`;
        const res = await untraced(() => fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) }));
        const body = await res.json().catch(() => null);
        if (!res.ok) {
            const error = body?.error;
            throw new Error(`Canopy control API answered ${res.status}${typeof error === 'string' ? `: ${error}` : ''}`);
        }
        return parseAnswer(body);
    }
}
function parseAnswer(body) {
    const b = (typeof body === 'object' && body !== null ? body : {});
    if (typeof b.killed !== 'boolean')
        throw new Error('Canopy control API answered something that is not a control answer');
    const text = (v) => (typeof v === 'string' ? v : null);
    return {
        killed: b.killed,
        scope: b.scope === 'tree' || b.scope === 'branch' ? b.scope : null,
        reason: text(b.reason),
        killedAt: text(b.killedAt),
        killedSpanId: text(b.killedSpanId)?.toLowerCase() ?? null,
        budget: budgetOf(b.budget),
    };
}
function budgetOf(v) {
    const b = v;
    return b && typeof b.maxCostUsd === 'number' && typeof b.spentUsd === 'number' ? { maxCostUsd: b.maxCostUsd, spentUsd: b.spentUsd } : null;
}
