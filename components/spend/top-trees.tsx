import Link from 'next/link';
import type { TopTree } from '@/lib/domain/spend';
import { Cost } from '../cost';
import { formatCompact, formatInt, shortId } from '../format';

/** The trees that spent the most in the range (on calls started in it). */
export function TopTrees({ trees }: { trees: TopTree[] }) {
  if (trees.length === 0) return <p className="muted section-empty">No tree made a model call in this range.</p>;
  return (
    <div className="table-wrap">
      <table className="console-table" data-testid="top-trees">
        <thead>
          <tr>
            <th>Tree</th>
            <th>Services</th>
            <th className="num">Spend in range</th>
            <th className="num">Tokens</th>
            <th className="num">Model calls</th>
          </tr>
        </thead>
        <tbody>
          {trees.map((t) => (
            <tr key={t.traceId} data-trace-id={t.traceId}>
              <td className="col-name">
                <Link href={`/traces/${encodeURIComponent(t.traceId)}`} className="trace-link">
                  {t.rootName || <span className="muted">(root not received)</span>}
                </Link>
                <span className="trace-id mono">{shortId(t.traceId, 12)}</span>
              </td>
              <td className="col-services">{t.services.join(', ') || '—'}</td>
              <td className="num" data-col="spend">
                <Cost usd={t.costUsd} unpriced={t.unpricedCalls} />
              </td>
              <td className="num" title={formatInt(t.tokens)}>
                {formatCompact(t.tokens)}
              </td>
              <td className="num">{formatInt(t.calls)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
