// The kill switch, measured against a running Canopy (issue 11's bench section):
//  - kill-to-stop: the simulator's live loop scenario, many trees at once in real time; each looping branch is
//    killed through the API once two turns of its loop are stored, and the latency is the last span the killed
//    branch started after the kill request (0 when none: it stopped at once);
//  - the control API under 200 concurrent callers (each an agent asking before every step, a keep-alive
//    connection each) while other clients keep ingest at full speed.

import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { percentile } from './client';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PlannedTree {
  traceId: string;
  expect: { loopAgentSpanId: string };
}

interface SpanLite {
  spanId: string;
  parentSpanId: string | null;
  startTime: string;
  toolName: string | null;
  depth: number;
}

export interface KillToStop {
  /** Per kill: ms from the kill request to the last span the killed branch started (0: none after it). */
  ms: number[];
  /** Trees whose loop was never seen running (not killed). */
  missed: number;
}

// The kill-to-stop reads and kills go through a few connections of their own, closed when it ends. With fetch
// (its global pool) every tree polled at once kept a connection open for the server's keep-alive (65 s), and
// the control callers that followed then found this address over Canopy's per-client connection cap (429s).
const calls = new http.Agent({ keepAlive: true, maxSockets: 8 });

function request(url: string, method: 'GET' | 'POST', body?: unknown): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(url, { method, agent: calls, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try {
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) });
        } catch {
          resolve({ status: res.statusCode ?? 0, json: null });
        }
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function detail(base: string, traceId: string): Promise<SpanLite[] | null> {
  const res = await request(`${base}/api/traces/${traceId}`, 'GET');
  if (res.status !== 200) return null;
  return (res.json as { spans: SpanLite[] }).spans;
}

/** The spans below `spanId` in a detail (tree order: a subtree is the run of deeper spans after its root). */
function below(spans: SpanLite[], spanId: string): SpanLite[] {
  const at = spans.findIndex((s) => s.spanId === spanId);
  if (at < 0) return [];
  const out: SpanLite[] = [];
  for (let i = at + 1; i < spans.length && spans[i].depth > spans[at].depth; i++) out.push(spans[i]);
  return out;
}

/** `trees` live loop trees from one simulator process; each looping branch killed once its loop runs. */
export async function measureKillToStop(base: string, otlpUrl: string, trees: number, seed: number): Promise<KillToStop> {
  const args = ['--import', 'tsx', 'sim/cli.ts', '--endpoint', otlpUrl, '--api', base, '--scenario', 'loop', '--trees', String(trees), '--rate', '5', '--seed', String(seed)];
  // The same seed plans the same ids: a dry run names each tree and its looping agent before they run.
  const dry = spawnSync(process.execPath, [...args, '--dry-run'], { cwd: ROOT, encoding: 'utf8' });
  if (dry.status !== 0) throw new Error(`simulator dry run failed: ${dry.stderr}`);
  const planned = dry.stdout.trim().split('\n').map((l) => JSON.parse(l) as PlannedTree).filter((t) => t.expect?.loopAgentSpanId);
  const sim = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  sim.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => sim.once('exit', resolve));
  const killedAt = new Map<string, number>();
  const deadline = Date.now() + 180_000;
  try {
    // Kill each loop once two turns of it are stored: the agent is stuck and running.
    while (killedAt.size < planned.length && Date.now() < deadline && sim.exitCode === null) {
      await Promise.all(
        planned.filter((t) => !killedAt.has(t.traceId)).map(async (t) => {
          const spans = await detail(base, t.traceId);
          if (!spans || below(spans, t.expect.loopAgentSpanId).filter((s) => s.toolName === 'run_tests').length < 2) return;
          const at = Date.now();
          const res = await request(`${base}/api/traces/${t.traceId}/kill`, 'POST', { spanId: t.expect.loopAgentSpanId, reason: 'bench' });
          if (res.status === 200) killedAt.set(t.traceId, at);
        }),
      );
      await sleep(200);
    }
    const code = await Promise.race([exited, sleep(120_000).then(() => 'timeout' as const)]);
    if (code !== 0) throw new Error(`simulator did not finish after the kills (${code}): ${stderr}`);
  } finally {
    if (sim.exitCode === null) sim.kill('SIGKILL');
  }
  await sleep(2_000); // the last exports are acknowledged before the simulator exits; reads see them at once
  const ms: number[] = [];
  for (const t of planned) {
    const at = killedAt.get(t.traceId);
    if (at === undefined) continue;
    const all = (await detail(base, t.traceId)) ?? [];
    const spans = below(all, t.expect.loopAgentSpanId);
    const last = Math.max(at, ...spans.map((s) => Date.parse(s.startTime)));
    ms.push(last - at);
  }
  calls.destroy();
  return { ms, missed: planned.length - killedAt.size };
}

