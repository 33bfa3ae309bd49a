import type { ReactNode } from 'react';
import type { Alert, AlertSeverity, SpanView, TraceStatus } from '@/lib/domain';

const TRACE_STATUS_LABEL: Record<TraceStatus, string> = {
  running: 'running',
  completed: 'completed',
  error: 'error',
  killed: 'killed',
};

export function TraceStatusBadge({ status }: { status: TraceStatus }) {
  return (
    <span className={`badge status-${status}`} data-status={status}>
      {status === 'running' && <span className="pulse" aria-hidden="true" />}
      {TRACE_STATUS_LABEL[status] ?? status}
    </span>
  );
}

export function SpanStatusBadge({ status }: { status: SpanView['status'] }) {
  if (status === 'error') return <span className="badge status-error">error</span>;
  if (status === 'ok') return <span className="badge status-ok">ok</span>;
  return <span className="badge status-unset">unset</span>;
}

const KNOWN_CATEGORIES = new Set(['llm', 'embedding', 'tool', 'agent', 'retriever', 'chain', 'other']);

export function categoryClass(category: string): string {
  return KNOWN_CATEGORIES.has(category) ? `cat-${category}` : 'cat-other';
}

export function CategoryBadge({ category }: { category: string }) {
  return <span className={`badge cat ${categoryClass(category)}`}>{category || 'other'}</span>;
}

const CATEGORY_TITLE: Record<string, string> = {
  llm: 'Model call',
  embedding: 'Embedding call',
  tool: 'Tool call',
  agent: 'Agent step',
  retriever: 'Retrieval',
  chain: 'Chain / workflow step',
  other: 'Other span',
};

// One small shape per kind of span, drawn in the kind's colour: a sparkle for a model call, a wrench for a tool...
const CATEGORY_PATH: Record<string, string> = {
  llm: 'M6 0.5 7.4 4.6 11.5 6 7.4 7.4 6 11.5 4.6 7.4 0.5 6 4.6 4.6Z',
  embedding: 'M2 2h2v2H2zM5 2h2v2H5zM8 2h2v2H8zM2 5h2v2H2zM5 5h2v2H5zM8 5h2v2H8zM2 8h2v2H2zM5 8h2v2H5zM8 8h2v2H8z',
  tool: 'M8.6 1a2.4 2.4 0 0 0-2.3 3.1L1.2 9.2a1 1 0 0 0 1.4 1.4l5.1-5.1A2.4 2.4 0 0 0 11 3.4L9.6 4.8 8.4 4.6 8.2 3.4 9.6 2A2.4 2.4 0 0 0 8.6 1Z',
  agent: 'M6 1.2a2.4 2.4 0 1 1 0 4.8 2.4 2.4 0 0 1 0-4.8ZM1.5 11c0-2.6 2-4.2 4.5-4.2s4.5 1.6 4.5 4.2Z',
  retriever: 'M5 1a4 4 0 0 1 3.2 6.4l2.7 2.7-.9.9-2.7-2.7A4 4 0 1 1 5 1Zm0 1.4a2.6 2.6 0 1 0 0 5.2 2.6 2.6 0 0 0 0-5.2Z',
  chain: 'M1 4.5h4v3H1zM7 4.5h4v3H7zM4.5 5.5h3v1h-3z',
  other: 'M6 3.5a2.5 2.5 0 1 1 0 5 2.5 2.5 0 0 1 0-5Z',
};

/** The kind of span as a coloured icon; its name for assistive technology and as a tooltip. */
export function CategoryIcon({ category }: { category: string }) {
  const known = KNOWN_CATEGORIES.has(category) ? category : 'other';
  return (
    <span className={`cat-icon ${categoryClass(known)}`} title={CATEGORY_TITLE[known]} role="img" aria-label={CATEGORY_TITLE[known]} data-category={known}>
      <svg width="12" height="12" viewBox="0 0 12 12" aria-hidden="true">
        <path d={CATEGORY_PATH[known]} fill="currentColor" />
      </svg>
    </span>
  );
}

/** A kill in force covers this span (its tree, or a branch it is in). */
export function KilledBadge({ span }: { span: Pick<SpanView, 'killedBy'> }) {
  const by = span.killedBy;
  const title = by?.scope === 'branch' ? `Killed: the branch under span ${by.spanId} was killed` : 'Killed: the whole tree was killed';
  return (
    <span className="badge status-killed" title={title}>
      killed
    </span>
  );
}

/** Its parent never arrived and the tree is finished: shown in the "missing parent" group. */
export function OrphanBadge() {
  return (
    <span className="badge orphan" title="This span's parent never arrived: it is shown in the missing-parent group below the tree.">
      missing parent
    </span>
  );
}

/** Its parent has not arrived yet, but the tree is still running: the parent is most likely still open. */
export function PendingParentBadge() {
  return (
    <span className="badge parent-pending" title="The span above this one has not been reported yet: the tree is still running, so it most likely has not ended. It moves into place when it arrives.">
      parent pending
    </span>
  );
}

/** Reported at start and not ended yet. */
export function LiveBadge() {
  return (
    <span className="badge status-running live-badge" title="Running: reported when it started, not ended yet">
      <span className="pulse" aria-hidden="true" />
      live
    </span>
  );
}

export function SeverityBadge({ severity, children }: { severity: AlertSeverity; children?: ReactNode }) {
  return <span className={`badge sev-${severity}`}>{children ?? severity}</span>;
}

/**
 * The alerts that name a span: on the span an alert is about (its branch's root), the rule; on a span that is only
 * part of its evidence, a small mark. The worst severity shows; every title is in the tooltip.
 */
export function AlertBadge({ alerts, about = true }: { alerts: readonly Alert[]; about?: boolean }) {
  if (alerts.length === 0) return null;
  const worst = alerts[0].severity;
  const title = alerts.map((a) => `${a.severity}: ${a.title}`).join('\n');
  const label = alerts.length > 1 ? `${alerts.length} alerts` : alerts[0].rule.replace('_', ' ');
  return (
    <span className={`badge alert-badge sev-${worst}${about ? '' : ' is-evidence'}`} title={title} data-alert={worst} aria-label={`${label}: ${title}`}>
      ⚠{about ? ` ${label}` : ''}
    </span>
  );
}
