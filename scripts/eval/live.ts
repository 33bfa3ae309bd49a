// npm run eval -- --live: the detector judged end to end, as deployed. Starts a fresh Canopy (own data dir),
// sends the simulator's scenarios through the real CLI (stock OTel SDK, OTLP protobuf) for several seeds,
// waits until the detector has settled, reads every alert back through GET /api/alerts and prints the
// confusion table (scenario × rule, the offline table's conventions), precision / recall per rule, and the
// detection latency: from the moment a tree's spans were acknowledged (the simulator prints a tree's line only
// after its exporter flush was answered; we timestamp the line as it arrives) to its first right-rule alert.
//
//   npm run eval -- --live                      # 5 seeds × (210 normal + 5 per runaway scenario), ≈ 1,400 trees
//   npm run eval -- --live --seeds=1 --no-write # one seed, a quick check
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { byDetectorRule, DETECTOR_RULES, type Alert, type DetectorRule } from '../../lib/domain';
import { EXPECTATIONS, type Expectation } from '../../detector/testing/evaluate';
import { ensureBuild } from '../../lib/server/build';
import { startCanopy, type RunningCanopy } from '../../tests/helpers/canopy';
import { emptyRow, formatConfusion, pct, quantile, recordTree, type ConfusionRow } from './confusion';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'DETECTION.md');
const START = '<!-- eval-live:start -->';
const END = '<!-- eval-live:end -->';
const RUNAWAYS = ['loop', 'pingpong', 'fanout', 'cost_spike', 'retry_storm', 'slow_burn', 'deep'] as const;
const BASELINE_ROW = 'normal (cost_spike baseline)';
// The issue's quality bar for detection latency (acknowledged → readable in /api/alerts).
const LATENCY_BAR_MS = 2_000;

export interface LiveOptions {
  seeds: number[];
  /** Normal trees per seed, interleaved with the runaways (cost_spike's baseline trees come on top). */
  normalPerSeed: number;
  /** Trees per runaway scenario per seed. */
  runawaysPerSeed: number;
  /** Trees started per second by the simulator. */
  rate: number;
  /** Settled once nothing (alerts, trees judged) changed for this long and nothing is pending. */
  quietMs: number;
  settleTimeoutMs: number;
  /** How often the newest alerts are read while trees arrive (the "readable" latency's resolution). */
  pollMs: number;
  write: boolean;
}

export const DEFAULT_LIVE: LiveOptions = {
  seeds: [1, 2, 3, 4, 5],
  normalPerSeed: 210,
  runawaysPerSeed: 5,
  rate: 10,
  quietMs: 3_000,
  settleTimeoutMs: 120_000,
  pollMs: 500,
  write: true,
};

const HELP = `npm run eval -- --live [--seeds=N|a-b|a,b,c] [--normal=N] [--runaways=N] [--rate=N] [--no-write]
Starts a fresh Canopy, runs the simulator CLI (--fast, every scenario) once per seed, waits for the detector to
settle, reads the alerts through /api/alerts and prints the confusion table, precision/recall per rule and the
detection latency; writes them into docs/DETECTION.md between the eval-live markers (unless --no-write).
  --seeds=N       seeds 1..N (default 5); --seeds=3-7 or --seeds=2,4 name them
  --normal=N      normal trees per seed (default ${DEFAULT_LIVE.normalPerSeed})
  --runaways=N    trees per runaway scenario per seed (default ${DEFAULT_LIVE.runawaysPerSeed})
  --rate=N        trees per second sent by the simulator (default ${DEFAULT_LIVE.rate})
`;

