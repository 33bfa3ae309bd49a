import { useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { applyIncrement, isIncrement, type Kill, type TraceDetailResponse, type TraceIncrementResponse } from '@/lib/domain';
import { readDetail } from './detail-text';
import { ApiError, fetchJson } from './fetch-json';
import { firstRowsUrl, traceDetailUrl, traceKey } from './trace-urls';

/** A running tree shows its new spans within this (plus one increment's round trip). */
export const RUNNING_TRACE_REFETCH_MS = 1000;
/** A finished tree can still be killed, revived, alerted on or get a late span: looked at now and then, by increment. */
const SETTLED_TRACE_REFETCH_MS = 10_000;

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

/** The detail whole, parsed as it arrives (detail-text.ts): the rows already shown stay responsive meanwhile. */
const readWhole = (traceId: string, signal: AbortSignal) => fetchJson<TraceDetailResponse>(traceDetailUrl(traceId), { signal }, (res) => readDetail(res));

/**
 * The trace detail, kept live. The first read is the top of the tree (`?first=`), shown at once, then the whole
 * detail (one read when the tree is small); later ones ask only for what changed since
 * (`?since=<cursor>`) and fold it into the detail held (lib/domain/trace-increment.ts), so a 10,000-span tree
 * growing by hundreds of spans a second costs each poll what changed, not the tree. An increment that does not
 * fit (a span missed, a count that differs) is answered by reading the detail whole again.
 */
async function readTrace(client: QueryClient, traceId: string, signal: AbortSignal): Promise<TraceDetailResponse> {
  const held = client.getQueryData<TraceDetailResponse>(traceKey(traceId));
  if (!held) {
    // Nothing shown yet: the top of the tree first (`partial`), shown at once, then the whole detail.
    const head = await fetchJson<TraceDetailResponse>(firstRowsUrl(traceId), { signal });
    if (!head.partial) return head;
    client.setQueryData(traceKey(traceId), head);
    // The whole read waits for those rows to be painted: started at once, the server's work on it (and the
    // stream's parsing here) would compete with their first render for this machine's cores.
    await afterPaint();
    return readWhole(traceId, signal);
  }
  if (!held.cursor) return held.truncated && !held.partial ? readTruncated(held, traceId, signal) : readWhole(traceId, signal);
  const answer = await fetchJson<TraceDetailResponse | TraceIncrementResponse>(`${traceDetailUrl(traceId)}?since=${encodeURIComponent(held.cursor)}`, { signal });
  if (!isIncrement(answer)) return answer;
  return applyIncrement(held, answer) ?? readWhole(traceId, signal);
}

/**
 * A truncated detail has no cursor, and reading it whole again (tens of MiB: a 100,000-span tree's is ~70 MiB,
 * ~5 s of the server's CPU and seconds of parsing here) on every poll of an open page cost more than anything
 * else it did. Its first span's answer says whether a span was stored or a kill changed since; only then is it
 * read whole. Its header (alerts, budget, status) comes from that answer either way.
 */
async function readTruncated(held: TraceDetailResponse, traceId: string, signal: AbortSignal): Promise<TraceDetailResponse> {
  const head = await fetchJson<TraceDetailResponse>(`${traceDetailUrl(traceId)}?first=1`, { signal });
  const same =
    head.trace.lastSeen === held.trace.lastSeen &&
    head.trace.spanCount === held.trace.spanCount &&
    head.trace.runningSpans === held.trace.runningSpans &&
    JSON.stringify(head.kills) === JSON.stringify(held.kills);
  if (!same) return readWhole(traceId, signal);
  // What did not change keeps its objects: a runaway's tree can carry a thousand alerts, and new copies of
  // them would draw every row and the header again, every poll, for nothing.
  const trace = unlessEqual(head.trace, held.trace);
  const alerts = unlessEqual(head.alerts, held.alerts);
  const budget = unlessEqual(head.budget, held.budget);
  return trace === held.trace && alerts === held.alerts && budget === held.budget ? held : { ...held, trace, alerts, budget };
}

/** `was` when `now` holds the same JSON, else `now`. */
function unlessEqual<T>(now: T, was: T): T {
  return JSON.stringify(now) === JSON.stringify(was) ? was : now;
}

/** Resolves once the next frame has been painted (a frame, then a task after it); at once where nothing paints. */
function afterPaint(): Promise<void> {
  if (typeof requestAnimationFrame !== 'function' || document.visibilityState !== 'visible') return Promise.resolve();
  return new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
}

export function useTrace(traceId: string) {
  const client = useQueryClient();
  return useQuery({
    queryKey: traceKey(traceId),
    queryFn: ({ signal }) => readTrace(client, traceId, signal),
    enabled: traceId.length > 0,
    // The page's HTML came with the first rows (app/traces/[traceId]/page.tsx): read the rest as soon as the
    // page runs, not a poll later.
    refetchOnMount: (query) => (query.state.data?.partial ? 'always' : true),
    // The merged detail keeps unchanged spans' objects itself; a deep compare of 10,000 spans per poll would
    // cost more than the increment.
    structuralSharing: false,
    // Poll fast while the trace is still receiving spans, slowly after. A 404 is also polled: the link may
    // have been opened before the exporter's first batch landed.
    refetchInterval: (query) => {
      const data = query.state.data;
      // The first rows are shown and the whole detail could not be read: try again soon.
      if (data?.partial) return RUNNING_TRACE_REFETCH_MS;
      // A truncated detail has no cursor: each look is its first span, then whole if anything changed (readTruncated).
      if (data?.truncated) return SETTLED_TRACE_REFETCH_MS;
      if (data?.trace.status === 'running') return RUNNING_TRACE_REFETCH_MS;
      if (data) return SETTLED_TRACE_REFETCH_MS;
      if (isNotFound(query.state.error)) return 5000;
      return false;
    },
    retry: (failureCount, err) => {
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) return false;
      return failureCount < 2;
    },
  });
}

const JSON_WRITE = { headers: { 'content-type': 'application/json' } } as const;

/** Kills the whole tree (`spanId: null`) or the branch under `spanId`; the detail is read again at once. */
export function useKill(traceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (k: { spanId: string | null; reason: string }) =>
      fetchJson<Kill>(`${traceDetailUrl(traceId)}/kill`, { method: 'POST', ...JSON_WRITE, body: JSON.stringify({ spanId: k.spanId ?? undefined, reason: k.reason }) }),
    onSuccess: () => client.invalidateQueries({ queryKey: traceKey(traceId) }),
  });
}

/** Revives a killed tree (`spanId: null`) or branch. */
export function useRevive(traceId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (spanId: string | null) =>
      fetchJson<Kill>(`${traceDetailUrl(traceId)}/kill${spanId ? `?spanId=${encodeURIComponent(spanId)}` : ''}`, { method: 'DELETE', ...JSON_WRITE }),
    onSuccess: () => client.invalidateQueries({ queryKey: traceKey(traceId) }),
  });
}
