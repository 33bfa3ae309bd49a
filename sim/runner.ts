// Decides which trees to send and when (once per scenario, N trees, for a duration, or until stopped),
// plays them, and reports one JSON line per tree that reached the exporter.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Clock } from './clock';
import type { PlannedIdGenerator } from './ids';
import type { KillChecker } from './kills';
import type { RunLength } from './options';
import { playTree, type PlayResult } from './player';
import type { TreePlan } from './plan';
import { treeRng } from './random';
import type { Scenario, ScenarioContext } from './scenario';
import { scenarioByName } from './scenarios/index';
import { SLOW_BURN_DEFAULT_MS } from './scenarios/slow_burn';
import type { Tracing } from './tracer';

export interface TreeLine {
  scenario: string;
  traceId: string;
  rootSpanId: string;
  rootName: string;
  spans: number;
  service: string;
  startTime: string;
  durationMs: number; // as planned; a killed tree ends sooner
  expect: Record<string, unknown>;
  baselineFor?: string;
  killed?: boolean;
  killedSpans?: number;
  skippedSpans?: number;
  interrupted?: boolean;
}

export interface WorkloadPlan {
  scenarios: string[];
  length: RunLength;
  rate: number;
  seed: number;
  spans?: number;
  durationMs?: number;
  baselineTrees: number;
  /** Runaways keep going for minutes or until killed (live runs), instead of stopping once recognisable. */
  persistent: boolean;
  /** Chooses the scenario of the nth tree; default: rotate through `scenarios`. */
  pick?: (n: number) => string;
}

export interface WorkloadDeps {
  tracing: Tracing | null; // null: dry run, nothing is sent
  ids: PlannedIdGenerator;
  clock: Clock;
  kills: KillChecker | null;
  signal: AbortSignal;
  out: (line: TreeLine) => void;
  log: (message: string) => void;
}

export interface WorkloadSummary {
  trees: number;
  spans: number;
  failedTrees: number;
  killedTrees: number;
  interrupted: boolean;
}

/** Trees in flight at once; beyond this the scheduler waits rather than growing memory without bound. */
const MAX_IN_FLIGHT = 400;