export function parseLiveArgs(argv: string[]): LiveOptions | 'help' {
  const opts: LiveOptions = { ...DEFAULT_LIVE };
  const int = (flag: string, v: string | undefined, min = 0): number => {
    const n = Number(v);
    if (v === undefined || v.trim() === '' || !Number.isInteger(n) || n < min) throw new Error(`${flag} needs a whole number ≥ ${min}, got ${v ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].includes('=') ? [argv[i].slice(0, argv[i].indexOf('=')), argv[i].slice(argv[i].indexOf('=') + 1)] : [argv[i], undefined];
    const value = () => inline ?? argv[++i];
    if (flag === '--live' || flag === '--write') continue;
    else if (flag === '--no-write') opts.write = false;
    else if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--seeds') {
      const v = value() ?? '';
      const range = /^(\d+)-(\d+)$/.exec(v);
      if (range) opts.seeds = Array.from({ length: Math.max(0, Number(range[2]) - Number(range[1]) + 1) }, (_, k) => Number(range[1]) + k);
      else if (v.includes(',')) opts.seeds = v.split(',').map((s) => int('--seeds', s));
      else opts.seeds = Array.from({ length: int('--seeds', v, 1) }, (_, k) => k + 1);
      if (opts.seeds.length === 0) throw new Error('--seeds needs at least one seed');
    } else if (flag === '--normal') opts.normalPerSeed = int(flag, value());
    else if (flag === '--runaways') opts.runawaysPerSeed = int(flag, value());
    else if (flag === '--rate') {
      opts.rate = Number(value());
      if (!(opts.rate > 0)) throw new Error('--rate needs a number of trees per second above 0');
    } else throw new Error(`unknown flag ${argv[i]} for --live (see --live --help)`);
  }
  if (opts.normalPerSeed + opts.runawaysPerSeed === 0) throw new Error('nothing to send: --normal and --runaways are both 0');
  return opts;
}

/** One pass of the simulator's rotation: the runaways spread evenly among the normal trees, never first. */
export function scenarioRotation(normal: number, perRunaway: number): string[] {
  const runaways = perRunaway * RUNAWAYS.length;
  const total = normal + runaways;
  const list: string[] = new Array(total).fill('normal');
  for (let j = 0; j < runaways; j++) list[Math.floor(((j + 1) * total) / runaways) - 1] = RUNAWAYS[j % RUNAWAYS.length];
  return list;
}

interface TreeLine {
  scenario: string;
  traceId: string;
  spans: number;
  baselineFor?: string;
}

interface SentTree {
  line: TreeLine;
  seed: number;
  /** When its line arrived: the simulator writes it after the flush carrying the tree's spans was answered. */
  ackMs: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function authHeaders(): Record<string, string> {
  // The server inherits our environment (startCanopy): its keys are ours.
  const key = process.env.CANOPY_API_KEY || process.env.CANOPY_API_KEYS?.split(',')[0]?.trim();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Runs the simulator CLI once; each tree is timestamped as its line arrives. */
function simulate(args: string[], seed: number, children: Set<ChildProcess>): Promise<SentTree[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(child);
    const sent: SentTree[] = [];
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    readline.createInterface({ input: child.stdout! }).on('line', (raw) => {
      const ackMs = Date.now();
      if (raw.trim()) sent.push({ line: JSON.parse(raw) as TreeLine, seed, ackMs });
    });
    child.once('error', reject);
    child.once('close', (code) => {
      children.delete(child);
      if (code !== 0) reject(new Error(`simulator (seed ${seed}) exited ${code}: ${stderr.trim().split('\n').slice(-5).join('\n')}`));
      else resolve(sent);
    });
  });
}

/** Reads alerts newest first; remembers when each id was first seen readable. */
class AlertReader {
  readonly firstObserved = new Map<string, number>();
  constructor(private readonly base: string) {}

  private async page(cursor: string | null): Promise<{ alerts: Alert[]; nextCursor: string | null }> {
    const res = await fetch(`${this.base}/api/alerts?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: authHeaders() });
    if (res.status !== 200) throw new Error(`GET /api/alerts → ${res.status} ${await res.text()}`);
    const body = (await res.json()) as { alerts: Alert[]; nextCursor: string | null };
    const at = Date.now();
    for (const a of body.alerts) if (!this.firstObserved.has(a.id)) this.firstObserved.set(a.id, at);
    return body;
  }

  /** The newest alerts, paging back only while a page is all new (the rest were seen before). */
  async pollNewest(): Promise<void> {
    let cursor: string | null = null;
    for (;;) {
      const known = this.firstObserved.size;
      const { alerts, nextCursor } = await this.page(cursor);
      if (!nextCursor || this.firstObserved.size - known < alerts.length) return;
      cursor = nextCursor;
    }
  }

  async all(): Promise<Alert[]> {
    const out: Alert[] = [];
    let cursor: string | null = null;
    do {
      const { alerts, nextCursor } = await this.page(cursor);
      out.push(...alerts);
      cursor = nextCursor;
    } while (cursor);
    return out;
  }
}

