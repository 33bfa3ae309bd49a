// Knows, in memory, whether the work this process does for a request tree may go on: one shared event stream
// tells it of every kill and revive as it happens, and the control API is asked only where the stream cannot
// answer alone (ancestry that continues in another process; kills made while the stream was down). Checking a
// span (assertAlive, killSignal) is a few map lookups, never a request per model call.
import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import { resolveEndpoint } from './config.js';
import { ControlClient } from './control-client.js';
import { ControlQuestions } from './control-questions.js';
import { KilledError } from './killed-error.js';
import { KillStream } from './kill-stream.js';
import { KillsInForce } from './kills-in-force.js';
import { localSpans } from './local-spans.js';
import { WatchedSignals } from './watched-signals.js';
export const FAIL_CLOSED_AFTER_MS = 30_000;
export class KillWatcher {
    url;
    options;
    failAfterMs;
    stream;
    questions;
    kills = new KillsInForce();
    signals = new WatchedSignals();
    spans;
    stopListening;
    openWaiters = new Set();
    state = 'idle';
    opened = false;
    unreachableSince = null;
    failTimer;
    reported = null;
    constructor(options = {}) {
        this.options = options;
        const endpoint = resolveEndpoint(options);
        this.url = endpoint.url;
        this.failAfterMs = options.failClosedAfterMs ?? FAIL_CLOSED_AFTER_MS;
        this.spans = options.spans ?? localSpans();
        this.stopListening = this.spans.onEnded((spanId) => this.signals.spanEnded(spanId));
        this.questions = new ControlQuestions({
            control: new ControlClient(endpoint.url, endpoint.apiKey, options.requestTimeoutMs ?? 5_000),
            kills: this.kills,
            spans: this.spans,
            lineages: (traceId) => this.lineages(traceId),
            changed: (traceId) => this.reevaluate(traceId),
            report: (error) => this.report(error),
        });
        const source = endpoint.source === 'option' ? '' : ` (from ${endpoint.source})`;
        this.stream = new KillStream({
            url: endpoint.url,
            apiKey: endpoint.apiKey,
            reconnectMinMs: options.reconnectMinMs ?? 1_000,
            reconnectMaxMs: options.reconnectMaxMs ?? 30_000,
            silenceMs: options.silenceMs ?? 45_000,
            onEvent: (e) => this.onEvent(e),
            onOpen: () => this.onOpen(),
            onClose: (error, retryInMs) => this.onClose(new Error(`${error.message} [${endpoint.url}${source}; retrying in ${retryInMs} ms]`)),
        });
    }
    /** Connects (once); every check does this too. */
    start() {
        if (this.state !== 'idle')
            return this;
        this.state = 'running';
        this.markUnreachable();
        this.stream.start();
        return this;
    }
    /** Stops listening; signals already handed out abort no more. */
    close() {
        if (this.state === 'closed')
            return;
        this.state = 'closed';
        clearTimeout(this.failTimer);
        this.stream.stop();
        this.questions.stop();
        this.stopListening();
        for (const wake of this.openWaiters)
            wake();
    }
    get connected() {
        return this.stream.connected;
    }
    /** Resolves true once the event stream is open, false if it is not within `timeoutMs`. */
    ready(timeoutMs = 10_000) {
        this.start();
        if (this.connected)
            return Promise.resolve(true);
        return new Promise((resolve) => {
            const wake = () => {
                clearTimeout(timer);
                this.openWaiters.delete(wake);
                resolve(this.connected);
            };
            // Not unref'd: whoever awaits this keeps the process alive until it settles.
            const timer = setTimeout(wake, timeoutMs);
            this.openWaiters.add(wake);
        });
    }
    /** The KilledError that stops this span or tree, or null while it may go on. */
    check(target) {
        return this.judge(this.lineageOf(target));
    }
    /** Throws a KilledError when the span (default: the active one) or its tree was killed. */
    assertAlive(target) {
        const error = this.check(target);
        if (error)
            throw error;
    }
    /**
     * An AbortSignal that aborts, with a KilledError as its reason, once the tree or a branch at or above the span
     * (default: the active one) is killed; already aborted if it is. Pass it as `abortSignal` to the AI SDK or as
     * `signal` to a fetch-based client. Outside any span it aborts only through failClosed.
     */
    killSignal(target) {
        const lineage = this.lineageOf(target);
        const error = this.judge(lineage);
        if (error)
            return AbortSignal.abort(error);
        const span = lineage?.chain[0];
        return this.signals.add(lineage, span && this.spans.isLive(span) ? span : null);
    }
    judge(lineage) {
        this.start();
        const kill = lineage ? this.kills.killOf(lineage) : null;
        if (kill)
            return killedError(kill);
        if (this.failedClosed())
            return this.unreachableError(lineage);
        if (lineage)
            this.questions.aboutRemoteAncestry(lineage);
        return null;
    }
    lineageOf(target) {
        const t = target ?? context.active();
        if (typeof t.traceId === 'string') {
            const ref = t;
            const traceId = ref.traceId.toLowerCase();
            const spanId = ref.spanId ? ref.spanId.toLowerCase() : null;
            if (spanId && this.spans.knows(spanId))
                return this.spans.lineage(traceId, spanId);
            const ancestors = (ref.ancestors ?? []).map((id) => id.toLowerCase());
            const chain = spanId ? [spanId, ...ancestors] : ancestors;
            return { traceId, chain, rootReached: Boolean(spanId && ref.rootReached), ask: { spanId, ancestors } };
        }
        const spanContext = trace.getSpanContext(t);
        if (!spanContext || !isSpanContextValid(spanContext))
            return null;
        return this.spans.lineage(spanContext.traceId, spanContext.spanId);
    }
    onEvent(event) {
        if (!this.kills.apply(event))
            return;
        const { traceId, spanId } = event.kill;
        this.reevaluate(traceId);
        if (event.type === 'kill' && spanId)
            this.questions.afterBranchKill(traceId);
    }
    /** Aborts the trace's signals that a kill now covers. */
    reevaluate(traceId) {
        for (const watched of this.signals.of(traceId)) {
            const kill = watched.lineage && this.kills.killOf(watched.lineage);
            if (kill)
                this.signals.abort(watched, killedError(kill));
        }
    }
    /** Every span of the trace this process judges: its running spans and its signals' spans. */
    lineages(traceId) {
        const out = new Map();
        for (const spanId of this.spans.liveSpans(traceId))
            out.set(spanId, this.spans.lineage(traceId, spanId));
        for (const watched of this.signals.of(traceId)) {
            const l = watched.lineage;
            if (l && !out.has(l.chain[0] ?? ''))
                out.set(l.chain[0] ?? '', l);
        }
        return [...out.values()];
    }
    onOpen() {
        const reconnect = this.opened;
        this.opened = true;
        this.unreachableSince = null;
        this.reported = null;
        clearTimeout(this.failTimer);
        for (const wake of [...this.openWaiters])
            wake();
        const local = new Set([...this.spans.liveTraces(), ...this.signals.traces()]);
        // Revives made while the stream was down went unheard: keep only the kills of trees running here, which the
        // catch-up confirms or drops.
        if (reconnect)
            this.kills.retainOnly(local);
        void this.questions.afterConnect([...local], reconnect);
    }
    onClose(error) {
        this.markUnreachable();
        this.report(error);
    }
    failedClosed() {
        return Boolean(this.options.failClosed) && this.unreachableSince !== null && Date.now() - this.unreachableSince >= this.failAfterMs;
    }
    markUnreachable() {
        if (this.unreachableSince !== null || this.state !== 'running')
            return;
        this.unreachableSince = Date.now();
        if (!this.options.failClosed)
            return;
        clearTimeout(this.failTimer);
        this.failTimer = setTimeout(() => {
            if (!this.failedClosed())
                return;
            for (const watched of this.signals.of(null))
                this.signals.abort(watched, this.unreachableError(watched.lineage));
        }, this.failAfterMs + 5);
        this.failTimer.unref?.();
    }
    unreachableError(lineage) {
        const since = this.unreachableSince ?? Date.now();
        return new KilledError({
            traceId: lineage?.traceId ?? null,
            spanId: null,
            scope: 'unreachable',
            reason: `no connection to Canopy at ${this.url} for ${Math.round((Date.now() - since) / 1000)} s`,
            killedAt: new Date(since + this.failAfterMs).toISOString(),
        });
    }
    /** Once per outage, and again when the problem changes (a refused key after a refused connection). */
    report(error) {
        const kind = error.message.replace(/\[.*\]$/, '').replace(/\d+/g, '#');
        if (kind === this.reported)
            return;
        this.reported = kind;
        if (this.options.onError)
            this.options.onError(error);
        else
            console.warn(`[canopy] ${error.message}; kill signals ${this.options.failClosed ? `abort after ${this.failAfterMs} ms without a connection` : 'stay open meanwhile'}`);
    }
}
function killedError(kill) {
    return new KilledError({ traceId: kill.traceId, spanId: kill.spanId, scope: kill.scope, reason: kill.reason, killedAt: kill.killedAt });
}
