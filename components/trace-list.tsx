'use client';

import { usePathname, useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import type { TraceStatus } from '@/lib/domain';
import {
  isTraceSort, isTraceStatus, isTraceWithin, TRACE_SORT_LABELS, TRACE_STATUSES, TRACE_WITHIN_LABELS, useTraces,
  type SortOrder, type TraceSort, type TraceWithin,
} from '@/lib/client/use-traces';
import { formatInt } from './format';
import { Onboarding } from './trace-list-empty';
import { ListHead, TraceRow } from './trace-list-row';
import { useDebounced, useNow } from './use-now';

/** Exactly what `q` matches (GET /api/traces, lib/server/queries/trace-search.ts). */
const SEARCH_HELP =
  'Traces with a span whose name, agent, tool, model, service or error type contains this text (any case); ' +
  '8 to 32 hex digits also match trace ids starting with them, 16 hex digits the span with that id.';

/** The list's state, as the URL carries it (a filtered view can be shared or reloaded). */
interface ListState {
  q: string;
  service: string;
  sort: TraceSort;
  order: SortOrder;
  status: TraceStatus | '';
  alerts: boolean;
  within: TraceWithin | '';
}

function fromUrl(p: URLSearchParams): ListState {
  const sort = p.get('sort');
  const status = p.get('status');
  const within = p.get('within');
  return {
    q: p.get('q') ?? '',
    service: p.get('service') ?? '',
    sort: isTraceSort(sort) ? sort : 'activity',
    order: p.get('order') === 'asc' ? 'asc' : 'desc',
    status: isTraceStatus(status) ? status : '',
    alerts: p.get('alerts') === 'open',
    within: isTraceWithin(within) ? within : '',
  };
}

function toUrl(s: ListState): string {
  const next = new URLSearchParams();
  if (s.q) next.set('q', s.q);
  if (s.service) next.set('service', s.service);
  if (s.sort !== 'activity') next.set('sort', s.sort);
  if (s.order !== 'desc') next.set('order', s.order);
  if (s.status) next.set('status', s.status);
  if (s.alerts) next.set('alerts', 'open');
  if (s.within) next.set('within', s.within);
  return next.toString();
}

export function TraceList() {
  const searchParams = useSearchParams();
  const pathname = usePathname();
  const [state, setState] = useState<ListState>(() => fromUrl(searchParams));
  const set = (patch: Partial<ListState>) => setState((s) => ({ ...s, ...patch }));
  const debouncedQ = useDebounced(state.q.trim(), 300);
  const debouncedService = useDebounced(state.service.trim(), 300);
  const applied = useMemo(() => ({ ...state, q: debouncedQ, service: debouncedService }), [state, debouncedQ, debouncedService]);

  // history.replaceState (which Next's router observes) avoids a navigation per keystroke.
  useEffect(() => {
    const qs = toUrl(applied);
    if (qs === window.location.search.replace(/^\?/, '')) return;
    window.history.replaceState(null, '', qs ? `${pathname}?${qs}` : pathname);
  }, [applied, pathname]);

  const query = useTraces(applied);
  const { traces } = query;
  const now = useNow(5000);

  // Services seen so far feed the filter's suggestions.
  const [knownServices, setKnownServices] = useState<string[]>([]);
  useEffect(() => {
    setKnownServices((prev) => {
      const known = new Set(prev);
      const before = known.size;
      for (const t of traces) if (t.serviceName) known.add(t.serviceName);
      return known.size === before ? prev : [...known].sort();
    });
  }, [traces]);

  const filtered = applied.q !== '' || applied.service !== '' || applied.status !== '' || applied.alerts || applied.within !== '';
  const clear = () => set({ q: '', service: '', status: '', alerts: false, within: '' });
  const byTime = state.sort === 'activity' || state.sort === 'start';
  const orderLabel = state.order === 'desc' ? (byTime ? 'Newest first' : 'Largest first') : byTime ? 'Oldest first' : 'Smallest first';
  const onSort = (sort: TraceSort) => set(sort === state.sort ? { order: state.order === 'desc' ? 'asc' : 'desc' } : { sort, order: 'desc' });
  const runaways = traces.filter((t) => t.openAlerts > 0).length;

  return (
    <div className="page list-page">
      <div className="toolbar">
        <h1 className="page-title">Traces</h1>
        <div className="filters" role="search">
          <label className="field">
            <span className="sr-only">Search traces</span>
            <input type="search" placeholder="Name, agent, tool, model, service, error type, id" title={SEARCH_HELP} value={state.q} onChange={(e) => set({ q: e.target.value })} aria-label="Search traces" aria-description={SEARCH_HELP} spellCheck={false} />
          </label>
          <label className="field">
            <span className="sr-only">Service</span>
            <input type="search" placeholder="All services" value={state.service} onChange={(e) => set({ service: e.target.value })} list="canopy-services" aria-label="Filter by service" spellCheck={false} />
            <datalist id="canopy-services">
              {knownServices.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </label>
          <select value={state.status} onChange={(e) => set({ status: e.target.value as TraceStatus | '' })} aria-label="Status">
            <option value="">Any status</option>
            {TRACE_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s[0].toUpperCase() + s.slice(1)}
              </option>
            ))}
          </select>
          <select value={state.within} onChange={(e) => set({ within: e.target.value as TraceWithin | '' })} aria-label="Active within">
            <option value="">Any time</option>
            {Object.entries(TRACE_WITHIN_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          <label className="filter-check">
            <input type="checkbox" checked={state.alerts} onChange={(e) => set({ alerts: e.target.checked })} />
            With open alerts
          </label>
          <select value={state.sort} onChange={(e) => set({ sort: e.target.value as TraceSort })} aria-label="Sort by">
            {Object.entries(TRACE_SORT_LABELS).map(([value, label]) => (
              <option key={value} value={value}>
                {label}
              </option>
            ))}
          </select>
          <button type="button" className="btn btn-ghost" onClick={() => set({ order: state.order === 'desc' ? 'asc' : 'desc' })} aria-label={`${orderLabel}; reverse the order`} title={`${orderLabel}; click to reverse`} data-order={state.order}>
            {state.order === 'desc' ? '↓' : '↑'}
          </button>
          {filtered && (
            <button type="button" className="btn btn-ghost" onClick={clear}>
              Clear
            </button>
          )}
        </div>
        <LiveIndicator fetching={query.isFetching} updatedAt={query.dataUpdatedAt} now={now} stale={query.isPlaceholderData} />
      </div>

      {query.isError && traces.length > 0 && (
        <div className="banner banner-error" role="alert">
          Could not refresh the list: {query.error?.message}. Showing the last data received.
        </div>
      )}

      {query.isError && traces.length === 0 ? (
        <div className="panel error-state" role="alert">
          <h2>Could not load traces</h2>
          <p className="mono">{query.error?.message}</p>
          <p className="muted">Is the Canopy server running? The list retries automatically.</p>
        </div>
      ) : query.isPending ? (
        <div className="panel loading-state">Loading traces…</div>
      ) : traces.length === 0 && !query.hasNextPage ? (
        filtered ? (
          <div className="panel empty-state">
            <h2>No traces match these filters</h2>
            <p className="muted">Nothing matches {describe(applied)}.</p>
            <button type="button" className="btn" onClick={clear}>
              Clear filters
            </button>
          </div>
        ) : (
          <Onboarding />
        )
      ) : (
        <>
          <div className={`table-wrap${query.isPlaceholderData ? ' is-stale' : ''}`}>
            <table className="trace-table">
              <ListHead sort={state.sort} order={state.order} onSort={onSort} />
              <tbody>
                {traces.map((t) => (
                  <TraceRow key={t.traceId} trace={t} now={now} />
                ))}
              </tbody>
            </table>
          </div>
          <div className="list-footer">
            <span className="muted">
              {formatInt(traces.length)} trace{traces.length === 1 ? '' : 's'}
              {query.hasNextPage ? ' loaded' : ''}
              {runaways > 0 && (
                <>
                  {' '}
                  · <span className="warn">{formatInt(runaways)} with open alerts</span>
                </>
              )}
            </span>
            {query.hasNextPage && (
              <button type="button" className="btn" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
                {query.isFetchingNextPage ? 'Loading…' : traces.length === 0 ? 'Keep looking' : 'Load more'}
              </button>
            )}
          </div>
          {traces.length === 0 && query.hasNextPage && (
            <p className="list-more">No trace with this status among the most recent ones read; older ones may match.</p>
          )}
        </>
      )}
    </div>
  );
}

function describe(s: ListState): string {
  const parts: string[] = [];
  if (s.q) parts.push(`search “${s.q}”`);
  if (s.service) parts.push(`service ${s.service}`);
  if (s.status) parts.push(`status ${s.status}`);
  if (s.alerts) parts.push('open alerts');
  if (s.within) parts.push(TRACE_WITHIN_LABELS[s.within].toLowerCase());
  return parts.join(', ');
}

function LiveIndicator({ fetching, updatedAt, now, stale }: { fetching: boolean; updatedAt: number; now: number; stale: boolean }) {
  let label: string;
  if (stale) label = 'Filtering…';
  else if (!updatedAt) label = 'Connecting…';
  else {
    const age = Math.max(0, Math.round((now - updatedAt) / 1000));
    label = age < 10 ? 'Live' : `Live · updated ${age}s ago`;
  }
  return (
    <span className={`live${fetching ? ' is-fetching' : ''}`} aria-live="off">
      <span className="dot dot-live" aria-hidden="true" />
      {label}
    </span>
  );
}
