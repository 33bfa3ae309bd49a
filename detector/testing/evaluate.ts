// Offline evaluation: plans the simulator's scenarios in-process for many seeds, turns each plan into the
// rows storage would hold (real normaliser, real prices: see from-plan.ts), runs every rule, and counts
// which rules fire on which scenario. Judged twice per tree: finished (what `--fast` delivers at once), and
// live (at 25/50/75% of its duration, with only the spans that had ended by then: exporters send a span
// when it ends, so a running tree's open spans are missing). A tree counts as flagged by a rule when the
// rule fired at any of those moments.
import { DETECTOR_RULES, type DetectorRule, type RuleFinding } from '../../lib/domain';
import type { TreePlan } from '../../sim/plan';
import { treeRng } from '../../sim/random';
import type { Scenario, ScenarioContext } from '../../sim/scenario';
import { scenarioByName } from '../../sim/scenarios/index';
import { planNormal } from '../../sim/scenarios/normal';
import { baselineKey, rateMinutes, summariseHistory, treeStats, type RootBaseline, type TreeStats } from '../baseline';
import { evaluateTree, RULES } from '../index';
import { sequentialCalls } from '../rules/loop';
import { chooseBaseline, type RuleContext } from '../rule';
import { DEFAULT_SETTINGS, withSettings, type DetectorSettings } from '../settings';
import type { TreeSnapshot } from '../snapshot';
import { planSnapshot } from './from-plan';

export interface EvalOptions {
  seeds: number[];
  /** Normal trees judged per seed (history trees come on top). */
  normalPerSeed: number;
  /** Normal trees of history per seed (the baselines the judged trees are compared with). */
  historyPerSeed: number;
  /** Trees per runaway scenario per seed. */
  runawaysPerSeed: number;
  /** huge trees per seed (10,000 spans each), judged at first sight and as a known job. */
  hugePerSeed: number;
  /** Baseline trees cost_spike sends before its spikes (>= settings.baseline.minTrees to be trusted). */
  costSpikeBaseline: number;
  /** Fractions of a tree's duration at which it is also judged live. [] for finished trees only. */
  liveAt: number[];
  settings?: DetectorSettings;
  log?: (line: string) => void;
}

export const DEFAULT_EVAL: EvalOptions = {
  seeds: [1, 2, 3, 4, 5],
  normalPerSeed: 240,
  historyPerSeed: 200,
  runawaysPerSeed: 20,
  hugePerSeed: 2,
  costSpikeBaseline: 30,
  liveAt: [0.25, 0.5, 0.75],
};

/** Rows of the confusion table, and the rules each one should (and may) trigger. */
export interface Expectation {
  row: string;
  scenario: string;
  /** The rule(s) that must catch it; [] for healthy traffic that must stay silent. */
  right: DetectorRule[];
  /** Rules whose condition the scenario meets by construction (documented in docs/SIMULATOR.md): correct, not the point. */
  alsoTrue: DetectorRule[];
  /** Left out of precision: alerts here are by design (a job never seen before), reported on their own. */
  coldStart?: boolean;
}

export const EXPECTATIONS: Expectation[] = [
  { row: 'normal', scenario: 'normal', right: [], alsoTrue: [] },
  { row: 'loop', scenario: 'loop', right: ['loop'], alsoTrue: ['context_bloat'] },
  { row: 'pingpong', scenario: 'pingpong', right: ['pingpong'], alsoTrue: [] },
  { row: 'fanout', scenario: 'fanout', right: ['fanout'], alsoTrue: [] },
  { row: 'cost_spike', scenario: 'cost_spike', right: ['cost_spike'], alsoTrue: ['context_bloat'] },
  { row: 'retry_storm', scenario: 'retry_storm', right: ['retry_storm'], alsoTrue: [] },
  { row: 'slow_burn', scenario: 'slow_burn', right: ['cost_spike', 'stall'], alsoTrue: [] },
  { row: 'deep', scenario: 'deep', right: ['fanout'], alsoTrue: [] },
  { row: 'huge (known job)', scenario: 'huge', right: [], alsoTrue: [] },
  { row: 'huge (first sight)', scenario: 'huge', right: [], alsoTrue: [], coldStart: true },
];

