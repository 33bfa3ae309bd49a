// Tree shapes of every simulator scenario, asserted on the plans and on what the stock OTel SDK emits
// for them (in memory, no server): the claims the integration test later checks through Canopy's API.

import { SpanStatusCode } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { FastClock } from '../../sim/clock';
import { PlannedIdGenerator } from '../../sim/ids';
import type { KillChecker, KillStatus } from '../../sim/kills';
import { childrenOf, planStats, type PlanSpan, type TreePlan } from '../../sim/plan';
import { playTree } from '../../sim/player';
import { Rng, treeRng } from '../../sim/random';
import type { ScenarioContext } from '../../sim/scenario';
import { scenarioByName, SCENARIO_NAMES } from '../../sim/scenarios/index';
import { planNormal } from '../../sim/scenarios/normal';
import { Tracing } from '../../sim/tracer';

function ctx(name: string, seed = 1, over: Partial<ScenarioContext> = {}): ScenarioContext {
  return {
    rng: treeRng(seed, name, 'tree', 0),
    stream: (role, i) => treeRng(seed, name, role, i),
    index: 0,
    persistent: false,
    baselineTrees: 10,
    ...over,
  };
}

function build(name: string, seed = 1, over: Partial<ScenarioContext> = {}): TreePlan {
  const scenario = scenarioByName(name);
  if (!scenario) throw new Error(name);
  return scenario.build(ctx(name, seed, over));
}

const attr = (span: PlanSpan, key: string) => span.attributes[key];
const isLlm = (s: PlanSpan) => attr(s, 'gen_ai.operation.name') === 'chat';
const overlaps = (a: PlanSpan, b: PlanSpan) => a.start < b.end && b.start < a.end;

/** Plays a plan through the real SDK into memory. */
async function play(plan: TreePlan, kills: KillChecker | null = null) {
  const memory = new InMemorySpanExporter();
  const ids = new PlannedIdGenerator(new Rng('test-ids'));
  const tracing = new Tracing({ endpoint: 'http://127.0.0.1:1', service: 'test-sim', ids, exporter: () => memory });
  const before = Date.now();
  const result = await playTree(plan, { tracing, ids, clock: new FastClock(), kills });
  await tracing.flush();
  const spans = memory.getFinishedSpans();
  await tracing.shutdown();
  return { result, spans, before, after: Date.now() };
}

const ms = (t: [number, number]) => t[0] * 1000 + t[1] / 1e6;