async function detectorMetrics(base: string): Promise<{ judged: number; pending: number }> {
  const text = await (await fetch(`${base}/metrics`, { headers: authHeaders() })).text();
  const metric = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { judged: metric('canopy_detector_trees_judged_total'), pending: metric('canopy_detector_pending_trees') };
}

/** Until the alerts and the count of judged trees stay unchanged for `quietMs`, with nothing pending. */
async function settle(base: string, reader: AlertReader, opts: LiveOptions): Promise<{ alerts: Alert[]; settled: boolean }> {
  const deadline = Date.now() + opts.settleTimeoutMs;
  let last = '';
  let quietSince = Date.now();
  for (;;) {
    const alerts = await reader.all();
    const m = await detectorMetrics(base);
    const sig = `${m.judged}|${alerts.map((a) => `${a.id}/${a.severity}/${a.lastSeen}`).sort().join(',')}`;
    if (sig !== last) {
      last = sig;
      quietSince = Date.now();
    } else if (Date.now() - quietSince >= opts.quietMs && !(m.pending > 0)) return { alerts, settled: true };
    if (Date.now() > deadline) return { alerts, settled: false };
    await sleep(1_000);
  }
}

interface TreeVerdict {
  tree: SentTree;
  row: string;
  alerts: Alert[];
  /** Right-rule alert: ack → its firstSeen, and ack → first read back from the API (ms). */
  latencyMs: number | null;
  observedMs: number | null;
}

export interface LiveResult {
  opts: LiveOptions;
  rows: ConfusionRow[];
  verdicts: TreeVerdict[];
  /** Alerts on traces the simulator never reported. */
  strays: Alert[];
  spans: number;
  settled: boolean;
  ms: { total: number; start: number; simulate: number; settle: number };
  loadAvg: [number, number];
  commands: string[];
}

function expectations(): Expectation[] {
  const live = EXPECTATIONS.filter((e) => e.scenario !== 'huge');
  // Baseline trees are ordinary normal trees; an alert on one is as false as on any other.
  return [live[0], { row: BASELINE_ROW, scenario: 'normal', right: [], alsoTrue: [] }, ...live.slice(1)];
}

function judgeTrees(sent: SentTree[], alerts: Alert[], firstObserved: Map<string, number>): { rows: ConfusionRow[]; verdicts: TreeVerdict[]; strays: Alert[] } {
  const exps = expectations();
  const rows = new Map(exps.map((e) => [e.row, emptyRow(e)]));
  const byTrace = new Map<string, Alert[]>();
  for (const a of alerts) (byTrace.get(a.traceId) ?? byTrace.set(a.traceId, []).get(a.traceId)!).push(a);
  const verdicts: TreeVerdict[] = [];
  for (const tree of sent) {
    const rowName = tree.line.baselineFor ? BASELINE_ROW : tree.line.scenario;
    const row = rows.get(rowName);
    if (!row) throw new Error(`the simulator sent a ${rowName} tree, which no row expects`);
    const mine = (byTrace.get(tree.line.traceId) ?? []).filter(byDetectorRule);
    recordTree(row, new Set(mine.map((a) => a.rule)), new Set(mine.filter((a) => a.severity === 'critical').map((a) => a.rule)));
    const right = mine.filter((a) => row.expectation.right.includes(a.rule));
    const first = right.length ? Math.min(...right.map((a) => Date.parse(a.firstSeen))) : null;
    const observed = right.length ? Math.min(...right.map((a) => firstObserved.get(a.id) ?? Infinity)) : null;
    verdicts.push({ tree, row: rowName, alerts: mine, latencyMs: first === null ? null : first - tree.ackMs, observedMs: observed === null ? null : observed - tree.ackMs });
  }
  const known = new Set(sent.map((t) => t.line.traceId));
  return { rows: [...rows.values()], verdicts, strays: alerts.filter((a) => !known.has(a.traceId)) };
}

