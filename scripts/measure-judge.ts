// Development measurement: the detector's JS work per span (snapshot, rules, history numbers) over the bench
// workload's trees, in this process: `node --import tsx scripts/measure-judge.ts [requests]` (add --cpu-prof
// to see where it goes). Ingest-side stages (decode, normalise) are untimed.
import zlib from 'node:zlib';
import { buildWorkload } from './bench/workload';
import { decodeProtobuf } from '../ingest/otlp/decode-protobuf';
import { normaliseRequest } from '../ingest/normalise/index';
import { createPriceBook } from '../lib/server/prices';
import { buildSnapshot, detectorSpan, evaluateTree, treeStats, DEFAULT_SETTINGS, type StoredSpanFields } from '../detector/index';
import { parseSpanRows } from '../detector/span-rows';
import type { SpanRow } from '../ingest/types';

// The rows as the detector's read returns them (lib/server/queries/tree-spans.ts), TabSeparated-escaped.
const esc = (v: string) => v.replace(/[\\\t\n]/g, (c) => (c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\\\'));
const tsvLine = (r: SpanRow) =>
  [r.trace_id, r.span_id, r.parent_span_id, r.service_name, r.name, r.category, r.model, r.agent_name, r.tool_name, r.call_signature,
    r.status, r.status_message, r.error_type, r.start_time, r.end_time, r.input_tokens, r.output_tokens, r.cost_usd === null ? '\\N' : r.cost_usd,
    r.counts_usage, r.scope_name, '', '', r.budget_usd === null ? '\\N' : r.budget_usd].map((v) => esc(String(v))).join('\t');
let tsv = '';

const count = Number(process.argv[2] ?? 100);
const work = await buildWorkload({ count, spansPerBody: 1000, templateCount: 8 });
const prices = createPriceBook({});
const trees = new Map<string, StoredSpanFields[]>();
for (const body of work.bodies) {
  for (const r of normaliseRequest(decodeProtobuf(zlib.gunzipSync(body.gz)), { prices, retentionDays: 30 })) {
    const row: StoredSpanFields = { ...r, counts_usage: r.counts_usage, attributes: undefined };
    tsv += tsvLine(r) + '\n';
    (trees.get(r.trace_id) ?? trees.set(r.trace_id, []).get(r.trace_id)!).push(row);
  }
}
if (process.env.TSV_OUT) (await import('node:fs')).writeFileSync(process.env.TSV_OUT, tsv);
let spans = 0;
for (const t of trees.values()) spans += t.length;
const now = Date.now();
const time = (label: string, fn: () => void) => {
  const t0 = performance.now();
  fn();
  const ms = performance.now() - t0;
  console.log(`${label}: ${ms.toFixed(0)} ms, ${((ms * 1000) / spans).toFixed(2)} µs/span`);
  return ms;
};
for (let round = 0; round < 3; round++) {
  time(`round ${round} parseSpanRows (${(tsv.length / 2 ** 20).toFixed(1)} MiB of TSV)`, () => void parseSpanRows(tsv));
  const snaps: ReturnType<typeof buildSnapshot>[] = [];
  time(`round ${round} detectorSpan + buildSnapshot (${trees.size} trees, ${spans} spans)`, () => {
    for (const [traceId, rows] of trees) snaps.push(buildSnapshot(rows.map(detectorSpan), { traceId, now, lastSeenMs: now }));
  });
  time(`round ${round} rules`, () => {
    for (const s of snaps) evaluateTree(s, { settings: DEFAULT_SETTINGS, baseline: null });
  });
  time(`round ${round} treeStats`, () => {
    for (const s of snaps) if (!s.running) treeStats(s);
  });
}
