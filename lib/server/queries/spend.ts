import 'server-only';
import type { ClickHouseClient } from '@clickhouse/client';
import { roundUsd } from '../../domain';
import {
  bucketPlan,
  bucketStarts,
  shapeSeries,
  SPEND_DIMENSIONS,
  type BucketPlan,
  type SeriesBucketRow,
  type SpendDimension,
  type SpendRange,
  type SpendResponse,
  type SpendSeries,
  type SpendTotals,
  type TopTree,
} from '../../domain/spend';
import { READ_TIME_LIMIT, rows, type ReadOptions } from './read';
import { killsWithSpend } from './spend-kills';

// Spend over time for the spend page (GET /api/spend), summed in the engine from `spans`: each model call
// (`counts_usage = 1`, as the trace index counts them) once, even when its exporter sent it again. `spans` is a
// ReplacingMergeTree whose copies collapse only at merge; FINAL would merge every part's rows before the
// time filter (the time is not in the key), so the calls of the range are read plainly and deduplicated
// with LIMIT 1 BY (trace, span): a hash of the range's call ids, not of the table. Cost (scripts/measure-spend.ts,
// 316k spans over 7 days, 5% re-sent; 2 shared cores): each read 40–250 ms, the series the dearest (its join to
// the trace index for root names); peak 34 MiB at 120k calls in range. Both grow with the calls in range, and
// the time filter scans the range's columns of every part it cannot skip by ingest time.
//
// Not deduplicated here, unlike the trace detail: a call reported by two stacked instrumentations (a
// framework's span and the client's span of one request), which the tree builder counts once. The list's sort
// keys count those the same way (migrations/005_trace_list_index.sql).

/**
 * Parts whose rows were all ingested before this long ahead of the range cannot hold a call that started in
 * it (a span is exported after it starts), so the partition key's min/max skips them; the slack covers
 * exporters whose clock runs ahead of the server's.
 */
const CLOCK_SLACK_MS = 3_600_000;

const RANGE_WHERE = `counts_usage = 1
    AND start_time >= fromUnixTimestamp64Milli({from_ms:Int64}) AND start_time < fromUnixTimestamp64Milli({to_ms:Int64})
    AND ingested_at >= fromUnixTimestamp64Milli({from_ms:Int64} - {slack_ms:Int64})`;

/** The range's model calls, each once: what every spend sum below is made of. */
const CALLS = `
  SELECT trace_id, intDiv(toUnixTimestamp64Milli(start_time), {bucket_ms:Int64}) * {bucket_ms:Int64} AS bucket,
    model, service_name, ifNull(cost_usd, 0) AS cost, input_tokens AS tok_in, output_tokens AS tok_out,
    cost_usd IS NULL AND input_tokens + output_tokens > 0 AS unpriced
  FROM spans
  WHERE ${RANGE_WHERE}
  LIMIT 1 BY trace_id, span_id`;

function rangeParams(plan: BucketPlan): Record<string, number> {
  return { from_ms: plan.fromMs, to_ms: plan.toMs, bucket_ms: plan.bucketMs, slack_ms: CLOCK_SLACK_MS };
}

interface SeriesQueryRow {
  dim: SpendDimension;
  s_key: string;
  s_other: number;
  s_bucket: string;
  s_cost: number;
  s_tokens: string;
  s_calls: string;
  s_unpriced: string;
  s_keys: string;
}

/**
 * Per dimension (model, service, root name) and bucket: spend, tokens and calls of the `top` keys that weigh
 * most in the range (by share of spend or of tokens), and of the rest summed as one "other" series (unless the
 * rest is a single key, shown as itself). Calls are summed
 * per (bucket, model, service, root) first, then that small set is spread over the three dimensions.
 */
