'use client';

import Link from 'next/link';
import { memo, useMemo, useState, type ReactNode } from 'react';
import type { Alert, TraceDetailResponse } from '@/lib/domain';
import { SeverityBadge, TraceStatusBadge } from '../badges';
import { Cost } from '../cost';
import { formatAbsolute, formatCompact, formatDuration, formatInt, formatRelative, formatUsd, formatUsdPerMinute } from '../format';
import { CopyableId } from './copy-button';
import { burnRatePerMin, sharePct } from './numbers';

interface TraceHeaderProps {
  data: TraceDetailResponse;
  name: { name: string; provisional: boolean };
  nowMs: number;
  fetching: boolean;
  onKillTree: () => void;
  onReviveTree: () => void;
  onJump: (spanId: string) => void;
  reviving: boolean;
}

/** Totals, status, live indicator, burn rate, budget, open alerts, and the Kill tree button. */
export function TraceHeader({ data, name, nowMs, fetching, onKillTree, onReviveTree, onJump, reviving }: TraceHeaderProps) {
  const t = data.trace;
  const hasUsage = t.inputTokens + t.outputTokens > 0 || t.unpricedSpans > 0;
  const burn = burnRatePerMin(t, nowMs);
  const treeKill = data.kills.find((k) => k.scope === 'tree');
  const open = useMemo(() => data.alerts.filter((a) => a.status === 'open'), [data.alerts]);
  return (
    <section className="trace-summary" aria-label="Trace summary">
      <div className="trace-summary-top">
        <Link href="/" className="back-link">
          ← All traces
        </Link>
        <span className="muted trace-id-full" title="Trace ID">
          <CopyableId value={t.traceId} label="trace ID" />
        </span>
      </div>
      <div className="trace-summary-title">
        <h1 className="trace-title" title={name.name}>
          {name.name || <span className="muted">Spans not received yet</span>}
        </h1>
        {name.provisional && name.name && (
          <span className="muted provisional" title="The root span has not arrived yet: the tree is named by its earliest known span">
            (root not received yet)
          </span>
        )}
        <TraceStatusBadge status={t.status} />
        {t.status === 'running' && (
          <span className={`live${fetching ? ' is-fetching' : ''}`} data-testid="trace-live">
            <span className="dot dot-live" aria-hidden="true" />
            Live{t.runningSpans > 0 ? ` · ${formatInt(t.runningSpans)} running` : ''}
          </span>
        )}
        <span className="trace-actions">
          {treeKill ? (
            <button type="button" className="btn" onClick={onReviveTree} disabled={reviving} title={`Killed ${formatRelative(treeKill.createdAt, nowMs)}: ${treeKill.reason}`}>
              Revive tree
            </button>
          ) : (
            <button type="button" className="btn btn-danger" onClick={onKillTree} title="Stop every span of this tree, running or started later">
              Kill tree
            </button>
          )}
        </span>
      </div>
      <div className="stats">
        <Stat label="Service" value={t.serviceName} />
        <Stat label="Started" value={formatRelative(t.startTime, nowMs)} title={formatAbsolute(t.startTime)} />
        <Stat label="Duration" value={formatDuration(t.status === 'running' ? Math.max(t.durationMs, nowMs - Date.parse(t.startTime)) : t.durationMs)} />
        <Stat label="Spans" value={formatInt(t.spanCount)} title={`${formatInt(t.spanCount)} spans, ${formatInt(t.maxDepth)} levels deep`} />
        <Stat label="Errors" value={formatInt(t.errorCount)} tone={t.errorCount > 0 ? 'error' : undefined} />
        <Stat label="Tokens in / out" value={`${formatCompact(t.inputTokens)} / ${formatCompact(t.outputTokens)}`} title={`${formatInt(t.inputTokens)} input, ${formatInt(t.outputTokens)} output tokens`} testId="trace-tokens" />
        <Stat label="Cost" value={<Cost usd={t.costUsd} unpriced={t.unpricedSpans} hasUsage={hasUsage} />} testId="trace-cost" />
        <Stat label="Burn rate" value={formatUsdPerMinute(burn)} title="Spend per minute over the tree's life so far" testId="trace-burn" />
        {data.budget && <Budget spent={data.budget.spentUsd} max={data.budget.maxCostUsd} source={data.budget.source} />}
      </div>
      {open.length > 0 && <OpenAlerts alerts={open} onJump={onJump} />}
      {treeKill && (
        <p className="banner tree-killed" role="status">
          This tree was killed {formatRelative(treeKill.createdAt, nowMs)} ({treeKill.source}): {treeKill.reason}
        </p>
      )}
    </section>
  );
}

function Budget({ spent, max, source }: { spent: number; max: number; source: string }) {
  const pct = sharePct(spent, max);
  const over = spent >= max;
  return (
    <div className={`stat budget${over ? ' is-over' : ''}`} title={`Budget ${formatUsd(max)} (${source}); spent ${formatUsd(spent)}`} data-testid="trace-budget">
      <span className="stat-label">Budget</span>
      <span className="stat-value">
        {formatUsd(spent)} / {formatUsd(max)}
      </span>
      <span className="budget-bar" role="meter" aria-label="Budget spent" aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(pct)}>
        <span style={{ width: `${pct}%` }} />
      </span>
    </div>
  );
}

/** Shown before the rest fold away: a fan-out can raise an alert per branch, and the tree must stay in view. */
const ALERTS_SHOWN = 3;

/**
 * Drawn again only when the alerts change (the header itself redraws every few seconds for its times). The folded
 * rest is drawn only while unfolded: a fan-out's thousand alerts would otherwise be thousands of hidden elements.
 */
const OpenAlerts = memo(function OpenAlerts({ alerts, onJump }: { alerts: Alert[]; onJump: (spanId: string) => void }) {
  const [unfolded, setUnfolded] = useState(false);
  const sorted = useMemo(() => [...alerts].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'critical' ? -1 : 1)), [alerts]);
  const item = (a: Alert) => (
    <li key={a.id}>
      <SeverityBadge severity={a.severity}>{a.rule.replace('_', ' ')}</SeverityBadge>
      <button type="button" className="link-button" onClick={() => onJump(a.spanId)} title="Show the span this alert is about">
        {a.title}
      </button>
    </li>
  );
  const rest = sorted.slice(ALERTS_SHOWN);
  return (
    <div className="open-alerts-box" data-testid="open-alerts">
      <ul className="open-alerts" aria-label="Open alerts">
        {sorted.slice(0, ALERTS_SHOWN).map(item)}
      </ul>
      {rest.length > 0 && (
        <details className="more-alerts" onToggle={(e) => setUnfolded(e.currentTarget.open)}>
          <summary>
            {rest.length} more open alert{rest.length === 1 ? '' : 's'}
          </summary>
          {unfolded && <ul className="open-alerts">{rest.map(item)}</ul>}
        </details>
      )}
    </div>
  );
});

function Stat({ label, value, title, tone, testId }: { label: string; value: ReactNode; title?: string; tone?: 'error'; testId?: string }) {
  return (
    <div className={`stat${tone ? ` stat-${tone}` : ''}`} title={title} data-testid={testId}>
      <span className="stat-label">{label}</span>
      {/* A time of day is the server's clock in the HTML and the reader's after it: no hydration error for that. */}
      <span className="stat-value" suppressHydrationWarning>
        {value}
      </span>
    </div>
  );
}
