import type { SpanView, TraceStatus } from '@/lib/domain';

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

export function OrphanBadge() {
  return (
    <span className="badge orphan" title="This span's parent never arrived; it is shown at the root level.">
      orphan
    </span>
  );
}