export interface RowResult {
  expectation: Expectation;
  trees: number;
  /** Trees each rule fired on (finished or live). */
  fired: Record<DetectorRule, number>;
  /** Trees each rule fired on as critical. */
  critical: Record<DetectorRule, number>;
  /** Trees with any alert at all. */
  anyAlert: number;
  /** Trees caught by one of the right rules. */
  caught: number;
  /** Trees caught by a right rule while still running (at a live moment). */
  caughtLive: number;
  /** Earliest live fraction at which a right rule fired, per caught-live tree. */
  firstLive: number[];
  /** Up to three example titles per rule. */
  examples: Partial<Record<DetectorRule, string[]>>;
  spans: number;
}

/** How close healthy traffic came to each threshold: the largest value seen on any normal tree (finished or live). */
export interface Margins {
  loopInARow: number;
  loopByOneAgent: number;
  /** The issue's literal reading: identical calls anywhere in the tree, by any agents (one after another). */
  loopAnyAgent: number;
  pingpongRounds: number;
  concurrentChildren: number;
  depth: number;
  risingCalls: number;
  callInputTokens: number;
  /** Largest robust z of a normal tree past the $ floor (spend, $/min or tokens/min, whichever is highest), before the p99 guard. */
  costZ: number;
  /** Largest spend (or $/min) of a normal tree past the $ floor, over its history's p99 of it. */
  costOverP99: number;
  /** Largest run time / usual p99 of a normal tree past the $ floor. */
  overrun: number;
  failures: number;
}

export interface EvalResult {
  margins: Margins;
  rows: RowResult[];
  perRule: Record<DetectorRule, { tp: number; fp: number; fn: number; precision: number | null; recall: number | null }>;
  ms: number;
  spansJudged: number;
  snapshotsJudged: number;
}

function ctxFor(seed: number, scenario: Scenario, index: number, baselineTrees: number): ScenarioContext {
  return {
    rng: treeRng(seed, scenario.name, 'tree', index),
    stream: (role, i) => treeRng(seed, scenario.name, role, i),
    index,
    persistent: false,
    baselineTrees,
  };
}

export class History {
  private readonly byKey = new Map<string, TreeStats[]>();
  private readonly byService = new Map<string, TreeStats[]>();
  private readonly cache = new Map<string, RootBaseline | null>();

  add(stats: TreeStats): void {
    const key = baselineKey(stats.serviceName, stats.rootName);
    (this.byKey.get(key) ?? this.byKey.set(key, []).get(key)!).push(stats);
    (this.byService.get(stats.serviceName) ?? this.byService.set(stats.serviceName, []).get(stats.serviceName)!).push(stats);
    this.cache.clear();
  }

  rootName(service: string, rootName: string): RootBaseline | null {
    const key = `r\0${baselineKey(service, rootName)}`;
    if (!this.cache.has(key)) {
      const list = this.byKey.get(baselineKey(service, rootName));
      this.cache.set(key, list && list.length > 0 ? summariseHistory(list, 'rootName') : null);
    }
    return this.cache.get(key)!;
  }

  service(service: string): RootBaseline | null {
    const key = `s\0${service}`;
    if (!this.cache.has(key)) {
      const list = this.byService.get(service);
      this.cache.set(key, list && list.length > 0 ? summariseHistory(list, 'service') : null);
    }
    return this.cache.get(key)!;
  }

  clone(): History {
    const h = new History();
    for (const list of this.byKey.values()) for (const s of list) h.add(s);
    return h;
  }
}

interface Judged {
  /** Findings on the finished tree. */
  finished: RuleFinding[];
  /** Findings per live moment (same order as liveAt). */
  live: RuleFinding[][];
  spans: number;
}

/** Settings that let every rule report what it measured on healthy trees (for the margins), not what it alerts on. */
function probeSettings(settings: DetectorSettings): DetectorSettings {
  return withSettings(settings, {
    loop: { consecutive: 2, anywhere: 2, sameFailure: 2, critical: 1_000_000 },
    pingpong: { repeats: 2, critical: 1_000_000 },
    context_bloat: { risingCalls: 3, criticalFactor: 1_000_000 },
    cost_spike: { zThreshold: 1e-9, criticalZ: 1e9, p99Factor: 0 },
  });
}

