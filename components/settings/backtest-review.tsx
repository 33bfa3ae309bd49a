import Link from 'next/link';
import type { BacktestResult } from '@/lib/client/use-rules';
import { formatAbsolute, formatDuration, formatInt, shortId } from '../format';
import { RULE_LABEL } from '../alerts/alert-labels';
import type { AlertRule } from '@/lib/domain';

type Example = BacktestResult['rules'][keyof BacktestResult['rules']]['added'][number];

/** Which of last week's trees the proposed thresholds would flag that the current ones do not, and the reverse. */
export function BacktestReview({ result, rules }: { result: BacktestResult; rules: readonly string[] }) {
  return (
    <div className="backtest" data-testid="backtest">
      <p className="muted">
        Judged {formatInt(result.treesJudged)} stored trees ({formatInt(result.spansJudged)} spans) from {formatAbsolute(result.since)} to{' '}
        {formatAbsolute(result.until)} in {formatDuration(result.ms)}.
        {result.truncated && <strong className="warn"> The backtest stopped at its limit: only part of the week was judged.</strong>}
      </p>
      {rules.map((rule) => {
        const r = result.rules[rule as keyof BacktestResult['rules']];
        if (!r) return null;
        return (
          <section key={rule} className="backtest-rule" data-rule={rule}>
            <h4>
              {RULE_LABEL[rule as AlertRule] ?? rule}: {formatInt(r.current.trees)} → {formatInt(r.proposed.trees)} trees flagged
              <span className="muted">
                {' '}
                ({formatInt(r.proposed.warning)} warning, {formatInt(r.proposed.critical)} critical)
              </span>
            </h4>
            <Examples title="Newly flagged" count={r.addedTrees} examples={r.added} kind="added" />
            <Examples title="No longer flagged" count={r.removedTrees} examples={r.removed} kind="removed" />
          </section>
        );
      })}
    </div>
  );
}

function Examples({ title, count, examples, kind }: { title: string; count: number; examples: Example[]; kind: 'added' | 'removed' }) {
  return (
    <div className={`backtest-examples backtest-${kind}`} data-kind={kind}>
      <div className="backtest-count">
        {title}: <strong data-testid={`backtest-${kind}`}>{formatInt(count)}</strong>
        {count > examples.length && <span className="muted"> (first {examples.length} shown)</span>}
      </div>
      {examples.length > 0 && (
        <ul>
          {examples.map((e) => (
            <li key={e.traceId}>
              <span className={`badge sev-${e.severity}`}>{e.severity}</span>{' '}
              <Link href={`/traces/${encodeURIComponent(e.traceId)}?span=${encodeURIComponent(e.spanId)}`}>{e.rootName || shortId(e.traceId, 12)}</Link>{' '}
              <span className="muted">{e.title}</span>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