export async function runWorkload(plan: WorkloadPlan, deps: WorkloadDeps): Promise<WorkloadSummary> {
  const summary: WorkloadSummary = { trees: 0, spans: 0, failedTrees: 0, killedTrees: 0, interrupted: false };
  const { tracing, signal } = deps;
  let lastFailureLog = 0;

  const send = async (tree: TreePlan, emit: (line: TreeLine) => void): Promise<void> => {
    let result: PlayResult | null = null;
    const failedBefore = tracing?.stats.failedSpans ?? 0;
    if (tracing) {
      result = await playTree(tree, { tracing, ids: deps.ids, clock: deps.clock, kills: deps.kills, signal });
      await tracing.flush();
      if (tracing.stats.failedSpans > failedBefore) {
        summary.failedTrees++;
        if (Date.now() - lastFailureLog > 5_000) {
          lastFailureLog = Date.now();
          deps.log(`could not deliver spans of ${tree.scenario} tree ${tree.traceId}: ${tracing.stats.lastError}`);
        }
        return;
      }
    }
    const root = tree.spans[0]!;
    const line: TreeLine = {
      scenario: tree.scenario,
      traceId: tree.traceId,
      rootSpanId: root.spanId,
      rootName: tree.rootName,
      spans: result ? result.spansSent : tree.spans.length,
      service: tracing ? tracing.serviceName('main') : 'dry-run',
      startTime: new Date(result ? result.startedAt : Date.now()).toISOString(),
      durationMs: Math.round(tree.durationMs),
      expect: tree.expect,
    };
    if (tree.baselineFor) line.baselineFor = tree.baselineFor;
    if (result?.killed) {
      line.killed = true;
      line.killedSpans = result.killedSpans;
      line.skippedSpans = result.skippedSpans;
      summary.killedTrees++;
    }
    if (result?.interrupted) line.interrupted = true;
    summary.trees++;
    summary.spans += line.spans;
    emit(line);
  };

  const counters = new Map<string, number>();
  const baselines = new Map<string, Promise<void>>();
  const context = (scenario: Scenario, durationMs: number | undefined): ScenarioContext => {
    const index = counters.get(scenario.name) ?? 0;
    counters.set(scenario.name, index + 1);
    return {
      rng: treeRng(plan.seed, scenario.name, 'tree', index),
      stream: (role, i) => treeRng(plan.seed, scenario.name, role, i),
      index,
      persistent: plan.persistent,
      spans: plan.spans,
      durationMs,
      baselineTrees: plan.baselineTrees,
    };
  };

  /** A scenario's tree, after the baseline it needs (sent once per run, in parallel, before the first). */
  const scenarioTree = async (scenario: Scenario, durationMs: number | undefined, emit: (line: TreeLine) => void): Promise<void> => {
    const ctx = context(scenario, durationMs);
    if (scenario.baseline) {
      let sent = baselines.get(scenario.name);
      if (!sent) {
        const lines: TreeLine[] = [];
        // Baseline trees are played side by side but reported in plan order.
        const trees = scenario.baseline(ctx);
        const slots = trees.map(() => null as TreeLine | null);
        sent = Promise.all(trees.map((tree, i) => send(tree, (line) => (slots[i] = line)))).then(() => {
          for (const line of slots) if (line) lines.push(line);
          lines.forEach(emit);
        });
        baselines.set(scenario.name, sent);
      }
      await sent;
    }
    if (signal.aborted) return;
    await send(scenario.build(ctx), emit);
  };

  const lookup = (name: string): Scenario => {
    const scenario = scenarioByName(name);
    if (!scenario) throw new Error(`unknown scenario ${name}`);
    return scenario;
  };

  if (plan.length.kind === 'once') {
    // Scenarios run side by side (a real-time run takes as long as its slowest tree, not their sum),
    // but lines come out in the order the scenarios were listed, each baseline before its tree.
    const chains = plan.scenarios.map((name) => {
      const lines: TreeLine[] = [];
      return scenarioTree(lookup(name), plan.durationMs, (line) => lines.push(line)).then(() => lines);
    });
    for (const chain of chains) for (const line of await chain) deps.out(line);
    summary.interrupted = signal.aborted;
    return summary;
  }

  const length = plan.length;
  const startedAt = Date.now();
  const inFlight = new Set<Promise<void>>();
  let slowBurnRunning = false;
  let slowBurnStarted = false;
  for (let n = 0; ; n++) {
    if (length.kind === 'trees' && n >= length.count) break;
    const due = startedAt + (n * 1000) / plan.rate;
    if (due > Date.now()) await sleep(due - Date.now(), undefined, { signal }).catch(() => undefined);
    if (signal.aborted) break;
    const elapsed = Date.now() - startedAt;
    if (length.kind === 'duration' && elapsed >= length.ms) break;
    while (inFlight.size >= MAX_IN_FLIGHT) await Promise.race(inFlight);

    const name = plan.pick ? plan.pick(n) : plan.scenarios[n % plan.scenarios.length]!;
    let durationMs: number | undefined;
    if (name === 'slow_burn' && length.kind !== 'trees') {
      // A slow burn is one long tree, not a stream of them: in a timed run one tree lasting the rest of
      // the run; in an endless run one at a time, a few minutes each.
      if (slowBurnRunning || (length.kind === 'duration' && slowBurnStarted)) continue;
      durationMs = length.kind === 'duration' ? length.ms - elapsed : SLOW_BURN_DEFAULT_MS + (n % 3) * 60_000;
      slowBurnRunning = true;
      slowBurnStarted = true;
    }
    const task: Promise<void> = scenarioTree(lookup(name), durationMs, deps.out)
      .catch((err: unknown) => deps.log(`tree failed: ${(err as Error).stack ?? String(err)}`))
      .finally(() => {
        inFlight.delete(task);
        if (name === 'slow_burn') slowBurnRunning = false;
      });
    inFlight.add(task);
  }
  await Promise.all(inFlight);
  summary.interrupted = signal.aborted;
  return summary;
}
