// What the spend page's reads cost (lib/server/queries/spend.ts): a fresh embedded store filled with the bench's
// agent-shaped spans over the last 7 days (scripts/bench/dataset.ts), 5% of them sent twice (as exporters
// re-send), and a few kills; then each query per range, timed (median of runs) with its peak memory from the
// engine's query log, beside the alternatives the module did not take (FINAL, GROUP BY span). Prints JSON lines.
//   node --conditions=react-server --import tsx scripts/measure-spend.ts [spans=300000] [runs=5]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../lib/server/config';
import { openStorage } from '../lib/server/storage/storage';
import { migrate } from '../lib/server/storage/migrations';
import { bucketPlan, SPEND_RANGES, type BucketPlan } from '../lib/domain/spend';
import { spendSeries, topTreesAndTotals } from '../lib/server/queries/spend';
import { killsWithSpend } from '../lib/server/queries/spend-kills';
import { generateReadDataset } from './bench/dataset';

const SPANS = Number(process.argv[2] ?? 300_000);
const RUNS = Number(process.argv[3] ?? 5);
const SPANS_PER_TRACE = 30;
const ROOT = path.resolve(import.meta.dirname, '..');

/** The alternatives' range filter (the module's own adds the ingest-time bound). */
const RANGE = `counts_usage = 1 AND start_time >= fromUnixTimestamp64Milli({from_ms:Int64}) AND start_time < fromUnixTimestamp64Milli({to_ms:Int64})`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-spend-measure-'));
  const storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: dataDir }));
  const client = storage.client;
  try {
    await migrate(client, path.join(ROOT, 'migrations'));
    const inserted = await generateReadDataset(client, { traces: Math.ceil(SPANS / SPANS_PER_TRACE), spansPerTrace: SPANS_PER_TRACE, bigTraceSpans: 1_000 });
    // Re-sent spans: the same rows again, later, in their own insert (they collapse only when parts merge).
    await client.command({ query: `INSERT INTO spans SELECT * EXCEPT ingested_at, now64(3) FROM spans WHERE cityHash64(span_id) % 20 = 0` });
    await client.command({
      query: `INSERT INTO kills (trace_id, span_id, reason, source, alert_id, created_at, revoked_at, active, version, retention_days)
        SELECT trace_id, '', 'measured', 'manual', '', max(end_time), NULL, 1, 1, 30
        FROM spans WHERE cityHash64(trace_id) % 500 = 0 GROUP BY trace_id`,
    });
    const count = async (sql: string) => Number((await (await client.query({ query: sql, format: 'JSONEachRow' })).json<{ n: string }>())[0].n);
    console.log(JSON.stringify({ spans: await count('SELECT toString(count()) AS n FROM spans'), inserted, kills: await count('SELECT toString(count()) AS n FROM kills') }));

    const now = Date.now();
    for (const range of SPEND_RANGES) {
      const plan = bucketPlan(range, now);
      const cases: [string, () => Promise<unknown>][] = [
        ['series', () => spendSeries(client, plan, 6)],
        ['top_trees_totals', () => topTreesAndTotals(client, plan, 10)],
        ['kills', () => killsWithSpend(client, plan, 100)],
        ['alt_totals_final', () => totalsFinal(plan)],
        ['alt_totals_group_by_span', () => totalsGroupBySpan(plan)],
        ['alt_totals_no_dedupe', () => totalsPlain(plan)],
      ];
      const out: Record<string, unknown> = { range, bucketMs: plan.bucketMs };
      for (const [name, run] of cases) {
        await run();
        const ms: number[] = [];
        for (let i = 0; i < RUNS; i++) {
          const t = performance.now();
          await run();
          ms.push(performance.now() - t);
        }
        out[`${name}_ms`] = Math.round(median(ms) * 10) / 10;
      }
      const { totals } = await topTreesAndTotals(client, plan, 10);
      out.calls = totals.calls;
      out.trees = totals.trees;
      out.cost = totals.costUsd;
      out.final_cost = (await totalsFinal(plan)).cost;
      out.plain_cost = (await totalsPlain(plan)).cost;
      console.log(JSON.stringify(out));
    }
    console.log(JSON.stringify({ peak_memory_30d: await peakMemory(bucketPlan('30d', now)) }));
  } finally {
    await storage.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }

  async function totals(sql: string, plan: BucketPlan): Promise<{ cost: number; calls: number }> {
    const result = await client.query({ query: sql, query_params: { from_ms: plan.fromMs, to_ms: plan.toMs }, format: 'JSONEachRow', clickhouse_settings: { log_comment: sql.slice(0, 40) } });
    const [r] = await result.json<{ cost: number; calls: string }>();
    return { cost: Math.round(r.cost * 1e6) / 1e6, calls: Number(r.calls) };
  }
  function totalsFinal(plan: BucketPlan) {
    return totals(`SELECT sum(ifNull(cost_usd, 0)) AS cost, toString(count()) AS calls FROM spans FINAL WHERE ${RANGE}`, plan);
  }
  function totalsGroupBySpan(plan: BucketPlan) {
    return totals(`SELECT sum(c) AS cost, toString(count()) AS calls FROM (SELECT any(ifNull(cost_usd, 0)) AS c FROM spans WHERE ${RANGE} GROUP BY trace_id, span_id)`, plan);
  }
  function totalsPlain(plan: BucketPlan) {
    return totals(`SELECT sum(ifNull(cost_usd, 0)) AS cost, toString(count()) AS calls FROM spans WHERE ${RANGE}`, plan);
  }

  /**
   * Peak memory of each query over the widest range: the smallest max_memory_usage it runs under (the embedded
   * engine keeps no query log), to within 1/16 of the value.
   */
  async function peakMemory(plan: BucketPlan): Promise<Record<string, string>> {
    const under = (limit: number) =>
      new Proxy(client, {
        get(target, prop, receiver) {
          if (prop !== 'query') return Reflect.get(target, prop, receiver);
          // Into the SQL's own SETTINGS clause: the embedded connection does not pass per-query settings on.
          return (params: Parameters<typeof client.query>[0]) => target.query({ ...params, query: String(params.query).replace(/SETTINGS /g, `SETTINGS max_untracked_memory = 1024, max_memory_usage = ${limit}, `) });
        },
      });
    const cases: [string, (c: typeof client) => Promise<unknown>][] = [
      ['series', (c) => spendSeries(c, plan, 6)],
      ['top_trees_totals', (c) => topTreesAndTotals(c, plan, 10)],
      ['kills', (c) => killsWithSpend(c, plan, 100)],
    ];
    const out: Record<string, string> = {};
    for (const [name, run] of cases) {
      let low = 2 ** 16;
      let high = 2 ** 34;
      while (high / low > 1.0625) {
        const mid = Math.round(Math.sqrt(low * high));
        const ok = await run(under(mid)).then(() => true, () => false);
        if (ok) high = mid;
        else low = mid;
      }
      out[name] = `${(high / 2 ** 20).toFixed(1)} MiB`;
    }
    return out;
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
