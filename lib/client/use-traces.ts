import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient, type InfiniteData } from '@tanstack/react-query';
import { useEffect, useMemo } from 'react';
import type { TraceListResponse, TraceStatus } from '@/lib/domain';
import { fetchJson, withQuery } from './fetch-json';
import { flattenPages, mergeHead } from './trace-list-merge';

export const TRACE_PAGE_SIZE = 50;
/** The list is live: new traces and running ones update within this, without a reload. */
export const TRACE_LIST_REFETCH_MS = 2000;

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

/** The time ranges of `within` (last activity), with what the UI calls them. */
export const TRACE_WITHIN_LABELS = { '15m': 'Last 15 min', '1h': 'Last hour', '6h': 'Last 6 hours', '24h': 'Last 24 hours', '7d': 'Last 7 days' } as const;
export type TraceWithin = keyof typeof TRACE_WITHIN_LABELS;
export const TRACE_STATUSES: readonly TraceStatus[] = ['running', 'completed', 'error', 'killed'];

export function isTraceSort(value: string | null): value is TraceSort {
  return value !== null && Object.hasOwn(TRACE_SORT_LABELS, value);
}
export function isTraceWithin(value: string | null): value is TraceWithin {
  return value !== null && Object.hasOwn(TRACE_WITHIN_LABELS, value);
}
export function isTraceStatus(value: string | null): value is TraceStatus {
  return value !== null && (TRACE_STATUSES as readonly string[]).includes(value);
}

export interface TraceFilters {
  service?: string;
  q?: string;
  sort?: TraceSort;
  order?: SortOrder;
  status?: TraceStatus | '';
  /** Only traces with an open alert. */
  alerts?: boolean;
  within?: TraceWithin | '';
}

function normalise(f: TraceFilters) {
  return {
    service: f.service?.trim() ?? '',
    q: f.q?.trim() ?? '',
    sort: f.sort ?? 'activity',
    order: f.order ?? 'desc',
    status: f.status ?? '',
    alerts: f.alerts ?? false,
    within: f.within ?? '',
  } as const;
}

export function tracesQueryKey(filters: TraceFilters) {
  return ['traces', normalise(filters)] as const;
}

function pageUrl(f: ReturnType<typeof normalise>, cursor: string | null): string {
  return withQuery('/api/traces', {
    limit: TRACE_PAGE_SIZE,
    cursor,
    service: f.service,
    q: f.q,
    // The defaults stay out of the URL.
    sort: f.sort === 'activity' ? undefined : f.sort,
    order: f.order === 'desc' ? undefined : f.order,
    status: f.status,
    alerts: f.alerts ? 'open' : undefined,
    within: f.within,
  });
}

/**
 * The trace list, live. Pages are read once, as the user loads them; only the first page is read again, every
 * TRACE_LIST_REFETCH_MS, and folded into the pages held (mergeHead), so a list scrolled through thousands of
 * traces costs each poll one page, not all of them.
 */
export function useTraces(filters: TraceFilters) {
  const f = normalise(filters);
  const key = tracesQueryKey(f);
  const client = useQueryClient();
  const pages = useInfiniteQuery({
    queryKey: key,
    queryFn: ({ pageParam, signal }) => fetchJson<TraceListResponse>(pageUrl(f, pageParam), { signal }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    // Never all pages again: the head below keeps the first one fresh. Until a first page has loaded (Canopy still
    // starting, a key missing), it is asked for again, as the list's error says.
    staleTime: Infinity,
    refetchOnWindowFocus: false,
    refetchInterval: (query) => (query.state.data ? false : TRACE_LIST_REFETCH_MS),
    // Keep showing the old rows while a new filter's first page loads (no flash to empty).
    placeholderData: keepPreviousData,
  });
  const loaded = pages.isSuccess && !pages.isPlaceholderData;
  const head = useQuery({
    queryKey: [...key, 'head'],
    queryFn: ({ signal }) => fetchJson<TraceListResponse>(pageUrl(f, null), { signal }),
    enabled: loaded,
    // The first page just read is the head's first value: the next read is one interval later.
    initialData: () => client.getQueryData<InfiniteData<TraceListResponse>>(key)?.pages[0],
    initialDataUpdatedAt: () => client.getQueryState(key)?.dataUpdatedAt,
    staleTime: TRACE_LIST_REFETCH_MS,
    refetchInterval: TRACE_LIST_REFETCH_MS,
  });
  const headData = head.data;
  useEffect(() => {
    if (!headData) return;
    client.setQueryData<InfiniteData<TraceListResponse, string | null>>(key, (old) => {
      if (!old || old.pages[0] === headData) return old;
      const merged = mergeHead(old.pages, headData);
      return { pages: merged, pageParams: old.pageParams.slice(0, merged.length) };
    });
    // `key` is rebuilt every render; its content is what matters.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [headData, client, JSON.stringify(key)]);

  const traces = useMemo(() => flattenPages(pages.data?.pages ?? []), [pages.data]);
  return {
    ...pages,
    traces,
    isFetching: pages.isFetching || head.isFetching,
    isError: pages.isError || (head.isError && traces.length > 0),
    error: pages.error ?? head.error,
    dataUpdatedAt: Math.max(pages.dataUpdatedAt, head.dataUpdatedAt),
  };
}