export async function spendSeries(client: ClickHouseClient, plan: BucketPlan, top: number, opts: ReadOptions = {}): Promise<SeriesBucketRow[]> {
  const found = await rows<SeriesQueryRow>(client, opts, `
    SELECT dim, if(shown, key, '') AS s_key, toUInt8(NOT shown) AS s_other, toString(b) AS s_bucket,
      sum(c) AS s_cost, toString(sum(t)) AS s_tokens, toString(sum(n)) AS s_calls, toString(sum(u)) AS s_unpriced,
      toString(any(if(shown, 1, keys_in_dim - {top:UInt32}))) AS s_keys
    FROM (
      -- One key past the top N is shown as itself: an "other" of one key would only hide its name.
      SELECT dim, key, b, c, t, n, u, keys_in_dim, rnk <= {top:UInt32} OR keys_in_dim <= {top:UInt32} + 1 AS shown
      FROM (
        SELECT dim, key, b, c, t, n, u,
          dense_rank() OVER (PARTITION BY dim ORDER BY greatest(key_cost / all_cost, key_tokens / all_tokens) DESC, key_cost DESC, key ASC) AS rnk,
          uniqExact(key) OVER (PARTITION BY dim) AS keys_in_dim
        FROM (
          -- A key's weight is its share of the spend or of the tokens, whichever is larger: a model without a price
          -- but with many tokens is a series of its own, not hidden in "other".
          SELECT dk.1 AS dim, dk.2 AS key, bucket AS b, sum(cost_sum) AS c, sum(tokens_sum) AS t, sum(calls) AS n, sum(unpriced_calls) AS u,
            sum(sum(cost_sum)) OVER (PARTITION BY dim, key) AS key_cost, sum(sum(tokens_sum)) OVER (PARTITION BY dim, key) AS key_tokens,
            greatest(sum(sum(cost_sum)) OVER (PARTITION BY dim), 1e-12) AS all_cost, greatest(sum(sum(tokens_sum)) OVER (PARTITION BY dim), 1) AS all_tokens
          FROM (
            SELECT bucket, model, service_name, root_name, sum(cost) AS cost_sum, sum(tok_in + tok_out) AS tokens_sum,
              count() AS calls, countIf(unpriced) AS unpriced_calls
            FROM (${CALLS}) AS calls
            LEFT JOIN (
              SELECT trace_id, max(root_name) AS root_name FROM traces
              WHERE trace_id IN (SELECT trace_id FROM spans WHERE ${RANGE_WHERE})
              GROUP BY trace_id
            ) AS roots USING trace_id
            GROUP BY bucket, model, service_name, root_name
          )
          ARRAY JOIN [('model', toString(model)), ('service', toString(service_name)), ('rootName', root_name)] AS dk
          GROUP BY dim, key, b
        )
      )
    )
    GROUP BY dim, s_key, s_other, s_bucket
    SETTINGS ${READ_TIME_LIMIT}, join_use_nulls = 0`, { ...rangeParams(plan), top });
  return found.map((r) => ({
    dimension: r.dim,
    key: r.s_key,
    other: r.s_other === 1,
    bucketMs: Number(r.s_bucket),
    costUsd: r.s_cost,
    tokens: Number(r.s_tokens),
    calls: Number(r.s_calls),
    unpricedCalls: Number(r.s_unpriced),
    keys: Number(r.s_keys),
  }));
}

interface TreesQueryRow {
  trace_id: string;
  cost: number;
  tokens: string;
  calls: string;
  unpriced: string;
  all_cost: number;
  all_in: string;
  all_out: string;
  all_calls: string;
  all_unpriced: string;
  all_unpriced_tokens: string;
  all_trees: string;
}

const NO_TOTALS: SpendTotals = { costUsd: 0, inputTokens: 0, outputTokens: 0, calls: 0, unpricedCalls: 0, unpricedTokens: 0, trees: 0 };

/**
 * The `limit` trees that spent the most in the range (on calls that started in it), and the range's totals
 * (window sums over every tree, computed in the same pass).
 */
