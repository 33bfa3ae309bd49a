// Asks Canopy's control API about one span (or the whole tree): `GET /api/control/:traceId?spanId=&ancestors=`.
// Used only where the event stream cannot answer alone: ancestry that runs through another process, and kills
// made while the stream was down.
import { untraced } from './untraced.js';
import { MAX_ANCESTORS, type ControlAnswer } from './wire.js';

export class ControlClient {
  constructor(
    private readonly baseUrl: string,
    private readonly apiKey: string | undefined,
    private readonly timeoutMs: number,
  ) {}

  async ask(traceId: string, spanId: string | null, ancestors: readonly string[] = []): Promise<ControlAnswer> {
    const url = new URL(`${this.baseUrl}/api/control/${traceId}`);
    if (spanId) url.searchParams.set('spanId', spanId);
    const above = ancestors.filter((id) => id !== spanId).slice(0, MAX_ANCESTORS);
    if (above.length) url.searchParams.set('ancestors', above.join(','));
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    const res = await untraced(() => fetch(url, { headers, signal: AbortSignal.timeout(this.timeoutMs) }));
    const body: unknown = await res.json().catch(() => null);
    if (!res.ok) {
      const error = (body as { error?: unknown } | null)?.error;
      throw new Error(`Canopy control API answered ${res.status}${typeof error === 'string' ? `: ${error}` : ''}`);
    }
    return parseAnswer(body);
  }
}

function parseAnswer(body: unknown): ControlAnswer {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  if (typeof b.killed !== 'boolean') throw new Error('Canopy control API answered something that is not a control answer');
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    killed: b.killed,
    scope: b.scope === 'tree' || b.scope === 'branch' ? b.scope : null,
    reason: text(b.reason),
    killedAt: text(b.killedAt),
    killedSpanId: text(b.killedSpanId)?.toLowerCase() ?? null,
    budget: budgetOf(b.budget),
  };
}

function budgetOf(v: unknown): ControlAnswer['budget'] {
  const b = v as { maxCostUsd?: unknown; spentUsd?: unknown } | null;
  return b && typeof b.maxCostUsd === 'number' && typeof b.spentUsd === 'number' ? { maxCostUsd: b.maxCostUsd, spentUsd: b.spentUsd } : null;
}