export interface ControlLoad {
  callers: number;
  thinkMs: number;
  calls: number;
  callsPerS: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  /** What the errors were: HTTP statuses other than 200, or the connection error's code. */
  errorKinds: Record<string, number>;
}

/**
 * `callers` agents, each on its own keep-alive connection, each asking the control API about its own span, then
 * waiting `thinkMs` (its step) before asking again, for `durationMs`. Latency is request sent → body read. The
 * callers run in a process of their own (this file, run directly): in the bench's process they would share an
 * event loop with the ingest load generator, and its pauses would be counted as Canopy's.
 */
export function controlLoad(base: string, callers: number, thinkMs: number, durationMs: number, opts: { realtime?: boolean } = {}): Promise<ControlLoad> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = [...(opts.realtime ? REALTIME : []), process.execPath, '--import', 'tsx', import.meta.filename, base, String(callers), String(thinkMs), String(durationMs)];
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as ControlLoad) : reject(new Error(`control callers exited ${code}: ${err}`))));
  });
}

async function callControl(base: string, callers: number, thinkMs: number, durationMs: number): Promise<ControlLoad> {
  const url = new URL(base);
  const times: number[] = [];
  let errors = 0;
  const errorKinds: Record<string, number> = {};
  const failed = (kind: string) => (errors++, (errorKinds[kind] = (errorKinds[kind] ?? 0) + 1), -1);
  const stopAt = performance.now() + durationMs;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: callers }, async (_, i) => {
      // One agent process each: its own keep-alive connection.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      const traceId = (i + 1).toString(16).padStart(32, 'c');
      const spanId = (i + 1).toString(16).padStart(16, '0');
      const get = () =>
        new Promise<number>((resolve) => {
          const started = performance.now();
          const req = http.get({ host: url.hostname, port: url.port, path: `/api/control/${traceId}?spanId=${spanId}`, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode === 200 ? performance.now() - started : failed(String(res.statusCode))));
          });
          req.on('error', (e: NodeJS.ErrnoException) => resolve(failed(e.code ?? e.message)));
        });
      // Spread the first calls over one think time, as agents that did not start together.
      await sleep(Math.random() * thinkMs);
      while (performance.now() < stopAt) {
        const ms = await get();
        if (ms >= 0) times.push(ms);
        if (thinkMs > 0) await sleep(thinkMs);
      }
      agent.destroy();
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { callers, thinkMs, calls: times.length, callsPerS: times.length / seconds, p50: percentile(times, 50), p99: percentile(times, 99), max: times.reduce((m, t) => Math.max(m, t), -Infinity), errors, errorKinds };
}

if (process.argv[1] === import.meta.filename) {
  const [base, callers, thinkMs, durationMs] = process.argv.slice(2);
  callControl(base, Number(callers), Number(thinkMs), Number(durationMs)).then((r) => process.stdout.write(JSON.stringify(r)));
}

/**
 * Real-time scheduling (SCHED_FIFO) for a process: it runs before every ordinary process whenever it is ready,
 * so its latency is what is left once the scheduler is out of the way (the kernel, the network stack, its own
 * event loop and garbage collector). Needs the right to raise priority (root, or CAP_SYS_NICE).
 */
const REALTIME = ['chrt', '-f', '50'];

/** Whether this process may start real-time processes (REALTIME). */
export function canRunRealtime(): boolean {
  return spawnSync(REALTIME[0], [...REALTIME.slice(1), 'true']).status === 0;
}

/**
 * The floor: the smallest HTTP server Node can run, in a process of its own, answering a control answer's JSON
 * from a constant. The same callers against it, during the same ingest, say what this machine allows any
 * server at all while ingest keeps its cores busy.
 */
export async function startFloorServer(opts: { realtime?: boolean } = {}): Promise<{ url: string; close: () => void }> {
  const code = `const http=require('node:http');const body=JSON.stringify({killed:false,scope:null,reason:null,killedAt:null,killedSpanId:null,budget:null});` +
    `const s=http.createServer((q,r)=>{q.resume();r.writeHead(200,{'content-type':'application/json'});r.end(body)});s.listen(0,'127.0.0.1',()=>process.stdout.write(String(s.address().port)+'\\n'));`;
  const [cmd, ...args] = [...(opts.realtime ? REALTIME : []), process.execPath, '-e', code];
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d) => resolve(String(d).trim()));
    child.once('exit', (c) => reject(new Error(`floor server exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, close: () => child.kill('SIGKILL') };
}