function updateMargins(m: Margins, tree: TreeSnapshot, ctx: RuleContext, probe: DetectorSettings): void {
  const pctx: RuleContext = { settings: probe, baseline: ctx.baseline };
  for (const f of RULES.loop(tree, pctx)) {
    m.loopInARow = Math.max(m.loopInARow, Number(f.evidence.details.inARow ?? 0));
    m.loopByOneAgent = Math.max(m.loopByOneAgent, Number(f.evidence.details.byOneAgent ?? 0));
  }
  for (const f of RULES.pingpong(tree, pctx)) m.pingpongRounds = Math.max(m.pingpongRounds, f.evidence.value);
  for (const f of RULES.context_bloat(tree, pctx)) if (f.evidence.metric.startsWith('consecutive')) m.risingCalls = Math.max(m.risingCalls, f.evidence.value);
  for (const f of RULES.cost_spike(tree, pctx)) {
    if (f.evidence.metric.startsWith('robust z')) m.costZ = Math.max(m.costZ, f.evidence.value);
  }
  const base = ctx.baseline && ctx.baseline.trees >= probe.baseline.minTrees ? ctx.baseline : null;
  if (base && base.scope === 'rootName' && tree.totals.costUsd >= probe.cost_spike.minCostUsd) {
    const age = (tree.running ? tree.now : tree.lastSpanMs) - tree.startMs;
    const rate = tree.totals.costUsd / rateMinutes(age);
    m.costOverP99 = Math.max(m.costOverP99, tree.totals.costUsd / base.cost.p99, rate / base.costRate.p99);
  }
  if (base && base.durationP99Ms > 0 && tree.totals.costUsd >= probe.cost_spike.minCostUsd) {
    const age = (tree.running ? tree.now : tree.lastSpanMs) - tree.startMs;
    m.overrun = Math.max(m.overrun, age / base.durationP99Ms);
  }
  const bySignature = new Map<string, number[]>();
  for (let i = 0; i < tree.spans.length; i++) {
    const sig = tree.spans[i].callSignature;
    if (sig === null) continue;
    const l = bySignature.get(sig);
    if (l) l.push(i);
    else bySignature.set(sig, [i]);
  }
  for (const l of bySignature.values()) if (l.length > m.loopAnyAgent) m.loopAnyAgent = Math.max(m.loopAnyAgent, sequentialCalls(tree, l).length);
  const stats = treeStats(tree);
  m.concurrentChildren = Math.max(m.concurrentChildren, stats.maxChildren);
  m.depth = Math.max(m.depth, stats.maxDepth);
  m.callInputTokens = Math.max(m.callInputTokens, stats.maxCallInputTokens);
  m.failures = Math.max(m.failures, tree.totals.errors);
}

/** Judges one plan: finished, and at each live moment, against `history` (root name known only once the root arrived). */
export function judgePlan(plan: TreePlan, history: History, settings: DetectorSettings, liveAt: readonly number[], margins?: Margins): Judged {
  const anchor = 1_750_000_000_000;
  const ctxOf = (rootName: string, service: string): RuleContext => ({
    settings,
    baseline: chooseBaseline(rootName ? history.rootName(service, rootName) : null, history.service(service), settings),
  });
  const probe = margins ? probeSettings(settings) : null;
  const tree = planSnapshot(plan, { anchorMs: anchor });
  const treeCtx = ctxOf(tree.rootName, tree.serviceName);
  const finished = evaluateTree(tree, treeCtx);
  if (margins && probe) updateMargins(margins, tree, treeCtx, probe);
  const live: RuleFinding[][] = [];
  for (const f of liveAt) {
    const at = plan.durationMs * f;
    const snap = planSnapshot(plan, { anchorMs: anchor, endedBy: at, now: anchor + at });
    if (snap.spans.length === 0) {
      live.push([]);
      continue;
    }
    const snapCtx = ctxOf(snap.rootName, snap.serviceName);
    live.push(evaluateTree(snap, snapCtx));
    if (margins && probe) updateMargins(margins, snap, snapCtx, probe);
  }
  return { finished, live, spans: tree.totals.spans };
}

