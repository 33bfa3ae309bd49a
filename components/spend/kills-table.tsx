'use client';

import Link from 'next/link';
import type { KillSpend } from '@/lib/domain/spend';
import { Cost } from '../cost';
import { formatAbsolute, formatCompact, formatDuration, formatRelative, formatUsdPerMinute, shortId } from '../format';
import { useNow } from '../use-now';

const SOURCE_LABEL: Record<KillSpend['source'], string> = { manual: 'by hand', auto: 'auto-kill policy', budget: 'budget' };

/** Kills made in the range, with what each tree had spent when it was stopped and how fast. */
export function KillsTable({ kills }: { kills: KillSpend[] }) {
  // Only the "killed … ago" cells move with the clock: the charts beside them are not re-rendered for it.
  const now = useNow(10_000);
  if (kills.length === 0) return <p className="muted section-empty">No tree or branch was killed in this range.</p>;
  return (
    <div className="table-wrap">
      <table className="console-table" data-testid="kills-table">
        <thead>
          <tr>
            <th>Killed</th>
            <th>Tree</th>
            <th>What</th>
            <th>By</th>
            <th>Reason</th>
            <th className="num">Tree spend when stopped</th>
            <th className="num">Tokens</th>
            <th className="num">Life</th>
            <th className="num">Burn rate</th>
          </tr>
        </thead>
        <tbody>
          {kills.map((k) => (
            <tr key={`${k.traceId}/${k.spanId ?? ''}`} data-trace-id={k.traceId}>
              <td className="col-time" title={formatAbsolute(k.killedAt)}>
                {formatRelative(k.killedAt, now)}
                {k.revokedAt && <span className="badge status-unset revived">revived</span>}
              </td>
              <td className="col-name">
                <Link href={`/traces/${encodeURIComponent(k.traceId)}`} className="trace-link">
                  {k.rootName || shortId(k.traceId, 12)}
                </Link>
              </td>
              <td>
                {k.spanId ? (
                  <Link href={`/traces/${encodeURIComponent(k.traceId)}?span=${encodeURIComponent(k.spanId)}`} className="mono">
                    branch {shortId(k.spanId, 8)}
                  </Link>
                ) : (
                  'whole tree'
                )}
              </td>
              <td>{SOURCE_LABEL[k.source] ?? k.source}</td>
              <td className="col-reason" title={k.reason}>
                {k.reason}
              </td>
              <td className="num" data-col="spend">
                <Cost usd={k.costUsd} unpriced={k.unpricedCalls} hasUsage={k.tokens > 0} />
              </td>
              <td className="num">{formatCompact(k.tokens)}</td>
              <td className="num">{k.lifeMs === null ? '—' : formatDuration(k.lifeMs)}</td>
              <td className="num" data-col="burn">
                {formatUsdPerMinute(k.usdPerMinute)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
