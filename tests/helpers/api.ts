import type { TraceDetailResponse, TraceListResponse, TraceSummary } from '../../lib/domain';
import { eventually } from './canopy';

export async function getJson<T>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as T };
}

export async function listTraces(base: string, query = ''): Promise<TraceListResponse> {
  const { status, body } = await getJson<TraceListResponse>(`${base}/api/traces${query}`);
  if (status !== 200) throw new Error(`GET /api/traces → ${status} ${JSON.stringify(body)}`);
  return body;
}

export async function getTrace(base: string, traceId: string): Promise<TraceDetailResponse | undefined> {
  const { status, body } = await getJson<TraceDetailResponse>(`${base}/api/traces/${traceId}`);
  if (status === 404) return undefined;
  if (status !== 200) throw new Error(`GET /api/traces/${traceId} → ${status} ${JSON.stringify(body)}`);
  return body;
}

/** Waits until the trace has (at least) `spanCount` spans stored and returns its detail. */
export function waitForTrace(base: string, traceId: string, spanCount: number, timeoutMs = 20_000): Promise<TraceDetailResponse> {
  return eventually(async () => {
    const detail = await getTrace(base, traceId);
    return detail && detail.spans.length >= spanCount ? detail : undefined;
  }, timeoutMs, `trace ${traceId} with ${spanCount} spans`);
}

export async function findTrace(base: string, traceId: string): Promise<TraceSummary | undefined> {
  return (await listTraces(base, `?q=${traceId}`)).traces.find((t) => t.traceId === traceId);
}