function emptyCounts(): Record<DetectorRule, number> {
  return Object.fromEntries(DETECTOR_RULES.map((r) => [r, 0])) as Record<DetectorRule, number>;
}

export function runEvaluation(opts: EvalOptions): EvalResult {
  const started = Date.now();
  const settings = opts.settings ?? DEFAULT_SETTINGS;
  const log = opts.log ?? (() => {});
  const rows = new Map<string, RowResult>();
  for (const e of EXPECTATIONS) {
    rows.set(e.row, { expectation: e, trees: 0, fired: emptyCounts(), critical: emptyCounts(), anyAlert: 0, caught: 0, caughtLive: 0, firstLive: [], examples: {}, spans: 0 });
  }
  let spansJudged = 0;
  let snapshotsJudged = 0;
  const margins: Margins = { loopInARow: 0, loopByOneAgent: 0, loopAnyAgent: 0, pingpongRounds: 0, concurrentChildren: 0, depth: 0, risingCalls: 0, callInputTokens: 0, costZ: 0, costOverP99: 0, overrun: 0, failures: 0 };

  const record = (row: string, judged: Judged) => {
    const r = rows.get(row)!;
    r.trees++;
    r.spans += judged.spans;
    spansJudged += judged.spans;
    snapshotsJudged += 1 + judged.live.length;
    const all = [judged.finished, ...judged.live].flat();
    const rules = new Set(all.map((f) => f.rule));
    const crit = new Set(all.filter((f) => f.severity === 'critical').map((f) => f.rule));
    for (const rule of rules) {
      r.fired[rule]++;
      const ex = (r.examples[rule] ??= []);
      if (ex.length < 3) ex.push(all.find((f) => f.rule === rule)!.title);
    }
    for (const rule of crit) r.critical[rule]++;
    if (rules.size > 0) r.anyAlert++;
    const right = r.expectation.right;
    if (right.some((rule) => rules.has(rule))) r.caught++;
    const firstLive = judged.live.findIndex((fs) => fs.some((f) => right.includes(f.rule)));
    if (firstLive >= 0) {
      r.caughtLive++;
      r.firstLive.push(opts.liveAt[firstLive]);
    }
  };

  // A known bulk job: one history shared by every seed (its shape does not depend on the seed).
  const huge = scenarioByName('huge')!;
  const hugeHistory: TreeStats[] = [];
  if (opts.hugePerSeed > 0) {
    for (let i = 0; i < settings.baseline.minTrees; i++) {
      hugeHistory.push(treeStats(planSnapshot(huge.build({ ...ctxFor(0, huge, 1000 + i, 0) }))));
    }
  }

  for (const seed of opts.seeds) {
    const history = new History();
    for (let i = 0; i < opts.historyPerSeed; i++) history.add(treeStats(planSnapshot(planNormal(treeRng(seed, 'normal', 'history', i)))));

    for (let i = 0; i < opts.normalPerSeed; i++) record('normal', judgePlan(planNormal(treeRng(seed, 'normal', 'tree', i)), history, settings, opts.liveAt, margins));
    log(`seed ${seed}: ${opts.normalPerSeed} normal trees judged`);

    for (const e of EXPECTATIONS) {
      if (e.scenario === 'normal' || e.scenario === 'huge') continue;
      const scenario = scenarioByName(e.scenario)!;
      let h = history;
      if (scenario.baseline) {
        // The baseline trees the simulator sends before the scenario's first tree (cost_spike's workflow).
        h = history.clone();
        for (const plan of scenario.baseline(ctxFor(seed, scenario, 0, opts.costSpikeBaseline))) h.add(treeStats(planSnapshot(plan)));
      }
      for (let i = 0; i < opts.runawaysPerSeed; i++) {
        record(e.row, judgePlan(scenario.build(ctxFor(seed, scenario, i, opts.costSpikeBaseline)), h, settings, opts.liveAt));
      }
    }
    log(`seed ${seed}: runaway scenarios judged`);

    for (let i = 0; i < opts.hugePerSeed; i++) {
      const plan = huge.build(ctxFor(seed, huge, i, 0));
      record('huge (first sight)', judgePlan(plan, history, settings, opts.liveAt));
      const known = history.clone();
      for (const s of hugeHistory) known.add(s);
      record('huge (known job)', judgePlan(plan, known, settings, opts.liveAt));
    }
    if (opts.hugePerSeed > 0) log(`seed ${seed}: huge trees judged`);
  }

  const perRule = {} as EvalResult['perRule'];
  for (const rule of DETECTOR_RULES) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const r of rows.values()) {
      if (r.expectation.coldStart) continue;
      const fired = r.fired[rule];
      const right = r.expectation.right.includes(rule) || r.expectation.alsoTrue.includes(rule);
      if (right) tp += fired;
      else fp += fired;
      // Recall: trees of scenarios whose first right rule is this one, not caught by any right rule.
      if (r.expectation.right[0] === rule) fn += r.trees - r.caught;
    }
    const primaryTrees = [...rows.values()].filter((r) => !r.expectation.coldStart && r.expectation.right[0] === rule).reduce((a, r) => a + r.trees, 0);
    perRule[rule] = {
      tp,
      fp,
      fn,
      precision: tp + fp > 0 ? tp / (tp + fp) : null,
      recall: primaryTrees > 0 ? (primaryTrees - fn) / primaryTrees : null,
    };
  }
  return { margins, rows: [...rows.values()], perRule, ms: Date.now() - started, spansJudged, snapshotsJudged };
}

