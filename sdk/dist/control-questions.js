import { MAX_ANCESTORS } from './wire.js';
/** After a failed question, the same span is not asked about again for this long. */
const RETRY_MS = 2_000;
/** Spans remembered as asked about; the oldest are forgotten first (and simply asked again). */
const MAX_ASKED = 50_000;
/** Trees caught up at once after a reconnect. */
const CATCH_UP_CONCURRENCY = 4;
/** Questions per tree when catching up: each "killed" answer asks again without the spans that kill covers. */
const CATCH_UP_ROUNDS = 8;
export class ControlQuestions {
    deps;
    /** `${traceId}/${spanId}` → the trace's kill version when Canopy was last asked about that span. */
    asked = new Map();
    asking = new Set();
    retryAt = new Map();
    stopped = false;
    constructor(deps) {
        this.deps = deps;
    }
    stop() {
        this.stopped = true;
    }
    /** Asks about a span whose ancestry continues beyond this process, unless asked since its trace's last kill. */
    aboutRemoteAncestry(lineage) {
        if (lineage.rootReached || this.stopped)
            return;
        const { traceId } = lineage;
        const { spanId, ancestors } = lineage.ask;
        const key = `${traceId}/${spanId ?? ''}`;
        const version = this.deps.kills.version(traceId);
        if (this.asked.get(key) === version || this.asking.has(key) || (this.retryAt.get(key) ?? 0) > Date.now())
            return;
        this.asking.add(key);
        this.deps.control
            .ask(traceId, spanId, ancestors)
            .then((answer) => {
            this.remember(key, version);
            if (this.deps.kills.answer(traceId, spanId, answer))
                this.deps.changed(traceId);
        }, (error) => {
            this.retryAt.set(key, Date.now() + RETRY_MS);
            this.deps.report(asError(error));
        })
            .finally(() => this.asking.delete(key));
    }
    /** A branch of the trace was killed: spans here may be under it through another process. */
    afterBranchKill(traceId) {
        for (const lineage of this.deps.lineages(traceId))
            this.aboutRemoteAncestry(lineage);
    }
    /** The stream (re)opened: kills made while it was down are learned by asking about each tree running here. */
    async afterConnect(traceIds, reconnect) {
        // What was settled before the outage may have changed during it.
        if (reconnect)
            this.asked.clear();
        const queue = [...traceIds];
        const worker = async () => {
            for (let traceId = queue.shift(); traceId !== undefined && !this.stopped; traceId = queue.shift()) {
                await this.catchUp(traceId).catch((error) => this.deps.report(asError(error)));
            }
        };
        await Promise.all(Array.from({ length: CATCH_UP_CONCURRENCY }, worker));
    }
    /** One question about every span of the tree running here, the ids above them included. */
    async catchUp(traceId) {
        const { kills, spans, control } = this.deps;
        const before = kills.clock;
        const version = kills.version(traceId);
        const lineages = this.deps.lineages(traceId);
        const all = [...new Set(lineages.flatMap((l) => [...l.chain, ...l.ask.ancestors]))];
        let foreign = false;
        for (let from = 0; from === 0 || from < all.length; from += MAX_ANCESTORS) {
            let ids = all.slice(from, from + MAX_ANCESTORS);
            for (let round = 0; round < CATCH_UP_ROUNDS; round++) {
                const answer = await control.ask(traceId, ids[0] ?? null, ids.slice(1));
                if (!answer.killed) {
                    if (kills.confirmAlive(traceId, ids, before))
                        this.deps.changed(traceId);
                    break;
                }
                const kill = kills.answer(traceId, null, answer);
                this.deps.changed(traceId);
                if (!kill || kill.scope === 'tree')
                    return;
                const root = kill.spanId;
                // Found above the spans asked about, in another process: each of them is asked about on its own below.
                if (!ids.includes(root)) {
                    foreign = true;
                    break;
                }
                ids = ids.filter((id) => id !== root && !(spans.knows(id) && spans.lineage(traceId, id).chain.includes(root)));
                if (ids.length === 0)
                    break;
            }
        }
        // The remote ancestry of these spans was in the question: unless a kill was found out there, they are settled.
        for (const lineage of lineages) {
            if (lineage.rootReached)
                continue;
            if (foreign)
                this.aboutRemoteAncestry(lineage);
            else
                this.remember(`${traceId}/${lineage.ask.spanId ?? ''}`, version);
        }
    }
    remember(key, version) {
        this.asked.delete(key);
        this.asked.set(key, version);
        this.retryAt.delete(key);
        if (this.asked.size > MAX_ASKED)
            this.asked.delete(this.asked.keys().next().value);
    }
}
export function asError(error) {
    return error instanceof Error ? error : new Error(String(error));
}
