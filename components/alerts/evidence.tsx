import type { AlertEvidence } from '@/lib/domain';
import { formatCompact, formatInt } from '../format';

/** Thresholds and values are counts, ratios or z-scores: whole numbers as such, others to 2 decimals. */
function num(v: number): string {
  if (!Number.isFinite(v)) return '—';
  if (Number.isInteger(v)) return Math.abs(v) >= 10_000 ? formatCompact(v) : formatInt(v);
  return v.toFixed(2);
}

/** The numbers behind an alert: what was measured against which thresholds, on which names and spans. */
export function Evidence({ evidence }: { evidence: AlertEvidence }) {
  const { metric, value, warningAt, criticalAt, names, spanCount, baseline, details } = evidence;
  // The meter spans 0 … a bit past critical, so both thresholds and the value always show.
  const scale = Math.max(criticalAt, value) * 1.1 || 1;
  const pct = (v: number) => `${Math.min(100, Math.max(0, (v / scale) * 100)).toFixed(1)}%`;
  const extra = Object.entries(details ?? {}).filter(([k]) => k !== 'scope');
  return (
    <div className="evidence">
      <div className="evidence-measure">
        <span className="evidence-metric">{metric}</span>
        <strong className="evidence-value" data-testid="evidence-value">
          {num(value)}
        </strong>
        <span className="meter" aria-hidden="true">
          <span className="meter-fill" style={{ width: pct(value) }} />
          <span className="meter-tick meter-warning" style={{ left: pct(warningAt) }} />
          <span className="meter-tick meter-critical" style={{ left: pct(criticalAt) }} />
        </span>
        <span className="muted">
          warning at {num(warningAt)}, critical at {num(criticalAt)}
        </span>
      </div>
      <div className="evidence-row">
        <dl className="evidence-facts">
          {names.length > 0 && (
            <div>
              <dt>Names</dt>
              <dd>
                {names.map((n, i) => (
                  <code key={i}>{n}</code>
                ))}
              </dd>
            </div>
          )}
          <div>
            <dt>Spans</dt>
            <dd>{formatInt(spanCount)}</dd>
          </div>
          {baseline && (
            <div>
              <dt>Baseline</dt>
              <dd>
                {formatInt(baseline.trees)} finished trees of this {baseline.scope === 'rootName' ? 'root name' : 'service'}
                {baseline.median !== undefined && <> · median {num(baseline.median)}</>}
                {baseline.p99 !== undefined && <> · p99 {num(baseline.p99)}</>}
              </dd>
            </div>
          )}
        </dl>
        {extra.length > 0 && (
          <details className="evidence-more">
            <summary>More evidence</summary>
            <dl className="evidence-facts">
              {extra.map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{typeof v === 'number' ? num(v) : String(v)}</dd>
                </div>
              ))}
            </dl>
          </details>
        )}
      </div>
    </div>
  );
}