describe('simulator scenario shapes', () => {
  it('normal: planner fans out to 2–6 parallel branches, depth 2–5, mostly cents, mixed conventions', () => {
    const costs: number[] = [];
    const seen = { openinference: 0, vercel: 0, legacy: 0, unpriced: 0, detached: 0, worker: 0 };
    for (let i = 0; i < 200; i++) {
      const plan = planNormal(treeRng(1, 'normal', 'tree', i));
      const stats = planStats(plan.spans);
      expect(stats.maxDepth).toBeGreaterThanOrEqual(2);
      expect(stats.maxDepth).toBeLessThanOrEqual(5);
      const branches = Number(plan.expect.branches);
      expect(branches).toBeGreaterThanOrEqual(2);
      expect(branches).toBeLessThanOrEqual(6);
      const root = plan.spans[0]!;
      const kids = childrenOf(plan.spans, root);
      expect(kids.length).toBeGreaterThanOrEqual(branches + 2);
      // The branches run in parallel: at least two of the root's children overlap in time.
      expect(kids.some((a) => kids.some((b) => a !== b && overlaps(a, b)))).toBe(true);
      costs.push(Number(plan.expect.estCostUsd));
      if (plan.spans.some((s) => attr(s, 'openinference.span.kind') !== undefined)) seen.openinference++;
      if (plan.spans.some((s) => s.name === 'ai.generateText.doGenerate')) seen.vercel++;
      if (plan.spans.some((s) => attr(s, 'gen_ai.system') !== undefined && attr(s, 'gen_ai.usage.prompt_tokens') !== undefined)) seen.legacy++;
      if (Number(plan.expect.unpricedCalls) > 0) seen.unpriced++;
      if (plan.spans.some((s) => s.detached && s.end > plan.spans[s.parent]!.end)) seen.detached++;
      if (plan.spans.some((s) => s.service === 'worker')) seen.worker++;
    }
    costs.sort((a, b) => a - b);
    expect(costs[100]).toBeLessThan(0.1); // median: cents
    expect(costs[100]).toBeGreaterThan(0.005);
    expect(costs.filter((c) => c >= 0.1).length).toBeGreaterThan(5); // a few tens of cents
    expect(costs.at(-1)).toBeLessThan(1);
    for (const [kind, count] of Object.entries(seen)) expect(count, kind).toBeGreaterThan(10);
  });

  it('loop: the same tool with the same arguments, again and again, in one branch', () => {
    const plan = build('loop');
    const agent = plan.spans.find((s) => s.spanId === plan.expect.loopAgentSpanId)!;
    expect(attr(agent, 'gen_ai.agent.name')).toBe('CodingAgent');
    const tools = childrenOf(plan.spans, agent).filter((s) => attr(s, 'gen_ai.operation.name') === 'execute_tool');
    expect(tools.length).toBe(plan.expect.repeats);
    expect(tools.length).toBeGreaterThanOrEqual(10);
    expect(new Set(tools.map((s) => `${attr(s, 'gen_ai.tool.name')} ${attr(s, 'gen_ai.tool.call.arguments')}`)).size).toBe(1);
    // Volatile per-call ids differ, so a signature must ignore them.
    expect(new Set(tools.map((s) => attr(s, 'gen_ai.tool.call.id'))).size).toBe(tools.length);
    // A live run loops for minutes.
    expect(Number(build('loop', 1, { persistent: true }).expect.repeats)).toBeGreaterThanOrEqual(50);
  });

  it('pingpong: two agents alternate A→B→A→B, every turn a model call, no repeated tool call', () => {
    const plan = build('pingpong');
    const turns = childrenOf(plan.spans, plan.spans[0]!);
    expect(turns.length).toBe(plan.expect.turns);
    expect(turns.length).toBeGreaterThanOrEqual(12);
    turns.forEach((turn, i) => {
      expect(attr(turn, 'gen_ai.agent.name')).toBe(i % 2 === 0 ? 'Writer' : 'Reviewer');
      expect(childrenOf(plan.spans, turn).filter(isLlm)).toHaveLength(1);
      if (i > 0) expect(turn.start).toBeGreaterThanOrEqual(turns[i - 1]!.end);
    });
    const handoffs = plan.spans.filter((s) => String(attr(s, 'gen_ai.tool.name') ?? '').startsWith('transfer_to_'));
    expect(new Set(handoffs.map((s) => attr(s, 'gen_ai.tool.call.arguments'))).size).toBe(handoffs.length);
  });

  it('fanout: one request becomes 47+ workers, each making several LLM calls at once', () => {
    const plan = build('fanout');
    const workers = childrenOf(plan.spans, plan.spans[0]!).filter((s) => attr(s, 'gen_ai.operation.name') === 'invoke_agent');
    expect(workers.length).toBe(plan.expect.fanout);
    expect(workers.length).toBeGreaterThanOrEqual(47);
    expect(planStats(plan.spans).maxFanout).toBeGreaterThanOrEqual(47);
    for (const worker of workers) {
      const calls = childrenOf(plan.spans, worker).filter(isLlm);
      expect(calls.length).toBeGreaterThanOrEqual(4);
      const first = calls.slice(0, Number(plan.expect.parallelCallsPerWorker));
      expect(first.every((a) => first.every((b) => a === b || overlaps(a, b)))).toBe(true);
    }
  });

  it('cost_spike: same root name and shape as its baseline, 30× the median spend', () => {
    const scenario = scenarioByName('cost_spike')!;
    const baseline = scenario.baseline!(ctx('cost_spike'));
    expect(baseline).toHaveLength(10);
    const plan = build('cost_spike');
    for (const tree of baseline) {
      expect(tree.rootName).toBe(plan.rootName);
      expect(tree.baselineFor).toBe('cost_spike');
      expect(tree.scenario).toBe('normal');
    }
    const costs = baseline.map((t) => Number(t.expect.estCostUsd)).sort((a, b) => a - b);
    const median = (costs[4]! + costs[5]!) / 2;
    expect(Number(plan.expect.estCostUsd) / median).toBeGreaterThanOrEqual(30);
    const depth = planStats(plan.spans).maxDepth;
    expect(depth).toBeGreaterThanOrEqual(2);
    expect(depth).toBeLessThanOrEqual(5);
  });

  it('retry_storm: several branches at once, each retrying 429s immediately', () => {
    const plan = build('retry_storm');
    const branches = childrenOf(plan.spans, plan.spans[0]!).filter((s) => attr(s, 'gen_ai.operation.name') === 'invoke_agent');
    expect(branches.length).toBe(plan.expect.branches);
    expect(branches.length).toBeGreaterThanOrEqual(5);
    expect(branches.every((a) => branches.every((b) => a === b || overlaps(a, b)))).toBe(true);
    let errors = 0;
    for (const branch of branches) {
      const calls = childrenOf(plan.spans, branch);
      const failed = calls.filter((s) => s.status === 'error');
      expect(failed.length).toBeGreaterThanOrEqual(5);
      for (const call of failed) {
        expect(attr(call, 'http.response.status_code')).toBe(429);
        expect(attr(call, 'error.type')).toBe('RateLimitError');
      }
      for (let i = 1; i < calls.length; i++) expect(calls[i]!.start - calls[i - 1]!.end).toBeLessThan(100);
      errors += failed.length;
    }
    expect(errors).toBe(plan.expect.errors);
  });

  it('slow_burn: runs for minutes, spending at a steady rate', () => {
    const plan = build('slow_burn', 1, { durationMs: 5 * 60_000 });
    expect(plan.durationMs).toBeGreaterThanOrEqual(5 * 60_000);
    const perMinute = new Map<number, number>();
    for (const span of plan.spans.filter(isLlm)) {
      const minute = Math.floor(span.start / 60_000);
      perMinute.set(minute, (perMinute.get(minute) ?? 0) + Number(attr(span, 'gen_ai.usage.input_tokens')));
    }
    const full = [0, 1, 2, 3].map((m) => perMinute.get(m) ?? 0);
    expect(Math.min(...full)).toBeGreaterThan(0);
    expect(Math.max(...full) / Math.min(...full)).toBeLessThan(2);
    expect(build('slow_burn').durationMs).toBeGreaterThanOrEqual(3 * 60_000);
  });

  it('deep: 30+ levels; huge: 10,000 spans by default, --spans N exactly', () => {
    expect(planStats(build('deep').spans).maxDepth).toBeGreaterThanOrEqual(30);
    expect(build('huge').spans).toHaveLength(10_000);
    expect(build('huge', 1, { spans: 1234 }).spans).toHaveLength(1234);
    expect(build('huge', 1, { spans: 100_000 }).spans).toHaveLength(100_000);
  });

  it('same seed, same trees; another seed, other trees', () => {
    for (const name of SCENARIO_NAMES) {
      const a = build(name, 1);
      const b = build(name, 1);
      expect(b, name).toEqual(a);
      expect(build(name, 2).traceId, name).not.toBe(a.traceId);
    }
    // Scenarios never share ids with each other for one seed.
    expect(new Set(SCENARIO_NAMES.map((n) => build(n, 1).traceId)).size).toBe(SCENARIO_NAMES.length);
  });
});

