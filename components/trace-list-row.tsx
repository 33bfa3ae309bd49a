'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { memo } from 'react';
import type { TraceSummary } from '@/lib/domain';
import type { SortOrder, TraceSort } from '@/lib/client/use-traces';
import { SeverityBadge, TraceStatusBadge } from './badges';
import { Cost } from './cost';
import { formatAbsolute, formatCompact, formatDuration, formatInt, formatRelative, formatUsdPerMinute, shortId } from './format';
import { burnRatePerMin } from './trace/numbers';

/** The list's columns: label, the `sort` a click on the header asks for (none: not sortable), alignment. */
export const LIST_COLUMNS: readonly { label: string; sort?: TraceSort; num?: boolean; title?: string; className?: string }[] = [
  { label: 'Trace', className: 'col-name' },
  { label: 'Service' },
  { label: 'Status' },
  { label: 'Alerts', title: 'Open alerts of the runaway detector: the worst severity and how many' },
  { label: 'Active', sort: 'activity', title: 'Last activity: when the tree last received a span' },
  { label: 'Started', sort: 'start' },
  { label: 'Duration', sort: 'duration', num: true },
  { label: 'Spans', sort: 'spans', num: true },
  { label: 'Depth', num: true },
  { label: 'Tokens in', sort: 'tokens', num: true },
  { label: 'Tokens out', sort: 'tokens', num: true },
  { label: 'Cost', sort: 'cost', num: true },
  { label: 'Burn', num: true, title: 'Spend per minute over the tree’s life so far' },
  { label: 'Errors', sort: 'errors', num: true },
];

/** Header cells that sort the list when clicked (again: the other way round). */
export function ListHead({ sort, order, onSort }: { sort: TraceSort; order: SortOrder; onSort: (sort: TraceSort) => void }) {
  return (
    <thead>
      <tr>
        {LIST_COLUMNS.map((c) => {
          const className = [c.className, c.num && 'num', c.sort && 'sortable'].filter(Boolean).join(' ') || undefined;
          if (!c.sort) {
            return (
              <th key={c.label} className={className} title={c.title}>
                {c.label}
              </th>
            );
          }
          const active = sort === c.sort;
          const next = active ? (order === 'desc' ? 'ascending' : 'descending') : 'descending';
          return (
            <th key={c.label} className={className} aria-sort={active ? (order === 'desc' ? 'descending' : 'ascending') : undefined} title={c.title}>
              <button type="button" className="sort-button" onClick={() => onSort(c.sort!)} aria-label={`${c.label}: sort ${next}`}>
                {c.label}
              </button>
            </th>
          );
        })}
      </tr>
    </thead>
  );
}

export const TraceRow = memo(function TraceRow({ trace: t, now }: { trace: TraceSummary; now: number }) {
  const router = useRouter();
  const href = `/traces/${encodeURIComponent(t.traceId)}`;
  const hasUsage = t.inputTokens + t.outputTokens > 0 || t.unpricedSpans > 0;
  const burn = burnRatePerMin(t, now);
  const alert = t.openAlerts > 0 ? (t.worstAlert === 'critical' ? ' has-alert has-alert-critical' : ' has-alert') : '';
  return (
    <tr
      className={`trace-row${alert}`}
      data-trace-id={t.traceId}
      onClick={(e) => {
        // The name cell is a real link (middle-click, open in new tab); the rest of the row is a convenience target.
        if (e.defaultPrevented || (e.target as HTMLElement).closest('a')) return;
        if (e.metaKey || e.ctrlKey || e.shiftKey) return;
        router.push(href);
      }}
    >
      <td className="col-name">
        <Link href={href} className="trace-link" title={t.rootName || t.provisionalName}>
          {t.rootName || (t.provisionalName ? <span className="provisional-name">{t.provisionalName}</span> : <span className="muted">(no span yet)</span>)}
        </Link>
        <span className="trace-id mono">
          {shortId(t.traceId, 12)}
          {!t.rootName && t.provisionalName && <span className="muted"> · root not received yet</span>}
        </span>
      </td>
      <td className="col-service" title={t.serviceName}>
        {t.serviceName}
      </td>
      <td>
        <TraceStatusBadge status={t.status} />
      </td>
      <td data-col="alerts">
        {t.openAlerts > 0 && t.worstAlert ? (
          <span title={`${t.openAlerts} open alert${t.openAlerts === 1 ? '' : 's'}, the worst ${t.worstAlert}`}>
            <SeverityBadge severity={t.worstAlert}>
              <span className="alerts-count">⚠ {t.openAlerts}</span>
            </SeverityBadge>
            <span className="sr-only"> open, worst {t.worstAlert}</span>
          </span>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td className="col-time" title={formatAbsolute(t.lastSeen)}>
        {formatRelative(t.lastSeen, now)}
      </td>
      <td className="col-time" title={formatAbsolute(t.startTime)}>
        {formatRelative(t.startTime, now)}
      </td>
      <td className="num">{formatDuration(t.durationMs)}</td>
      <td className="num" title={t.runningSpans > 0 ? `${formatInt(t.runningSpans)} still running` : undefined}>
        {formatInt(t.spanCount)}
      </td>
      <td className="num">{formatInt(t.maxDepth)}</td>
      <td className="num" data-col="tokens-in" title={`${formatInt(t.inputTokens)} input tokens`}>
        {formatCompact(t.inputTokens)}
      </td>
      <td className="num" data-col="tokens-out" title={`${formatInt(t.outputTokens)} output tokens`}>
        {formatCompact(t.outputTokens)}
      </td>
      <td className="num" data-col="cost">
        <Cost usd={t.costUsd} unpriced={t.unpricedSpans} hasUsage={hasUsage} compact />
      </td>
      <td className="num" data-col="burn">
        {burn === null ? <span className="muted">—</span> : formatUsdPerMinute(burn)}
      </td>
      <td className={`num${t.errorCount > 0 ? ' has-errors' : ''}`} data-col="errors">
        {t.errorCount > 0 ? formatInt(t.errorCount) : <span className="muted">0</span>}
      </td>
    </tr>
  );
});
