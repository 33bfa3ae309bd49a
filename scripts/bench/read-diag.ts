// Phase 4 diagnosis, run as a child process with `--conditions=react-server` (lib/server/queries is server-only):
// calls lib/server/queries/trace-list.ts and trace-detail.ts directly on a data dir Canopy has released, timing each ClickHouse query the
// functions make (query + JSON parse) apart from their own JS, so an API time splits into
// queries | query-module JS | HTTP + Next. Prints one JSON line.
//   node --conditions=react-server --import tsx scripts/bench/read-diag.ts <dataDir> <traceId> <runs> <service>

import path from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { openStorage } from '../../lib/server/storage/storage';
import { loadConfig } from '../../lib/server/config';
import { listTraces, type TraceListQuery } from '../../lib/server/queries/trace-list';
import { getTraceJson } from '../../lib/server/queries/trace-detail';

const [dataDir, traceId, runsArg, service] = process.argv.slice(2);
const runs = Number(runsArg ?? 10);

interface Call {
  ms: number;
  sql: string;
}

function timedClient(client: ClickHouseClient, calls: Call[]): ClickHouseClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === 'exec') {
        // Raw-bytes reads: timed until their output has been read whole.
        return async (params: Parameters<ClickHouseClient['exec']>[0]) => {
          const started = performance.now();
          const result = await target.exec(params);
          result.stream.once('end', () => calls.push({ ms: performance.now() - started, sql: String(params.query) }));
          return result;
        };
      }
      if (prop !== 'query') return Reflect.get(target, prop, receiver);
      return async (params: Parameters<ClickHouseClient['query']>[0]) => {
        const started = performance.now();
        const result = await target.query(params);
        const json = result.json.bind(result);
        const text = result.text.bind(result);
        return Object.assign(result, {
          json: async () => {
            const out = await json();
            calls.push({ ms: performance.now() - started, sql: String(params.query) });
            return out;
          },
          text: async () => {
            const out = await text();
            calls.push({ ms: performance.now() - started, sql: String(params.query) });
            return out;
          },
        });
      };
    },
  });
}

const list = (q: Partial<TraceListQuery>): TraceListQuery => ({ limit: 50, cursor: null, service: '', q: '', sort: 'activity', order: 'desc', ...q });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;

async function main() {
  const storage = await openStorage(loadConfig({ CANOPY_DATA_DIR: path.resolve(dataDir!) }));
  const out: Record<string, unknown> = {};
  const cases: [string, (c: ClickHouseClient) => Promise<unknown>][] = [
    ['list', (c) => listTraces(c, list({}))],
    ['list_service', (c) => listTraces(c, list({ service: service! }))],
    ['list_q', (c) => listTraces(c, list({ q: 'ratelimit' }))],
    ['search_rare', (c) => listTraces(c, list({ q: 'run_tests' }))],
    ['detail', (c) => getTraceJson(c, traceId!, 64 * 1024 * 1024)],
  ];
  for (const [name, run] of cases) {
    const totals: number[] = [];
    const perQuery: number[][] = [];
    // If the query module's SQL fails as written, say so and go on with the other reads.
    try {
      await run(storage.client);
    } catch (err) {
      out[`${name}_error`] = String(err instanceof Error ? err.message : err).slice(0, 300);
      continue;
    }
    for (let i = 0; i < runs + 2; i++) {
      const calls: Call[] = [];
      const started = performance.now();
      const result = await run(timedClient(storage.client, calls));
      const total = performance.now() - started;
      if (!result) throw new Error(`${name} returned nothing`);
      if (i < 2) continue; // warm-up
      totals.push(total);
      calls.forEach((c, k) => (perQuery[k] ??= []).push(c.ms));
    }
    const queries = perQuery.map(median);
    out[name] = { totalMs: median(totals), queryMs: queries, jsMs: median(totals) - queries.reduce((a, b) => a + b, 0) };
  }
  // Where the list query's time goes: EXPLAIN of its first (index) query and the traces table's shape.
  const q = async (sql: string) => (await storage.client.query({ query: sql, format: 'JSONEachRow' })).json<Record<string, unknown>>();
  out.tracesTable = (await q(`SELECT count() AS rows, uniqExact(trace_id) AS traces FROM traces`))[0];
  out.parts = await q(`SELECT table, count() AS parts, sum(rows) AS rows, sum(bytes_on_disk) AS bytes FROM system.parts WHERE active AND table IN ('spans', 'traces', 'trace_activity', 'trace_search') GROUP BY table`);
  await storage.close();
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err instanceof Error ? err.stack : err) + '\n');
  process.exit(1);
});
