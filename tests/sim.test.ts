// The workload simulator against a running Canopy: every scenario, sent with `--once --fast --seed 1`
// through the real CLI (stock OTel SDK, OTLP protobuf + gzip), must arrive with the shape it claims,
// asserted through Canopy's read API.

import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SpanView, TraceDetailResponse } from '../lib/domain';
import { listTraces, waitForTrace } from './helpers/api';
import { eventually, startCanopy, type RunningCanopy } from './helpers/canopy';
import { DEFAULT_BASELINE_TREES } from '../sim/options';

const ROOT = path.resolve(import.meta.dirname, '..');
const SCENARIOS = ['normal', 'loop', 'pingpong', 'fanout', 'cost_spike', 'retry_storm', 'slow_burn', 'deep', 'huge'];

interface TreeLine {
  scenario: string;
  traceId: string;
  rootSpanId: string;
  rootName: string;
  spans: number;
  baselineFor?: string;
  expect: Record<string, number | string | boolean | string[]>;
}

function simulate(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sim/cli.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 45_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const children = (detail: TraceDetailResponse, parentId: string): SpanView[] => detail.spans.filter((s) => s.parentSpanId === parentId);
const maxSpanDepth = (detail: TraceDetailResponse): number => Math.max(...detail.spans.map((s) => s.depth));

describe('workload simulator → Canopy', () => {
  let canopy: RunningCanopy;
  let lines: TreeLine[] = [];
  const details = new Map<string, TraceDetailResponse>();
  const subject = (scenario: string): TreeLine => {
    const line = lines.find((l) => l.scenario === scenario && !l.baselineFor);
    if (!line) throw new Error(`no ${scenario} tree was printed`);
    return line;
  };
  const detailOf = (line: TreeLine): TraceDetailResponse => details.get(line.traceId)!;

  beforeAll(async () => {
    canopy = await startCanopy();
    const run = await simulate(['--endpoint', canopy.otlpUrl, '--api', canopy.url, '--scenario', SCENARIOS.join(','), '--once', '--fast', '--seed', '1']);
    expect(run.code, run.stderr).toBe(0);
    lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as TreeLine);
    // Spans are visible once the exporter flushed and Canopy stored them: wait for every tree in full.
    await Promise.all(lines.map(async (line) => details.set(line.traceId, await waitForTrace(canopy.url, line.traceId, line.spans, 30_000))));
  }, 90_000);

  afterAll(async () => {
    await canopy?.stop();
  });

  it('prints one JSON line per tree, baselines before the tree they serve', () => {
    const order = lines.map((l) => (l.baselineFor ? `${l.scenario}>${l.baselineFor}` : l.scenario));
    expect(order.filter((o) => !o.includes('>'))).toEqual(SCENARIOS);
    const spike = order.indexOf('cost_spike');
    expect(order.slice(spike - 10, spike)).toEqual(new Array(10).fill('normal>cost_spike'));
  });

  it('every tree is listed in /api/traces with its span count, root and depth', async () => {
    const listed = await eventually(async () => {
      const { traces } = await listTraces(canopy.url, '?limit=200');
      return lines.every((l) => traces.some((t) => t.traceId === l.traceId)) ? traces : undefined;
    }, 20_000, 'all simulated trees in the trace list');
    for (const line of lines) {
      const summary = listed.find((t) => t.traceId === line.traceId)!;
      expect(summary.spanCount, line.scenario).toBe(line.spans);
      expect(summary.rootSpanId, line.scenario).toBe(line.rootSpanId);
      expect(summary.rootName, line.scenario).toBe(line.rootName);
      expect(summary.serviceName, line.scenario).toBe('sim-agents');
      // The list counts levels (a lone root is 1); span depth counts edges from the root (root is 0).
      expect(summary.maxDepth, line.scenario).toBe(line.expect.levels);
      expect(maxSpanDepth(detailOf(line)), line.scenario).toBe(line.expect.maxDepth);
      expect(detailOf(line).spans.filter((s) => s.orphan), line.scenario).toEqual([]);
    }
  });

  it('normal: a planner fanning out to parallel branches, depth 2–5, cents, silent', () => {
    const line = subject('normal');
    const detail = detailOf(line);
    expect(maxSpanDepth(detail)).toBeGreaterThanOrEqual(2);
    expect(maxSpanDepth(detail)).toBeLessThanOrEqual(5);
    expect(children(detail, line.rootSpanId).length).toBeGreaterThanOrEqual(Number(line.expect.branches) + 2);
    expect(detail.trace.errorCount).toBe(0);
    expect(detail.trace.costUsd).toBeGreaterThan(0.001);
    expect(detail.trace.costUsd).toBeLessThan(1);
    expect(detail.trace.unpricedSpans).toBe(line.expect.unpricedCalls);
    const categories = new Set(detail.spans.map((s) => s.category));
    for (const category of ['agent', 'llm', 'tool']) expect(categories).toContain(category);
    // This tree's save_memory child outlives the root: it was exported after the root and still joined it.
    expect(line.expect.lingering).toBe(true);
    const root = detail.spans.find((s) => s.spanId === line.rootSpanId)!;
    const memory = detail.spans.find((s) => s.toolName === 'save_memory')!;
    expect(memory.parentSpanId).toBe(root.spanId);
    expect(Date.parse(memory.endTime)).toBeGreaterThan(Date.parse(root.endTime));
  });

  it('loop: one agent repeats the same tool call signature', () => {
    const line = subject('loop');
    const detail = detailOf(line);
    const calls = children(detail, String(line.expect.loopAgentSpanId)).filter((s) => s.category === 'tool');
    expect(calls).toHaveLength(Number(line.expect.repeats));
    expect(calls.length).toBeGreaterThanOrEqual(10);
    expect(new Set(calls.map((s) => s.toolName))).toEqual(new Set(['run_tests']));
    const signatures = new Set(calls.map((s) => s.callSignature));
    expect(signatures.size).toBe(1);
    expect([...signatures][0]).toBeTruthy();
  });

  it('pingpong: two agents alternate, A→B→A→B…', () => {
    const line = subject('pingpong');
    const detail = detailOf(line);
    const turns = children(detail, line.rootSpanId).filter((s) => s.category === 'agent').sort((a, b) => a.startTime.localeCompare(b.startTime));
    expect(turns).toHaveLength(Number(line.expect.turns));
    expect(turns.length).toBeGreaterThanOrEqual(12);
    turns.forEach((turn, i) => expect(turn.agentName).toBe(i % 2 === 0 ? 'Writer' : 'Reviewer'));
    for (const turn of turns) expect(turn.rollup.inputTokens).toBeGreaterThan(0);
    // A cycle between agents, not one call repeated: no tool signature repeats.
    const toolSignatures = detail.spans.filter((s) => s.category === 'tool').map((s) => s.callSignature);
    expect(new Set(toolSignatures).size).toBe(toolSignatures.length);
  });

  it('fanout: 47+ workers, each with several LLM calls', () => {
    const line = subject('fanout');
    const detail = detailOf(line);
    const workers = children(detail, line.rootSpanId).filter((s) => s.category === 'agent');
    expect(workers.length).toBe(Number(line.expect.fanout));
    expect(workers.length).toBeGreaterThanOrEqual(47);
    for (const worker of workers) expect(children(detail, worker.spanId).filter((s) => s.category === 'llm').length).toBeGreaterThanOrEqual(4);
  });

  it('cost_spike: 30× the median spend of its baseline trees of the same root name', () => {
    const line = subject('cost_spike');
    const baseline = lines.filter((l) => l.baselineFor === 'cost_spike');
    expect(baseline).toHaveLength(DEFAULT_BASELINE_TREES);
    const costs = baseline.map((l) => {
      expect(l.rootName).toBe(line.rootName);
      return detailOf(l).trace.costUsd;
    });
    costs.sort((a, b) => a - b);
    const median = (costs[4]! + costs[5]!) / 2;
    expect(median).toBeGreaterThan(0);
    expect(detailOf(line).trace.costUsd / median).toBeGreaterThanOrEqual(30);
    expect(maxSpanDepth(detailOf(line))).toBeLessThanOrEqual(5);
  });

  it('retry_storm: 429 errors retried by several branches at once', () => {
    const line = subject('retry_storm');
    const detail = detailOf(line);
    const limited = detail.spans.filter((s) => s.status === 'error' && s.attributes['http.response.status_code'] === '429');
    expect(limited).toHaveLength(Number(line.expect.errors));
    for (const span of limited) {
      expect(span.category).toBe('llm');
      expect(span.errorType).toBe('RateLimitError');
    }
    const branches = new Set(limited.map((s) => s.parentSpanId));
    expect(branches.size).toBe(Number(line.expect.branches));
    expect(detail.trace.errorCount).toBeGreaterThanOrEqual(limited.length);
  });

  it('slow_burn: one tree spending for minutes; deep: 30+ levels; huge: 10,000 spans', () => {
    const burn = detailOf(subject('slow_burn'));
    expect(burn.trace.durationMs).toBeGreaterThanOrEqual(Number(subject('slow_burn').expect.minDurationMs));
    expect(burn.spans.filter((s) => s.category === 'llm').length).toBe(Number(subject('slow_burn').expect.steps));
    expect(maxSpanDepth(detailOf(subject('deep')))).toBeGreaterThanOrEqual(30);
    expect(detailOf(subject('huge')).trace.spanCount).toBe(10_000);
  });
});
