import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import type { Alert, AlertRule, AlertSeverity, AlertStatus, TraceListResponse, TraceSummary } from '@/lib/domain';
import { fetchJson, withQuery } from './fetch-json';

export const ALERT_PAGE_SIZE = 50;
/** Alerts change as trees grow (escalations, resolutions): the page stays live without a reload. */
export const ALERTS_REFETCH_MS = 3000;

export interface AlertFilters {
  rule?: AlertRule;
  status?: AlertStatus;
  severity?: AlertSeverity;
}

export function useAlerts(filters: AlertFilters) {
  const query = useInfiniteQuery({
    queryKey: ['alerts', { rule: filters.rule ?? '', status: filters.status ?? '', severity: filters.severity ?? '' }],
    queryFn: ({ pageParam, signal }) =>
      fetchJson<{ alerts: Alert[]; nextCursor: string | null }>(
        withQuery('/api/alerts', { limit: ALERT_PAGE_SIZE, cursor: pageParam, rule: filters.rule, status: filters.status, severity: filters.severity }),
        { signal },
      ),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor ?? undefined,
    refetchInterval: ALERTS_REFETCH_MS,
    placeholderData: keepPreviousData,
  });
  // A refresh re-reads every page; an alert raised meanwhile shifts the pages, so keep each id's first copy.
  const alerts = useMemo(() => {
    const seen = new Set<string>();
    const out: Alert[] = [];
    for (const a of (query.data?.pages ?? []).flatMap((p) => p.alerts)) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      out.push(a);
    }
    return out;
  }, [query.data]);
  return { ...query, alerts };
}

const JSON_WRITE = { method: 'POST', headers: { 'content-type': 'application/json' } } as const;

/** Someone is on it: the alert leaves the open ones. */
export function useAcknowledgeAlert() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) => fetchJson<Alert>(`/api/alerts/${encodeURIComponent(id)}/ack`, { ...JSON_WRITE, body: '{}' }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['alerts'] }),
  });
}

/** The alert's tree as the trace list sums it (spans, spend, status): what a kill dialog says is at stake. */
export function useAlertTree(traceId: string | null) {
  return useQuery({
    queryKey: ['alert-tree', traceId],
    queryFn: async ({ signal }): Promise<TraceSummary | null> => {
      const list = await fetchJson<TraceListResponse>(withQuery('/api/traces', { q: traceId, limit: 5 }), { signal });
      return list.traces.find((t) => t.traceId === traceId) ?? null;
    },
    enabled: traceId !== null,
  });
}
