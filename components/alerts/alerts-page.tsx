'use client';

import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { ALERT_RULES, ALERT_SEVERITIES, ALERT_STATUSES, type AlertRule, type AlertSeverity, type AlertStatus } from '@/lib/domain';
import { useAlerts } from '@/lib/client/use-alerts';
import { formatInt } from '../format';
import { useNow } from '../use-now';
import { AlertCard } from './alert-card';
import { RULE_LABEL, STATUS_LABEL } from './alert-labels';

const pick = <T extends string>(value: string | null, allowed: readonly T[]): T | undefined =>
  value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : undefined;

export function AlertsPage() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const rule = pick<AlertRule>(params.get('rule'), ALERT_RULES);
  const status = pick<AlertStatus>(params.get('status'), ALERT_STATUSES);
  const severity = pick<AlertSeverity>(params.get('severity'), ALERT_SEVERITIES);
  const filtered = Boolean(rule || status || severity);

  // Filters live in the URL: a filtered view can be shared, reloaded and walked back with the browser.
  const setFilter = (key: 'rule' | 'status' | 'severity', value: string | undefined) => {
    const next = new URLSearchParams(params.toString());
    if (value) next.set(key, value);
    else next.delete(key);
    const qs = next.toString();
    router.replace(qs ? `${pathname}?${qs}` : pathname, { scroll: false });
  };

  const query = useAlerts({ rule, status, severity });
  const { alerts } = query;
  const now = useNow(5000);

  return (
    <div className="page console-page">
      <div className="toolbar">
        <h1 className="page-title">Alerts</h1>
        <div className="filters" role="search" aria-label="Filter alerts">
          <div className="segmented" role="group" aria-label="Status">
            {([undefined, ...ALERT_STATUSES] as const).map((s) => (
              <button key={s ?? 'all'} type="button" aria-pressed={status === s} onClick={() => setFilter('status', s)}>
                {s ? STATUS_LABEL[s] : 'All'}
              </button>
            ))}
          </div>
          <label className="select-field">
            <span className="sr-only">Rule</span>
            <select aria-label="Rule" value={rule ?? ''} onChange={(e) => setFilter('rule', e.target.value || undefined)}>
              <option value="">All rules</option>
              {ALERT_RULES.map((r) => (
                <option key={r} value={r}>
                  {RULE_LABEL[r]}
                </option>
              ))}
            </select>
          </label>
          <label className="select-field">
            <span className="sr-only">Severity</span>
            <select aria-label="Severity" value={severity ?? ''} onChange={(e) => setFilter('severity', e.target.value || undefined)}>
              <option value="">Any severity</option>
              {ALERT_SEVERITIES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          {filtered && (
            <button type="button" className="btn btn-ghost" onClick={() => router.replace(pathname, { scroll: false })}>
              Clear
            </button>
          )}
        </div>
        <span className="live muted">{query.isFetching ? 'Refreshing…' : 'Live'}</span>
      </div>

      {query.isError && alerts.length > 0 && (
        <div className="banner banner-error" role="alert">
          Could not refresh the alerts: {query.error.message}. Showing the last ones received.
        </div>
      )}

      {query.isError && alerts.length === 0 ? (
        <div className="panel error-state" role="alert">
          <h2>Could not load alerts</h2>
          <p className="mono">{query.error.message}</p>
          <p className="muted">The page retries by itself.</p>
        </div>
      ) : query.isPending ? (
        <div className="panel loading-state">Loading alerts…</div>
      ) : alerts.length === 0 ? (
        filtered ? (
          <div className="panel empty-state">
            <h2>No alerts match these filters</h2>
            <button type="button" className="btn" onClick={() => router.replace(pathname, { scroll: false })}>
              Clear filters
            </button>
          </div>
        ) : (
          <div className="panel empty-state">
            <h2>No alerts yet</h2>
            <p className="muted">
              The detector judges every tree about once a second. Loops, ping-pong between agents, fan-outs, spend spikes, retry
              storms, context bloat and stalls show up here, newest first.
            </p>
            <p className="muted">
              To see one: <code>npm run simulate -- --scenario loop --once --fast</code>
            </p>
          </div>
        )
      ) : (
        <>
          <ol className={`alert-list${query.isPlaceholderData ? ' is-stale' : ''}`} aria-label="Alerts">
            {alerts.map((a) => (
              <AlertCard key={a.id} alert={a} now={now} />
            ))}
          </ol>
          <div className="list-footer">
            <span className="muted">
              {formatInt(alerts.length)} alert{alerts.length === 1 ? '' : 's'}
              {query.hasNextPage ? ' loaded' : ''}
            </span>
            {query.hasNextPage && (
              <button type="button" className="btn" onClick={() => void query.fetchNextPage()} disabled={query.isFetchingNextPage}>
                {query.isFetchingNextPage ? 'Loading…' : 'Load more'}
              </button>
            )}
          </div>
        </>
      )}
    </div>
  );
}
