import { useQuery } from '@tanstack/react-query';
import type { TraceDetailResponse } from '@/lib/domain';
import { ApiError, fetchJson } from './fetch-json';

const RUNNING_TRACE_REFETCH_MS = 2000;

export function isNotFound(err: unknown): boolean {
  return err instanceof ApiError && err.status === 404;
}

export function useTrace(traceId: string) {
  return useQuery({
    queryKey: ['trace', traceId],
    queryFn: ({ signal }) =>
      fetchJson<TraceDetailResponse>(`/api/traces/${encodeURIComponent(traceId)}`, { signal }),
    enabled: traceId.length > 0,
    // Poll only while the trace is still receiving spans. A 404 is also polled (more slowly): the link
    // may have been opened before the exporter's first batch landed.
    refetchInterval: (query) => {
      if (query.state.data?.trace.status === 'running') return RUNNING_TRACE_REFETCH_MS;
      if (query.state.data === undefined && isNotFound(query.state.error)) return 5000;
      return false;
    },
    retry: (failureCount, err) => {
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) return false;
      return failureCount < 2;
    },
  });
}
