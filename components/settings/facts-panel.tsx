import type { SettingsFacts } from '@/lib/domain/settings-facts';
import { formatAbsolute, formatInt, formatInterval, formatRelative, formatUsd } from '../format';

/** What this Canopy runs with: set by its environment, shown here, changed by restarting it. */
export function FactsPanel({ facts, now }: { facts: SettingsFacts; now: number }) {
  const { storage, detector } = facts;
  return (
    <div className="facts-grid">
      <section className="panel fact-card" aria-labelledby="fact-storage">
        <h3 id="fact-storage">Storage</h3>
        <dl className="kv">
          <dt>Mode</dt>
          <dd data-fact="storage-mode" data-mode={storage.mode}>
            {storage.mode === 'embedded' ? 'Embedded ClickHouse (chDB), in this process' : 'ClickHouse server (CLICKHOUSE_URL)'}
          </dd>
          <dt>Retention</dt>
          <dd data-fact="retention">
            {formatInt(storage.retentionDays)} day{storage.retentionDays === 1 ? '' : 's'} <span className="muted">(by ingest time)</span>
          </dd>
          <dt>Version</dt>
          <dd>Canopy {facts.version}</dd>
        </dl>
      </section>
      <section className="panel fact-card" aria-labelledby="fact-access">
        <h3 id="fact-access">Access and budget</h3>
        <dl className="kv">
          <dt>API keys</dt>
          <dd data-fact="api-keys">
            {facts.apiKeysRequired ? 'Required for the API, OTLP and /metrics' : 'Not required (Canopy listens on loopback only)'}
          </dd>
          <dt>Tree budget</dt>
          <dd data-fact="budget">
            {facts.defaultTreeBudgetUsd !== null ? (
              <>
                {formatUsd(facts.defaultTreeBudgetUsd)} per tree <span className="muted">(CANOPY_TREE_BUDGET_USD)</span>
              </>
            ) : (
              <span className="muted">None by default (CANOPY_TREE_BUDGET_USD is not set)</span>
            )}
          </dd>
          <dt>Detector</dt>
          <dd data-fact="detector">
            {detector.inThisProcess ? (
              <>Runs in this process, every {formatInterval(detector.tickMs)}</>
            ) : (
              <span className="warn">
                Off in this process (CANOPY_DETECTOR=off): another process (<code>npm run detector</code>) judges the trees, or none does
              </span>
            )}
          </dd>
        </dl>
      </section>
      <WebhookCard facts={facts} now={now} />
    </div>
  );
}

function WebhookCard({ facts, now }: { facts: SettingsFacts; now: number }) {
  const { webhook, detector } = facts;
  const d = webhook.deliveries;
  const owed = (
    <>
      <dt>Still owed</dt>
      <dd data-fact="webhook-owed">
        {webhook.owedAlerts === 0 ? (
          <span className="muted">none</span>
        ) : (
          <span className="warn">
            {formatInt(webhook.owedAlerts)} alert{webhook.owedAlerts === 1 ? '' : 's'} not delivered
            {webhook.oldestOwedAt && <> (oldest raised {formatRelative(webhook.oldestOwedAt, now)})</>}
          </span>
        )}
      </dd>
    </>
  );
  return (
    <section className="panel fact-card" aria-labelledby="fact-webhook">
      <h3 id="fact-webhook">Alert webhook</h3>
      {!detector.inThisProcess ? (
        <dl className="kv">
          <dt>Status</dt>
          <dd data-fact="webhook">
            Sent by the detector&apos;s own process: its target and its deliveries are not visible from this one.
          </dd>
          {owed}
        </dl>
      ) : !webhook.configured ? (
        <dl className="kv">
          <dt>Status</dt>
          <dd data-fact="webhook" className="muted">
            Not configured. Set CANOPY_WEBHOOK_URL to have each new or escalated alert posted (Slack-compatible).
          </dd>
        </dl>
      ) : (
        <dl className="kv">
          <dt>Status</dt>
          <dd data-fact="webhook">
            Configured: posts to <code>{webhook.host ?? '(unreadable URL)'}</code>
            {webhook.signed ? ', signed' : ', unsigned'}
          </dd>
          <dt>Last delivery</dt>
          <dd data-fact="webhook-last">
            {d?.lastDeliveredAt ? (
              <span title={formatAbsolute(d.lastDeliveredAt)}>{formatRelative(d.lastDeliveredAt, now)}</span>
            ) : (
              <span className="muted">none since this process started{d ? ` (${formatRelative(d.since, now)})` : ''}</span>
            )}
          </dd>
          <dt>Failures</dt>
          <dd data-fact="webhook-failures">
            {!d || d.failed + d.retried + d.dropped === 0 ? (
              <span className="muted">none since start</span>
            ) : (
              <span className={d.failed + d.dropped > 0 ? 'warn' : undefined}>
                {formatInt(d.failed)} given up, {formatInt(d.retried)} retried, {formatInt(d.dropped)} dropped
                {d.lastFailedAt && (
                  <>
                    {' '}
                    · last {formatRelative(d.lastFailedAt, now)}
                    {d.lastError && <>: {d.lastError}</>}
                  </>
                )}
              </span>
            )}
          </dd>
          <dt>Delivered</dt>
          <dd>{d ? `${formatInt(d.delivered)} since start` : '—'}</dd>
          {owed}
        </dl>
      )}
    </section>
  );
}
