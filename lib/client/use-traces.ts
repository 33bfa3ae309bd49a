import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import type { TraceListResponse, TraceSummary } from '@/lib/domain';
import { fetchJson, withQuery } from './fetch-json';

export const TRACE_PAGE_SIZE = 50;
/** The list is live: new traces and running ones update without a reload. */
export const TRACE_LIST_REFETCH_MS = 2500;

export interface TraceFilters {
  service?: string;
  q?: string;
}

export function tracesQueryKey(filters: TraceFilters) {
  return ['traces', { service: filters.service ?? '', q: filters.q ?? '' }] as const;
}

export function useTraces(filters: TraceFilters) {
  const service = filters.service?.trim() ?? '';
  const q = filters.q?.trim() ?? '';
  const query = useInfiniteQuery({
    queryKey: tracesQueryKey({ service, q }),
    queryFn: ({ pageParam, signal }) =>
      fetchJson<TraceListResponse>(
        withQuery('/api/traces', { limit: TRACE_PAGE_SIZE, cursor: pageParam, service, q }),
        { signal },
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: TRACE_LIST_REFETCH_MS,
    // Keep showing the old rows while a new filter's first page loads (no flash to empty).
    placeholderData: keepPreviousData,
  });

  // Ordering is by latest activity, so a trace that gets new spans between page fetches can show up
  // on two pages; keep its first (freshest) occurrence.
  const traces = useMemo<TraceSummary[]>(() => {
    const seen = new Set<string>();
    const out: TraceSummary[] = [];
    for (const page of query.data?.pages ?? []) {
      for (const t of page.traces) {
        if (seen.has(t.traceId)) continue;
        seen.add(t.traceId);
        out.push(t);
      }
    }
    return out;
  }, [query.data]);

  return { ...query, traces };
}
