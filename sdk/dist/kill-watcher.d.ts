import { type Context } from '@opentelemetry/api';
import { KilledError } from './killed-error.js';
import { type LocalSpans } from './local-spans.js';
export interface KillWatcherOptions {
    /** Canopy's app URL (default: $CANOPY_URL, else derived from $OTEL_EXPORTER_OTLP_ENDPOINT, else http://127.0.0.1:3000). */
    url?: string;
    /** Sent as `Authorization: Bearer …` (default: $CANOPY_API_KEY). */
    apiKey?: string;
    /**
     * Off (the default), work goes on while Canopy cannot be reached: no kill can arrive, none is invented. On,
     * after `failClosedAfterMs` without a connection every signal aborts and assertAlive throws a KilledError with
     * scope `unreachable`, until the connection is back.
     */
    failClosed?: boolean;
    failClosedAfterMs?: number;
    /** Connection and control API problems; default: one console.warn per outage. */
    onError?: (error: Error) => void;
    requestTimeoutMs?: number;
    reconnectMinMs?: number;
    reconnectMaxMs?: number;
    /** The event stream counts as dead after this long without a byte (Canopy sends a heartbeat every 15 s). */
    silenceMs?: number;
    /** Where span ancestry is read (default: the process's registry, filled by CanopyStartProcessor). */
    spans?: LocalSpans;
}
/** A span named by ids, for code that knows its ancestry itself (or works without OpenTelemetry). */
export interface SpanRef {
    traceId: string;
    /** Omitted: the whole tree only. */
    spanId?: string | null;
    /** Span ids above `spanId`, nearest first. */
    ancestors?: readonly string[];
    /** `ancestors` go all the way up to the trace's root span. */
    rootReached?: boolean;
}
/** What to judge: an OpenTelemetry context (default: the active one), or a span named by ids. */
export type KillTarget = Context | SpanRef;
export declare const FAIL_CLOSED_AFTER_MS = 30000;
export declare class KillWatcher {
    readonly url: string;
    private readonly options;
    private readonly failAfterMs;
    private readonly stream;
    private readonly questions;
    private readonly kills;
    private readonly signals;
    private readonly spans;
    private readonly stopListening;
    private readonly openWaiters;
    private state;
    private opened;
    private unreachableSince;
    private failTimer;
    private reported;
    constructor(options?: KillWatcherOptions);
    /** Connects (once); every check does this too. */
    start(): this;
    /** Stops listening; signals already handed out abort no more. */
    close(): void;
    get connected(): boolean;
    /** Resolves true once the event stream is open, false if it is not within `timeoutMs`. */
    ready(timeoutMs?: number): Promise<boolean>;
    /** The KilledError that stops this span or tree, or null while it may go on. */
    check(target?: KillTarget): KilledError | null;
    /** Throws a KilledError when the span (default: the active one) or its tree was killed. */
    assertAlive(target?: KillTarget): void;
    /**
     * An AbortSignal that aborts, with a KilledError as its reason, once the tree or a branch at or above the span
     * (default: the active one) is killed; already aborted if it is. Pass it as `abortSignal` to the AI SDK or as
     * `signal` to a fetch-based client. Outside any span it aborts only through failClosed.
     */
    killSignal(target?: KillTarget): AbortSignal;
    private judge;
    private lineageOf;
    private onEvent;
    /** Aborts the trace's signals that a kill now covers. */
    private reevaluate;
    /** Every span of the trace this process judges: its running spans and its signals' spans. */
    private lineages;
    private onOpen;
    private onClose;
    private failedClosed;
    private markUnreachable;
    private unreachableError;
    /** Once per outage, and again when the problem changes (a refused key after a refused connection). */
    private report;
}