const RULE_HEADERS: Record<DetectorRule, string> = {
  loop: 'loop',
  pingpong: 'pingpong',
  fanout: 'fanout',
  retry_storm: 'retry_storm',
  context_bloat: 'context_bloat',
  cost_spike: 'cost_spike',
  stall: 'stall',
};

/** The confusion table and per-rule precision/recall as Markdown. */
export function formatResult(result: EvalResult, opts: EvalOptions): string {
  const lines: string[] = [];
  const head = ['scenario', 'trees', ...DETECTOR_RULES.map((r) => RULE_HEADERS[r]), 'any alert', 'caught by right rule', 'caught while running (median point)'];
  lines.push(`| ${head.join(' | ')} |`);
  lines.push(`|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const r of result.rows) {
    if (r.trees === 0) continue;
    const e = r.expectation;
    const cells = DETECTOR_RULES.map((rule) => ruleCell(r, rule));
    const right = caughtCell(r);
    const live = e.right.length === 0 ? '—' : `${r.caughtLive}/${r.trees}${r.firstLive.length ? ` (${pct(median(r.firstLive))} of its duration)` : ''}`;
    lines.push(`| ${r.expectation.row} | ${r.trees} | ${cells.join(' | ')} | ${r.anyAlert} | ${right} | ${live} |`);
  }
  lines.push('');
  lines.push('| rule | trees flagged correctly | wrongly | missed | precision | recall |');
  lines.push('|---|---:|---:|---:|---:|---:|');
  for (const rule of DETECTOR_RULES) {
    const p = result.perRule[rule];
    lines.push(`| ${rule} | ${p.tp} | ${p.fp} | ${p.fn} | ${p.precision === null ? 'n/a' : pct(p.precision)} | ${p.recall === null ? 'n/a' : pct(p.recall)} |`);
  }
  lines.push('');
  lines.push(
    `Seeds ${opts.seeds.join(', ')}; per seed ${opts.normalPerSeed} normal trees judged against ${opts.historyPerSeed} normal trees of history, ` +
      `${opts.runawaysPerSeed} trees per runaway scenario, ${opts.hugePerSeed} huge trees (10,000 spans); cost_spike after ${opts.costSpikeBaseline} baseline trees. ` +
      `Each tree judged finished and live at ${opts.liveAt.map((f) => pct(f)).join(', ')} of its duration: ${result.snapshotsJudged.toLocaleString('en-US')} snapshots, ` +
      `${result.spansJudged.toLocaleString('en-US')} spans in finished trees, ${(result.ms / 1000).toFixed(1)} s.`,
  );
  return lines.join('\n');
}

/** How close the normal trees came to each default threshold. */
export function formatMargins(result: EvalResult, settings: DetectorSettings = DEFAULT_SETTINGS): string {
  const m = result.margins;
  const s = settings;
  const rows: [string, string, string, string][] = [
    ['loop', 'identical calls in a row on one branch', `${s.loop.consecutive}`, `${m.loopInARow}`],
    ['loop', 'identical calls by one agent (one after another)', `${s.loop.anywhere}`, `${m.loopByOneAgent}`],
    ['(loop, literal)', 'identical calls by any agents in the tree (one after another)', `(${s.loop.anywhere})`, `${m.loopAnyAgent}`],
    ['pingpong', 'rounds of a 2–5 step cycle', `${s.pingpong.repeats}`, m.pingpongRounds >= 2 ? `${m.pingpongRounds}` : 'none came round twice'],
    ['fanout', 'children of one span running at once', `> ${s.fanout.minChildren}`, `${m.concurrentChildren}`],
    ['fanout', 'depth (edges from the root)', `> ${s.fanout.maxDepth}`, `${m.depth}`],
    ['context_bloat', 'consecutive calls with rising input (×1.5, last ≥ 5k)', `${s.context_bloat.risingCalls}`, `${m.risingCalls}`],
    ['context_bloat', 'input tokens of one call', `> ${s.context_bloat.callTokens.toLocaleString('en-US')}`, m.callInputTokens.toLocaleString('en-US')],
    ['cost_spike', `robust z (log) of a tree past $${s.cost_spike.minCostUsd}`, `${s.cost_spike.zThreshold}`, m.costZ.toFixed(2)],
    ['cost_spike', `spend (or $/min) over its history's p99, of a tree past $${s.cost_spike.minCostUsd}`, `${s.cost_spike.p99Factor}`, m.costOverP99.toFixed(2)],
    ['cost_spike', `run time / usual p99 of a tree past $${s.cost_spike.minCostUsd}`, `${s.cost_spike.overrunFactor}`, m.overrun.toFixed(2)],
    ['retry_storm', 'failed spans in a tree', `${s.retry_storm.branchErrors} on a branch`, `${m.failures}`],
  ];
  return ['| rule | measure | default threshold | closest normal tree |', '|---|---|---:|---:|', ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function formatExamples(result: EvalResult): string {
  const lines: string[] = [];
  for (const r of result.rows) {
    for (const rule of DETECTOR_RULES) {
      const ex = r.examples[rule];
      if (ex && ex.length > 0) lines.push(`- ${r.expectation.row} → ${rule}: “${ex[0]}”`);
    }
  }
  return lines.join('\n');
}

export function pct(x: number): string {
  return `${(100 * x).toFixed(x === 1 || x === 0 ? 0 : 1)}%`;
}

/** What the offline and live confusion tables count per scenario row and rule. */
interface TableRow {
  expectation: Expectation;
  trees: number;
  caught: number;
  fired: Record<DetectorRule, number>;
  critical: Record<DetectorRule, number>;
}

/** A rule's cell: **bold** the right rule, † true by construction, ✗ a wrong rule, with the critical count. */
export function ruleCell(r: TableRow, rule: DetectorRule): string {
  const e = r.expectation;
  const n = r.fired[rule];
  if (n === 0) return '·';
  const mark = e.right.includes(rule) ? '**' : '';
  const crit = r.critical[rule] > 0 ? ` (${r.critical[rule]} crit)` : '';
  const note = e.alsoTrue.includes(rule) ? '†' : e.right.includes(rule) || e.coldStart ? '' : ' ✗';
  return `${mark}${n}${mark}${crit}${note}`;
}

export function caughtCell(r: TableRow): string {
  return r.expectation.right.length === 0 ? '—' : `${r.caught}/${r.trees} (${pct(r.caught / r.trees)})`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
