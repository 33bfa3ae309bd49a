// Asks Canopy whether a tree or a branch of it was killed, through the control API agents use:
// GET {api}/api/control/<traceId>?spanId=<hex>&ancestors=<hex,hex,...> → { killed, scope, reason, killedAt,
// killedSpanId, budget }. Agents call this between steps, about the spans they are running (the deepest ones:
// a kill above any running span covers one of them) with the span ids above each, which the simulator knows
// from its plan. Answers are cached per tree for a quarter of a second, so a tree asks a few times a second,
// not once per step, and a kill still stops it well within a second.

export interface KillStatus {
  killed: boolean;
  /** Roots of killed branches: a span is killed when it or an ancestor is listed. */
  spanIds: string[];
  traceKilled: boolean;
}

export const NOT_KILLED: KillStatus = Object.freeze({ killed: false, spanIds: [], traceKilled: false }) as KillStatus;

/** A running span to ask about, with the span ids above it (nearest first). */
export interface SpanAsk {
  spanId: string;
  ancestors: readonly string[];
}

export interface KillChecker {
  /** The tree's kills as far as known; `spans` lists the running spans to ask about (none: the whole tree only). */
  status(traceId: string, spans?: () => readonly SpanAsk[]): Promise<KillStatus>;
  forget(traceId: string): void;
}

/** How long an answer is reused, and how often a simulated agent looks between slow steps (sim/simulate.ts). */
export const KILL_CHECK_MS = 250;
/** Spans asked about per tree and check; a wider tree rotates through its running spans. */
const MAX_ASKS = 16;

interface CacheEntry {
  at: number;
  value: Promise<KillStatus>;
  round: number;
}

export interface KillClientOptions {
  apiKey?: string;
  ttlMs?: number;
  /** After a 404 or a refused connection, stay quiet this long: the API may not exist (yet). */
  unavailableBackoffMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

export class KillClient implements KillChecker {
  private readonly cache = new Map<string, CacheEntry>();
  private unavailableUntil = 0;
  private readonly ttlMs: number;
  private readonly backoffMs: number;
  private readonly timeoutMs: number;
  private readonly fetchImpl: typeof fetch;

  constructor(
    private readonly apiBase: string,
    private readonly opts: KillClientOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? KILL_CHECK_MS;
    this.backoffMs = opts.unavailableBackoffMs ?? 5_000;
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  status(traceId: string, spans?: () => readonly SpanAsk[]): Promise<KillStatus> {
    const now = Date.now();
    const cached = this.cache.get(traceId);
    if (cached && now - cached.at < this.ttlMs) return cached.value;
    if (now < this.unavailableUntil) return Promise.resolve(cached ? cached.value : NOT_KILLED);
    const round = (cached?.round ?? -1) + 1;
    const asks = pick(spans?.() ?? [], round);
    // A kill is final for a simulated agent: once seen, the tree stays killed without asking again.
    const value = cached
      ? cached.value.then((previous) => (previous.traceKilled ? previous : this.ask(traceId, asks, previous)))
      : this.ask(traceId, asks, NOT_KILLED);
    this.cache.set(traceId, { at: now, value, round });
    return value;
  }

  forget(traceId: string): void {
    this.cache.delete(traceId);
  }

  private async ask(traceId: string, asks: readonly SpanAsk[], previous: KillStatus): Promise<KillStatus> {
    const answers = await Promise.all(asks.length ? asks.map((a) => this.request(traceId, a)) : [this.request(traceId, null)]);
    return answers.reduce<KillStatus>((status, answer) => (answer ? merge(status, answer) : status), previous);
  }

  private async request(traceId: string, ask: SpanAsk | null): Promise<KillStatus | null> {
    const url = new URL(`/api/control/${traceId}`, this.apiBase);
    if (ask) {
      url.searchParams.set('spanId', ask.spanId);
      if (ask.ancestors.length) url.searchParams.set('ancestors', ask.ancestors.join(','));
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    try {
      const res = await this.fetchImpl(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) {
        if (res.status === 404 || res.status === 405 || res.status === 501) this.unavailableUntil = Date.now() + this.backoffMs;
        await res.body?.cancel();
        return null;
      }
      return parseAnswer(await res.json(), ask);
    } catch {
      this.unavailableUntil = Date.now() + this.backoffMs;
      return null;
    }
  }
}

/** At most MAX_ASKS spans, a different slice each round, so every running span is asked about in turn. */
function pick(asks: readonly SpanAsk[], round: number): readonly SpanAsk[] {
  if (asks.length <= MAX_ASKS) return asks;
  const from = (round * MAX_ASKS) % asks.length;
  return Array.from({ length: MAX_ASKS }, (_, i) => asks[(from + i) % asks.length]!);
}

/** The control API's answer as a status: a tree kill, or the root of the killed branch above the span asked about. */
function parseAnswer(body: unknown, ask: SpanAsk | null): KillStatus {
  if (typeof body !== 'object' || body === null) return NOT_KILLED;
  const b = body as Record<string, unknown>;
  if (b.killed !== true) return NOT_KILLED;
  if (b.scope === 'tree') return { killed: true, spanIds: [], traceKilled: true };
  const root = typeof b.killedSpanId === 'string' ? b.killedSpanId.toLowerCase() : ask?.spanId;
  return root ? { killed: true, spanIds: [root], traceKilled: false } : NOT_KILLED;
}

function merge(a: KillStatus, b: KillStatus): KillStatus {
  if (!a.killed) return b;
  if (!b.killed) return a;
  const spanIds = [...new Set([...a.spanIds, ...b.spanIds])];
  return { killed: true, spanIds, traceKilled: a.traceKilled || b.traceKilled };
}

/** The API lives on the app port: an OTLP endpoint on 4318 implies the API on 3000 of the same host. */
export function defaultApiBase(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.port === '4318') url.port = '3000';
  return url.origin;
}