export async function topTreesAndTotals(client: ClickHouseClient, plan: BucketPlan, limit: number, opts: ReadOptions = {}): Promise<{ trees: TopTree[]; totals: SpendTotals }> {
  const found = await rows<TreesQueryRow>(client, opts, `
    SELECT trace_id, t_cost AS cost, toString(t_tokens) AS tokens, toString(t_calls) AS calls, toString(t_unpriced) AS unpriced,
      sum(t_cost) OVER () AS all_cost, toString(sum(t_in) OVER ()) AS all_in, toString(sum(t_out) OVER ()) AS all_out,
      toString(sum(t_calls) OVER ()) AS all_calls, toString(sum(t_unpriced) OVER ()) AS all_unpriced,
      toString(sum(t_unpriced_tokens) OVER ()) AS all_unpriced_tokens, toString(count() OVER ()) AS all_trees
    FROM (
      -- Aliases differ from the calls' columns: an alias named like a column would shadow it in the aggregates.
      SELECT trace_id, sum(cost) AS t_cost, sum(tok_in) AS t_in, sum(tok_out) AS t_out, t_in + t_out AS t_tokens, count() AS t_calls,
        countIf(unpriced) AS t_unpriced, sumIf(tok_in + tok_out, unpriced) AS t_unpriced_tokens
      FROM (${CALLS})
      GROUP BY trace_id
    )
    ORDER BY t_cost DESC, t_tokens DESC, trace_id
    LIMIT {limit:UInt32}
    SETTINGS ${READ_TIME_LIMIT}`, { ...rangeParams(plan), limit });
  const first = found[0];
  const totals: SpendTotals = first
    ? {
        costUsd: roundUsd(first.all_cost),
        inputTokens: Number(first.all_in),
        outputTokens: Number(first.all_out),
        calls: Number(first.all_calls),
        unpricedCalls: Number(first.all_unpriced),
        unpricedTokens: Number(first.all_unpriced_tokens),
        trees: Number(first.all_trees),
      }
    : NO_TOTALS;
  const roots = await treeNames(client, found.map((r) => r.trace_id), opts);
  const trees = found.map((r) => ({
    traceId: r.trace_id,
    rootName: roots.get(r.trace_id)?.rootName ?? '',
    services: roots.get(r.trace_id)?.services ?? [],
    costUsd: roundUsd(r.cost),
    tokens: Number(r.tokens),
    calls: Number(r.calls),
    unpricedCalls: Number(r.unpriced),
  }));
  return { trees, totals };
}

/** Root name and services of a few trees, from the trace index (merged or not). */
async function treeNames(client: ClickHouseClient, ids: readonly string[], opts: ReadOptions): Promise<Map<string, { rootName: string; services: string[] }>> {
  if (ids.length === 0) return new Map();
  const found = await rows<{ trace_id: string; root: string; svc: string[] }>(client, opts, `
    SELECT trace_id, max(root_name) AS root, arraySort(groupUniqArrayArray(services)) AS svc FROM traces
    WHERE trace_id IN {ids:Array(FixedString(32))}
    GROUP BY trace_id
    SETTINGS ${READ_TIME_LIMIT}`, { ids });
  return new Map(found.map((r) => [r.trace_id, { rootName: r.root, services: r.svc }]));
}

/** Top trees and kills listed per range: a page's worth; the charts and totals cover every call. */
const TOP_TREES = 10;
const KILLS_LISTED = 100;

/** Everything GET /api/spend answers for one range: three reads of the range's calls, run together. */
export async function spendOverview(client: ClickHouseClient, q: { range: SpendRange; top: number; nowMs: number }, opts: ReadOptions = {}): Promise<SpendResponse> {
  const plan = bucketPlan(q.range, q.nowMs);
  const [seriesRows, { trees, totals }, kills] = await Promise.all([
    spendSeries(client, plan, q.top, opts),
    topTreesAndTotals(client, plan, TOP_TREES, opts),
    killsWithSpend(client, plan, KILLS_LISTED, opts),
  ]);
  const series = Object.fromEntries(
    SPEND_DIMENSIONS.map((d) => [d, shapeSeries(seriesRows.filter((r) => r.dimension === d), plan)]),
  ) as Record<SpendDimension, SpendSeries[]>;
  return {
    range: q.range,
    from: new Date(plan.fromMs).toISOString(),
    to: new Date(plan.toMs).toISOString(),
    bucketMs: plan.bucketMs,
    buckets: bucketStarts(plan).map((ms) => new Date(ms).toISOString()),
    top: q.top,
    totals,
    series,
    topTrees: trees,
    kills,
  };
}