describe('simulator playback through the OTel SDK', () => {
  it('emits the planned ids, parents, statuses and plausible timestamps', async () => {
    const plan = build('retry_storm');
    const { spans, result, before, after } = await play(plan);
    expect(result.spansSent).toBe(plan.spans.length);
    expect(spans).toHaveLength(plan.spans.length);
    const byId = new Map<string, ReadableSpan>(spans.map((s) => [s.spanContext().spanId, s]));
    for (const planned of plan.spans) {
      const span = byId.get(planned.spanId)!;
      expect(span.spanContext().traceId).toBe(plan.traceId);
      expect(span.parentSpanContext?.spanId).toBe(planned.parent < 0 ? undefined : plan.spans[planned.parent]!.spanId);
      expect(ms(span.endTime) - ms(span.startTime)).toBeCloseTo(planned.end - planned.start, 0);
      expect(ms(span.endTime)).toBeLessThanOrEqual(after);
      expect(span.status.code).toBe(planned.status === 'error' ? SpanStatusCode.ERROR : SpanStatusCode.UNSET);
    }
    // Timestamps are as planned, not as played: the tree ends about when playback ended.
    const root = byId.get(plan.spans[0]!.spanId)!;
    expect(ms(root.startTime)).toBeLessThan(before - plan.durationMs + 1000);
    const failed = spans.find((s) => s.attributes['http.response.status_code'] === 429)!;
    expect(failed.events.map((e) => e.name)).toContain('exception');
  });

  it('remote sub-agents report as another service with a remote parent; lingering children end after their parent', async () => {
    let plan: TreePlan | null = null;
    for (let i = 0; i < 100 && !plan; i++) {
      const candidate = planNormal(treeRng(3, 'normal', 'tree', i));
      if (candidate.spans.some((s) => s.service === 'worker') && candidate.spans.some((s) => s.detached)) plan = candidate;
    }
    expect(plan).not.toBeNull();
    const { spans } = await play(plan!);
    const services = new Set(spans.map((s) => s.resource.attributes['service.name']));
    expect(services).toEqual(new Set(['test-sim', 'test-sim-worker']));
    const remote = spans.find((s) => s.resource.attributes['service.name'] === 'test-sim-worker' && s.parentSpanContext?.isRemote);
    expect(remote).toBeDefined();
    const detached = plan!.spans.find((s) => s.detached)!;
    const child = spans.find((s) => s.spanContext().spanId === detached.spanId)!;
    const parent = spans.find((s) => s.spanContext().spanId === plan!.spans[detached.parent]!.spanId)!;
    expect(ms(child.endTime)).toBeGreaterThan(ms(parent.endTime));
  });

  it('stops a killed branch between steps, ends it with status "killed", and lets the rest finish', async () => {
    const plan = build('loop');
    const agentId = String(plan.expect.loopAgentSpanId);
    let asked = 0;
    const kills: KillChecker = {
      async status(): Promise<KillStatus> {
        asked++;
        // Killed once the loop is a few steps in.
        return asked > 12 ? { killed: true, spanIds: [agentId], traceKilled: false } : { killed: false, spanIds: [], traceKilled: false };
      },
      forget() {},
    };
    const { spans, result } = await play(plan, kills);
    expect(result.killed).toBe(true);
    expect(result.skippedSpans).toBeGreaterThan(0);
    expect(spans.length).toBe(plan.spans.length - result.skippedSpans);
    const agent = spans.find((s) => s.spanContext().spanId === agentId)!;
    expect(agent.status).toEqual({ code: SpanStatusCode.ERROR, message: 'killed' });
    const loopTools = spans.filter((s) => s.parentSpanContext?.spanId === agentId && s.attributes['gen_ai.tool.name'] === 'run_tests');
    expect(loopTools.length).toBeLessThan(Number(plan.expect.repeats));
    const root = spans.find((s) => !s.parentSpanContext)!;
    expect(root.status.code).toBe(SpanStatusCode.UNSET);
    const docs = spans.find((s) => s.attributes['gen_ai.agent.name'] === 'DocsWriter')!;
    expect(docs.status.code).toBe(SpanStatusCode.UNSET);
  });

  it('stops the whole tree when the trace is killed', async () => {
    const plan = build('fanout');
    let asked = 0;
    const kills: KillChecker = {
      async status(): Promise<KillStatus> {
        return ++asked > 30 ? { killed: true, spanIds: [], traceKilled: true } : { killed: false, spanIds: [], traceKilled: false };
      },
      forget() {},
    };
    const { spans, result } = await play(plan, kills);
    expect(result.killed).toBe(true);
    expect(spans.length).toBeLessThan(plan.spans.length);
    const root = spans.find((s) => !s.parentSpanContext)!;
    expect(root.status).toEqual({ code: SpanStatusCode.ERROR, message: 'killed' });
    // Nothing is left open: every started span was ended (and so exported).
    expect(spans.length).toBe(result.spansSent);
  });
});
