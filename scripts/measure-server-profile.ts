// Development measurement: CPU profiles of a Canopy process (every thread) under full ingest of the bench
// workload. `node --import tsx scripts/measure-server-profile.ts <dir> [requests]`; profiles land in <dir>.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startCanopy } from '../tests/helpers/canopy';
import { buildWorkload } from './bench/workload';
import { OtlpClient, closedLoop } from './bench/client';

const dir = path.resolve(process.argv[2] ?? '/tmp/canopy-profile');
const count = Number(process.argv[3] ?? 300);
fs.mkdirSync(dir, { recursive: true });
const work = await buildWorkload({ count, spansPerBody: 1000, templateCount: 8 });
const canopy = await startCanopy({ dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-prof-')), nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] });
const client = new OtlpClient(canopy.otlpUrl, 32);
const ingest = closedLoop(client, work.bodies, 32, { maxMs: 30_000 });
// With --control: 200 control API callers meanwhile, as bench phase 6 runs them.
if (process.argv.includes('--control')) {
  await new Promise((r) => setTimeout(r, 3_000));
  const { controlLoad } = await import('./bench/kill-switch');
  const c = await controlLoad(canopy.url, 200, 100, 10_000);
  console.log(`control API p50 ${c.p50.toFixed(1)} ms, p99 ${c.p99.toFixed(1)} ms`);
}
const sent = await ingest;
client.close();
await new Promise((r) => setTimeout(r, 5_000)); // the detector works off what arrived
console.log(`sent ${sent.spansAcked} spans`);
await canopy.stop();
