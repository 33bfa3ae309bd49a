'use client';

import Link from 'next/link';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useMemo, useState } from 'react';
import type { TraceSummary } from '@/lib/domain';
import { isTraceSort, TRACE_SORT_LABELS, useTraces, type SortOrder, type TraceSort } from '@/lib/client/use-traces';
import { TraceStatusBadge } from './badges';
import { Cost } from './cost';
import { formatAbsolute, formatDuration, formatInt, formatRelative, shortId } from './format';
import { useDebounced, useNow } from './use-now';

/** Exactly what `q` matches (GET /api/traces, lib/server/queries/trace-search.ts). */
const SEARCH_HELP =
  'Traces with a span whose name, agent, tool, model, service or error type contains this text (any case); ' +
  '8 to 32 hex digits also match trace ids starting with them, 16 hex digits the span with that id.';

// The search field's look, for the sort select next to it.
const SELECT_STYLE = {
  height: 30,
  padding: '0 6px',
  border: '1px solid var(--border-strong)',
  borderRadius: 'var(--radius)',
  background: 'var(--surface)',
  font: 'inherit',
  color: 'var(--text)',
} as const;

export function TraceList() {
  const searchParams = useSearchParams();
  const pathname = usePathname();

  const [q, setQ] = useState(() => searchParams.get('q') ?? '');
  const [service, setService] = useState(() => searchParams.get('service') ?? '');
  const [sort, setSort] = useState<TraceSort>(() => {
    const s = searchParams.get('sort');
    return isTraceSort(s) ? s : 'activity';
  });
  const [order, setOrder] = useState<SortOrder>(() => (searchParams.get('order') === 'asc' ? 'asc' : 'desc'));
  const debouncedQ = useDebounced(q.trim(), 300);
  const debouncedService = useDebounced(service.trim(), 300);

  // Keep the filters in the URL so a filtered view can be shared or reloaded. history.replaceState
  // (which Next's router observes) avoids a navigation per keystroke.
  useEffect(() => {
    const next = new URLSearchParams();
    if (debouncedQ) next.set('q', debouncedQ);
    if (debouncedService) next.set('service', debouncedService);
    if (sort !== 'activity') next.set('sort', sort);
    if (order !== 'desc') next.set('order', order);
    const qs = next.toString();
    if (qs === window.location.search.replace(/^\?/, '')) return;
    window.history.replaceState(null, '', qs ? `${pathname}?${qs}` : pathname);
  }, [debouncedQ, debouncedService, sort, order, pathname]);

  const query = useTraces({ q: debouncedQ, service: debouncedService, sort, order });
  const { traces } = query;
  const now = useNow(5000);

  // Services seen so far feed the filter's suggestions (there is no services endpoint yet).
  const [knownServices, setKnownServices] = useState<string[]>([]);
  useEffect(() => {
    setKnownServices((prev) => {
      const set = new Set(prev);
      let changed = false;
      for (const t of traces) {
        if (t.serviceName && !set.has(t.serviceName)) {
          set.add(t.serviceName);
          changed = true;
        }
      }
      return changed ? [...set].sort() : prev;
    });
  }, [traces]);

  const filtered = debouncedQ !== '' || debouncedService !== '';
  const byTime = sort === 'activity' || sort === 'start';
  const orderLabel = order === 'desc' ? (byTime ? 'Newest first' : 'Largest first') : byTime ? 'Oldest first' : 'Smallest first';
  const ariaSort = (key: TraceSort) => (sort === key ? (order === 'desc' ? 'descending' : 'ascending') : undefined);
  const showInitialError = query.isError && traces.length === 0;
  const showRefreshError = query.isError && traces.length > 0;

  return (
    <div className="page list-page">
      <div className="toolbar">
        <h1 className="page-title">Traces</h1>
        <div className="filters" role="search">
          <label className="field">
            <span className="sr-only">Search traces</span>
            <input
              type="search"
              placeholder="Name, agent, tool, model, service, error type, id"
              title={SEARCH_HELP}
              value={q}
              onChange={(e) => setQ(e.target.value)}
              aria-label="Search traces"
              aria-description={SEARCH_HELP}
              spellCheck={false}
            />
          </label>
          <label className="field">
            <span className="sr-only">Service</span>
            <input
              type="search"
              placeholder="All services"
              value={service}
              onChange={(e) => setService(e.target.value)}
              list="canopy-services"
              aria-label="Filter by service"
              spellCheck={false}
            />
            <datalist id="canopy-services">
              {knownServices.map((s) => (
                <option key={s} value={s} />
              ))}
            </datalist>
          </label>
          <label className="field">
            <span className="sr-only">Sort by</span>
            <select
              value={sort}
              onChange={(e) => setSort(e.target.value as TraceSort)}
              aria-label="Sort by"
              style={SELECT_STYLE}
            >
              {Object.entries(TRACE_SORT_LABELS).map(([value, label]) => (
                <option key={value} value={value}>
                  {label}
                </option>
              ))}
            </select>
          </label>
          <button
            type="button"
            className="btn btn-ghost"
            onClick={() => setOrder(order === 'desc' ? 'asc' : 'desc')}
            aria-label={`${orderLabel}; reverse the order`}
            title={`${orderLabel}; click to reverse`}
            data-order={order}
          >
            {order === 'desc' ? '↓' : '↑'}
          </button>
          {filtered && (
            <button
              type="button"
              className="btn btn-ghost"
              onClick={() => {
                setQ('');
                setService('');
              }}
            >
              Clear
            </button>
          )}
        </div>
        <LiveIndicator
          fetching={query.isFetching}
          updatedAt={query.dataUpdatedAt}
          now={now}
          stale={query.isPlaceholderData}
        />
      </div>

      {showRefreshError && (
        <div className="banner banner-error" role="alert">
          Could not refresh the list: {query.error.message}. Showing the last data received.
        </div>
      )}

      {showInitialError ? (
        <div className="panel error-state" role="alert">
          <h2>Could not load traces</h2>
          <p className="mono">{query.error.message}</p>
          <p className="muted">Is the Canopy server running? The list retries automatically.</p>
        </div>
      ) : query.isPending ? (
        <div className="panel loading-state">Loading traces…</div>
      ) : traces.length === 0 ? (
        filtered ? (
          <div className="panel empty-state">
            <h2>No traces match these filters</h2>
            <p className="muted">
              Nothing matches
              {debouncedQ && (
                <>
                  {' '}
                  search <code>{debouncedQ}</code>
                </>
              )}
              {debouncedService && (
                <>
                  {' '}
                  in service <code>{debouncedService}</code>
                </>
              )}
              .
            </p>
            <button
              type="button"
              className="btn"
              onClick={() => {
                setQ('');
                setService('');
              }}
            >
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
              <thead>
                <tr>
                  <th className="col-name">Trace</th>
                  <th>Service</th>
                  <th>Status</th>
                  <th aria-sort={ariaSort('start')}>Started</th>
                  <th className="num" aria-sort={ariaSort('duration')}>Duration</th>
                  <th className="num" aria-sort={ariaSort('spans')}>Spans</th>
                  <th className="num">Depth</th>
                  <th className="num" aria-sort={ariaSort('tokens')}>Tokens in</th>
                  <th className="num" aria-sort={ariaSort('tokens')}>Tokens out</th>
                  <th className="num" aria-sort={ariaSort('cost')}>Cost</th>
                  <th className="num" aria-sort={ariaSort('errors')}>Errors</th>
                </tr>
              </thead>
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
            </span>
            {query.hasNextPage && (
              <button
                type="button"
                className="btn"
                onClick={() => void query.fetchNextPage()}
                disabled={query.isFetchingNextPage}
              >
                {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </button>
            )}
          </div>
        </>
      )}
    </div>
  );
}

function TraceRow({ trace: t, now }: { trace: TraceSummary; now: number }) {
  const router = useRouter();
  const href = `/traces/${encodeURIComponent(t.traceId)}`;
  const hasUsage = t.inputTokens + t.outputTokens > 0 || t.unpricedSpans > 0;
  return (
    <tr
      className="trace-row"
      data-trace-id={t.traceId}
      onClick={(e) => {
        // The name cell is a real link (middle-click, open in new tab); the rest of the row is a
        // convenience target.
        if (e.defaultPrevented || (e.target as HTMLElement).closest('a')) return;
        if (e.metaKey || e.ctrlKey || e.shiftKey) return;
        router.push(href);
      }}
    >
      <td className="col-name">
        <Link href={href} className="trace-link" title={t.rootName}>
          {t.rootName || <span className="muted">(root span not received yet)</span>}
        </Link>
        <span className="trace-id mono">{shortId(t.traceId, 12)}</span>
      </td>
      <td className="col-service" title={t.serviceName}>
        {t.serviceName}
      </td>
      <td>
        <TraceStatusBadge status={t.status} />
      </td>
      <td className="col-time" title={formatAbsolute(t.startTime)}>
        {formatRelative(t.startTime, now)}
      </td>
      <td className="num">{formatDuration(t.durationMs)}</td>
      <td className="num">{formatInt(t.spanCount)}</td>
      <td className="num">{formatInt(t.maxDepth)}</td>
      <td className="num" data-col="tokens-in">
        {formatInt(t.inputTokens)}
      </td>
      <td className="num" data-col="tokens-out">
        {formatInt(t.outputTokens)}
      </td>
      <td className="num" data-col="cost">
        <Cost usd={t.costUsd} unpriced={t.unpricedSpans} hasUsage={hasUsage} />
      </td>
      <td className={`num${t.errorCount > 0 ? ' has-errors' : ''}`} data-col="errors">
        {t.errorCount > 0 ? formatInt(t.errorCount) : <span className="muted">0</span>}
      </td>
    </tr>
  );
}

function LiveIndicator({
  fetching,
  updatedAt,
  now,
  stale,
}: {
  fetching: boolean;
  updatedAt: number;
  now: number;
  stale: boolean;
}) {
  const label = useMemo(() => {
    if (stale) return 'Filtering…';
    if (!updatedAt) return 'Connecting…';
    const age = Math.max(0, Math.round((now - updatedAt) / 1000));
    return age < 10 ? 'Live' : `Live · updated ${age}s ago`;
  }, [stale, updatedAt, now]);
  return (
    <span className={`live${fetching ? ' is-fetching' : ''}`} aria-live="off">
      <span className="dot dot-live" aria-hidden="true" />
      {label}
    </span>
  );
}

function Onboarding() {
  return (
    <div className="panel onboarding" data-testid="empty-state">
      <h2>No traces yet</h2>
      <p>
        Canopy receives OpenTelemetry traces over OTLP/HTTP. Point your agent&apos;s OpenTelemetry SDK at it
        and its request trees show up here live.
      </p>
      <ol>
        <li>
          <p>Set the exporter endpoint in the environment your agent runs in:</p>
          <pre className="code">export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318</pre>
          <p className="muted">
            Spans are posted to <code>/v1/traces</code> (protobuf or JSON). GenAI semantic conventions (
            <code>gen_ai.*</code> attributes) give you models, tools, agents, tokens and cost.
          </p>
        </li>
        <li>
          <p>Run your agent. Traces appear within a couple of seconds, while they are still running.</p>
        </li>
        <li>
          <p>No agent at hand? Generate a realistic demo workload from this repository:</p>
          <pre className="code">npm run simulate</pre>
        </li>
      </ol>
    </div>
  );
}
