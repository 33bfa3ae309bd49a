import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import type { TraceListResponse, TraceSummary } from '@/lib/domain';
import { fetchJson, withQuery } from './fetch-json';

export const TRACE_PAGE_SIZE = 50;
/** The list is live: new traces and running ones update without a reload. */
export const TRACE_LIST_REFETCH_MS = 2500;

/** The orders GET /api/traces takes (`sort`), with what the UI calls them. `activity` is the default. */
export const TRACE_SORT_LABELS = {
  activity: 'Last activity',
  start: 'Started',
  duration: 'Duration',
  spans: 'Spans',
  tokens: 'Tokens',
  cost: 'Cost',
  errors: 'Errors',
} as const;
export type TraceSort = keyof typeof TRACE_SORT_LABELS;
export type SortOrder = 'desc' | 'asc';

export function isTraceSort(value: string | null): value is TraceSort {
  return value !== null && Object.hasOwn(TRACE_SORT_LABELS, value);
}

export interface TraceFilters {
  service?: string;
  q?: string;
  sort?: TraceSort;
  order?: SortOrder;
}

export function tracesQueryKey(filters: TraceFilters) {
  return ['traces', { service: filters.service ?? '', q: filters.q ?? '', sort: filters.sort ?? 'activity', order: filters.order ?? 'desc' }] as const;
}

export function useTraces(filters: TraceFilters) {
  const service = filters.service?.trim() ?? '';
  const q = filters.q?.trim() ?? '';
  const sort = filters.sort ?? 'activity';
  const order = filters.order ?? 'desc';
  const query = useInfiniteQuery({
    queryKey: tracesQueryKey({ service, q, sort, order }),
    queryFn: ({ pageParam, signal }) =>
      fetchJson<TraceListResponse>(
        withQuery('/api/traces', {
          limit: TRACE_PAGE_SIZE,
          cursor: pageParam,
          service,
          q,
          // The defaults stay out of the URL.
          sort: sort === 'activity' ? undefined : sort,
          order: order === 'desc' ? undefined : order,
        }),
        { signal },
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: TRACE_LIST_REFETCH_MS,
    // Keep showing the old rows while a new filter's first page loads (no flash to empty).
    placeholderData: keepPreviousData,
  });

  // Each page is read fresh on every refresh, so a trace whose sort key changed in between can show up on two
  // pages: keep its first occurrence.
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