export async function runLive(opts: LiveOptions): Promise<LiveResult> {
  const t0 = Date.now();
  const loadStart = os.loadavg()[0];
  // A stale UI build would be rebuilt inside startCanopy, whose start timeout does not allow for `next build`.
  ensureBuild(ROOT, (e) => log(`canopy: ${String(e.message ?? JSON.stringify(e))}`));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'canopy-eval-live-'));
  const children = new Set<ChildProcess>();
  let canopy: RunningCanopy | null = null;
  let polling = false;
  const cleanup = async () => {
    polling = false;
    for (const c of children) c.kill('SIGTERM');
    await canopy?.stop().catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    canopy = await startCanopy({ dataDir });
    const tStarted = Date.now();
    log(`canopy: ${canopy.url} (OTLP ${canopy.otlpUrl}), data dir ${dataDir}, started in ${((tStarted - t0) / 1000).toFixed(1)} s`);
    const reader = new AlertReader(canopy.url);
    polling = true;
    const poller = (async () => {
      while (polling) {
        await reader.pollNewest().catch((err: Error) => log(`alert poll failed: ${err.message}`));
        await sleep(opts.pollMs);
      }
    })();

    const rotation = scenarioRotation(opts.normalPerSeed, opts.runawaysPerSeed);
    const sent: SentTree[] = [];
    const commands: string[] = [];
    for (const seed of opts.seeds) {
      const args = ['--endpoint', canopy.otlpUrl, '--no-kill-check', '--fast', '--seed', String(seed), '--rate', String(opts.rate), '--trees', String(rotation.length), '--scenario', rotation.join(',')];
      const key = authHeaders().authorization?.slice('Bearer '.length);
      if (key) args.push('--api-key', key);
      commands.push(`node --import tsx sim/cli.ts --endpoint <otlp> --no-kill-check --fast --seed ${seed} --rate ${opts.rate} --trees ${rotation.length} --scenario <${opts.normalPerSeed} normal, ${opts.runawaysPerSeed} each of ${RUNAWAYS.join('/')}, interleaved>`);
      const t = Date.now();
      const trees = await simulate(args, seed, children);
      sent.push(...trees);
      log(`seed ${seed}: ${trees.length} trees (${trees.reduce((a, x) => a + x.line.spans, 0).toLocaleString('en-US')} spans) sent in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }
    const tSent = Date.now();
    const { alerts, settled } = await settle(canopy.url, reader, opts);
    polling = false;
    await poller;
    const tSettled = Date.now();
    log(settled ? `detector settled ${((tSettled - tSent) / 1000).toFixed(1)} s after the last tree` : `WARNING: the detector had not settled after ${opts.settleTimeoutMs / 1000} s`);

    const ids = new Set(sent.map((t) => t.line.traceId));
    if (ids.size !== sent.length) log(`WARNING: ${sent.length - ids.size} trace ids were sent twice (seeds overlap?)`);
    const judged = judgeTrees(sent, alerts, reader.firstObserved);
    return {
      opts,
      ...judged,
      spans: sent.reduce((a, t) => a + t.line.spans, 0),
      settled,
      ms: { total: tSettled - t0, start: tStarted - t0, simulate: tSent - tStarted, settle: tSettled - tSent },
      loadAvg: [loadStart, os.loadavg()[0]],
      commands,
    };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

function latencyCells(values: number[]): string {
  return values.length === 0 ? '—' : `${sec(quantile(values, 0.5))} / ${sec(quantile(values, 0.95))}`;
}

function caught(result: LiveResult): TreeVerdict[] {
  return result.verdicts.filter((v) => v.latencyMs !== null);
}

export function formatLive(result: LiveResult): string {
  const byRow = (row: ConfusionRow, pick: (v: TreeVerdict) => number | null) =>
    result.verdicts.filter((v) => v.row === row.expectation.row).map(pick).filter((x): x is number => x !== null);
  const table = formatConfusion(result.rows, {
    headers: ['latency p50 / p95 (to firstSeen)'],
    cells: (r) => [r.expectation.right.length === 0 ? '—' : latencyCells(byRow(r, (v) => v.latencyMs))],
  });
  const c = caught(result);
  const line = (what: string, xs: number[]) =>
    xs.length === 0
      ? `| ${what} | 0 | — | — | — | — |`
      : `| ${what} | ${xs.length} | ${sec(quantile(xs, 0.5))} | ${sec(quantile(xs, 0.95))} | ${sec(Math.max(...xs))} | ${xs.filter((x) => x <= LATENCY_BAR_MS).length}/${xs.length} |`;
  const latency = [
    '| caught runaway trees, from their spans acknowledged to … | trees | p50 | p95 | max | ≤ 2 s |',
    '|---|---:|---:|---:|---:|---:|',
    line("the first right-rule alert's `firstSeen`", c.map((v) => v.latencyMs!)),
    line(`that alert first read back from \`/api/alerts\` (polled every ${result.opts.pollMs} ms)`, c.map((v) => v.observedMs!).filter(Number.isFinite)),
  ].join('\n');
  const early = c.filter((v) => v.latencyMs! < 0).length;
  const normal = result.rows.filter((r) => r.expectation.right.length === 0).reduce((a, r) => a + r.trees, 0);
  const runaways = result.rows.filter((r) => r.expectation.right.length > 0).reduce((a, r) => a + r.trees, 0);
  const o = result.opts;
  const summary =
    `${o.seeds.length === 1 ? 'Seed' : 'Seeds'} ${o.seeds.join(', ')} against one fresh Canopy (embedded engine, default 1 s tick), sent one seed after another with the simulator CLI ` +
    `(\`--fast\`, ${o.rate} trees/s; per seed ${o.normalPerSeed} normal trees with ${o.runawaysPerSeed} ${o.runawaysPerSeed === 1 ? 'tree' : 'trees'} of each runaway scenario spread among them, ` +
    `plus the ${result.rows.find((r) => r.expectation.row === BASELINE_ROW)!.trees / o.seeds.length} baseline trees cost_spike sends first): ` +
    `${normal.toLocaleString('en-US')} normal and ${runaways} runaway trees, ${result.spans.toLocaleString('en-US')} spans. ` +
    `${sec(result.ms.total)} in all: Canopy start ${sec(result.ms.start)}, sending ${sec(result.ms.simulate)}, detector settled ${sec(result.ms.settle)} after the last tree` +
    `${result.settled ? '' : ' (NOT settled: timed out)'}; 1-min load average ${result.loadAvg[0].toFixed(1)} at start, ${result.loadAvg[1].toFixed(1)} at the end (2 cores).` +
    (early ? ` ${early} alert(s) were stamped before their tree's line arrived (the batch processor had exported the decisive spans before the final flush): negative latencies.` : '');
  return `${table}\n\n${latency}\n\n${summary}\n\n${formatFindings(result)}`;
}

