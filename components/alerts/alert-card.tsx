'use client';

import Link from 'next/link';
import { useState } from 'react';
import type { Alert, Kill } from '@/lib/domain';
import { useAcknowledgeAlert } from '@/lib/client/use-alerts';
import { formatAbsolute, formatRelative, shortId } from '../format';
import { alertLink, alertScope, autoKillText, RULE_LABEL, STATUS_LABEL } from './alert-labels';
import { Evidence } from './evidence';
import { KillDialog } from './kill-dialog';

/** One alert: what the detector saw, where, and the two things to do about it (acknowledge, kill). */
export function AlertCard({ alert, now }: { alert: Alert; now: number }) {
  const ack = useAcknowledgeAlert();
  const [killing, setKilling] = useState(false);
  const [killed, setKilled] = useState<Kill | null>(null);
  // The acknowledgement shows at once; the list's next refresh confirms it.
  const status = ack.data?.id === alert.id ? ack.data.status : alert.status;
  const scope = alertScope(alert);
  const headingId = `alert-${alert.id}-title`;

  return (
    <li className={`alert-card panel severity-${alert.severity} is-${status}`} data-alert-id={alert.id} data-status={status} aria-labelledby={headingId}>
      <div className="alert-main">
        <div className="alert-head">
          <span className={`badge sev-${alert.severity}`}>{alert.severity}</span>
          <span className="badge rule-badge">{RULE_LABEL[alert.rule] ?? alert.rule}</span>
          <span className={`badge alert-status-${status}`} data-testid="alert-status">
            {STATUS_LABEL[status] ?? status}
          </span>
          <h2 className="alert-title" id={headingId}>
            {alert.title}
          </h2>
        </div>
        <div className="alert-tree">
          Tree{' '}
          <Link href={`/traces/${encodeURIComponent(alert.traceId)}`} className="mono" title={alert.traceId}>
            {shortId(alert.traceId, 12)}
          </Link>{' '}
          · {scope === 'tree' ? 'about the whole tree' : <>branch <span className="mono">{alert.spanId}</span></>}
          <span className="alert-times" title={`First seen ${formatAbsolute(alert.firstSeen)} · last seen ${formatAbsolute(alert.lastSeen)}`}>
            {' '}
            · raised {formatRelative(alert.firstSeen, now)} · updated {formatRelative(alert.lastSeen, now)}
          </span>
        </div>
        <Evidence evidence={alert.evidence} />
        {alert.autoKill && (
          <p className={`auto-kill auto-kill-${alert.autoKill.mode}`} data-testid="auto-kill">
            {autoKillText(alert.autoKill)} · {formatRelative(alert.autoKill.at, now)}
          </p>
        )}
        {killed && (
          <p className="kill-sent" role="status">
            {killed.scope === 'tree' ? 'Tree killed' : 'Branch killed'} {formatRelative(killed.createdAt, now)}: agents stop at their next check.
          </p>
        )}
        {ack.isError && (
          <p className="banner banner-error" role="alert">
            Could not acknowledge: {ack.error.message}
          </p>
        )}
      </div>
      <div className="alert-actions">
        <Link className="btn btn-small" href={alertLink(alert)} data-testid="alert-branch-link">
          {scope === 'tree' ? 'Open tree' : 'Open branch'} →
        </Link>
        {status === 'open' && (
          <button type="button" className="btn btn-small" onClick={() => ack.mutate(alert.id)} disabled={ack.isPending}>
            {ack.isPending ? 'Acknowledging…' : 'Acknowledge'}
          </button>
        )}
        {status !== 'resolved' && (
          <button type="button" className="btn btn-small btn-danger-outline" onClick={() => setKilling(true)}>
            {scope === 'tree' ? 'Kill tree' : 'Kill branch'}
          </button>
        )}
      </div>
      {killing && (
        <KillDialog
          alert={alert}
          onDone={(kill) => {
            setKilling(false);
            if (kill) setKilled(kill);
          }}
        />
      )}
    </li>
  );
}
