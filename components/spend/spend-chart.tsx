'use client';

import { Area, AreaChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import type { ChartPoint, SpendDimension, SpendSeries } from '@/lib/domain/spend';
import { formatBucket, formatCompact, formatTimeTick, formatUsd, formatUsdShort } from '../format';
import { seriesColor, seriesLabel } from './series-labels';

type Metric = 'costUsd' | 'tokens';

interface Props {
  title: string;
  metric: Metric;
  points: ChartPoint[];
  series: SpendSeries[];
  dimension: SpendDimension;
  bucketMs: number;
}

const formatValue = (metric: Metric, v: number) => (metric === 'costUsd' ? formatUsd(v) : formatCompact(v));

/** One stacked area per series over the range's buckets (each bucket's sum is drawn at its start). */
export function SpendChart({ title, metric, points, series, dimension, bucketMs }: Props) {
  const total = series.reduce((sum, s) => sum + (metric === 'costUsd' ? s.costUsd : s.tokens), 0);
  return (
    <figure className="chart panel" data-metric={metric}>
      <figcaption className="chart-title">
        <span>{title}</span>
        <span className="muted">{formatValue(metric, total)} in all</span>
      </figcaption>
      <div className="chart-body" role="img" aria-label={`${title}: ${formatValue(metric, total)} over ${points.length} buckets, by ${dimension}`}>
        <ResponsiveContainer width="100%" height={230}>
          <AreaChart data={points} margin={{ top: 6, right: 12, bottom: 0, left: 0 }}>
            <CartesianGrid stroke="var(--guide)" vertical={false} />
            <XAxis
              dataKey="t"
              type="number"
              scale="time"
              domain={['dataMin', 'dataMax']}
              tickFormatter={(ms: number) => formatTimeTick(ms, bucketMs)}
              stroke="var(--muted)"
              tick={{ fill: 'var(--muted)', fontSize: 11 }}
              minTickGap={28}
            />
            <YAxis
              tickFormatter={(v: number) => (metric === 'costUsd' ? formatUsdShort(v) : formatCompact(v))}
              stroke="var(--muted)"
              tick={{ fill: 'var(--muted)', fontSize: 11 }}
              width={58}
              allowDecimals={metric === 'costUsd'}
            />
            <Tooltip
              isAnimationActive={false}
              content={({ active, payload, label }) =>
                active && payload?.length ? <ChartTooltip at={Number(label)} bucketMs={bucketMs} metric={metric} values={payload} /> : null
              }
            />
            {series.map((s, i) => (
              <Area
                key={`${s.other ? 1 : 0}:${s.key}`}
                type="linear"
                dataKey={`s${i}`}
                name={seriesLabel(s, dimension)}
                stackId="spend"
                stroke={seriesColor(i, s.other)}
                fill={seriesColor(i, s.other)}
                fillOpacity={0.35}
                strokeWidth={1.5}
                isAnimationActive={false}
              />
            ))}
          </AreaChart>
        </ResponsiveContainer>
      </div>
    </figure>
  );
}

function ChartTooltip({ at, bucketMs, metric, values }: { at: number; bucketMs: number; metric: Metric; values: readonly { name?: unknown; value?: unknown; color?: string }[] }) {
  const rows = values.filter((v) => Number(v.value) > 0).sort((a, b) => Number(b.value) - Number(a.value));
  const sum = rows.reduce((s, v) => s + Number(v.value), 0);
  return (
    <div className="chart-tooltip">
      <div className="chart-tooltip-head">{formatBucket(at, bucketMs)}</div>
      {rows.length === 0 ? (
        <div className="muted">No model calls</div>
      ) : (
        <table>
          <tbody>
            {rows.map((v) => (
              <tr key={String(v.name)}>
                <td>
                  <span className="swatch" style={{ background: v.color }} /> {String(v.name)}
                </td>
                <td className="num">{formatValue(metric, Number(v.value))}</td>
              </tr>
            ))}
            {rows.length > 1 && (
              <tr className="chart-tooltip-total">
                <td>Total</td>
                <td className="num">{formatValue(metric, sum)}</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
    </div>
  );
}