/** False alerts, misses, wrong-rule alerts and strays, each with its titles; then one example title per cell. */
export function formatFindings(result: LiveResult): string {
  const out: string[] = [];
  const titles = (as: Alert[]) => as.map((a) => `${a.rule} (${a.severity}): “${a.title}”`).join('; ');
  const silent = result.verdicts.filter((v) => v.alerts.length > 0 && expectationOf(result, v.row).right.length === 0);
  out.push(silent.length === 0 ? 'False alerts on normal trees: none.' : `False alerts on normal trees (${silent.length}):`);
  for (const v of silent) out.push(`- seed ${v.tree.seed} ${v.row} ${v.tree.line.traceId}: ${titles(v.alerts)}`);
  const missed = result.verdicts.filter((v) => v.latencyMs === null && expectationOf(result, v.row).right.length > 0);
  out.push(missed.length === 0 ? 'Missed runaways: none.' : `Missed runaways (${missed.length}):`);
  for (const v of missed) out.push(`- seed ${v.tree.seed} ${v.row} ${v.tree.line.traceId}: ${v.alerts.length ? titles(v.alerts) : 'no alert'}`);
  const wrong = result.verdicts.flatMap((v) => {
    const e = expectationOf(result, v.row);
    if (e.right.length === 0) return [];
    return v.alerts.filter(byDetectorRule).filter((a) => !e.right.includes(a.rule) && !e.alsoTrue.includes(a.rule)).map((a) => ({ v, a }));
  });
  out.push(wrong.length === 0 ? 'Wrong-rule alerts on runaways: none.' : `Wrong-rule alerts on runaways (${wrong.length}):`);
  for (const { v, a } of wrong) out.push(`- seed ${v.tree.seed} ${v.row} ${v.tree.line.traceId}: ${titles([a])}`);
  if (result.strays.length) {
    out.push(`Alerts on traces the simulator did not report (${result.strays.length}):`);
    for (const a of result.strays) out.push(`- ${a.traceId}: ${titles([a])}`);
  }
  out.push('', 'Example titles (the first per scenario and rule):', '');
  for (const r of result.rows) {
    for (const rule of DETECTOR_RULES) {
      const v = result.verdicts.find((x) => x.row === r.expectation.row && x.alerts.some((a) => a.rule === rule));
      if (v) out.push(`- ${r.expectation.row} → ${rule}: “${v.alerts.find((a) => a.rule === rule)!.title}”`);
    }
  }
  return out.join('\n');
}

