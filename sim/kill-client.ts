// Asks Canopy whether a tree or one of its branches was killed. Agents call this between steps; the answer
// is cached per tree for about a second so a thousand running agents do not become a thousand requests.
// Endpoint: GET {api}/api/control/kills?traceId=<hex> → { killed, spanIds, traceKilled }.

export interface KillStatus {
  killed: boolean;
  /** Roots of killed branches: a span is killed when it or an ancestor is listed. */
  spanIds: string[];
  traceKilled: boolean;
}

export const NOT_KILLED: KillStatus = Object.freeze({ killed: false, spanIds: [], traceKilled: false }) as KillStatus;

export interface KillChecker {
  status(traceId: string): Promise<KillStatus>;
  forget(traceId: string): void;
}

interface CacheEntry {
  at: number;
  value: Promise<KillStatus>;
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
    this.ttlMs = opts.ttlMs ?? 1_000;
    this.backoffMs = opts.unavailableBackoffMs ?? 5_000;
    this.timeoutMs = opts.timeoutMs ?? 2_000;
    this.fetchImpl = opts.fetch ?? fetch;
  }

  status(traceId: string): Promise<KillStatus> {
    const now = Date.now();
    const cached = this.cache.get(traceId);
    if (cached && now - cached.at < this.ttlMs) return cached.value;
    if (now < this.unavailableUntil) return Promise.resolve(cached ? cached.value : NOT_KILLED);
    // A kill is final: once seen, the tree stays killed without asking again.
    const value = cached
      ? cached.value.then((previous) => (previous.traceKilled ? previous : this.request(traceId, previous)))
      : this.request(traceId, NOT_KILLED);
    this.cache.set(traceId, { at: now, value });
    return value;
  }

  forget(traceId: string): void {
    this.cache.delete(traceId);
  }

  private async request(traceId: string, previous: KillStatus): Promise<KillStatus> {
    const url = new URL('/api/control/kills', this.apiBase);
    url.searchParams.set('traceId', traceId);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.opts.apiKey) headers.authorization = `Bearer ${this.opts.apiKey}`;
    try {
      const res = await this.fetchImpl(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) });
      if (!res.ok) {
        if (res.status === 404 || res.status === 405 || res.status === 501) this.unavailableUntil = Date.now() + this.backoffMs;
        await res.body?.cancel();
        return previous;
      }
      return merge(previous, parseStatus(await res.json()));
    } catch {
      this.unavailableUntil = Date.now() + this.backoffMs;
      return previous;
    }
  }
}

function parseStatus(body: unknown): KillStatus {
  if (typeof body !== 'object' || body === null) return NOT_KILLED;
  const b = body as Record<string, unknown>;
  const spanIds = Array.isArray(b.spanIds) ? b.spanIds.filter((s): s is string => typeof s === 'string').map((s) => s.toLowerCase()) : [];
  const traceKilled = b.traceKilled === true;
  return { killed: b.killed === true || traceKilled || spanIds.length > 0, spanIds, traceKilled };
}

function merge(a: KillStatus, b: KillStatus): KillStatus {
  if (!a.killed) return b;
  const spanIds = [...new Set([...a.spanIds, ...b.spanIds])];
  return { killed: true, spanIds, traceKilled: a.traceKilled || b.traceKilled };
}

/** The API lives on the app port: an OTLP endpoint on 4318 implies the API on 3000 of the same host. */
export function defaultApiBase(endpoint: string): string {
  const url = new URL(endpoint);
  if (url.port === '4318') url.port = '3000';
  return url.origin;
}
