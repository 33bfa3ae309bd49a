'use client';

import Link from 'next/link';
import { type KeyboardEvent, type ReactNode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { SpanView, TraceSummary } from '@/lib/domain';
import { isNotFound, useTrace } from '@/lib/client/use-trace';
import { TraceStatusBadge } from './badges';
import { Cost } from './cost';
import { formatAbsolute, formatDuration, formatInt, formatRelative } from './format';
import { SpanDetails } from './span-details';
import { allParents, ancestorsOf, treeFromApiOrder, visibleRows } from './span-tree';
import { HEADER_HEIGHT, ROW_HEIGHT, TREE_MIN_WIDTH, TreeHeader, TreeRow } from './tree-row';
import { useNow } from './use-now';
import { VirtualList, type VirtualListHandle } from './virtual-list';

export function TraceView({ traceId }: { traceId: string }) {
  const { data, error, isPending, isFetching } = useTrace(traceId);
  const now = useNow(5000);

  if (isPending) {
    return <div className="page panel loading-state">Loading trace…</div>;
  }
  if (!data) {
    const notFound = isNotFound(error);
    return (
      <div className="page">
        <BackLink />
        <div className="panel error-state" role="alert">
          <h2>{notFound ? 'Trace not found' : 'Could not load this trace'}</h2>
          <p className="mono">{traceId}</p>
          <p className="muted">
            {notFound
              ? 'No spans with this trace id have been received (or they have expired). If the exporter is still sending, this page picks the trace up automatically.'
              : error?.message}
          </p>
        </div>
      </div>
    );
  }

  return (
    <div className="trace-page">
      <TraceSummaryHeader trace={data.trace} now={now} fetching={isFetching} />
      {error && (
        <div className="banner banner-error" role="alert">
          Could not refresh this trace: {error.message}. Showing the last data received.
        </div>
      )}
      {data.truncated && (
        <div className="banner" role="status">
          This trace is too large to show whole: showing its first {data.spans.length.toLocaleString()} of{' '}
          {data.trace.spanCount.toLocaleString()} spans. The totals above count every span.
        </div>
      )}
      <SpanExplorer spans={data.spans} />
    </div>
  );
}

function BackLink() {
  return (
    <Link href="/" className="back-link">
      ← All traces
    </Link>
  );
}

function TraceSummaryHeader({ trace: t, now, fetching }: { trace: TraceSummary; now: number; fetching: boolean }) {
  const hasUsage = t.inputTokens + t.outputTokens > 0 || t.unpricedSpans > 0;
  return (
    <section className="trace-summary" aria-label="Trace summary">
      <div className="trace-summary-top">
        <BackLink />
        <span className="mono muted trace-id-full" title="Trace ID">
          {t.traceId}
        </span>
      </div>
      <div className="trace-summary-title">
        <h1 className="trace-title">{t.rootName || <span className="muted">(root span not received yet)</span>}</h1>
        <TraceStatusBadge status={t.status} />
        {t.status === 'running' && (
          <span className={`live${fetching ? ' is-fetching' : ''}`}>
            <span className="dot dot-live" aria-hidden="true" />
            Live
          </span>
        )}
      </div>
      <div className="stats">
        <Stat label="Service" value={t.serviceName} />
        <Stat label="Started" value={formatRelative(t.startTime, now)} title={formatAbsolute(t.startTime)} />
        <Stat label="Duration" value={formatDuration(t.durationMs)} />
        <Stat label="Spans" value={formatInt(t.spanCount)} />
        <Stat label="Max depth" value={formatInt(t.maxDepth)} />
        <Stat label="Errors" value={formatInt(t.errorCount)} tone={t.errorCount > 0 ? 'error' : undefined} />
        <Stat label="Tokens in" value={formatInt(t.inputTokens)} testId="trace-tokens-in" />
        <Stat label="Tokens out" value={formatInt(t.outputTokens)} testId="trace-tokens-out" />
        <Stat label="Cost" value={<Cost usd={t.costUsd} unpriced={t.unpricedSpans} hasUsage={hasUsage} />} />
      </div>
    </section>
  );
}

function Stat({
  label,
  value,
  title,
  tone,
  testId,
}: {
  label: string;
  value: ReactNode;
  title?: string;
  tone?: 'error';
  testId?: string;
}) {
  return (
    <div className={`stat${tone ? ` stat-${tone}` : ''}`} title={title} data-testid={testId}>
      <span className="stat-label">{label}</span>
      <span className="stat-value">{value}</span>
    </div>
  );
}

function readSpanParam(): string | null {
  if (typeof window === 'undefined') return null;
  return new URLSearchParams(window.location.search).get('span');
}

/** The request tree (windowed) plus the details panel of the selected span. */
function SpanExplorer({ spans }: { spans: SpanView[] }) {
  // The API sends the spans in tree order with their depth: the rows follow it, nothing is rebuilt here.
  const tree = useMemo(() => treeFromApiOrder(spans), [spans]);
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const listRef = useRef<VirtualListHandle>(null);

  const indexById = useMemo(() => {
    const m = new Map<string, number>();
    rows.forEach((n, i) => m.set(n.span.spanId, i));
    return m;
  }, [rows]);

  const selectedNode = selectedId ? tree.byId.get(selectedId) : undefined;

  // Reveal (expand ancestors of) and select a span; used by deep links and the details panel.
  const [pendingScroll, setPendingScroll] = useState<{ id: string; align: 'nearest' | 'center' } | null>(null);
  const reveal = useCallback(
    (spanId: string, align: 'nearest' | 'center' = 'nearest') => {
      const node = tree.byId.get(spanId);
      if (!node) return;
      const ancestors = ancestorsOf(node);
      setCollapsed((prev) => {
        if (!ancestors.some((a) => prev.has(a.span.spanId))) return prev;
        const next = new Set(prev);
        for (const a of ancestors) next.delete(a.span.spanId);
        return next;
      });
      setSelectedId(spanId);
      setPendingScroll({ id: spanId, align });
    },
    [tree],
  );

  // Deep link: /traces/<id>?span=<spanId> opens with that span selected (once it has arrived).
  const deepLinkDone = useRef(false);
  useEffect(() => {
    if (deepLinkDone.current) return;
    const wanted = readSpanParam();
    if (!wanted) {
      deepLinkDone.current = true;
      return;
    }
    if (tree.byId.has(wanted)) {
      deepLinkDone.current = true;
      reveal(wanted, 'center');
    }
  }, [tree, reveal]);

  // Mirror the selection into the URL without a navigation.
  useEffect(() => {
    if (!deepLinkDone.current) return;
    const url = new URL(window.location.href);
    if (selectedId) url.searchParams.set('span', selectedId);
    else url.searchParams.delete('span');
    if (url.href !== window.location.href) window.history.replaceState(null, '', url.pathname + url.search);
  }, [selectedId]);

  useEffect(() => {
    if (!pendingScroll) return;
    const idx = indexById.get(pendingScroll.id);
    if (idx !== undefined) {
      listRef.current?.scrollIntoView(idx, pendingScroll.align);
      setPendingScroll(null);
    }
  }, [pendingScroll, indexById]);

  const toggle = useCallback((spanId: string) => {
    setCollapsed((prev) => {
      const next = new Set(prev);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });
  }, []);

  const select = useCallback((spanId: string) => {
    setSelectedId((cur) => (cur === spanId ? null : spanId));
  }, []);

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (rows.length === 0) return;
    const idx = selectedId !== null ? (indexById.get(selectedId) ?? -1) : -1;
    const node = idx >= 0 ? rows[idx] : undefined;
    const go = (i: number) => {
      const clamped = Math.max(0, Math.min(rows.length - 1, i));
      setSelectedId(rows[clamped].span.spanId);
      listRef.current?.scrollIntoView(clamped);
    };
    switch (e.key) {
      case 'ArrowDown':
        go(idx + 1);
        break;
      case 'ArrowUp':
        go(idx < 0 ? 0 : idx - 1);
        break;
      case 'Home':
        go(0);
        break;
      case 'End':
        go(rows.length - 1);
        break;
      case 'PageDown':
        go(idx + 20);
        break;
      case 'PageUp':
        go(idx - 20);
        break;
      case 'ArrowRight':
        if (!node) return go(0);
        if (node.childCount > 0 && collapsed.has(node.span.spanId)) toggle(node.span.spanId);
        else if (node.childCount > 0) go(idx + 1);
        break;
      case 'ArrowLeft':
        if (!node) return go(0);
        if (node.childCount > 0 && !collapsed.has(node.span.spanId)) toggle(node.span.spanId);
        else if (node.parent) {
          const p = indexById.get(node.parent.span.spanId);
          if (p !== undefined) go(p);
        }
        break;
      case 'Enter':
      case ' ':
        if (node && node.childCount > 0) toggle(node.span.spanId);
        break;
      case 'Escape':
        setSelectedId(null);
        break;
      default:
        return;
    }
    e.preventDefault();
  };

  const traceDuration = Math.max(tree.endMs - tree.startMs, 0.001);
  const orphanCount = tree.orphanCount;

  return (
    <div className="explorer">
      <div className="tree-pane">
        <div className="tree-toolbar">
          <span className="muted">
            {formatInt(tree.nodes.length)} spans · {formatInt(rows.length)} shown
            {orphanCount > 0 && (
              <>
                {' '}
                · <span className="warn">{formatInt(orphanCount)} orphan{orphanCount === 1 ? '' : 's'}</span>
              </>
            )}
          </span>
          <span className="tree-toolbar-actions">
            <button type="button" className="btn btn-small" onClick={() => setCollapsed(new Set())}>
              Expand all
            </button>
            <button type="button" className="btn btn-small" onClick={() => setCollapsed(allParents(tree))}>
              Collapse all
            </button>
          </span>
        </div>
        <VirtualList
          handleRef={listRef}
          className="tree"
          role="tree"
          aria-label="Request tree"
          aria-multiselectable={false}
          tabIndex={0}
          onKeyDown={onKeyDown}
          count={rows.length}
          rowHeight={ROW_HEIGHT}
          headerHeight={HEADER_HEIGHT}
          minContentWidth={TREE_MIN_WIDTH}
          header={<TreeHeader traceDurationMs={traceDuration} />}
          renderRow={(i, top) => {
            const node = rows[i];
            const id = node.span.spanId;
            return (
              <TreeRow
                key={id}
                node={node}
                top={top}
                selected={id === selectedId}
                collapsed={collapsed.has(id)}
                traceStartMs={tree.startMs}
                traceDurationMs={traceDuration}
                onToggle={toggle}
                onSelect={select}
              />
            );
          }}
        />
      </div>
      {selectedNode && (
        <SpanDetails
          key={selectedNode.span.spanId}
          node={selectedNode}
          onClose={() => setSelectedId(null)}
          onSelect={(id) => reveal(id)}
        />
      )}
    </div>
  );
}