function expectationOf(result: LiveResult, row: string): Expectation {
  return result.rows.find((r) => r.expectation.row === row)!.expectation;
}

export function writeDoc(result: LiveResult, body: string, file = DOC): void {
  const doc = fs.readFileSync(file, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${file} has no ${START} … ${END} section`);
  const seeds = result.opts.seeds;
  const flags = seeds.length === 5 && seeds.every((s, i) => s === i + 1) ? '' : ` --seeds=${seeds.join(',')}`;
  const extra = `${result.opts.normalPerSeed !== DEFAULT_LIVE.normalPerSeed ? ` --normal=${result.opts.normalPerSeed}` : ''}${result.opts.runawaysPerSeed !== DEFAULT_LIVE.runawaysPerSeed ? ` --runaways=${result.opts.runawaysPerSeed}` : ''}${result.opts.rate !== DEFAULT_LIVE.rate ? ` --rate=${result.opts.rate}` : ''}`;
  const head = `\`npm run eval -- --live${flags}${extra}\`, run ${new Date().toISOString().slice(0, 10)}. Each seed: \`${result.commands[0]?.replace(/--seed \d+/, '--seed <seed>')}\`.`;
  fs.writeFileSync(file, `${doc.slice(0, a)}${START}\n${head}\n\n${body}\n${END}${doc.slice(b + END.length)}`);
  log(`wrote the live results into ${path.relative(process.cwd(), file)}`);
}

/** Prints the results, writes them unless --no-write, and sets a failing exit code if the quality bar is missed. */
export async function mainLive(argv: string[]): Promise<void> {
  let parsed: ReturnType<typeof parseLiveArgs>;
  try {
    parsed = parseLiveArgs(argv);
  } catch (err) {
    log((err as Error).message);
    process.exit(2);
  }
  if (parsed === 'help') {
    process.stdout.write(HELP);
    return;
  }
  const result = await runLive(parsed);
  const body = formatLive(result);
  process.stdout.write(`${body}\n`);
  if (parsed.write) writeDoc(result, body);

  const fails: string[] = [];
  for (const r of result.rows) {
    if (r.expectation.right.length === 0 && r.anyAlert > 0) fails.push(`${r.anyAlert} of ${r.trees} ${r.expectation.row} trees alerted`);
    if (r.expectation.right.length > 0 && r.caught < r.trees) fails.push(`${r.trees - r.caught} of ${r.trees} ${r.expectation.row} trees not caught by ${r.expectation.right.join('/')}`);
  }
  const lat = caught(result).map((v) => v.latencyMs!);
  if (lat.length && quantile(lat, 0.95) > LATENCY_BAR_MS) fails.push(`detection latency p95 ${sec(quantile(lat, 0.95))} > ${sec(LATENCY_BAR_MS)}`);
  if (result.strays.length) fails.push(`${result.strays.length} alerts on traces the simulator did not send`);
  if (!result.settled) fails.push('the detector did not settle');
  for (const f of fails) log(`FAIL: ${f}`);
  if (fails.length) process.exitCode = 1;
  else log(`quality bar met live: 0 alerts on normal trees, every runaway caught by its rule, latency p95 ${lat.length ? sec(quantile(lat, 0.95)) : 'n/a'}`);
}
