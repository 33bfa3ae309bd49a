// Development measurement: the engine's cost of the detector's per-tick reads, over a store filled the way the
// bench's phase 1 fills one (a Canopy without the detector, at full closed-loop load). The embedded engine runs
// one statement at a time, so at full ingest each read's time is time the next insert waits for.
//   node --conditions=react-server --import tsx scripts/measure-detector-reads.ts [requests=600] [dataDir]
// A data dir given is filled once and reused. Prints wall and process CPU per call (the engine works in-process).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCanopy } from '../tests/helpers/canopy';
import { openStorage } from '../lib/server/storage/storage';
import { loadConfig } from '../lib/server/config';
import { buildWorkload } from './bench/workload';
import { OtlpClient, closedLoop } from './bench/client';
import { storedSpanCounts } from '../lib/server/queries/tree-spans';
import { tracesTouchedSince } from '../lib/server/queries/trace-activity';

const requests = Number(process.argv[2] ?? 600);
const dir = process.argv[3] ?? fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-reads-'));
const filled = path.join(dir, '.filled');
if (!fs.existsSync(filled)) {
  const work = await buildWorkload({ count: requests, spansPerBody: 1000, templateCount: 24 });
  const canopy = await startCanopy({ dataDir: dir, env: { CANOPY_DETECTOR: 'off' } });
  const client = new OtlpClient(canopy.otlpUrl, 32);
  const sent = await closedLoop(client, work.bodies, 32, { maxMs: 120_000 });
  client.close();
  await canopy.stop();
  fs.writeFileSync(filled, '');
  console.log(`stored ${sent.spansAcked} spans in ${dir}`);
}

const storage = await openStorage(loadConfig({ ...process.env, CANOPY_DATA_DIR: dir }));
const { client } = storage;
const newest = Number(((await (await client.query({ query: 'SELECT toString(toUnixTimestamp64Milli(max(last_seen))) AS ms FROM trace_activity', format: 'JSONEachRow' })).json()) as { ms: string }[])[0].ms);
// A tick's reads: the last 3 s of activity (the tick's second plus the 2 s read again), the span counts of its trees.
const since = { lastSeenMs: newest - 3000, traceId: '' };
const ids = (await tracesTouchedSince(client, since, 5000)).traces.map((t) => t.traceId).sort().slice(0, 1000);

async function time(label: string, fn: () => Promise<unknown>, runs = 30): Promise<void> {
  await fn();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await fn();
  const cpu = process.cpuUsage(cpu0);
  console.log(`${label}: wall ${((performance.now() - t0) / runs).toFixed(1)} ms, CPU ${((cpu.user + cpu.system) / 1000 / runs).toFixed(1)} ms per call`);
}
await time('SELECT 1 (the fixed cost of a statement)', async () => (await client.query({ query: 'SELECT 1', format: 'JSONEachRow' })).json());
await time('traces touched in the last 3 s (tracesTouchedSince)', () => tracesTouchedSince(client, since, 5000));
await time(`span counts of ${ids.length} trees (storedSpanCounts)`, () => storedSpanCounts(client, ids));
await storage.close();
