'use client';

import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useMemo } from 'react';
import { bucketStartsOf, chartPoints, SPEND_DIMENSIONS, SPEND_RANGES, type SpendDimension, type SpendRange, type SpendResponse } from '@/lib/domain/spend';
import { useSpend } from '@/lib/client/use-spend';
import { formatCompact, formatInt, formatInterval, formatShare, formatUsd } from '../format';
import { KillsTable } from './kills-table';
import { DIMENSION_LABEL } from './series-labels';
import { SeriesTable } from './series-table';
import { SpendChart } from './spend-chart';
import { TopTrees } from './top-trees';

const RANGE_LABEL: Record<SpendRange, string> = { '1h': 'last hour', '24h': 'last 24 hours', '7d': 'last 7 days', '30d': 'last 30 days' };

const pick = <T extends string>(value: string | null, allowed: readonly T[], fallback: T): T =>
  value !== null && (allowed as readonly string[]).includes(value) ? (value as T) : fallback;

export function SpendPage() {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const range = pick<SpendRange>(params.get('range'), SPEND_RANGES, '24h');
  const by = pick<SpendDimension>(params.get('by'), SPEND_DIMENSIONS, 'model');
  const setParam = (key: 'range' | 'by', value: string) => {
    const next = new URLSearchParams(params.toString());
    next.set(key, value);
    router.replace(`${pathname}?${next.toString()}`, { scroll: false });
  };
  const query = useSpend(range);

  return (
    <div className="page console-page">
      <div className="toolbar">
        <h1 className="page-title">Spend</h1>
        <div className="segmented" role="group" aria-label="Time range">
          {SPEND_RANGES.map((r) => (
            <button key={r} type="button" aria-pressed={range === r} onClick={() => setParam('range', r)} title={RANGE_LABEL[r]}>
              {r}
            </button>
          ))}
        </div>
        <div className="segmented" role="group" aria-label="Break down by">
          {SPEND_DIMENSIONS.map((d) => (
            <button key={d} type="button" aria-pressed={by === d} onClick={() => setParam('by', d)}>
              By {DIMENSION_LABEL[d].toLowerCase()}
            </button>
          ))}
        </div>
        <span className="live muted">{query.isFetching ? 'Refreshing…' : query.data ? `${formatInterval(query.data.bucketMs)} buckets` : ''}</span>
      </div>

      {query.isError && query.data && (
        <div className="banner banner-error" role="alert">
          Could not refresh: {query.error.message}. Showing the last numbers received.
        </div>
      )}
      {query.isError && !query.data ? (
        <div className="panel error-state" role="alert">
          <h2>Could not load spend</h2>
          <p className="mono">{query.error.message}</p>
          <p className="muted">The page retries by itself.</p>
        </div>
      ) : !query.data ? (
        <div className="panel loading-state">Loading spend…</div>
      ) : (
        <SpendBody data={query.data} by={by} stale={query.isPlaceholderData} />
      )}
    </div>
  );
}

function SpendBody({ data, by, stale }: { data: SpendResponse; by: SpendDimension; stale: boolean }) {
  const { totals } = data;
  const series = data.series[by];
  const starts = useMemo(() => bucketStartsOf(data), [data]);
  const costPoints = useMemo(() => chartPoints(starts, series, 'costUsd'), [starts, series]);
  const tokenPoints = useMemo(() => chartPoints(starts, series, 'tokens'), [starts, series]);
  const tokens = totals.inputTokens + totals.outputTokens;
  const per = formatInterval(data.bucketMs);

  return (
    <div className={`spend-body${stale ? ' is-stale' : ''}`} data-range={data.range}>
      <dl className="stats console-stats" data-testid="spend-totals">
        <div className="stat">
          <dt className="stat-label">Spend</dt>
          <dd className="stat-value" data-stat="spend">
            {formatUsd(totals.costUsd)}
          </dd>
        </div>
        <div className="stat">
          <dt className="stat-label">Tokens</dt>
          <dd className="stat-value" data-stat="tokens" title={`${formatInt(totals.inputTokens)} in, ${formatInt(totals.outputTokens)} out`}>
            {formatCompact(tokens)}
          </dd>
        </div>
        <div className="stat">
          <dt className="stat-label">Model calls</dt>
          <dd className="stat-value">{formatInt(totals.calls)}</dd>
        </div>
        <div className="stat">
          <dt className="stat-label">Trees</dt>
          <dd className="stat-value">{formatInt(totals.trees)}</dd>
        </div>
        <div className={`stat${totals.unpricedCalls > 0 ? ' stat-warn' : ''}`}>
          <dt className="stat-label">Unpriced</dt>
          <dd className="stat-value" data-stat="unpriced" title="Model calls with tokens and no known price: their cost is not in the spend above">
            {formatInt(totals.unpricedCalls)} calls · {formatCompact(totals.unpricedTokens)} tokens ({formatShare(totals.unpricedTokens, tokens)})
          </dd>
        </div>
      </dl>

      {totals.calls === 0 ? (
        <div className="panel empty-state">
          <h2>No model calls in the {RANGE_LABEL[data.range]}</h2>
          <p className="muted">
            Spend comes from model-call spans with token usage. Point an OpenTelemetry exporter at Canopy
            (<code>OTEL_EXPORTER_OTLP_ENDPOINT</code>), or run <code>npm run simulate -- --scenario normal --once --fast</code>.
          </p>
        </div>
      ) : (
        <>
          <div className="chart-grid">
            <SpendChart title={`Spend (USD) per ${per}`} metric="costUsd" points={costPoints} series={series} dimension={by} bucketMs={data.bucketMs} />
            <SpendChart title={`Tokens per ${per}`} metric="tokens" points={tokenPoints} series={series} dimension={by} bucketMs={data.bucketMs} />
          </div>
          <SeriesTable series={series} dimension={by} totalUsd={totals.costUsd} totalTokens={tokens} />
          <section className="console-section" aria-labelledby="top-trees-h">
            <h2 id="top-trees-h" className="section-title">
              Top trees by spend <span className="muted">· {RANGE_LABEL[data.range]}</span>
            </h2>
            <TopTrees trees={data.topTrees} />
          </section>
        </>
      )}
      <section className="console-section" aria-labelledby="kills-h">
        <h2 id="kills-h" className="section-title">
          Kills <span className="muted">· {RANGE_LABEL[data.range]}</span>
        </h2>
        <KillsTable kills={data.kills} />
      </section>
    </div>
  );
}
