// Knows, in memory, whether the work this process does for a request tree may go on: one shared event stream
// tells it of every kill and revive as it happens, and the control API is asked only where the stream cannot
// answer alone (ancestry that continues in another process; kills made while the stream was down). Checking a
// span (assertAlive, killSignal) is a few map lookups, never a request per model call.
import { context, isSpanContextValid, trace, type Context } from '@opentelemetry/api';
import { resolveEndpoint } from './config.js';
import { ControlClient } from './control-client.js';
import { ControlQuestions } from './control-questions.js';
import { KilledError } from './killed-error.js';
import { KillStream } from './kill-stream.js';
import { KillsInForce, type KnownKill } from './kills-in-force.js';
import { localSpans, type Lineage, type LocalSpans } from './local-spans.js';
import { WatchedSignals } from './watched-signals.js';
import type { KillEvent } from './wire.js';

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

export const FAIL_CLOSED_AFTER_MS = 30_000;

export class KillWatcher {
  readonly url: string;
  private readonly options: KillWatcherOptions;
  private readonly failAfterMs: number;
  private readonly stream: KillStream;
  private readonly questions: ControlQuestions;
  private readonly kills = new KillsInForce();
  private readonly signals = new WatchedSignals();
  private readonly spans: LocalSpans;
  private readonly stopListening: () => void;
  private readonly openWaiters = new Set<() => void>();
  private state: 'idle' | 'running' | 'closed' = 'idle';
  private opened = false;
  private unreachableSince: number | null = null;
  private failTimer: ReturnType<typeof setTimeout> | undefined;
  private reported: string | null = null;

  constructor(options: KillWatcherOptions = {}) {
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
  start(): this {
    if (this.state !== 'idle') return this;
    this.state = 'running';
    this.markUnreachable();
    this.stream.start();
    return this;
  }

  /** Stops listening; signals already handed out abort no more. */
  close(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.failTimer);
    this.stream.stop();
    this.questions.stop();
    this.stopListening();
    for (const wake of this.openWaiters) wake();
  }

  get connected(): boolean {
    return this.stream.connected;
  }

  /** Resolves true once the event stream is open, false if it is not within `timeoutMs`. */
  ready(timeoutMs = 10_000): Promise<boolean> {
    this.start();
    if (this.connected) return Promise.resolve(true);
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
  check(target?: KillTarget): KilledError | null {
    return this.judge(this.lineageOf(target));
  }

  /** Throws a KilledError when the span (default: the active one) or its tree was killed. */
  assertAlive(target?: KillTarget): void {
    const error = this.check(target);
    if (error) throw error;
  }

  /**
   * An AbortSignal that aborts, with a KilledError as its reason, once the tree or a branch at or above the span
   * (default: the active one) is killed; already aborted if it is. Pass it as `abortSignal` to the AI SDK or as
   * `signal` to a fetch-based client. Outside any span it aborts only through failClosed.
   */
  killSignal(target?: KillTarget): AbortSignal {
    const lineage = this.lineageOf(target);
    const error = this.judge(lineage);
    if (error) return AbortSignal.abort(error);
    const span = lineage?.chain[0];
    return this.signals.add(lineage, span && this.spans.isLive(span) ? span : null);
  }

  private judge(lineage: Lineage | null): KilledError | null {
    this.start();
    const kill = lineage ? this.kills.killOf(lineage) : null;
    if (kill) return killedError(kill);
    if (this.failedClosed()) return this.unreachableError(lineage);
    if (lineage) this.questions.aboutRemoteAncestry(lineage);
    return null;
  }

  private lineageOf(target: KillTarget | undefined): Lineage | null {
    const t = target ?? context.active();
    if (typeof (t as SpanRef).traceId === 'string') {
      const ref = t as SpanRef;
      const traceId = ref.traceId.toLowerCase();
      const spanId = ref.spanId ? ref.spanId.toLowerCase() : null;
      if (spanId && this.spans.knows(spanId)) return this.spans.lineage(traceId, spanId);
      const ancestors = (ref.ancestors ?? []).map((id) => id.toLowerCase());
      const chain = spanId ? [spanId, ...ancestors] : ancestors;
      return { traceId, chain, rootReached: Boolean(spanId && ref.rootReached), ask: { spanId, ancestors } };
    }
    const spanContext = trace.getSpanContext(t as Context);
    if (!spanContext || !isSpanContextValid(spanContext)) return null;
    return this.spans.lineage(spanContext.traceId, spanContext.spanId);
  }

  private onEvent(event: KillEvent): void {
    if (!this.kills.apply(event)) return;
    const { traceId, spanId } = event.kill;
    this.reevaluate(traceId);
    if (event.type === 'kill' && spanId) this.questions.afterBranchKill(traceId);
  }

  /** Aborts the trace's signals that a kill now covers. */
  private reevaluate(traceId: string): void {
    for (const watched of this.signals.of(traceId)) {
      const kill = watched.lineage && this.kills.killOf(watched.lineage);
      if (kill) this.signals.abort(watched, killedError(kill));
    }
  }

  /** Every span of the trace this process judges: its running spans and its signals' spans. */
  private lineages(traceId: string): Lineage[] {
    const out = new Map<string, Lineage>();
    for (const spanId of this.spans.liveSpans(traceId)) out.set(spanId, this.spans.lineage(traceId, spanId));
    for (const watched of this.signals.of(traceId)) {
      const l = watched.lineage;
      if (l && !out.has(l.chain[0] ?? '')) out.set(l.chain[0] ?? '', l);
    }
    return [...out.values()];
  }

  private onOpen(): void {
    const reconnect = this.opened;
    this.opened = true;
    this.unreachableSince = null;
    this.reported = null;
    clearTimeout(this.failTimer);
    for (const wake of [...this.openWaiters]) wake();
    const local = new Set([...this.spans.liveTraces(), ...this.signals.traces()]);
    // Revives made while the stream was down went unheard: keep only the kills of trees running here, which the
    // catch-up confirms or drops.
    if (reconnect) this.kills.retainOnly(local);
    void this.questions.afterConnect([...local], reconnect);
  }

  private onClose(error: Error): void {
    this.markUnreachable();
    this.report(error);
  }

  private failedClosed(): boolean {
    return Boolean(this.options.failClosed) && this.unreachableSince !== null && Date.now() - this.unreachableSince >= this.failAfterMs;
  }

  private markUnreachable(): void {
    if (this.unreachableSince !== null || this.state !== 'running') return;
    this.unreachableSince = Date.now();
    if (!this.options.failClosed) return;
    clearTimeout(this.failTimer);
    this.failTimer = setTimeout(() => {
      if (!this.failedClosed()) return;
      for (const watched of this.signals.of(null)) this.signals.abort(watched, this.unreachableError(watched.lineage));
    }, this.failAfterMs + 5);
    this.failTimer.unref?.();
  }

  private unreachableError(lineage: Lineage | null): KilledError {
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
  private report(error: Error): void {
    const kind = error.message.replace(/\[.*\]$/, '').replace(/\d+/g, '#');
    if (kind === this.reported) return;
    this.reported = kind;
    if (this.options.onError) this.options.onError(error);
    else console.warn(`[canopy] ${error.message}; kill signals ${this.options.failClosed ? `abort after ${this.failAfterMs} ms without a connection` : 'stay open meanwhile'}`);
  }
}

function killedError(kill: KnownKill): KilledError {
  return new KilledError({ traceId: kill.traceId, spanId: kill.spanId, scope: kill.scope, reason: kill.reason, killedAt: kill.killedAt });
}
