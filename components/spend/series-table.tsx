import type { SpendDimension, SpendSeries } from '@/lib/domain/spend';
import { Cost } from '../cost';
import { formatCompact, formatInt, formatShare } from '../format';
import { DIMENSION_LABEL, seriesColor, seriesLabel } from './series-labels';

/** The charts' legend, with each series' numbers for the whole range. */
export function SeriesTable({ series, dimension, totalUsd, totalTokens }: { series: SpendSeries[]; dimension: SpendDimension; totalUsd: number; totalTokens: number }) {
  return (
    <div className="table-wrap">
      <table className="console-table" data-testid="series-table">
        <thead>
          <tr>
            <th>{DIMENSION_LABEL[dimension]}</th>
            <th className="num">Spend</th>
            <th className="num">Share</th>
            <th className="num">Tokens</th>
            <th className="num">Model calls</th>
            <th className="num">Unpriced calls</th>
          </tr>
        </thead>
        <tbody>
          {series.map((s, i) => (
            <tr key={`${s.other ? 1 : 0}:${s.key}`} data-series-key={s.key} data-other={s.other || undefined}>
              <td className="col-name">
                <span className="swatch" style={{ background: seriesColor(i, s.other) }} aria-hidden="true" />
                <span className={s.key === '' || s.other ? 'muted' : undefined}>{seriesLabel(s, dimension)}</span>
              </td>
              <td className="num" data-col="spend">
                {/* A series of unpriced calls reads "unpriced", never "$0.00". */}
                <Cost usd={s.costUsd} unpriced={s.unpricedCalls} />
              </td>
              <td className="num muted">{formatShare(s.costUsd, totalUsd)}</td>
              <td className="num" data-col="tokens" title={formatInt(s.tokens)}>
                {formatCompact(s.tokens)}
              </td>
              <td className="num">{formatInt(s.calls)}</td>
              <td className={`num${s.unpricedCalls > 0 ? ' unpriced' : ' muted'}`}>{formatInt(s.unpricedCalls)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <span className="sr-only">Tokens in all: {formatInt(totalTokens)}</span>
    </div>
  );
}
